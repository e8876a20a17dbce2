package supervisor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"niod/internal/exitcode"
	"niod/internal/logging"
	"niod/internal/spec"
)

// State is where the machine is. docs/supervisor.md draws the machine as a
// table of state × event.
type State int

// The states.
const (
	Starting          State = iota // a start was asked of the loop; its answer is awaited
	Running                        // the runtime runs and is not ready yet
	Ready                          // the runtime runs and is ready
	Unhealthy                      // it runs without a sign of life past health_grace; restart = never leaves it so
	BackingOff                     // nothing runs; the restart timer will start it again
	StoppingToRestart              // the tree is being stopped; then the runtime starts again
	StoppingToIdle                 // the tree is being stopped on request; then nothing runs
	StoppingToExit                 // the tree is being stopped; then niod exits
	Stopped                        // stopped on request: nothing runs until a start request
	Done                           // niod exits; nothing of the tree is left
)

var stateNames = [...]string{"starting", "running", "ready", "unhealthy", "backing-off",
	"stopping-to-restart", "stopping-to-idle", "stopping-to-exit", "stopped", "done"}

func (s State) String() string { return stateNames[s] }

// stopping reports whether the tree is being stopped.
func (s State) stopping() bool {
	return s == StoppingToRestart || s == StoppingToIdle || s == StoppingToExit
}

// up reports whether a runtime that was started runs.
func (s State) up() bool { return s == Running || s == Ready || s == Unhealthy }

// Timing constants of the machine.
const (
	// SameStopWindow is how soon a second stop signal counts as the same
	// request (coreutils timeout signals niod and its group; a key
	// bounces); a later one escalates to SIGKILL at once.
	SameStopWindow = time.Second
	// readyProbeEvery is how often the probe asks until the runtime is
	// ready: readiness is what the service manager waits for.
	readyProbeEvery = 100 * time.Millisecond
	// readyProbeRefused is how soon the probe asks again while nothing
	// listens yet: a refused connection is answered by the kernel, not by
	// the runtime, so READY=1 follows the API's opening within a few
	// milliseconds without loading a runtime that answers.
	readyProbeRefused = 5 * time.Millisecond
	// killAgainEvery is how often the tree is swept with SIGKILL after
	// stop_timeout, for processes forked meanwhile.
	killAgainEvery = 100 * time.Millisecond
	// extendStopBy is added to stop_timeout in EXTEND_TIMEOUT_USEC: room
	// for the SIGKILL and the reaping after it.
	extendStopBy = 5 * time.Second
)

// MachineConfig is what the machine is built with.
type MachineConfig struct {
	Spec *spec.Spec
	// Watchdog is how often to ping the service manager's watchdog; 0
	// means never.
	Watchdog time.Duration
	// RuntimeUID is the uid the runtime runs as: a notify message from a
	// sender that is gone by the time it is read counts when it is this
	// uid's.
	RuntimeUID int
	// Jitter returns a number in [0, 1) for the back-off's jitter.
	Jitter func() float64
}

// Machine is the supervisor's state machine: Step takes an event and the
// time and returns the effects. It does no I/O, so every transition is
// unit-tested with a fake clock.
type Machine struct {
	cfg    MachineConfig
	spec   *spec.Spec
	policy Policy
	state  State

	gen      int       // counts starts
	spawning bool      // a Spawn is out and unanswered
	pid      int       // the runtime's pid; 0 when none runs
	started  time.Time // when the runtime started; zero for a start that failed

	steps        []spec.Step // the pre-start steps of this start
	step         int         // the one being started or run (1-based); 0: none
	stepStarted  time.Time   // when it started
	stepTimedOut bool        // it was killed for pre_start_timeout
	stepsDone    bool        // every step succeeded once (pre_start_once)

	exitCode  int
	exitWhy   string    // why niod exits, for its last log line
	killed    bool      // SIGKILL was sent during this stop
	stopAsked time.Time // when the stop signal that ends niod came
	restartAt time.Time // when the next start is due
	why       string    // what the last end of the runtime was, for the status
	lastErr   string    // the last start error logged, so a repeat is not
	failures  int

	alive    time.Time // the last sign of life
	watched  bool      // the runtime's health is known (probe, READY/WATCHDOG pings)
	ticking  bool      // TimerHealth is armed: only while watched, so an unwatched runtime costs no wake-up
	probeSeq int
	probing  bool // a probe is out: never two at once
	probeGen int  // the start the probe in flight was asked for
	wasReady bool // this start has been ready
	// lastProbeErr is why the last probe failed ("" after an answer).
	lastProbeErr string
	probeAsked   time.Time // when the probe in flight was asked
	lastProbe    probeResult
	readyBy      string   // how this start became ready
	lastExit     exitNote // how the runtime last ended

	reloading   bool // RELOADING=1 was sent and READY=1 is owed
	loading     bool // a LoadSettings is out
	reloadAgain bool // a reload was asked while one was under way
	reloadNote  string
	// reloadAsked numbers reload requests, reloadCovers those the reload
	// under way handles, reloadDone those a finished reload handled; its
	// outcome and problems are for niod status.
	reloadAsked, reloadCovers, reloadDone int
	reloadOutcome                         string
	reloadProblems                        []string
	dropped                               int
	notifyErr                             string

	status string // the last STATUS= sent
	out    []Effect
}

// NewMachine returns a machine that starts the runtime on Boot.
func NewMachine(cfg MachineConfig) *Machine {
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0.5 }
	}
	m := &Machine{cfg: cfg, spec: cfg.Spec, state: Stopped}
	m.policy.Use(cfg.Spec.Options)
	return m
}

// State returns the machine's state.
func (m *Machine) State() State { return m.state }

// PID returns the runtime's pid, 0 when none runs.
func (m *Machine) PID() int { return m.runtimePID() }

// runtimePID is the runtime's pid: 0 while none runs, and while a pre-start
// step runs (m.pid is then the step's).
func (m *Machine) runtimePID() int {
	if m.step > 0 {
		return 0
	}
	return m.pid
}

// Spec returns the spec in force.
func (m *Machine) Spec() *spec.Spec { return m.spec }

// Step feeds one event at now and returns what to do.
func (m *Machine) Step(ev Event, now time.Time) []Effect {
	m.out = nil
	switch e := ev.(type) {
	case Boot:
		m.boot()
	case Spawned:
		m.spawned(e, now)
	case SpawnFailed:
		m.spawnFailed(e, now)
	case Reaped:
		m.reaped(e, now)
	case Signal:
		m.signal(e.Sig, now)
	case TimerFired:
		m.timer(e.Timer, now)
	case Notified:
		m.notified(e, now)
	case NotifyFailed:
		m.notifyFailed(e)
	case ProbeDone:
		m.probeDone(e, now)
	case Loaded:
		m.loaded(e, now)
	case Request:
		m.request(e, now)
	}
	if s := m.Status(now); s != m.status && m.state != Done {
		m.status = s
		m.tellStatus(s)
	}
	return m.out
}

// tellStatus adds STATUS= ahead of a READY=1 of the same step, so the
// service manager shows the new state when it hears of it.
func (m *Machine) tellStatus(s string) {
	st := Tell{What: TellStatus, Text: s}
	for i, e := range m.out {
		if t, ok := e.(Tell); ok && t.What == TellReady {
			m.out = slices.Insert(m.out, i, Effect(st))
			return
		}
	}
	m.do(st)
}

func (m *Machine) do(effects ...Effect) { m.out = append(m.out, effects...) }

func (m *Machine) log(level zapcore.Level, msg string, fields ...logging.Field) {
	m.do(Log{Level: level, Msg: msg, Fields: fields})
}

func (m *Machine) boot() {
	if m.state != Stopped || m.gen != 0 {
		return
	}
	if m.cfg.Watchdog > 0 {
		m.do(Arm{TimerWatchdog, m.cfg.Watchdog})
	}
	m.start()
}

// start asks the loop for a start; the answer comes as an event.
func (m *Machine) start() {
	m.gen++
	m.state, m.pid, m.wasReady = Starting, 0, false
	m.steps = nil
	if m.stepsDue() {
		m.steps = m.spec.PreStart
		m.spawnStep(1)
		return
	}
	m.spawnStep(0)
}

func (m *Machine) spawned(e Spawned, now time.Time) {
	if e.Gen != m.gen || !m.spawning || e.Step != m.step {
		return
	}
	if e.Step > 0 {
		m.stepSpawned(e, now)
		return
	}
	m.spawning, m.pid, m.started, m.alive, m.readyBy = false, e.PID, now, now, ""
	m.lastErr = ""
	if m.state.stopping() {
		// A stop came while the start was under way: stop what started.
		m.do(Kill{PGID: m.pid, Sig: m.spec.Options.StopSignal, Tree: true})
		return
	}
	o := m.spec.Options
	m.watched = o.HealthURL != "" || o.Ready == spec.ReadyNotify
	m.log(zapcore.InfoLevel, "runtime started", logging.Int("pid", m.pid), logging.Strings("command", m.spec.Args))
	m.ticking = false
	m.tickHealth()
	switch o.Ready {
	case spec.ReadyExec:
		m.becomeReady("exec")
	case spec.ReadyProbe:
		m.state = Running
		m.do(Arm{TimerReadyProbe, readyProbeRefused}) // its API cannot be open yet
		m.log(zapcore.InfoLevel, "waiting for the runtime to be ready", logging.String("by", "probe"), logging.String("url", o.HealthURL))
	default:
		m.state = Running
		m.log(zapcore.InfoLevel, "waiting for the runtime to be ready", logging.String("by", "READY=1 on niod's notify socket"))
	}
}

func (m *Machine) spawnFailed(e SpawnFailed, now time.Time) {
	if e.Gen != m.gen || !m.spawning || e.Step != m.step {
		return
	}
	m.spawning = false
	if k := e.Step; k > 0 {
		m.step = 0
		if m.state.stopping() {
			m.do(CheckTree{})
			return
		}
		m.stepFailed(k, e.Code, "did not start: "+e.Err.Error(), now)
		return
	}
	msg := e.Err.Error()
	m.lastExit = exitNote{code: e.Code, at: now, startErr: msg, ok: true}
	if msg != m.lastErr {
		// Once per distinct error, not once per attempt.
		m.lastErr = msg
		m.log(zapcore.ErrorLevel, "runtime did not start", logging.String("error", msg), logging.Int("code", e.Code))
	}
	if m.state.stopping() {
		m.do(CheckTree{})
		return
	}
	m.started = time.Time{}
	m.ended(e.Code, 0, now, "a failed start ("+strconv.Itoa(e.Code)+")")
}

// becomeReady marks this start ready and tells the service manager; a
// reload waiting for the new runtime ends here.
func (m *Machine) becomeReady(how string) {
	m.state, m.wasReady, m.readyBy = Ready, true, how
	m.do(Cancel{TimerReadyProbe})
	m.log(zapcore.InfoLevel, "runtime ready", logging.Int("pid", m.pid), logging.String("by", how))
	if m.reloading && !m.loading {
		m.finishReload("restarted", nil)
		return
	}
	m.do(Tell{What: TellReady})
}

func (m *Machine) reaped(e Reaped, now time.Time) {
	for _, x := range e.Exits {
		if x.PID != m.pid || m.pid == 0 {
			continue // an orphan of the tree, reaped
		}
		if m.step > 0 {
			m.stepExited(x, now)
			continue
		}
		uptime := now.Sub(m.started)
		m.pid = 0
		m.lastExit = exitNote{code: x.Code, at: now, after: uptime, ok: true}
		m.do(Release{})
		m.log(zapcore.InfoLevel, "runtime exited", exitFields(x.PID, x.Code, uptime)...)
		if m.state.up() {
			m.ended(x.Code, uptime, now, describeCode(x.Code))
		}
	}
	if m.state.stopping() && e.Empty && m.pid == 0 && !m.spawning {
		m.stopped(now)
	}
}

// describeCode says how a process ended: "exit code 3" or "SIGKILL".
func describeCode(code int) string {
	if sig, ok := killedBy(code); ok {
		return "SIG" + signalName(sig)
	}
	return "exit code " + strconv.Itoa(code)
}

// killedBy reads a shell-style code: 128+N is signal N.
func killedBy(code int) (syscall.Signal, bool) {
	if code > exitcode.SignalBase && code < exitcode.SignalBase+65 {
		return syscall.Signal(code - exitcode.SignalBase), true
	}
	return 0, false
}

// exitFields describe the runtime's end for the log: "killed by SIGKILL"
// for a signal, not the shell's 137; the code for an exit.
func exitFields(pid, code int, uptime time.Duration) []logging.Field {
	f := []logging.Field{logging.Int("pid", pid), logging.String("exit", describeEnd(code))}
	if _, ok := killedBy(code); !ok {
		f = append(f, logging.Int("code", code))
	}
	return append(f, logging.Duration("uptime", uptime.Round(time.Millisecond)))
}

// describeEnd says how the runtime ended, as the log and niod status say
// it: "killed by SIGKILL" or "exit code 3".
func describeEnd(code int) string {
	if _, ok := killedBy(code); ok {
		return "killed by " + describeCode(code)
	}
	return describeCode(code)
}

func signalName(sig syscall.Signal) string {
	if n := strings.TrimPrefix(unix.SignalName(sig), "SIG"); n != "" {
		return n
	}
	return strconv.Itoa(int(sig))
}

// ended handles the runtime ending by itself (or not starting): the policy
// decides between a restart, giving up with 69 and exiting with its code.
func (m *Machine) ended(code int, uptime time.Duration, now time.Time, why string) {
	d := m.policy.Exited(code, uptime, now, m.cfg.Jitter)
	m.why, m.failures = why, d.Failures
	switch {
	case d.LimitHit:
		m.log(zapcore.ErrorLevel, "runtime failed too often; giving up", logging.Int("failures", m.spec.Options.RestartLimit),
			logging.Duration("window", m.spec.Options.RestartLimitWindow))
		m.exitWhy = fmt.Sprintf("gave up after %d failures in %s (restart_limit); last: %s",
			m.spec.Options.RestartLimit, m.spec.Options.RestartLimitWindow, why)
		m.beginStop(StoppingToExit, exitcode.Unavailable)
	case d.Restart:
		m.restartAt = now.Add(d.Delay)
		m.log(zapcore.InfoLevel, "restarting the runtime", logging.String("after", why),
			logging.Duration("delay", d.Delay.Round(time.Millisecond)), logging.Int("failures", d.Failures))
		m.beginStop(StoppingToRestart, 0)
	default:
		m.log(zapcore.InfoLevel, "runtime ended; not restarting it", logging.String("after", why),
			logging.String("restart", m.spec.Options.Restart.String()))
		m.exitWhy = "the runtime ended (" + why + ") and restart = " + m.spec.Options.Restart.String()
		m.beginStop(StoppingToExit, code)
	}
}

// beginStop stops whatever is left of the tree; to says what follows.
func (m *Machine) beginStop(to State, code int) {
	m.state, m.exitCode, m.killed = to, code, false
	m.ticking = false
	m.do(Cancel{TimerRestart}, Cancel{TimerHealth}, Cancel{TimerReadyProbe}, Cancel{TimerPreStart})
	sig := m.spec.Options.StopSignal
	// The group first: it is what matters and it is one system call; then
	// whatever left it (a new session, say).
	m.do(Kill{PGID: m.pid, Sig: sig, Tree: true}, CheckTree{}, Arm{TimerKill, m.spec.Options.StopTimeout})
}

// stopped runs when nothing of the tree is left.
func (m *Machine) stopped(now time.Time) {
	m.do(Cancel{TimerKill}, Cancel{TimerKillAgain})
	switch m.state {
	case StoppingToExit:
		m.state = Done
		if m.exitCode == exitcode.Unavailable || m.exitCode == exitcode.Software {
			m.do(Tell{What: TellErrno, Code: m.exitCode})
		}
		m.log(zapcore.InfoLevel, "niod exits", logging.Int("code", m.exitCode), logging.String("why", m.exitWhy))
		m.do(Exit{m.exitCode})
	case StoppingToIdle:
		m.state = Stopped
		m.log(zapcore.InfoLevel, "runtime stopped on request")
	case StoppingToRestart:
		if wait := m.restartAt.Sub(now); wait > 0 {
			m.state = BackingOff
			m.do(Arm{TimerRestart, wait})
			return
		}
		m.start()
	}
}

// stopRequest handles TERM and INT: niod stops the tree and exits 128+N.
func (m *Machine) stopRequest(sig syscall.Signal, now time.Time) {
	name := signalName(sig)
	switch m.state {
	case Done:
		return
	case StoppingToExit:
		if now.Sub(m.stopAsked) < SameStopWindow || m.killed {
			m.log(zapcore.DebugLevel, "stop signal again; the stop is under way", logging.String("signal", name))
			return
		}
		m.log(zapcore.WarnLevel, "second stop signal; killing the runtime now", logging.String("signal", name))
		m.killNow()
		return
	}
	m.stopAsked = now
	m.exitWhy = "stopped by SIG" + name
	m.log(zapcore.InfoLevel, "stopping", logging.String("signal", name))
	m.do(Tell{What: TellStopping}, Tell{What: TellExtendTimeout, D: m.spec.Options.StopTimeout + extendStopBy})
	code := exitcode.SignalBase + int(sig)
	if e := m.spec.Options.StopExit; e.Set {
		code = e.Code // stop_exit_code: a stop that was asked for is no failure
	}
	if m.state == StoppingToRestart || m.state == StoppingToIdle {
		// The stop under way goes on, stop_timeout and all; only what
		// follows it changes.
		m.state, m.exitCode = StoppingToExit, code
		return
	}
	m.beginStop(StoppingToExit, code)
}

// killNow sends SIGKILL to the tree and sweeps it until it is gone.
func (m *Machine) killNow() {
	m.killed = true
	m.do(Cancel{TimerKill}, Kill{PGID: m.pid, Sig: syscall.SIGKILL, Tree: true}, CheckTree{},
		Arm{TimerKillAgain, killAgainEvery})
}

func (m *Machine) signal(sig syscall.Signal, now time.Time) {
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT:
		m.stopRequest(sig, now)
	case syscall.SIGHUP:
		m.reloadRequest()
	default:
		m.forward(sig)
	}
}

// forward sends sig to the runtime's process group.
func (m *Machine) forward(sig syscall.Signal) {
	if m.runtimePID() == 0 {
		m.log(zapcore.InfoLevel, "no runtime to forward the signal to", logging.String("signal", signalName(sig)))
		return
	}
	m.log(zapcore.InfoLevel, "forwarding signal to the runtime", logging.String("signal", signalName(sig)), logging.Int("pgid", m.pid))
	m.do(Kill{PGID: m.pid, Sig: sig})
}

func (m *Machine) timer(t Timer, now time.Time) {
	switch t {
	case TimerRestart:
		if m.state == BackingOff {
			m.start()
		}
	case TimerKill:
		if !m.state.stopping() || m.killed {
			return
		}
		m.log(zapcore.WarnLevel, "runtime did not stop in time; killing it", logging.Duration("stop_timeout", m.spec.Options.StopTimeout))
		m.killNow()
	case TimerKillAgain:
		if m.state.stopping() {
			m.do(Kill{PGID: m.pid, Sig: syscall.SIGKILL, Tree: true}, CheckTree{}, Arm{TimerKillAgain, killAgainEvery})
		}
	case TimerHealth:
		m.ticking = false
		if !m.state.up() {
			return
		}
		m.probe(now)
		m.tickHealth()
		m.checkHealth(now)
	case TimerReadyProbe:
		if m.state == Running && m.spec.Options.Ready == spec.ReadyProbe {
			m.probe(now)
			m.do(Arm{TimerReadyProbe, readyProbeEvery})
		}
	case TimerPreStart:
		m.stepTimeout()
	case TimerWatchdog:
		if m.state == Done {
			return
		}
		m.do(Arm{TimerWatchdog, m.cfg.Watchdog})
		m.checkHealth(now)
		if m.Healthy(now) {
			m.do(Tell{What: TellWatchdog})
		}
	}
}

// tickHealth arms the next health probe and check, when the runtime's
// health is watched at all and none is armed.
func (m *Machine) tickHealth() {
	if m.watched && !m.ticking {
		m.ticking = true
		m.do(Arm{TimerHealth, m.spec.Options.HealthInterval})
	}
}

// probe starts a health probe unless one is out.
func (m *Machine) probe(now time.Time) {
	if m.spec.Options.HealthURL == "" || m.probing || !m.state.up() {
		return
	}
	m.probeSeq++
	m.probing, m.probeGen, m.probeAsked = true, m.gen, now
	m.do(Probe{Seq: m.probeSeq})
}

func (m *Machine) probeDone(e ProbeDone, now time.Time) {
	if e.Seq != m.probeSeq || !m.probing {
		return // stale: changes nothing
	}
	m.probing = false
	if m.probeGen != m.gen || !m.state.up() {
		return // asked of a runtime that is gone
	}
	m.lastProbe = probeResult{at: now, latency: now.Sub(m.probeAsked), err: e.Err, ok: true}
	if e.Err != nil {
		// Before readiness the probe asks often (every 5 ms while the
		// connection is refused, ten times a second after): say each
		// reason once.
		if msg := e.Err.Error(); m.wasReady || msg != m.lastProbeErr {
			m.log(zapcore.DebugLevel, "health probe failed", logging.Err(e.Err))
		}
		m.lastProbeErr = e.Err.Error()
		if e.Refused && m.state == Running && m.spec.Options.Ready == spec.ReadyProbe {
			m.do(Arm{TimerReadyProbe, readyProbeRefused})
		}
		return
	}
	m.alive, m.lastProbeErr = now, ""
	switch {
	case m.state == Running && m.spec.Options.Ready == spec.ReadyProbe:
		m.becomeReady("probe")
	case m.state == Unhealthy:
		m.checkHealth(now)
	}
}

// Healthy is false while the runtime is left unhealthy or, watched, gave
// no sign of life for longer than health_grace; then the service manager's
// watchdog is not pinged. A runtime being stopped, restarted or waited for
// is being recovered within policy.
func (m *Machine) Healthy(now time.Time) bool {
	switch m.state {
	case Unhealthy:
		return false
	case Running, Ready:
		return !m.watched || now.Sub(m.alive) <= m.spec.Options.HealthGrace
	}
	return true
}

// checkHealth restarts a runtime that stayed silent past health_grace; with
// restart = never niod leaves it and stops pinging the watchdog, so the
// service manager decides.
func (m *Machine) checkHealth(now time.Time) {
	if !m.state.up() {
		return
	}
	silent := now.Sub(m.alive)
	if !m.watched || silent <= m.spec.Options.HealthGrace {
		if m.state == Unhealthy {
			m.state = Running
			if m.wasReady {
				m.state = Ready
			}
			m.log(zapcore.InfoLevel, "runtime healthy again", logging.Int("pid", m.pid))
		}
		return
	}
	if m.spec.Options.Restart == spec.RestartNever {
		if m.state != Unhealthy {
			m.state = Unhealthy
			m.log(zapcore.WarnLevel, "runtime unhealthy; restart = never, so niod stops pinging the watchdog", logging.Int("pid", m.pid))
		}
		return
	}
	fields := []logging.Field{logging.Int("pid", m.pid), logging.Duration("silent_for", silent.Round(time.Millisecond))}
	if m.lastProbeErr != "" {
		fields = append(fields, logging.String("last_probe", m.lastProbeErr))
	}
	m.log(zapcore.WarnLevel, "runtime unhealthy; restarting it", fields...)
	m.ended(1, now.Sub(m.started), now, "no sign of life for "+m.spec.Options.HealthGrace.String())
}
