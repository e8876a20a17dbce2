package doctor

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"niod/internal/control"
	"niod/internal/proctree"
)

// Running is the runtime a niod of the project supervises now: what the
// checks of the runtime's user judge, as a fact rather than as settings.
type Running struct {
	PID int
	UID int // the runtime's real uid, from /proc/PID/status
}

// askTimeout bounds the one status request: a niod that does not answer
// is as good as none.
const askTimeout = 2 * time.Second

// FindRunning asks the niod of the project at root, when one runs, for
// its runtime and reads that process's uid. It returns nil when none
// runs or the answer cannot be trusted (the pid is gone, or no longer a
// child of that niod: reused by another process).
func FindRunning(h *Host, getenv func(string) string, root string) *Running {
	path, err := control.Locate(getenv, h.Euid, root)
	if err != nil {
		return nil
	}
	a, err := control.Ask(path, control.Request{Cmd: control.CmdStatus}, askTimeout)
	if err != nil || a.Status == nil || a.Status.Runtime == nil || a.Status.Runtime.PID <= 0 {
		return nil
	}
	pid := a.Status.Runtime.PID
	if p, ok := proctree.Stat(pid); !ok || p.PPID != a.Status.NiodPID {
		return nil
	}
	text, err := h.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	uid, ok := statusUID(text)
	if !ok {
		return nil
	}
	return &Running{PID: pid, UID: uid}
}

// statusUID is the real uid of a /proc/PID/status text ("Uid:\tR E S F").
func statusUID(text string) (int, bool) {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			n, err := strconv.Atoi(f[0])
			return n, err == nil && n >= 0
		}
	}
	return 0, false
}
