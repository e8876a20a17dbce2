// Package supervisor runs the nio runtime and keeps it up: one goroutine, the
// event loop, owns all state and reacts to signals, exits, timers and
// reloads. It starts the runtime in its own session, restarts it by policy,
// stops its whole process tree, reaps every orphan (as PID 1 or as child
// subreaper) and returns niod's exit code.
package supervisor

import (
	"bytes"
	"context"
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
	probe "niod/internal/health"
	"niod/internal/logging"
	"niod/internal/notifysock"
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
	// HealthURL is what the health probe asks ("" for none); HealthCA
	// verifies it over https.
	HealthURL, HealthCA string
}

// same reports whether a reload changed nothing that matters to the runtime.
func (s *Spec) same(o *Spec) bool {
	return s.Path == o.Path && slices.Equal(s.Args, o.Args) && s.Dir == o.Dir &&
		slices.Equal(s.Env, o.Env) && bytes.Equal(s.Payload, o.Payload) &&
		s.Options.Equal(o.Options) && s.HealthURL == o.HealthURL && s.HealthCA == o.HealthCA
}

// Notifier hears about state changes (the systemd integration).
type Notifier interface {
	Ready()
	Reloading()
	Status(text string)
	Stopping()
	ExtendTimeout(d time.Duration)
	Errno(code int)
	Watchdog()
}

type nopNotifier struct{}

func (nopNotifier) Ready()                      {}
func (nopNotifier) Reloading()                  {}
func (nopNotifier) Status(string)               {}
func (nopNotifier) Stopping()                   {}
func (nopNotifier) ExtendTimeout(time.Duration) {}
func (nopNotifier) Errno(int)                   {}
func (nopNotifier) Watchdog()                   {}

// Config configures Run.
type Config struct {
	Spec *Spec
	// Reload reads the settings again; an error is logged and the running
	// runtime kept.
	Reload func() (*Spec, error)
	Log    *logging.Logger
	Notify Notifier
	// Handoff makes the spec's settings available for one start.
	Handoff func(spec *Spec) (*handoff.Handoff, error)
	// NotifyDir is where niod's notify socket for the runtime is made;
	// empty means none.
	NotifyDir string
	// Watchdog is how often to ping the service manager's watchdog; 0
	// means never, and WatchdogOff says why.
	Watchdog    time.Duration
	WatchdogOff string
	// StatusNote is added to the running status (a certificate that
	// expires soon).
	StatusNote string
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
	restartAt    time.Time // when the next start is due
	spawn        spawner

	health
}

// health is what the loop knows of the runtime's health.
type health struct {
	notes   chan notifysock.Message
	sock    *notifysock.Socket
	prober  *probe.Prober
	results chan probeResult
	probing bool
	gen     int       // counts starts, so a late probe result is not taken for the new runtime
	ready   bool      // this start of the runtime has been ready
	alive   time.Time // last sign of life
	watched bool      // the runtime's health is known from a probe or its own pings
	dropped int       // notify messages from outside the runtime's tree
	sick    bool      // unhealthy and left so (restart = never)
	// readyTimer probes often until the runtime is ready.
	readyTimer *time.Timer
}

// readyProbeEvery is how often the probe asks until the runtime is ready.
const readyProbeEvery = 100 * time.Millisecond

type probeResult struct {
	gen int
	err error
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
	l.readyTimer = stoppedTimer()
	l.setPolicy()
	l.notes, l.results = make(chan notifysock.Message, 16), make(chan probeResult, 1)
	if cfg.NotifyDir != "" {
		sock, err := notifysock.Listen(cfg.NotifyDir)
		if err != nil {
			l.log.Warn("no notify socket for the runtime", logging.Err(err))
		} else {
			l.sock = sock
			defer sock.Close()
			go sock.Serve(l.notes)
		}
	}
	var watchdog <-chan time.Time
	if cfg.Watchdog > 0 {
		t := time.NewTicker(cfg.Watchdog)
		defer t.Stop()
		watchdog = t.C
		l.log.Info("pinging the service manager's watchdog", logging.Duration("every", cfg.Watchdog))
	} else if cfg.WatchdogOff != "" {
		l.log.Info("watchdog off: " + cfg.WatchdogOff)
	}
	l.setProber()
	healthTick := time.NewTicker(l.spec.Options.HealthInterval)
	defer healthTick.Stop()
	l.start()
	for {
		if code, done := l.done(); done {
			if code == exitcode.Unavailable || code == exitcode.Software {
				l.cfg.Notify.Errno(code)
			}
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
		case m := <-l.notes:
			l.onNotify(m)
		case r := <-l.results:
			l.onProbe(r)
		case <-healthTick.C:
			l.probe()
			l.checkHealth()
		case <-l.readyTimer.C:
			// Until the first answer, probe often: readiness is what the
			// service manager waits for.
			if !l.ready && l.phase == running && l.readyMode() == "probe" {
				l.probe()
				l.readyTimer.Reset(readyProbeEvery)
			}
		case <-watchdog:
			l.checkHealth()
			if l.healthy() {
				l.cfg.Notify.Watchdog()
			}
		}
	}
}

// readyMode is how this runtime shows it is ready: exec, notify or probe.
func (l *loop) readyMode() string {
	if m := l.spec.Options.Ready; m != "auto" {
		return m
	}
	if l.prober != nil {
		return "probe"
	}
	return "exec"
}

func (l *loop) setProber() {
	l.prober = nil
	if l.spec.HealthURL == "" {
		return
	}
	p, err := probe.New(l.spec.HealthURL, l.spec.Options.HealthTimeout, l.spec.HealthCA)
	if err != nil {
		l.log.Warn("health probe off", logging.Err(err))
		return
	}
	l.prober = p
}

// markReady records that the runtime is ready and tells the service
// manager.
func (l *loop) markReady(how string) {
	if l.ready {
		return
	}
	l.ready = true
	l.log.Info("runtime ready", logging.Int("pid", l.pid), logging.String("by", how))
	status := fmt.Sprintf("running pid %d", l.pid)
	if l.cfg.StatusNote != "" {
		status += "; " + l.cfg.StatusNote
	}
	l.cfg.Notify.Status(status)
	l.cfg.Notify.Ready()
}

// onNotify takes a message from the runtime's tree; others are dropped.
func (l *loop) onNotify(m notifysock.Message) {
	if l.pid == 0 || m.PID <= 0 || (m.PID != l.pid && !proctree.IsDescendant(m.PID, l.pid)) {
		l.dropped++
		l.log.Debug("dropped a notify message from outside the runtime", logging.Int("sender", m.PID), logging.Int("dropped", l.dropped))
		return
	}
	if m.Fields["WATCHDOG"] == "1" {
		l.alive, l.watched = time.Now(), true
	}
	if m.Fields["READY"] == "1" {
		l.alive = time.Now()
		if l.readyMode() == "notify" {
			l.markReady("notify")
		}
	}
}

// probe starts a health probe unless one is under way.
func (l *loop) probe() {
	if l.prober == nil || l.probing || l.pid == 0 || l.phase != running {
		return
	}
	l.probing = true
	p, gen, out := l.prober, l.gen, l.results
	go func() { out <- probeResult{gen, p.Probe(context.Background())} }()
}

func (l *loop) onProbe(r probeResult) {
	l.probing = false
	if r.gen != l.gen || l.pid == 0 || l.phase != running {
		return
	}
	if r.err != nil {
		l.log.Debug("health probe failed", logging.Err(r.err))
		return
	}
	l.alive = time.Now()
	if l.readyMode() == "probe" {
		l.markReady("probe")
	}
}

// healthy is false while a watched runtime has given no sign of life for
// longer than health_grace: then the service manager's watchdog is not
// pinged, unless niod is recovering it.
func (l *loop) healthy() bool {
	return l.phase != running || l.pid == 0 || !l.watched || time.Since(l.alive) <= l.spec.Options.HealthGrace
}

// checkHealth restarts a runtime that gave no sign of life for longer than
// health_grace, when its health is watched at all. With restart = never
// niod leaves it be and stops pinging the watchdog: the service manager
// decides.
func (l *loop) checkHealth() {
	if l.healthy() {
		l.sick = false
		return
	}
	if l.spec.Options.Restart == "never" {
		if !l.sick {
			l.sick = true
			l.log.Warn("runtime unhealthy; restart = never, so niod stops pinging the watchdog", logging.Int("pid", l.pid))
			l.cfg.Notify.Status(fmt.Sprintf("pid %d unhealthy", l.pid))
		}
		return
	}
	l.log.Warn("runtime unhealthy; restarting it", logging.Int("pid", l.pid), logging.Duration("silent_for", time.Since(l.alive).Round(time.Millisecond)))
	l.restart(l.policy.Exited(1, time.Since(l.started), time.Now()), "restarting unhealthy runtime in %s")
}

// restart stops what is left of the runtime and starts it again after the
// policy's delay, or gives up with 69 when the limit is hit. status says
// why, with a %s for the delay.
func (l *loop) restart(d Decision, status string) {
	if d.LimitHit {
		l.log.Error("runtime failed too often; giving up", logging.Int("failures", l.policy.Limit), logging.Duration("window", l.policy.LimitWindow))
		l.stopThen(thenExit, exitcode.Unavailable)
		return
	}
	l.cfg.Notify.Status(fmt.Sprintf(status, d.Delay.Round(time.Millisecond)))
	l.restartAt = time.Now().Add(d.Delay)
	l.stopThen(thenStart, 0)
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

// done reports niod's exit code once it has decided to end and the tree is
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
	l.gen++
	l.ready, l.probing = false, false
	l.watched = l.prober != nil || l.readyMode() == "notify"
	l.cfg.Notify.Status("starting the runtime")
	h, err := l.cfg.Handoff(l.spec)
	if err != nil {
		l.log.Error("cannot hand the settings over", logging.Err(err))
		l.stopThen(thenExit, exitcode.Software)
		return
	}
	var env []string
	if l.sock != nil {
		env = append(env, "NOTIFY_SOCKET="+l.sock.Path)
	}
	pid, err := l.spawn.start(l.spec, h, env)
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
	l.handoff, l.pid, l.started, l.alive = h, pid, time.Now(), time.Now()
	l.log.Info("runtime started", logging.Int("pid", pid), logging.Strings("command", l.spec.Args))
	if l.readyMode() == "probe" {
		l.readyTimer.Reset(readyProbeEvery)
	}
	if l.readyMode() == "exec" {
		l.markReady("exec")
	} else {
		l.cfg.Notify.Status(fmt.Sprintf("waiting for pid %d to be ready (%s)", pid, l.readyMode()))
	}
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
		// Room for the stop signal, stop_timeout, and the SIGKILL after it.
		l.cfg.Notify.ExtendTimeout(l.spec.Options.StopTimeout + 5*time.Second)
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
		}
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
	if !d.Restart && !d.LimitHit {
		l.stopThen(thenExit, code)
		return
	}
	if d.Restart {
		l.log.Info("restarting the runtime", logging.Duration("delay", d.Delay.Round(time.Millisecond)), logging.Int("failures", d.Failures))
	}
	l.restart(d, fmt.Sprintf("restarting in %%s after exit code %d", code))
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
	l.cfg.Notify.Status("reloading the settings")
	defer l.cfg.Notify.Ready()
	spec, err := l.cfg.Reload()
	if err != nil {
		l.log.Error("settings not reloaded; the runtime keeps running with the old ones", logging.Err(err))
		l.cfg.Notify.Status(fmt.Sprintf("running pid %d (reload failed)", l.pid))
		return
	}
	if spec.same(l.spec) {
		l.log.Info("settings unchanged")
		l.cfg.Notify.Status(fmt.Sprintf("running pid %d (settings unchanged)", l.pid))
		return
	}
	l.spec = spec
	l.setPolicy()
	l.setProber()
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
