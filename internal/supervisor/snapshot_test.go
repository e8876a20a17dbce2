package supervisor

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestSnapshotReady(t *testing.T) {
	f := reachState(t, Running)
	f.after(20 * time.Millisecond).step(ProbeDone{Seq: f.m.probeSeq})
	st := f.after(time.Second).m.Snapshot(f.now)
	if st.State != "ready" || !st.Ready || !st.Live || st.ReadyRule != "probe" || st.ReadyBy != "probe" {
		t.Errorf("status %+v", st)
	}
	if st.Runtime == nil || st.Runtime.PID != runtimePID || st.Runtime.UptimeSeconds < 1 {
		t.Errorf("runtime %+v", st.Runtime)
	}
	if st.Probe == nil || !st.Probe.OK || st.Probe.LatencyMS != 20 || st.Probe.URL != testSpec().Options.HealthURL {
		t.Errorf("probe %+v", st.Probe)
	}
	if !st.Watchdog || !st.WatchdogPinged || st.Text != f.m.Status(f.now) {
		t.Errorf("watchdog %v pinged %v text %q", st.Watchdog, st.WatchdogPinged, st.Text)
	}
}

func TestSnapshotBackingOffAndLastExit(t *testing.T) {
	f := reachState(t, BackingOff)
	st := f.m.Snapshot(f.now)
	if st.State != "backing-off" || st.Ready || st.Runtime != nil || st.BackoffUntil == nil || !st.BackoffUntil.After(f.now) {
		t.Errorf("status %+v", st)
	}
	if st.Failures != 2 || st.Restarts != 1 || st.LastExit == nil || st.LastExit.Exit != "exit code 1" || st.LastExit.Code != 1 {
		t.Errorf("failures %d restarts %d last exit %+v", st.Failures, st.Restarts, st.LastExit)
	}
	// A restart request starts it now and forgets the failures.
	f.step(Request{Op: OpRestart})
	f.wantState(Starting)
	f.step(Spawned{Gen: f.gen(), PID: runtimePID}, Reaped{[]ChildExit{{runtimePID, 128 + int(syscall.SIGKILL)}}, true})
	st = f.m.Snapshot(f.now)
	if st.State != "starting" || st.Failures != 1 || st.LastExit.Exit != "killed by SIGKILL" || st.LastExit.Signal != "SIGKILL" {
		t.Errorf("after a restart request and a kill: %+v, last exit %+v", st, st.LastExit)
	}
}

func TestSnapshotFailedProbeAndStartError(t *testing.T) {
	f := reachState(t, Running)
	f.step(ProbeDone{Seq: f.m.probeSeq, Err: errors.New("connection refused")})
	if p := f.m.Snapshot(f.now).Probe; p == nil || p.OK || p.Error != "connection refused" {
		t.Errorf("probe %+v", p)
	}
	g := newFx(t, testSpec()).step(Boot{})
	g.step(SpawnFailed{Gen: g.gen(), Err: errors.New("exec: no such file"), Code: 127})
	if x := g.m.Snapshot(g.now).LastExit; x == nil || x.Exit != "did not start: exec: no such file" || x.Code != 127 {
		t.Errorf("last exit %+v", x)
	}
}

// A reload request is numbered; niod status says when a reload has
// handled it and how it ended.
func TestSnapshotReloadOutcomes(t *testing.T) {
	f := reachState(t, Ready)
	f.step(Request{Op: OpReload})
	if r := f.m.Snapshot(f.now).Reload; r.Asked != 1 || r.Done != 0 {
		t.Errorf("under way: %+v", r)
	}
	f.step(Loaded{Spec: f.m.Spec()})
	if r := f.m.Snapshot(f.now).Reload; r.Done != 1 || r.Outcome != "unchanged" {
		t.Errorf("unchanged: %+v", r)
	}
	f.step(Request{Op: OpReload}, Request{Op: OpReload}) // folded into one more
	f.step(Loaded{Problems: []string{"nio.conf:3: bad"}})
	if r := f.m.Snapshot(f.now).Reload; r.Asked != 3 || r.Done != 2 || r.Outcome != "failed" || len(r.Problems) != 1 {
		t.Errorf("failed: %+v", r)
	}
	f.step(Loaded{Spec: f.m.Spec()}) // the folded one
	if r := f.m.Snapshot(f.now).Reload; r.Done != 3 || r.Outcome != "unchanged" {
		t.Errorf("folded: %+v", r)
	}
	s := *f.m.Spec()
	s.Payload = []byte("[s]\nk = new\n")
	f.step(Request{Op: OpReload}, Loaded{Spec: &s})
	if r := f.m.Snapshot(f.now).Reload; r.Done != 3 {
		t.Errorf("a restart for new settings is done only when the new runtime is ready: %+v", r)
	}
	f.step(Reaped{[]ChildExit{{runtimePID, 143}}, true})
	f.step(Spawned{Gen: f.gen(), PID: runtimePID + 1}, TimerFired{TimerReadyProbe})
	f.step(ProbeDone{Seq: f.m.probeSeq})
	if r := f.m.Snapshot(f.now).Reload; r.Done != 4 || r.Outcome != "restarted" {
		t.Errorf("restarted: %+v", r)
	}
}

func TestSignalRequestIsForwardedNotAStop(t *testing.T) {
	f := reachState(t, Ready)
	f.step(Request{Op: OpSignal, Sig: syscall.SIGTERM})
	f.wantState(Ready)
	if count(f.out, func(k Kill) bool { return k.PGID == runtimePID && k.Sig == syscall.SIGTERM && !k.Tree }) != 1 {
		t.Errorf("effects %v, want TERM to the runtime's group", f.out)
	}
	g := reachState(t, Stopped)
	g.step(Request{Op: OpSignal, Sig: syscall.SIGUSR1})
	if count[Kill](g.out, nil) != 0 || !logged(g.out, "no runtime") {
		t.Errorf("stopped: effects %v", g.out)
	}
}

// A start while the tree is being stopped on request says so.
func TestStartWhileStoppingSaysWhy(t *testing.T) {
	f := reachState(t, StoppingToIdle)
	f.step(Request{Op: OpStart})
	f.wantState(StoppingToRestart)
	if st := f.m.Status(f.now); st != "stopping the runtime to restart it after a start request" {
		t.Errorf("status %q", st)
	}
}
