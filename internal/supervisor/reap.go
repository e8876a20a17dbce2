package supervisor

import (
	"errors"
	"syscall"
)

// reap collects every child that has ended. It is the only caller of wait4
// in niod: as PID 1 or child subreaper niod inherits every orphan of the
// tree, and a second waiter could steal the runtime's own status. empty is
// set when niod has no child left at all, which (niod being a subreaper)
// means no descendant is left either.
func reap() (exits []ChildExit, empty bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.ECHILD):
			return exits, true
		case err != nil || pid <= 0:
			return exits, false
		}
		exits = append(exits, ChildExit{PID: pid, Code: exitCode(ws)})
	}
}

// exitCode turns a wait status into a shell-style exit code: the code, or
// 128+N for a process killed by signal N.
func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
