package supervisor

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"

	"niod/internal/handoff"
)

// spawner forks on a thread of its own. The kernel sends the parent-death
// signal when the thread that forked exits, so every fork must come from one
// thread that lives as long as niod; keeping the event loop itself locked
// to a thread would slow down every wake-up of the loop instead.
type spawner chan spawnRequest

type spawnRequest struct {
	spec  *Spec
	h     *handoff.Handoff
	env   []string
	reply chan spawnResult
}

type spawnResult struct {
	pid int
	err error
}

func newSpawner() spawner {
	s := make(spawner)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives on
		for r := range s {
			pid, err := start(r.spec, r.h, r.env)
			r.reply <- spawnResult{pid, err}
		}
	}()
	return s
}

func (s spawner) start(spec *Spec, h *handoff.Handoff, env []string) (int, error) {
	reply := make(chan spawnResult)
	s <- spawnRequest{spec, h, env, reply}
	r := <-reply
	return r.pid, r.err
}

// start forks and executes the runtime: in a new session and process group
// of its own (no controlling terminal, so no terminal injection, and one
// group to signal), with SIGTERM when niod dies, stdin from /dev/null and
// niod's stdout and stderr. The settings reach it as descriptor 3 or a file.
// It runs on the spawner's thread.
func start(spec *Spec, h *handoff.Handoff, env []string) (int, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	files := []uintptr{devnull.Fd(), os.Stdout.Fd(), os.Stderr.Fd()}
	if h.File != nil {
		files = append(files, h.File.Fd())
	}
	attr := &syscall.ProcAttr{
		Dir:   spec.Dir,
		Env:   append(append(slices.Clip(spec.Env), "NIO_SETTINGS="+h.Path), env...),
		Files: files,
		Sys: &syscall.SysProcAttr{
			Setsid:    true,
			Pdeathsig: syscall.SIGTERM,
		},
	}
	pid, err := syscall.ForkExec(spec.Path, spec.Args, attr)
	if err != nil {
		return 0, fmt.Errorf("cannot start %s: %w", spec.Path, err)
	}
	return pid, nil
}
