// Package supervisor runs the nio runtime and keeps it up: one goroutine, the
// event loop, owns all state and reacts to signals, exits, timers and
// reloads. It starts the runtime in its own session, restarts it by policy,
// stops its whole process tree, reaps every orphan (as PID 1 or as child
// subreaper) and returns niod's exit code.
package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/handoff"
	"niod/internal/logging"
	"niod/internal/proctree"
)

// Spec is everything needed to start the runtime once.
type Spec struct {
	// Path is the executable, Args its argv (Args[0] included).
	Path string
	Args []string
	// Dir is the project root, the runtime's working directory.
	Dir string
	// Env is the runtime's environment, without NIO_SETTINGS.
	Env []string
	// Payload is the settings the runtime reads through NIO_SETTINGS.
	Payload []byte
	Options *config.Options
}

// same reports whether a reload changed nothing that matters to the runtime.
func (s *Spec) same(o *Spec) bool {
	return s.Path == o.Path && slices.Equal(s.Args, o.Args) && s.Dir == o.Dir &&
		slices.Equal(s.Env, o.Env) && bytes.Equal(s.Payload, o.Payload) &&
		s.Options.Equal(o.Options)
}

// Notifier hears about state changes (the systemd integration).
type Notifier interface {
	Ready()
	Reloading()
	Status(text string)
	Stopping()
}

type nopNotifier struct{}

func (nopNotifier) Ready()        {}
func (nopNotifier) Reloading()    {}
func (nopNotifier) Status(string) {}
func (nopNotifier) Stopping()     {}

// Config configures Run.
type Config struct {
	Spec *Spec
	// Reload reads the settings again; an error is logged and the running
	// runtime kept.
	Reload func() (*Spec, error)
	Log    *logging.Logger
	Notify Notifier
	// Handoff makes the settings available for one start.
	Handoff func(payload []byte) (*handoff.Handoff, error)
}

// The phases of the loop.
type phase int

const (
	running    phase = iota // the runtime runs (or is about to be started)
	backingOff              // waiting to restart it
	stopping                // its tree is being stopped; then next
)

// after says what follows a stop of the tree.
type after int

const (
	thenExit after = iota
	thenStart
)

type loop struct {
	cfg    Config
	log    *logging.Logger
	spec   *Spec
	policy Policy

	phase   phase
	pid     int // the runtime's pid, 0 when it is not running
	started time.Time
	handoff *handoff.Handoff

	// While stopping: what comes next, niod's exit code, and whether
	// SIGKILL was sent.
	next     after
	exitCode int
	killed   bool

	restartTimer *time.Timer
	killTimer    *time.Timer
	orphans      int       // processes reaped that were not the runtime
	restartAt    time.Time // when the next start is due
	spawn        spawner
}

// Run supervises the runtime until niod is told to stop or gives up, and
// returns niod's exit code.
func Run(cfg Config) int {
	if cfg.Notify == nil {
		cfg.Notify = nopNotifier{}
	}
	sigs := make(chan os.Signal, 64)
	// An explicit list: Go sends itself SIGURG, which must not be forwarded.
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT, syscall.SIGWINCH)

	if os.Getpid() != 1 {
		// Orphans of the runtime's tree become niod's children, so niod can
		// reap them and knows when the whole tree is gone.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			cfg.Log.Warn("cannot become child subreaper; orphans of the runtime escape supervision", logging.Err(err))
		}
	}
	l := &loop{cfg: cfg, log: cfg.Log, spec: cfg.Spec, restartTimer: stoppedTimer(), killTimer: stoppedTimer(),
		spawn: newSpawner()}
	l.setPolicy()
	l.start()
	for {
		if code, done := l.done(); done {
			return code
		}
		select {
		case sig := <-sigs:
			l.signal(sig.(syscall.Signal))
		case <-l.restartTimer.C:
			if l.phase == backingOff {
				l.start()
			}
		case <-l.killTimer.C:
			l.kill()
		}
	}
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func (l *loop) setPolicy() {
	o := l.spec.Options
	failures, times := l.policy.failures, l.policy.failureTimes
	l.policy = Policy{Restart: o.Restart, Delay: o.RestartDelay, MaxDelay: o.RestartMaxDelay,
		ResetAfter: o.RestartResetAfter, Limit: o.RestartLimit, LimitWindow: o.RestartLimitWindow,
		failures: failures, failureTimes: times}
}

// exited is set once niod has decided to end with exitCode and the tree is
// gone.
func (l *loop) done() (int, bool) {
	if l.phase == stopping && l.next == thenExit && l.pid == 0 {
		if _, empty := l.reap(); empty {
			l.closeHandoff()
			return l.exitCode, true
		}
	}
	return 0, false
}

func (l *loop) start() {
	l.phase = running
	h, err := l.cfg.Handoff(l.spec.Payload)
	if err != nil {
		l.log.Error("cannot hand the settings over", logging.Err(err))
		l.stopThen(thenExit, exitcode.Software)
		return
	}
	pid, err := l.spawn.start(l.spec, h)
	if err != nil {
		h.Close()
		l.log.Error("runtime did not start", logging.Err(err))
		l.ended(127)
		return
	}
	if h.File != nil {
		h.Close() // the child holds its own descriptor
		h = nil
	}
	l.handoff, l.pid, l.started = h, pid, time.Now()
	l.log.Info("runtime started", logging.Int("pid", pid), logging.Strings("command", l.spec.Args))
	l.cfg.Notify.Status(fmt.Sprintf("running pid %d", pid))
	l.cfg.Notify.Ready()
}

func (l *loop) closeHandoff() {
	if l.handoff != nil {
		l.handoff.Close()
		l.handoff = nil
	}
}

func (l *loop) signal(sig syscall.Signal) {
	switch sig {
	case syscall.SIGCHLD:
		l.onChild()
	case syscall.SIGTERM, syscall.SIGINT:
		if l.phase == stopping && l.next == thenExit {
			// Asked twice: do not wait for the runtime any longer.
			l.log.Warn("asked again to stop; killing the runtime now", logging.String("signal", unix.SignalName(sig)))
			l.kill()
			return
		}
		l.log.Info("stopping", logging.String("signal", unix.SignalName(sig)))
		l.cfg.Notify.Stopping()
		l.cfg.Notify.Status("stopping")
		l.stopThen(thenExit, exitcode.SignalBase+int(sig))
	case syscall.SIGHUP:
		l.reload()
	default:
		if l.pid != 0 {
			l.log.Info("forwarding signal to the runtime", logging.String("signal", unix.SignalName(sig)), logging.Int("pgid", l.pid))
			_ = syscall.Kill(-l.pid, sig)
		}
	}
}

// reap collects ended processes and notes the runtime's own end.
func (l *loop) reap() (runtimeCode int, empty bool) {
	runtimeCode = -1
	exits, empty := reap()
	for _, e := range exits {
		if e.pid == l.pid {
			runtimeCode = exitCode(e.status)
			l.pid = 0
			continue
		}
		l.orphans++
	}
	return runtimeCode, empty
}

func (l *loop) onChild() {
	code, empty := l.reap()
	if code >= 0 {
		l.log.Info("runtime exited", logging.Int("code", code), logging.Duration("uptime", time.Since(l.started).Round(time.Millisecond)))
		if l.phase == running {
			l.ended(code)
			return
		}
	}
	if l.phase == stopping && empty && l.pid == 0 {
		l.stopped()
	}
}

// ended handles the runtime ending by itself.
func (l *loop) ended(code int) {
	d := l.policy.Exited(code, time.Since(l.started), time.Now())
	l.closeHandoff()
	switch {
	case d.LimitHit:
		l.log.Error("runtime failed too often; giving up", logging.Int("failures", l.policy.Limit), logging.Duration("window", l.policy.LimitWindow))
		l.stopThen(thenExit, exitcode.Unavailable)
	case !d.Restart:
		l.stopThen(thenExit, code)
	default:
		l.log.Info("restarting the runtime", logging.Duration("delay", d.Delay.Round(time.Millisecond)), logging.Int("failures", d.Failures))
		l.cfg.Notify.Status(fmt.Sprintf("restarting in %s after exit code %d", d.Delay.Round(time.Millisecond), code))
		l.restartAt = time.Now().Add(d.Delay)
		l.stopThen(thenStart, 0)
	}
}

// stopThen stops whatever is left of the tree and then exits or starts
// again.
func (l *loop) stopThen(next after, code int) {
	l.restartTimer.Stop()
	l.phase, l.next, l.exitCode, l.killed = stopping, next, code, false
	sig := l.spec.Options.StopSignal
	if l.pid != 0 {
		// The group first: it is what matters, and it is one system call.
		_ = syscall.Kill(-l.pid, sig)
	} else if _, empty := l.reap(); empty {
		l.stopped() // nothing was left behind
		return
	}
	// Then whatever left the group (a new session, say).
	tree, _ := proctree.Tree(os.Getpid())
	proctree.Signal(proctree.Living(tree), sig)
	l.killTimer.Reset(l.spec.Options.StopTimeout)
}

// kill ends the tree with SIGKILL once it outlived stop_timeout.
func (l *loop) kill() {
	if l.phase != stopping {
		return
	}
	tree, _ := proctree.Tree(os.Getpid())
	tree = proctree.Living(tree)
	if !l.killed && (len(tree) > 0 || l.pid != 0) {
		l.log.Warn("runtime did not stop in time; killing it", logging.Duration("stop_timeout", l.spec.Options.StopTimeout), logging.Int("processes", len(tree)))
	}
	l.killed = true
	if l.pid != 0 {
		_ = syscall.Kill(-l.pid, syscall.SIGKILL)
	}
	proctree.Signal(tree, syscall.SIGKILL)
	// Processes forked meanwhile are caught on the next round.
	l.killTimer.Reset(100 * time.Millisecond)
}

// stopped runs when nothing of the tree is left.
func (l *loop) stopped() {
	l.killTimer.Stop()
	l.closeHandoff()
	if l.next == thenExit {
		return // done() ends the loop
	}
	wait := time.Until(l.restartAt)
	if wait <= 0 {
		l.start()
		return
	}
	l.phase = backingOff
	l.restartTimer.Reset(wait)
}

func (l *loop) reload() {
	if l.phase == stopping && l.next == thenExit {
		return
	}
	l.log.Info("reloading the settings")
	l.cfg.Notify.Reloading()
	defer l.cfg.Notify.Ready()
	spec, err := l.cfg.Reload()
	if err != nil {
		l.log.Error("settings not reloaded; the runtime keeps running with the old ones", logging.Err(err))
		l.cfg.Notify.Status(fmt.Sprintf("running pid %d (reload failed)", l.pid))
		return
	}
	if spec.same(l.spec) {
		l.log.Info("settings unchanged")
		return
	}
	l.spec = spec
	l.setPolicy()
	switch l.phase {
	case backingOff:
		l.log.Info("settings changed; starting the runtime with them now")
		l.restartTimer.Stop()
		l.start()
	case running:
		l.log.Info("settings changed; restarting the runtime with them")
		l.restartAt = time.Now()
		l.stopThen(thenStart, 0)
	default:
		// A restart is under way and will use the new settings.
	}
}
