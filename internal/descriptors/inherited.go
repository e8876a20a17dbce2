package descriptors

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// CloseOnExec marks every descriptor above stderr close-on-exec, so that
// whatever niod inherited from its parent (a root wrapper's open
// /etc/shadow, systemd's sockets) never reaches the runtime: the runtime
// gets exactly stdin, stdout, stderr and the handoff. niod's own
// descriptors are close-on-exec already.
func CloseOnExec() error {
	err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	// Before Linux 5.11: each descriptor /proc lists.
	d, oerr := os.Open("/proc/self/fd")
	if oerr != nil {
		return oerr
	}
	names, rerr := d.Readdirnames(-1)
	d.Close()
	if rerr != nil {
		return rerr
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd <= 2 {
			continue
		}
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC) // the directory's own fd is gone: EBADF
	}
	return nil
}
