package supervisor

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"niod/internal/notifysock"
	"niod/internal/spec"
)

func stepSpec(steps ...string) *spec.Spec {
	sp := testSpec()
	sp.Options.Ready, sp.Options.HealthURL = spec.ReadyExec, ""
	sp.Options.PreStartTimeout = time.Minute
	for _, s := range steps {
		args := strings.Fields(s)
		sp.PreStart = append(sp.PreStart, spec.Step{Path: "/usr/bin/" + args[0], Args: args})
	}
	return sp
}

func spawnsOf(effects []Effect, step int) int {
	return count(effects, func(e Spawn) bool { return e.Step == step })
}

// The steps run in order, each after the one before succeeded, then the
// runtime; the status says which step runs.
func TestPreStartStepsThenTheRuntime(t *testing.T) {
	f := newFx(t, stepSpec("pip install -r requirements.txt", "migrate")).step(Boot{})
	if spawnsOf(f.out, 1) != 1 || spawnsOf(f.out, 0) != 0 {
		t.Fatalf("the first step is not asked for first: %v", f.out)
	}
	f.step(Spawned{Gen: f.gen(), PID: 50, Step: 1})
	if count(f.out, func(e Arm) bool { return e.Timer == TimerPreStart && e.After == time.Minute }) != 1 {
		t.Errorf("no pre_start_timeout armed: %v", f.out)
	}
	if got := f.m.Status(f.now); got != "running pre_start step 1/2 (pip install -r requirements.txt)" {
		t.Errorf("status %q", got)
	}
	f.step(Reaped{[]ChildExit{{50, 0}}, true})
	if spawnsOf(f.out, 2) != 1 {
		t.Fatalf("no second step after the first succeeded: %v", f.out)
	}
	f.step(Spawned{Gen: f.gen(), PID: 51, Step: 2}, Reaped{[]ChildExit{{51, 0}}, true})
	if spawnsOf(f.out, 0) != 1 {
		t.Fatalf("no runtime after the steps: %v", f.out)
	}
	f.step(Spawned{Gen: f.gen(), PID: runtimePID})
	f.wantState(Ready)
	// A crash: the steps run again before the restart (pre_start_once unset).
	f.step(Reaped{[]ChildExit{{runtimePID, 1}}, true}, Reaped{nil, true}, TimerFired{TimerRestart})
	if spawnsOf(f.all, 1) != 2 {
		t.Errorf("the steps do not run before a restart: %v", f.all)
	}
}

func TestPreStartOnce(t *testing.T) {
	sp := stepSpec("migrate")
	sp.Options.PreStartOnce = true
	f := newFx(t, sp).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: 50, Step: 1}, Reaped{[]ChildExit{{50, 0}}, true})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID}, Reaped{[]ChildExit{{runtimePID, 1}}, true}, Reaped{nil, true}, TimerFired{TimerRestart})
	if n := spawnsOf(f.all, 1); n != 1 {
		t.Errorf("pre_start_once ran the step %d times", n)
	}
	if spawnsOf(f.all, 0) != 2 {
		t.Errorf("the runtime was not restarted at once: %v", f.all)
	}
}

// A failing step is a failed start: back-off, then the restart limit ends
// niod with 69; the log names the step and how it ended.
func TestPreStartStepFailsLikeAStart(t *testing.T) {
	sp := stepSpec("false")
	sp.Options.RestartLimit, sp.Options.RestartLimitWindow = 2, time.Hour
	f := newFx(t, sp).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: 50, Step: 1}, Reaped{[]ChildExit{{50, 1}}, true})
	if count(f.out, func(e Log) bool { return e.Msg == "pre_start step failed" }) != 1 {
		t.Errorf("the failure is not logged: %v", f.out)
	}
	if !strings.Contains(f.m.why, "pre_start step 1 (false) exit code 1") {
		t.Errorf("why %q", f.m.why)
	}
	if f.m.failures != 1 || spawnsOf(f.out, 0) != 0 {
		t.Errorf("failures %d; the runtime must not start after a failed step: %v", f.m.failures, f.out)
	}
	f.step(Reaped{nil, true}, TimerFired{TimerRestart}) // the stop before the restart ends
	f.step(Spawned{Gen: f.gen(), PID: 52, Step: 1}, Reaped{[]ChildExit{{52, 1}}, true})
	f.step(Reaped{nil, true})
	f.wantState(Done)
	if f.m.exitCode != 69 {
		t.Errorf("exit %d at the restart limit, want 69", f.m.exitCode)
	}
}

func TestPreStartStepTimesOut(t *testing.T) {
	f := newFx(t, stepSpec("sleep 600")).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: 50, Step: 1})
	f.after(time.Minute).step(TimerFired{TimerPreStart})
	if count(f.out, func(e Kill) bool { return e.PGID == 50 && e.Sig == syscall.SIGKILL && e.Tree }) != 1 {
		t.Fatalf("the step's tree is not killed: %v", f.out)
	}
	f.step(Reaped{[]ChildExit{{50, 137}}, true})
	if !strings.Contains(f.m.why, "timed out after 1m0s") || f.m.failures != 1 {
		t.Errorf("why %q, failures %d", f.m.why, f.m.failures)
	}
}

// TERM during a step stops the step's tree, and niod, without starting
// the runtime.
func TestPreStartStopDuringAStep(t *testing.T) {
	f := newFx(t, stepSpec("sleep 600")).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: 50, Step: 1})
	f.step(Signal{syscall.SIGTERM})
	if count(f.out, func(e Kill) bool { return e.PGID == 50 && e.Sig == syscall.SIGTERM && e.Tree }) != 1 {
		t.Fatalf("the step is not stopped: %v", f.out)
	}
	f.step(Reaped{[]ChildExit{{50, 143}}, true})
	f.wantState(Done)
	if spawnsOf(f.all, 0) != 0 {
		t.Errorf("the runtime started after a stop: %v", f.all)
	}
	// A step that starts only after the stop came is stopped at once.
	g := newFx(t, stepSpec("sleep 600")).step(Boot{}, Signal{syscall.SIGTERM})
	g.step(Spawned{Gen: g.gen(), PID: 60, Step: 1})
	if count(g.out, func(e Kill) bool { return e.PGID == 60 }) != 1 {
		t.Errorf("a step started during the stop runs on: %v", g.out)
	}
}

func TestPreStartStepDoesNotStart(t *testing.T) {
	f := newFx(t, stepSpec("missing")).step(Boot{})
	f.step(SpawnFailed{Gen: f.gen(), Code: 127, Err: errNoProber, Step: 1})
	if !strings.Contains(f.m.why, "pre_start step 1 (missing) did not start") || f.m.failures != 1 {
		t.Errorf("why %q failures %d", f.m.why, f.m.failures)
	}
	// A stale answer for another step changes nothing.
	before := f.m.state
	f.step(Spawned{Gen: f.gen(), PID: 70, Step: 2})
	if f.m.state != before || f.m.pid == 70 {
		t.Errorf("a stale step answer was taken")
	}
}

// A reload while the steps run changes the next start's steps, not those
// under way (fewer steps in the new settings must not cut the list short
// under the running one).
func TestPreStartReloadDuringTheSteps(t *testing.T) {
	f := newFx(t, stepSpec("one", "two", "three")).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: 50, Step: 1}, Reaped{[]ChildExit{{50, 0}}, true}, Spawned{Gen: f.gen(), PID: 51, Step: 2})
	shorter := stepSpec("only")
	f.step(Signal{syscall.SIGHUP}, Loaded{Spec: shorter})
	f.step(Reaped{[]ChildExit{{51, 0}}, true})
	if count(f.out, func(e Spawn) bool { return e.Step == 3 && e.PreStart.Args[0] == "three" }) != 1 {
		t.Fatalf("the start's third step is not asked for: %v", f.out)
	}
	if got := f.m.Status(f.now); !strings.Contains(got, "3/3 (three)") {
		t.Errorf("status %q", got)
	}
}

// While a step runs there is no runtime: a signal to forward, a notify
// message and niod status do not take the step for it.
func TestPreStartStepIsNotTheRuntime(t *testing.T) {
	f := newFx(t, stepSpec("migrate")).step(Boot{})
	f.step(Spawned{Gen: f.gen(), PID: 50, Step: 1})
	f.step(Signal{syscall.SIGUSR1})
	if count[Kill](f.out, nil) != 0 {
		t.Errorf("USR1 forwarded to a step: %v", f.out)
	}
	if f.m.PID() != 0 {
		t.Errorf("PID() = %d while a step runs", f.m.PID())
	}
	if st := f.m.Snapshot(f.now); st.Runtime != nil {
		t.Errorf("niod status shows runtime %+v while a step runs", st.Runtime)
	}
	f.step(Notified{notifysock.Message{PID: 50, UID: runtimeUID, Fields: map[string]string{"WATCHDOG": "1"}}})
	if f.m.dropped != 1 {
		t.Errorf("a notify message from the step was taken (dropped %d)", f.m.dropped)
	}
}
