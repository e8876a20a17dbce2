package control

import (
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
