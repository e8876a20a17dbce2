package supervisor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"niod/internal/exitcode"
	"niod/internal/notifysock"
	"niod/internal/spec"
)

// t0 is the fake clock's start; tests move time by hand.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const (
	runtimePID = 100
	runtimeUID = 1000
)

func testSpec() *spec.Spec {
	return &spec.Spec{
		Path: "/usr/bin/runtime", Args: []string{"runtime"}, Dir: "/srv", Env: []string{"A=1"},
		Payload:  []byte("[s]\nk = v\n"),
		Identity: spec.Identity{User: "nio", UID: runtimeUID, GID: runtimeUID, Root: "/srv", HandoffDir: "/run/niod"},
		Options: spec.Options{
			Restart: spec.RestartOnFailure, RestartDelay: 100 * time.Millisecond, RestartMaxDelay: 30 * time.Second,
			RestartResetAfter: time.Minute, RestartLimit: 0, RestartLimitWindow: time.Minute,
			StopSignal: syscall.SIGTERM, StopTimeout: 8 * time.Second,
			Ready: spec.ReadyProbe, HealthURL: "http://127.0.0.1:8181/nio",
			HealthInterval: 5 * time.Second, HealthTimeout: 3 * time.Second, HealthGrace: 30 * time.Second,
			LogLevel: "info", LogFormat: "json",
		},
	}
}

// fx drives one machine and keeps what it asked.
type fx struct {
	t   *testing.T
	m   *Machine
	now time.Time
	out []Effect // the effects of the last step
	all []Effect // every effect since the fixture was made
}

func newFx(t *testing.T, s *spec.Spec) *fx {
	t.Helper()
	return &fx{t: t, now: t0, m: NewMachine(MachineConfig{Spec: s, Watchdog: 10 * time.Second, RuntimeUID: runtimeUID,
		Jitter: fixedJitter(0.5)})}
}

func (f *fx) step(evs ...Event) *fx {
	for _, ev := range evs {
		f.out = f.m.Step(ev, f.now)
		f.all = append(f.all, f.out...)
	}
	return f
}

func (f *fx) after(d time.Duration) *fx { f.now = f.now.Add(d); return f }

func (f *fx) gen() int { return f.m.gen }

func (f *fx) wantState(want State) {
	f.t.Helper()
	if got := f.m.State(); got != want {
		f.t.Fatalf("state %s, want %s", got, want)
	}
}

// count counts the effects of the last step that match.
func count[E Effect](effects []Effect, match func(E) bool) int {
	n := 0
	for _, e := range effects {
		if x, ok := e.(E); ok && (match == nil || match(x)) {
			n++
		}
	}
	return n
}

func tells(effects []Effect, what Telling) int {
	return count(effects, func(e Tell) bool { return e.What == what })
}

func logged(effects []Effect, text string) bool {
	return count(effects, func(e Log) bool { return strings.Contains(e.Msg, text) }) > 0
}

func fromRuntime(fields string) Notified {
	return Notified{notifysock.Message{PID: runtimePID, UID: runtimeUID, Fields: notifysock.Parse(fields)}}
}

// reachSteps reaches a state from a fresh machine by real event sequences.
func reachSteps(t *testing.T, s State) *fx {
	switch s {
	case Starting:
		return newFx(t, testSpec()).step(Boot{})
	case Running:
		f := newFx(t, testSpec()).step(Boot{})
		// A readiness probe is out.
		return f.step(Spawned{Gen: f.gen(), PID: runtimePID}, TimerFired{TimerReadyProbe})
	case Ready:
		f := reachState(t, Running)
		return f.step(ProbeDone{Seq: f.m.probeSeq})
	case Unhealthy:
		sp := testSpec()
		sp.Options.Restart = spec.RestartNever
		f := newFx(t, sp).step(Boot{})
		f.step(Spawned{Gen: f.gen(), PID: runtimePID}, TimerFired{TimerReadyProbe})
		f.step(ProbeDone{Seq: f.m.probeSeq})
		// Silent past health_grace; the health tick sends a probe that
		// is still out.
		return f.after(31 * time.Second).step(TimerFired{TimerHealth})
	case BackingOff:
		f := reachState(t, Ready)
		f.step(Reaped{[]ChildExit{{runtimePID, 1}}, true}) // first failure: at once
		f.step(Spawned{Gen: f.gen(), PID: runtimePID})
		return f.step(Reaped{[]ChildExit{{runtimePID, 1}}, true}) // second: after a back-off
	case StoppingToRestart:
		return reachState(t, Ready).step(Reaped{[]ChildExit{{runtimePID, 1}}, false})
	case StoppingToIdle:
		return reachState(t, Ready).step(Request{Op: OpStop})
	case StoppingToExit:
		return reachState(t, Ready).step(Signal{syscall.SIGTERM})
	case Stopped:
		return reachState(t, StoppingToIdle).step(Reaped{[]ChildExit{{runtimePID, 143}}, true})
	case Done:
		return reachState(t, StoppingToExit).step(Reaped{[]ChildExit{{runtimePID, 143}}, true})
	}
	panic("no way to " + s.String())
}

func reachState(t *testing.T, s State) *fx {
	t.Helper()
	f := reachSteps(t, s)
	f.wantState(s)
	return f
}

// A row is one event (or a short sequence that forms one, such as HUP and
// its answer) and the state it leads to from each state, in State order.
type row struct {
	name string
	ev   func(f *fx) []Event
	next [numStates]State
}

const numStates = int(Done) + 1

// Short names for the table.
const (
	St = Starting
	Ru = Running
	Re = Ready
	Un = Unhealthy
	Bo = BackingOff
	SR = StoppingToRestart
	SI = StoppingToIdle
	SE = StoppingToExit
	Sp = Stopped
	Dn = Done
)

func one(ev Event) func(*fx) []Event { return func(*fx) []Event { return []Event{ev} } }

func loadedSpec(change func(s *spec.Spec)) func(f *fx) []Event {
	return func(f *fx) []Event {
		s := *f.m.Spec()
		change(&s)
		return []Event{Signal{syscall.SIGHUP}, Loaded{Spec: &s}}
	}
}

// table is the machine: docs/supervisor.md is rendered from it.
var table = []row{
	{"Boot", one(Boot{}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"Spawned (this start)", func(f *fx) []Event { return []Event{Spawned{Gen: f.gen(), PID: 200}} },
		[numStates]State{Ru, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"Spawned (an earlier start)", func(f *fx) []Event { return []Event{Spawned{Gen: f.gen() - 1, PID: 200}} },
		[numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"SpawnFailed (this start)", func(f *fx) []Event { return []Event{SpawnFailed{Gen: f.gen(), Code: 127, Err: errors.New("ENOENT")}} },
		[numStates]State{SR, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"Reaped: the runtime, tree empty", one(Reaped{[]ChildExit{{runtimePID, 1}}, true}),
		[numStates]State{St, St, St, Dn, Bo, St, Sp, Dn, Sp, Dn}},
	{"Reaped: an orphan, tree not empty", one(Reaped{[]ChildExit{{999, 0}}, false}),
		[numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"Reaped: nothing, tree empty", one(Reaped{nil, true}),
		[numStates]State{St, Ru, Re, Un, Bo, St, SI, SE, Sp, Dn}},
	{"TERM", one(Signal{syscall.SIGTERM}), [numStates]State{SE, SE, SE, SE, SE, SE, SE, SE, SE, Dn}},
	{"TERM, 2 s after a first", func(f *fx) []Event { f.after(2 * time.Second); return []Event{Signal{syscall.SIGTERM}} },
		[numStates]State{SE, SE, SE, SE, SE, SE, SE, SE, SE, Dn}},
	{"INT", one(Signal{syscall.SIGINT}), [numStates]State{SE, SE, SE, SE, SE, SE, SE, SE, SE, Dn}},
	{"HUP", one(Signal{syscall.SIGHUP}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"USR1", one(Signal{syscall.SIGUSR1}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"timer restart", one(TimerFired{TimerRestart}), [numStates]State{St, Ru, Re, Un, St, SR, SI, SE, Sp, Dn}},
	{"timer kill", one(TimerFired{TimerKill}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"timer kill-again", one(TimerFired{TimerKillAgain}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"timer health", one(TimerFired{TimerHealth}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"timer ready-probe", one(TimerFired{TimerReadyProbe}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"timer pre-start (no step runs)", one(TimerFired{TimerPreStart}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"timer watchdog", one(TimerFired{TimerWatchdog}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"READY=1 from the runtime", one(fromRuntime("READY=1")), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"WATCHDOG=1 from the runtime", one(fromRuntime("WATCHDOG=1")), [numStates]State{St, Ru, Re, Re, Bo, SR, SI, SE, Sp, Dn}},
	{"WATCHDOG=1 from outside", one(Notified{notifysock.Message{PID: 4242, UID: runtimeUID, Ancestors: []int{1}, Fields: map[string]string{"WATCHDOG": "1"}}}),
		[numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"notify socket error", one(NotifyFailed{errors.New("ENOBUFS")}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"probe answered (the one out)", func(f *fx) []Event { return []Event{ProbeDone{Seq: f.m.probeSeq}} },
		[numStates]State{St, Re, Re, Re, Bo, SR, SI, SE, Sp, Dn}},
	{"probe answered (stale)", func(f *fx) []Event { return []Event{ProbeDone{Seq: f.m.probeSeq - 1, Err: nil}} },
		[numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"HUP, then settings the runtime sees changed", loadedSpec(func(s *spec.Spec) { s.Payload = []byte("[s]\nk = w\n") }),
		[numStates]State{SR, SR, SR, SR, St, SR, SI, SE, Sp, Dn}},
	{"HUP, then only niod's options changed", loadedSpec(func(s *spec.Spec) { s.Options.HealthInterval = time.Second }),
		[numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"HUP, then invalid settings", func(*fx) []Event {
		return []Event{Signal{syscall.SIGHUP}, Loaded{Problems: []string{"nio.conf:3: bad"}}}
	},
		[numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"HUP, then another user", loadedSpec(func(s *spec.Spec) { s.Identity.User, s.Identity.UID = "bob", 1001; s.Payload = nil }),
		[numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"stop request", one(Request{Op: OpStop}), [numStates]State{SI, SI, SI, SI, SI, SI, SI, SE, Sp, Dn}},
	{"start request", one(Request{Op: OpStart}), [numStates]State{St, Ru, Re, Un, St, SR, SR, SE, St, Dn}},
	{"restart request", one(Request{Op: OpRestart}), [numStates]State{St, SR, SR, SR, St, SR, SR, SE, St, Dn}},
	{"reload request", one(Request{Op: OpReload}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
	{"signal request (TERM)", one(Request{Op: OpSignal, Sig: syscall.SIGTERM}), [numStates]State{St, Ru, Re, Un, Bo, SR, SI, SE, Sp, Dn}},
}

func TestMachineTable(t *testing.T) {
	for _, r := range table {
		for from := range State(numStates) {
			t.Run(fmt.Sprintf("%s/%s", r.name, from), func(t *testing.T) {
				f := reachState(t, from)
				f.step(r.ev(f)...)
				if got, want := f.m.State(), r.next[from]; got != want {
					t.Errorf("%s in %s: state %s, want %s", r.name, from, got, want)
				}
				checkInvariants(t, f)
			})
		}
	}
}

// checkInvariants holds after every step, in every state.
func checkInvariants(t *testing.T, f *fx) {
	t.Helper()
	m := f.m
	if m.state.up() && m.pid == 0 {
		t.Errorf("%s without a pid", m.state)
	}
	if (m.state == BackingOff || m.state == Stopped || m.state == Done) && (m.pid != 0 || m.spawning) {
		t.Errorf("%s with pid %d spawning %v", m.state, m.pid, m.spawning)
	}
	if m.state == Starting && !m.spawning {
		t.Errorf("starting without a spawn out")
	}
	if st := m.Status(f.now); strings.Contains(st, "pid 0") {
		t.Errorf("status %q in %s", st, m.state)
	}
	if n := count[Spawn](f.out, nil); n > 1 {
		t.Errorf("%d spawns in one step", n)
	}
	if n := count[Exit](f.out, nil); n > 0 && m.state != Done {
		t.Errorf("exit while %s", m.state)
	}
}

// TestTableCoversEveryEventType keeps the table complete when an event type
// is added.
func TestTableCoversEveryEventType(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range table {
		f := reachState(t, Ready)
		for _, ev := range r.ev(f) {
			seen[fmt.Sprintf("%T", ev)] = true
		}
	}
	for _, ev := range []Event{Boot{}, Spawned{}, SpawnFailed{}, Reaped{}, Signal{}, TimerFired{}, Notified{},
		NotifyFailed{}, ProbeDone{}, Loaded{}, Request{}} {
		if name := fmt.Sprintf("%T", ev); !seen[name] {
			t.Errorf("the table has no row for %s", name)
		}
	}
	timers := map[Timer]bool{}
	for _, r := range table {
		f := reachState(t, Ready)
		for _, ev := range r.ev(f) {
			if tf, ok := ev.(TimerFired); ok {
				timers[tf.Timer] = true
			}
		}
	}
	for tm := range numTimers {
		if !timers[tm] {
			t.Errorf("the table has no row for timer %s", tm)
		}
	}
}

func TestStartFailureBacksOffAndHitsTheLimit(t *testing.T) {
	s := testSpec()
	s.Options.Ready, s.Options.HealthURL = spec.ReadyExec, ""
	s.Options.RestartLimit, s.Options.RestartLimitWindow = 5, time.Minute
	f := newFx(t, s).step(Boot{})
	errLines := 0
	var delays []time.Duration
	for i := 0; f.m.State() != Done && i < 20; i++ {
		f.step(SpawnFailed{Gen: f.gen(), Code: 127, Err: errors.New("cannot start /x: it does not exist (ENOENT)")})
		if logged(f.out, "runtime did not start") {
			errLines++
		}
		// Never a start in the same step as the failure but the first:
		// the back-off and the loop come in between.
		f.step(Reaped{nil, true})
		if f.m.State() == BackingOff {
			d := f.m.restartAt.Sub(f.now)
			delays = append(delays, d)
			f.after(d).step(TimerFired{TimerRestart})
		}
	}
	f.wantState(Done)
	if count(f.out, func(e Exit) bool { return e.Code == exitcode.Unavailable }) != 1 {
		t.Errorf("effects %v, want Exit 69", f.out)
	}
	if tells(f.all, TellErrno) != 1 {
		t.Errorf("no ERRNO= told")
	}
	if errLines != 1 {
		t.Errorf("the same start error logged %d times, want once", errLines)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	if !slices.Equal(delays, want) {
		t.Errorf("back-off delays %v, want %v (the first restart at once)", delays, want)
	}
}

func TestStartFailureLogsEachDistinctError(t *testing.T) {
	s := testSpec()
	s.Options.Ready = spec.ReadyExec
	f := newFx(t, s).step(Boot{})
	n := 0
	for _, msg := range []string{"EMFILE", "EMFILE", "ENOENT", "ENOENT", "EMFILE"} {
		f.step(SpawnFailed{Gen: f.gen(), Code: 126, Err: errors.New(msg)})
		if logged(f.out, "did not start") {
			n++
		}
		f.step(Reaped{nil, true})
		if f.m.State() == BackingOff {
			f.after(time.Minute).step(TimerFired{TimerRestart})
		}
	}
	if n != 3 {
		t.Errorf("%d error lines, want 3 (one per change of error)", n)
	}
}

func TestStopSignalInEveryStateEndsWithItsCode(t *testing.T) {
	for from := range State(numStates) {
		if from == Done {
			continue
		}
		t.Run(from.String(), func(t *testing.T) {
			f := reachState(t, from)
			f.step(Signal{syscall.SIGTERM})
			if f.m.spawning {
				f.step(Spawned{Gen: f.gen(), PID: runtimePID})
			}
			f.step(Reaped{[]ChildExit{{runtimePID, 143}}, true})
			f.wantState(Done)
			if count(f.all, func(e Exit) bool { return e.Code == 143 }) != 1 {
				t.Errorf("no Exit 143")
			}
		})
	}
}

func TestSecondStopSignal(t *testing.T) {
	f := reachState(t, StoppingToExit)
	f.after(SameStopWindow / 2).step(Signal{syscall.SIGTERM})
	if n := count(f.out, func(e Kill) bool { return e.Sig == syscall.SIGKILL }); n != 0 || logged(f.out, "in time") {
		t.Fatalf("the same stop request killed at once: %v", f.out)
	}
	f.after(SameStopWindow).step(Signal{syscall.SIGINT})
	if count(f.out, func(e Kill) bool { return e.Sig == syscall.SIGKILL && e.PGID == runtimePID }) != 1 ||
		!logged(f.out, "second stop signal") {
		t.Fatalf("a later stop signal did not escalate: %v", f.out)
	}
	f.step(TimerFired{TimerKill})
	if logged(f.out, "did not stop in time") {
		t.Errorf("after an escalation the kill timer says it timed out")
	}
}

func TestStopDuringRestartKeepsTheStopTimeout(t *testing.T) {
	f := reachState(t, StoppingToRestart)
	f.after(time.Second).step(Signal{syscall.SIGTERM})
	f.wantState(StoppingToExit)
	if n := count(f.out, func(e Arm) bool { return e.Timer == TimerKill }); n != 0 {
		t.Errorf("the stop timeout was started again")
	}
	if tells(f.out, TellStopping) != 1 {
		t.Errorf("no STOPPING=1")
	}
	f.step(Reaped{nil, true})
	if count(f.out, func(e Exit) bool { return e.Code == 143 }) != 1 {
		t.Errorf("effects %v, want Exit 143", f.out)
	}
}

func TestStopTimeoutKills(t *testing.T) {
	f := reachState(t, StoppingToExit)
	if count(f.out, func(e Kill) bool { return e.Sig == syscall.SIGTERM && e.PGID == runtimePID && e.Tree }) != 1 {
		t.Fatalf("stop did not signal the group and the tree: %v", f.out)
	}
	f.after(8 * time.Second).step(TimerFired{TimerKill})
	if !logged(f.out, "did not stop in time") || count(f.out, func(e Kill) bool { return e.Sig == syscall.SIGKILL }) != 1 {
		t.Fatalf("effects %v", f.out)
	}
	f.step(TimerFired{TimerKillAgain})
	if count(f.out, func(e Kill) bool { return e.Sig == syscall.SIGKILL && e.Tree }) != 1 ||
		count(f.out, func(e Arm) bool { return e.Timer == TimerKillAgain }) != 1 {
		t.Errorf("no sweep again: %v", f.out)
	}
}

func TestReloadReadyWaitsForTheNewRuntime(t *testing.T) {
	f := reachState(t, Ready)
	f.step(loadedSpec(func(s *spec.Spec) { s.Args = []string{"runtime", "--new"} })(f)...)
	if tells(f.all[len(f.all)-len(f.out):], TellReady) != 0 {
		t.Fatalf("READY=1 before the new runtime is ready")
	}
	f.step(Reaped{[]ChildExit{{runtimePID, 143}}, true})
	f.wantState(Starting)
	if count(f.out, func(e Spawn) bool { return e.Spec.Args[1] == "--new" }) != 1 {
		t.Fatalf("the new settings were not started")
	}
	f.step(Spawned{Gen: f.gen(), PID: 101}, TimerFired{TimerReadyProbe})
	if tells(f.out, TellReady) != 0 {
		t.Fatalf("READY=1 before the probe answered")
	}
	f.step(ProbeDone{Seq: f.m.probeSeq})
	if tells(f.out, TellReady) != 1 {
		t.Fatalf("no READY=1 once the new runtime is ready")
	}
	if tells(f.all, TellReloading) != 1 {
		t.Errorf("RELOADING=1 sent %d times", tells(f.all, TellReloading))
	}
	// A restart for new settings is no failure.
	if f.m.failures != 0 {
		t.Errorf("failures %d after a reload", f.m.failures)
	}
}

func TestReloadInPlace(t *testing.T) {
	f := reachState(t, Ready)
	f.step(loadedSpec(func(s *spec.Spec) { s.Options.HealthInterval, s.Options.LogLevel = time.Second, "debug" })(f)...)
	f.wantState(Ready)
	if count(f.out, func(e Apply) bool { return slices.Equal(e.Changed, []string{"health_interval", "log_level"}) }) != 1 {
		t.Errorf("no Apply naming the options: %v", f.out)
	}
	if count(f.out, func(e Arm) bool { return e.Timer == TimerHealth && e.After == time.Second }) != 1 {
		t.Errorf("the new health_interval is not armed")
	}
	if count[Kill](f.out, nil) != 0 || count[Spawn](f.out, nil) != 0 {
		t.Errorf("the runtime was restarted for niod's own options")
	}
	if tells(f.out, TellReady) != 1 {
		t.Errorf("no READY=1 after the reload")
	}
	f.after(time.Second).step(TimerFired{TimerHealth})
	if count(f.out, func(e Arm) bool { return e.Timer == TimerHealth && e.After == time.Second }) != 1 {
		t.Errorf("the health timer keeps the old interval")
	}
}

// A warning that holds at every reload is said once, at start; a new one
// when it first appears.
func TestReloadLogsOnlyNewWarnings(t *testing.T) {
	f := reachState(t, Ready)
	f.m.spec.Warnings = []string{"old warning"}
	f.step(loadedSpec(func(s *spec.Spec) { s.Warnings = []string{"old warning", "new warning"} })(f)...)
	if logged(f.out, "old warning") || count(f.out, func(e Log) bool { return e.Msg == "new warning" }) != 1 {
		t.Errorf("effects %v, want the new warning logged once and the old one not", f.out)
	}
	f.step(loadedSpec(func(s *spec.Spec) {})(f)...)
	if logged(f.out, "warning") {
		t.Errorf("a reload without new warnings logged %v", f.out)
	}
}

func TestReloadRefusesANewIdentity(t *testing.T) {
	f := reachState(t, Ready)
	f.step(loadedSpec(func(s *spec.Spec) { s.Identity.User, s.Identity.UID = "bob", 1001; s.Args = []string{"x"} })(f)...)
	f.wantState(Ready)
	if !logged(f.out, "only a new niod") || tells(f.out, TellReady) != 1 || count[Kill](f.out, nil) != 0 {
		t.Errorf("effects %v", f.out)
	}
	if f.m.Spec().Identity.User != "nio" {
		t.Errorf("the new spec was taken")
	}
	if st := f.m.Status(f.now); !strings.Contains(st, "reload refused") {
		t.Errorf("status %q", st)
	}
}

func TestReloadsFoldAndEachEndsWithReady(t *testing.T) {
	f := reachState(t, Ready)
	f.step(Signal{syscall.SIGHUP})
	for range 50 {
		f.step(Signal{syscall.SIGHUP})
		if count[LoadSettings](f.out, nil) != 0 {
			t.Fatalf("a second read of the settings while one is out")
		}
	}
	f.step(Loaded{Spec: f.m.Spec()})
	if tells(f.out, TellReady) != 1 || count[LoadSettings](f.out, nil) != 1 {
		t.Fatalf("the folded reload did not follow: %v", f.out)
	}
	f.step(Loaded{Spec: f.m.Spec()})
	if tells(f.all, TellReloading) != 2 || tells(f.all, TellReady) != 3 { // one at start
		t.Errorf("RELOADING %d READY %d", tells(f.all, TellReloading), tells(f.all, TellReady))
	}
}

func TestProbesNeverOverlap(t *testing.T) {
	f := reachState(t, Ready)
	f.after(5 * time.Second).step(TimerFired{TimerHealth})
	first := f.m.probeSeq
	if count[Probe](f.out, nil) != 1 {
		t.Fatalf("no probe on the health tick")
	}
	f.after(5 * time.Second).step(TimerFired{TimerHealth})
	if count[Probe](f.out, nil) != 0 {
		t.Fatalf("a second probe while one is out")
	}
	f.step(ProbeDone{Seq: first - 1, Err: nil}) // stale: changes nothing
	if !f.m.probing {
		t.Fatalf("a stale result cleared the probe in flight")
	}
	f.step(ProbeDone{Seq: first, Err: errors.New("refused")})
	f.after(5 * time.Second).step(TimerFired{TimerHealth})
	if count[Probe](f.out, nil) != 1 {
		t.Errorf("no probe after the last one answered")
	}
}

func TestProbeOfAnEarlierStartCountsForNothing(t *testing.T) {
	f := reachState(t, Running) // a readiness probe is out
	seq := f.m.probeSeq
	f.step(Reaped{[]ChildExit{{runtimePID, 1}}, true})
	f.step(Spawned{Gen: f.gen(), PID: 101})
	f.step(ProbeDone{Seq: seq, Err: nil})
	f.wantState(Running)
	f.step(TimerFired{TimerReadyProbe})
	if count[Probe](f.out, nil) != 1 {
		t.Errorf("no probe for the new start")
	}
}

func TestUnhealthyRestarts(t *testing.T) {
	f := reachState(t, Ready)
	f.after(31 * time.Second).step(TimerFired{TimerWatchdog})
	f.wantState(StoppingToRestart)
	if tells(f.out, TellWatchdog) != 1 {
		t.Errorf("recovering within policy, the watchdog is still pinged")
	}
}

func TestUnhealthyLeftAloneStopsTheWatchdog(t *testing.T) {
	f := reachState(t, Unhealthy)
	f.step(TimerFired{TimerWatchdog})
	if tells(f.out, TellWatchdog) != 0 {
		t.Errorf("an unhealthy runtime left alone still pings the watchdog")
	}
	f.step(fromRuntime("WATCHDOG=1"), TimerFired{TimerWatchdog})
	f.wantState(Ready)
	if tells(f.out, TellWatchdog) != 1 {
		t.Errorf("healthy again, no ping")
	}
}

// waitingForNotify is a runtime started with ready = notify.
func waitingForNotify(t *testing.T) *fx {
	s := testSpec()
	s.Options.Ready, s.Options.HealthURL = spec.ReadyNotify, ""
	f := newFx(t, s).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID})
	f.wantState(Running)
	return f
}

func TestReadyByNotify(t *testing.T) {
	f := waitingForNotify(t)
	// From a helper that exited before niod read it: accepted by uid.
	f.step(Notified{notifysock.Message{PID: 555, UID: runtimeUID, Gone: true, Fields: map[string]string{"READY": "1"}}})
	f.wantState(Ready)
	if tells(f.out, TellReady) != 1 {
		t.Errorf("no READY=1")
	}
}

func TestNotifyFromOutsideIsDropped(t *testing.T) {
	f := waitingForNotify(t)
	for _, msg := range []notifysock.Message{
		{PID: 555, UID: runtimeUID, Ancestors: []int{1}},    // living, not below the runtime
		{PID: 555, UID: runtimeUID + 1, Gone: true},         // gone, another uid
		{PID: runtimePID, UID: runtimeUID, Truncated: true}, // half a message
	} {
		msg.Fields = map[string]string{"READY": "1"}
		f.step(Notified{msg})
		f.wantState(Running)
	}
	if f.m.dropped != 3 {
		t.Errorf("dropped %d, want 3", f.m.dropped)
	}
}

func TestStatusIsTrueInBackOff(t *testing.T) {
	f := reachState(t, BackingOff)
	st := f.m.Status(f.now)
	if !strings.Contains(st, "restarting at") || !strings.Contains(st, "exit code 1") || !strings.Contains(st, "failure 2") {
		t.Errorf("status %q", st)
	}
}

func TestStatusNotesTheCertificate(t *testing.T) {
	s := testSpec()
	s.Options.Ready = spec.ReadyExec
	s.CertNotAfter, s.CertWarnFrom = t0.Add(40*24*time.Hour), t0.Add(10*24*time.Hour)
	f := newFx(t, s).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID})
	if st := f.m.Status(f.now); strings.Contains(st, "certificate") {
		t.Errorf("status %q notes a certificate far from its end", st)
	}
	f.after(11 * 24 * time.Hour).step(TimerFired{TimerWatchdog})
	if count(f.out, func(e Tell) bool { return e.What == TellStatus && strings.Contains(e.Text, "certificate expires") }) != 1 {
		t.Errorf("no STATUS= noting the certificate as time passed")
	}
}

func TestForwardedSignals(t *testing.T) {
	f := reachState(t, Ready)
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT, syscall.SIGWINCH} {
		f.step(Signal{sig})
		if count(f.out, func(e Kill) bool { return e.Sig == sig && e.PGID == runtimePID && !e.Tree }) != 1 {
			t.Errorf("%v not forwarded to the group", sig)
		}
	}
	b := reachState(t, BackingOff)
	b.step(Signal{syscall.SIGUSR1})
	if count[Kill](b.out, nil) != 0 {
		t.Errorf("forwarded with no runtime")
	}
}

func TestRestartNeverPassesTheCodeThrough(t *testing.T) {
	s := testSpec()
	s.Options.Restart, s.Options.Ready = spec.RestartNever, spec.ReadyExec
	f := newFx(t, s).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID}, Reaped{[]ChildExit{{runtimePID, 7}}, true})
	if count(f.out, func(e Exit) bool { return e.Code == 7 }) != 1 {
		t.Errorf("effects %v, want Exit 7", f.out)
	}
}

func TestWatchdogArmedAtBoot(t *testing.T) {
	f := newFx(t, testSpec()).step(Boot{})
	if count(f.out, func(e Arm) bool { return e.Timer == TimerWatchdog && e.After == 10*time.Second }) != 1 {
		t.Errorf("effects %v", f.out)
	}
	f.step(TimerFired{TimerWatchdog})
	if tells(f.out, TellWatchdog) != 1 || count(f.out, func(e Arm) bool { return e.Timer == TimerWatchdog }) != 1 {
		t.Errorf("effects %v", f.out)
	}
}

// A reload that changes the probe's target while a probe is out does not
// start a second one beside it, and the old target's answer counts for
// nothing.
func TestNewHealthURLWhileAProbeIsOut(t *testing.T) {
	f := reachState(t, Ready)
	f.after(5 * time.Second).step(TimerFired{TimerHealth})
	out := f.m.probeSeq
	f.step(loadedSpec(func(s *spec.Spec) { s.Options.HealthURL = "http://127.0.0.1:9/nio" })(f)...)
	f.after(5 * time.Second).step(TimerFired{TimerHealth})
	if count[Probe](f.out, nil) != 0 {
		t.Fatalf("a second probe while the old target's is out")
	}
	alive := f.m.alive
	f.step(ProbeDone{Seq: out, Err: nil})
	if f.m.alive != alive {
		t.Errorf("the old target's answer counted as a sign of life")
	}
	f.after(5 * time.Second).step(TimerFired{TimerHealth})
	if count[Probe](f.out, nil) != 1 {
		t.Errorf("no probe of the new target once the old one answered")
	}
}

// stop_exit_code: a requested stop ends niod with that code, not 128+N; an
// end of the runtime by itself is unchanged.
func TestStopExitCode(t *testing.T) {
	s := testSpec()
	s.Options.StopExit = spec.StopExit{Code: 0, Set: true}
	f := newFx(t, s).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID}, TimerFired{TimerReadyProbe})
	f.step(ProbeDone{Seq: f.m.probeSeq}, Signal{syscall.SIGTERM}, Reaped{[]ChildExit{{runtimePID, 143}}, true})
	if count(f.out, func(e Exit) bool { return e.Code == 0 }) != 1 {
		t.Errorf("effects %v, want Exit 0", f.out)
	}
	s.Options.Restart = spec.RestartNever
	g := newFx(t, s).step(Boot{})
	g.step(Spawned{Gen: g.gen(), PID: runtimePID}, Reaped{[]ChildExit{{runtimePID, 3}}, true})
	if count(g.out, func(e Exit) bool { return e.Code == 3 }) != 1 {
		t.Errorf("effects %v, want the runtime's own Exit 3", g.out)
	}
}

// Until the runtime's API is open, the readiness probe asks again within
// milliseconds; once something answers (even with an error), at its
// normal pace.
func TestReadyProbeAsksSoonWhileRefused(t *testing.T) {
	f := newFx(t, testSpec()).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID})
	armed := func(d time.Duration) bool {
		return count(f.out, func(e Arm) bool { return e.Timer == TimerReadyProbe && e.After == d }) == 1
	}
	if !armed(readyProbeRefused) {
		t.Fatalf("the first readiness probe is not due soon: %v", f.out)
	}
	f.step(TimerFired{TimerReadyProbe})
	f.step(ProbeDone{Seq: f.m.probeSeq, Err: errors.New("connection refused"), Refused: true})
	if !armed(readyProbeRefused) {
		t.Errorf("a refused probe is not asked again soon: %v", f.out)
	}
	f.step(TimerFired{TimerReadyProbe})
	f.step(ProbeDone{Seq: f.m.probeSeq, Err: errors.New("answered 503")})
	if count(f.out, func(e Arm) bool { return e.Timer == TimerReadyProbe }) != 0 {
		t.Errorf("an answering runtime is asked again sooner than every %v: %v", readyProbeEvery, f.out)
	}
	f.step(TimerFired{TimerReadyProbe})
	if !armed(readyProbeEvery) {
		t.Errorf("the probe does not keep its pace: %v", f.out)
	}
	f.step(ProbeDone{Seq: f.m.probeSeq})
	f.wantState(Ready)
	f.step(ProbeDone{Seq: f.m.probeSeq, Refused: true})
	if count(f.out, func(e Arm) bool { return e.Timer == TimerReadyProbe }) != 0 {
		t.Errorf("a ready runtime gets readiness probes: %v", f.out)
	}
}

// Nothing probed, nothing pinging: no health timer wakes niod up. A
// runtime that starts sending WATCHDOG=1 is watched from then on.
func TestNoHealthTickerWhenNothingIsWatched(t *testing.T) {
	sp := testSpec()
	sp.Options.HealthURL, sp.Options.Ready = "", spec.ReadyExec
	f := newFx(t, sp).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID})
	f.wantState(Ready)
	healthArms := func(effects []Effect) int {
		return count(effects, func(e Arm) bool { return e.Timer == TimerHealth })
	}
	if n := healthArms(f.all); n != 0 {
		t.Fatalf("the health timer is armed %d times for a runtime nobody watches", n)
	}
	f.step(fromRuntime("WATCHDOG=1"))
	if healthArms(f.out) != 1 {
		t.Fatalf("a pinging runtime gets no health check: %v", f.out)
	}
	f.step(fromRuntime("WATCHDOG=1"))
	if healthArms(f.out) != 0 {
		t.Errorf("armed again on each ping: %v", f.out)
	}
	f.after(5 * time.Second).step(TimerFired{TimerHealth})
	if healthArms(f.out) != 1 {
		t.Errorf("the health check does not go on: %v", f.out)
	}
}

// A start by hand forgets the failures in a row, in the back-off and in
// what niod status shows.
func TestStartRequestForgetsFailures(t *testing.T) {
	f := reachState(t, BackingOff)
	if f.m.Snapshot(f.now).Failures == 0 {
		t.Fatal("setup: no failures while backing off")
	}
	f.step(Request{Op: OpStart})
	if n := f.m.Snapshot(f.now).Failures; n != 0 {
		t.Errorf("failures %d after a start request", n)
	}
}
