// Package supervisor runs the nio runtime and keeps it up. A pure state
// machine (Machine: state × event → state + effects) decides everything;
// the loop in this file is the one goroutine that owns it, turns the
// operating system's inputs (signals, wait4 results, timers, notify
// messages, probe results, reloaded settings) into events and carries out
// the effects. Nothing the loop does calls back into the machine: answers
// are queued as events for the next turn, so nothing recurses, and every
// turn returns to the top of the loop, where a stop signal is seen.
package supervisor

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"niod/internal/config"
	"niod/internal/control"
	probe "niod/internal/health"
	"niod/internal/logging"
	"niod/internal/notifysock"
	"niod/internal/proctree"
	"niod/internal/spec"
)

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

// A Killer signals the runtime's process group and the rest of niod's
// descendants.
type Killer interface {
	Kill(pgid int, sig syscall.Signal, tree bool)
}

// A Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Config configures Run.
type Config struct {
	Spec *spec.Spec
	// Reload reads the settings again; it runs on a goroutine of its own
	// and must not touch the loop's state.
	Reload func() (*spec.Spec, []string)
	// Apply takes niod's own options after a reload changed them in place
	// (the logger's level and format).
	Apply  func(*spec.Spec)
	Log    *logging.Logger
	Notify Notifier
	// Settle runs once, on a goroutine of its own, SettleAfter after the
	// runtime was first ready: start-up is over (nil: nothing to do).
	Settle      func()
	SettleAfter time.Duration
	// Signals delivers the signals of CatchSignals.
	Signals <-chan os.Signal
	// NotifySocket is niod's notify socket for the runtime; nil for none.
	NotifySocket *notifysock.Socket
	// RuntimeUID is the uid the runtime runs as.
	RuntimeUID int
	// Watchdog is how often to ping the service manager's watchdog; 0
	// means never.
	Watchdog time.Duration
	// Spawner, Killer, Reap and Clock reach the operating system; tests
	// give fakes.
	Spawner Spawner
	Killer  Killer
	Reap    func() ([]ChildExit, bool)
	Clock   Clock
	Jitter  func() float64
	// Control delivers the control socket's requests; nil for none.
	Control <-chan *control.Call
	// Version is niod's, for niod status.
	Version string
}

// CatchSignals starts catching the signals niod handles, from now on, so
// none is lost before the loop runs. The list is explicit: Go sends itself
// SIGURG, which must not be forwarded. SIGPIPE is caught so a vanished log
// reader makes writes fail with EPIPE instead of killing niod (and, unlike
// ignoring it, the runtime still starts with the default action).
func CatchSignals() <-chan os.Signal {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT, syscall.SIGWINCH, syscall.SIGPIPE)
	return sigs
}

// BecomeReaper makes niod the reaper of every orphan of the runtime's tree:
// PID 1 is that already; otherwise niod becomes child subreaper.
func BecomeReaper() error {
	if os.Getpid() == 1 {
		return nil
	}
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

type loop struct {
	cfg     Config
	m       *Machine
	queue   []Event
	exit    int
	done    bool
	release func() // frees the handoff of the runtime that runs
	settled bool   // Settle is under way

	deadlines [numTimers]time.Time
	timerAt   time.Time // the deadline timerC is for
	timerC    <-chan time.Time

	prober *probe.Prober
	notes  chan notifysock.Message
	probes chan ProbeDone
	loads  chan Loaded
	// answers are the control requests of this turn, answered with the
	// state they led to once the turn's events are stepped.
	answers []*control.Call
}

// Run supervises the runtime until niod is told to stop or gives up, and
// returns niod's exit code.
func Run(cfg Config) int {
	if cfg.Notify == nil {
		cfg.Notify = nopNotifier{}
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Killer == nil {
		cfg.Killer = treeKiller{}
	}
	if cfg.Reap == nil {
		cfg.Reap = reap
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	l := &loop{cfg: cfg, probes: make(chan ProbeDone, 1), loads: make(chan Loaded, 1),
		notes: make(chan notifysock.Message, 64)}
	l.m = NewMachine(MachineConfig{Spec: cfg.Spec, Watchdog: cfg.Watchdog, RuntimeUID: cfg.RuntimeUID, Jitter: cfg.Jitter})
	l.setProber(cfg.Spec)
	if cfg.NotifySocket != nil {
		go cfg.NotifySocket.Serve(l.notes)
	}
	defer l.releaseHandoff()
	l.queue = append(l.queue, Boot{})
	for {
		for i := 0; i < len(l.queue); i++ {
			l.carryOut(l.m.Step(l.queue[i], cfg.Clock.Now()))
		}
		l.queue = l.queue[:0]
		l.answer()
		if l.done {
			return l.exit
		}
		l.wait()
	}
}

// wait blocks for the next input and queues it as events.
func (l *loop) wait() {
	l.armTimer()
	select {
	case sig := <-l.cfg.Signals:
		switch sig {
		case syscall.SIGCHLD:
			l.reapNow()
		case syscall.SIGPIPE:
			// A write to a vanished reader; the write itself failed.
		default:
			l.queue = append(l.queue, Signal{sig.(syscall.Signal)})
		}
	case <-l.timerC:
		l.timerC, l.timerAt = nil, time.Time{}
		now := l.cfg.Clock.Now()
		for t := range numTimers {
			if d := l.deadlines[t]; !d.IsZero() && !d.After(now) {
				l.deadlines[t] = time.Time{}
				l.queue = append(l.queue, TimerFired{t})
			}
		}
	case msg := <-l.notes:
		if msg.Err != nil {
			l.queue = append(l.queue, NotifyFailed{msg.Err})
		} else {
			l.queue = append(l.queue, Notified{msg})
		}
	case r := <-l.probes:
		l.queue = append(l.queue, r)
	case r := <-l.loads:
		l.queue = append(l.queue, r)
	case c := <-l.cfg.Control:
		l.control(c)
	}
}

// control turns a control request into an event of the machine, or
// answers a question about its state at once.
func (l *loop) control(c *control.Call) {
	var req Request
	switch c.Req.Cmd {
	case control.CmdStatus:
		l.answers = append(l.answers, c)
		return
	case control.CmdStop:
		req.Op = OpStop
	case control.CmdStart:
		req.Op = OpStart
	case control.CmdRestart:
		req.Op = OpRestart
	case control.CmdReload:
		req.Op = OpReload
	case control.CmdSignal:
		sig, ok := config.ParseSignal(c.Req.Signal)
		if !ok {
			c.Reply(control.Answer{Error: "unknown signal " + strconv.Quote(c.Req.Signal) + " (give a name such as TERM, HUP or USR1)"})
			return
		}
		req.Op, req.Sig = OpSignal, sig
	default:
		c.Reply(control.Answer{Error: "unknown command " + strconv.Quote(c.Req.Cmd)})
		return
	}
	l.queue = append(l.queue, req)
	l.answers = append(l.answers, c)
}

// answer replies to this turn's control requests with the state now.
func (l *loop) answer() {
	if len(l.answers) == 0 {
		return
	}
	st := l.m.Snapshot(l.cfg.Clock.Now())
	st.NiodPID, st.Version, st.Root = os.Getpid(), l.cfg.Version, l.m.Spec().Identity.Root
	for _, c := range l.answers {
		own := st // each connection's goroutine fills in its own copy's Settings
		a := control.Answer{OK: true, Status: &own}
		if c.Req.Cmd == control.CmdReload {
			a.ReloadAsk = st.Reload.Asked
		}
		c.Reply(a)
	}
	l.answers = l.answers[:0]
}

// armTimer points the one timer at the earliest deadline.
func (l *loop) armTimer() {
	var next time.Time
	for _, d := range l.deadlines {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	if next.Equal(l.timerAt) {
		return
	}
	l.timerAt, l.timerC = next, nil
	if !next.IsZero() {
		l.timerC = l.cfg.Clock.After(next.Sub(l.cfg.Clock.Now()))
	}
}

func (l *loop) reapNow() {
	exits, empty := l.cfg.Reap()
	l.queue = append(l.queue, Reaped{Exits: exits, Empty: empty})
}

// carryOut does the machine's effects in order.
func (l *loop) carryOut(effects []Effect) {
	for _, eff := range effects {
		switch e := eff.(type) {
		case Spawn:
			l.spawn(e)
		case Kill:
			l.cfg.Killer.Kill(e.PGID, e.Sig, e.Tree)
		case CheckTree:
			l.reapNow()
		case Arm:
			l.deadlines[e.Timer] = l.cfg.Clock.Now().Add(e.After)
		case Cancel:
			l.deadlines[e.Timer] = time.Time{}
		case Probe:
			l.probe(e.Seq)
		case LoadSettings:
			reload, out := l.cfg.Reload, l.loads
			go func() {
				s, problems := reload()
				out <- Loaded{Spec: s, Problems: problems}
			}()
		case Apply:
			l.setProber(e.Spec)
			if l.cfg.Apply != nil {
				l.cfg.Apply(e.Spec)
			}
		case Release:
			l.releaseHandoff()
		case Tell:
			l.tell(e)
		case Log:
			l.cfg.Log.Log(e.Level, e.Msg, e.Fields...)
		case Exit:
			l.exit, l.done = e.Code, true
		}
	}
}

func (l *loop) spawn(e Spawn) {
	if e.Step > 0 {
		pid, code, err := l.cfg.Spawner.SpawnStep(e.Spec, e.PreStart)
		if err != nil {
			l.queue = append(l.queue, SpawnFailed{Gen: e.Gen, Code: code, Err: err, Step: e.Step})
			return
		}
		l.queue = append(l.queue, Spawned{Gen: e.Gen, PID: pid, Step: e.Step})
		return
	}
	var env []string
	if l.cfg.NotifySocket != nil {
		env = append(env, "NOTIFY_SOCKET="+l.cfg.NotifySocket.Path)
	}
	pid, release, code, err := l.cfg.Spawner.Spawn(e.Spec, env)
	if err != nil {
		l.queue = append(l.queue, SpawnFailed{Gen: e.Gen, Code: code, Err: err})
		return
	}
	l.releaseHandoff()
	l.release = release
	l.queue = append(l.queue, Spawned{Gen: e.Gen, PID: pid})
}

func (l *loop) releaseHandoff() {
	if l.release != nil {
		l.release()
		l.release = nil
	}
}

// setProber makes the probe for s's health target; a target that cannot be
// probed answers every probe with the reason.
func (l *loop) setProber(s *spec.Spec) {
	l.prober = nil
	o := s.Options
	if o.HealthURL == "" {
		return
	}
	p, err := probe.New(o.HealthURL, o.HealthTimeout, o.HealthCA)
	if err != nil {
		l.cfg.Log.Warn("health probe cannot be made", logging.Err(err))
		return
	}
	l.prober = p
}

// probe runs one probe on a goroutine of its own; the machine never has
// two out, and each ends within health_timeout.
//
// Only an answer from a listener the runtime's tree holds counts: a local
// user who binds the port while the runtime restarts must not make it
// "ready" (see health.Prober.Probe).
func (l *loop) probe(seq int) {
	p, out, rt := l.prober, l.probes, l.m.PID()
	go func() {
		err := errNoProber
		if p != nil {
			err = p.Probe(context.Background(), func(pid int) bool {
				return rt > 0 && (pid == rt || proctree.IsDescendant(pid, rt))
			})
		}
		out <- ProbeDone{Seq: seq, Err: err, Refused: errors.Is(err, syscall.ECONNREFUSED)}
	}()
}

var errNoProber = errors.New("no health probe (see the warning at start)")

func (l *loop) tell(e Tell) {
	n := l.cfg.Notify
	switch e.What {
	case TellReady:
		n.Ready()
		if l.cfg.Settle != nil && !l.settled {
			l.settled = true
			time.AfterFunc(l.cfg.SettleAfter, l.cfg.Settle)
		}
	case TellReloading:
		n.Reloading()
	case TellStatus:
		n.Status(e.Text)
	case TellStopping:
		n.Stopping()
	case TellExtendTimeout:
		n.ExtendTimeout(e.D)
	case TellErrno:
		n.Errno(e.Code)
	case TellWatchdog:
		n.Watchdog()
	}
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// treeKiller signals the group with one system call and, with tree, the
// descendants of niod that left it. Those are read from /proc before the
// group is signalled: while the group dies, a process moves from its dying
// parent to niod, and a walk at that moment could find it in neither
// list and miss it.
type treeKiller struct{}

func (treeKiller) Kill(pgid int, sig syscall.Signal, tree bool) {
	var outside []proctree.Proc
	if tree && proctree.HasChildren() { // none: nothing below niod to walk
		procs, _ := proctree.Tree(os.Getpid())
		outside = outsideGroup(proctree.Living(procs), pgid)
	}
	if pgid > 0 {
		_ = syscall.Kill(-pgid, sig)
	}
	proctree.Signal(outside, sig)
}

// outsideGroup drops the members of group pgid (0: none), which had the
// signal already: a runtime may take a second TERM as "force quit".
func outsideGroup(procs []proctree.Proc, pgid int) []proctree.Proc {
	if pgid <= 0 {
		return procs
	}
	out := procs[:0:0]
	for _, p := range procs {
		if p.PGID != pgid {
			out = append(out, p)
		}
	}
	return out
}
