package supervisor

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"

	"niod/internal/handoff"
	"niod/internal/securefile"
	"niod/internal/spec"
)

// A Spawner starts the runtime once: it makes the handoff and forks. It
// returns the pid and a release for what the start holds until the runtime
// ends (a file handoff's directory), or the error with the code a shell
// would report.
type Spawner interface {
	Spawn(s *spec.Spec, env []string) (pid int, release func(), code int, err error)
	// SpawnStep starts a pre-start step of s: the runtime's directory and
	// environment, no handoff and no notify socket.
	SpawnStep(s *spec.Spec, st spec.Step) (pid int, code int, err error)
}

// HandoffFunc makes the settings of s available for one start.
type HandoffFunc func(s *spec.Spec) (*handoff.Handoff, error)

// forkSpawner forks on a thread of its own. The kernel sends the
// parent-death signal when the thread that forked exits, so every fork must
// come from one thread that lives as long as niod; keeping the event loop
// itself locked to a thread would slow down every wake-up of the loop.
type forkSpawner struct {
	handoff HandoffFunc
	reqs    chan spawnRequest
}

type spawnRequest struct {
	s     *spec.Spec
	h     *handoff.Handoff
	env   []string
	reply chan spawnResult
}

type spawnResult struct {
	pid int
	err error
}

// NewSpawner returns the real spawner; mk makes each start's handoff.
func NewSpawner(mk HandoffFunc) Spawner {
	sp := &forkSpawner{handoff: mk, reqs: make(chan spawnRequest)}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives on
		for r := range sp.reqs {
			pid, err := forkExec(r.s, r.h, r.env)
			r.reply <- spawnResult{pid, err}
		}
	}()
	return sp
}

// Spawn implements Spawner.
func (sp *forkSpawner) Spawn(s *spec.Spec, env []string) (int, func(), int, error) {
	h, err := sp.handoff(s)
	if err != nil {
		return 0, nil, 126, fmt.Errorf("cannot hand the settings over: %w", err)
	}
	r := sp.fork(s, h, env)
	if r.err != nil {
		h.Close()
		code, err := describeStartError(s.Path, r.err)
		return 0, nil, code, err
	}
	if h.File != nil {
		h.Close() // the child holds its own descriptor
		return r.pid, nil, 0, nil
	}
	return r.pid, func() { h.Close() }, 0, nil
}

// SpawnStep implements Spawner.
func (sp *forkSpawner) SpawnStep(s *spec.Spec, st spec.Step) (int, int, error) {
	step := *s
	step.Path, step.Args = st.Path, st.Args
	r := sp.fork(&step, nil, nil)
	if r.err != nil {
		code, err := describeStartError(st.Path, r.err)
		return 0, code, err
	}
	return r.pid, 0, nil
}

// fork has the spawner's thread fork and exec.
func (sp *forkSpawner) fork(s *spec.Spec, h *handoff.Handoff, env []string) spawnResult {
	reply := make(chan spawnResult)
	sp.reqs <- spawnRequest{s, h, env, reply}
	return <-reply
}

// forkExec starts the runtime (or a pre-start step, h nil): in a new session and process group of its
// own (no controlling terminal, so no terminal injection, and one group to
// signal), with SIGTERM when niod dies, stdin from /dev/null and niod's
// stdout and stderr. The settings reach it as descriptor 3 or a file.
func forkExec(s *spec.Spec, h *handoff.Handoff, env []string) (int, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	files := []uintptr{devnull.Fd(), os.Stdout.Fd(), os.Stderr.Fd()}
	environ := slices.Clip(s.Env)
	if h != nil { // nil for a pre-start step: no settings
		if h.File != nil {
			files = append(files, h.File.Fd())
		}
		environ = append(environ, "NIO_SETTINGS="+h.Path)
	}
	attr := &syscall.ProcAttr{
		Dir:   s.Dir,
		Env:   append(environ, env...),
		Files: files,
		Sys: &syscall.SysProcAttr{
			Setsid:    true,
			Pdeathsig: syscall.SIGTERM,
		},
	}
	return syscall.ForkExec(s.Path, s.Args, attr)
}

// describeStartError names what failed and returns the code a shell would
// report: 127 when the command (or its #! interpreter) does not exist, 126
// when it cannot be executed or the system lacks a resource.
func describeStartError(path string, err error) (int, error) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return 126, fmt.Errorf("cannot start %s: %w", path, err)
	}
	switch errno {
	case syscall.ENOENT:
		if interp := securefile.Interpreter(path); interp != "" {
			return 127, fmt.Errorf("cannot start %s: its interpreter %s (#! line) does not exist (%s)", path, interp, errnoName(errno))
		}
		return 127, fmt.Errorf("cannot start %s: it does not exist (%s)", path, errnoName(errno))
	case syscall.EACCES:
		return 126, fmt.Errorf("cannot start %s: permission denied (EACCES; check its mode and every directory above it)", path)
	case syscall.ENOEXEC:
		return 126, fmt.Errorf("cannot start %s: not an executable format (ENOEXEC; a script needs a #! line)", path)
	case syscall.EMFILE, syscall.ENFILE, syscall.EAGAIN, syscall.ENOMEM, syscall.ENOSPC:
		return 126, fmt.Errorf("cannot start %s: out of a resource: %v (%s)", path, err, errnoName(errno))
	}
	return 126, fmt.Errorf("cannot start %s: %v (%s)", path, err, errnoName(errno))
}

var errnoNames = map[syscall.Errno]string{
	syscall.ENOENT: "ENOENT", syscall.EACCES: "EACCES", syscall.ENOEXEC: "ENOEXEC", syscall.EMFILE: "EMFILE",
	syscall.ENFILE: "ENFILE", syscall.EAGAIN: "EAGAIN", syscall.ENOMEM: "ENOMEM", syscall.ENOSPC: "ENOSPC",
	syscall.EISDIR: "EISDIR", syscall.ENOTDIR: "ENOTDIR", syscall.ETXTBSY: "ETXTBSY", syscall.ELOOP: "ELOOP",
	syscall.E2BIG: "E2BIG", syscall.EPERM: "EPERM",
}

func errnoName(e syscall.Errno) string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}
