package control

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// HeldError says that another niod holds the lock of the project.
type HeldError struct {
	// PID is the other niod's, as its socket's peer credentials say (0
	// when it does not answer).
	PID int
	// Path is the other niod's control socket.
	Path string
	// Root is the project's root.
	Root string
}

func (e *HeldError) Error() string {
	who := "another niod"
	if e.PID > 0 {
		who = fmt.Sprintf("another niod (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s runs the project %s: its control socket is %s", who, e.Root, e.Path)
}

// errGone says a directory went away while niod was taking it: the
// caller starts over.
var errGone = errors.New("removed meanwhile")

// lockDir takes the exclusive lock of the project's directory dir (an
// flock on the directory itself: no lock file to make and remove) for the
// life of the returned descriptor. The holder removes the directory
// before it lets go (Server.Close): a niod that opened it before then and
// gets the lock sees that it is no longer at dir and gets errGone to start
// over, so two niods never both hold a project. held is returned when
// another niod has it.
func lockDir(dir string) (fd int, held bool, err error) {
	fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return -1, false, fmt.Errorf("%w: %s", errGone, dir)
	case err != nil:
		return -1, false, fmt.Errorf("cannot open the control directory %s: %v", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return -1, true, nil
		}
		return -1, false, fmt.Errorf("cannot lock %s: %v", dir, err)
	}
	var locked, now unix.Stat_t
	if unix.Fstat(fd, &locked) != nil || unix.Lstat(dir, &now) != nil || now.Ino != locked.Ino || now.Dev != locked.Dev {
		unix.Close(fd)
		return -1, false, fmt.Errorf("%w: %s", errGone, dir)
	}
	return fd, false, nil
}

// holderPID is the pid of the process listening at path, from the
// credentials the kernel gives its socket; 0 when it does not answer.
func holderPID(path string) int {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	// A unix socket connects at once or not at all: no wait.
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return 0
	}
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0
	}
	return int(cred.Pid)
}

// closeFD closes a lock descriptor; -1 is none.
func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
