package supervisor

import (
	"testing"
	"time"

	"niod/internal/spec"
)

func newPolicy(restart spec.Restart) *Policy {
	p := &Policy{}
	p.Use(spec.Options{Restart: restart, RestartDelay: 100 * time.Millisecond, RestartMaxDelay: 2 * time.Second,
		RestartResetAfter: time.Minute, RestartLimitWindow: time.Minute})
	return p
}

func fixedJitter(j float64) func() float64 { return func() float64 { return j } }

func TestPolicyRestartModes(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		restart spec.Restart
		code    int
		want    bool
	}{
		{spec.RestartNever, 1, false}, {spec.RestartNever, 0, false},
		{spec.RestartOnFailure, 0, false}, {spec.RestartOnFailure, 1, true}, {spec.RestartOnFailure, 137, true},
		{spec.RestartAlways, 0, true}, {spec.RestartAlways, 2, true},
	} {
		d := newPolicy(c.restart).Exited(c.code, time.Second, now, fixedJitter(0.5))
		if d.Restart != c.want {
			t.Errorf("restart=%s code=%d: Restart=%v, want %v", c.restart, c.code, d.Restart, c.want)
		}
	}
}

func TestPolicyBackoffGrowsToCap(t *testing.T) {
	for _, c := range []struct {
		jitter   float64
		second   time.Duration
		third    time.Duration
		capAfter time.Duration
	}{
		{0.5, 100 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second},
		{0, 80 * time.Millisecond, 160 * time.Millisecond, 1600 * time.Millisecond},
		{0.999999, 120 * time.Millisecond, 240 * time.Millisecond, 2 * time.Second},
	} {
		p := newPolicy(spec.RestartOnFailure)
		now := time.Now()
		var delays []time.Duration
		for range 10 {
			delays = append(delays, p.Exited(1, time.Millisecond, now, fixedJitter(c.jitter)).Delay)
		}
		if delays[0] != 0 {
			t.Errorf("jitter %v: first restart delay %v, want 0 (immediate)", c.jitter, delays[0])
		}
		if d := delays[1].Round(time.Millisecond); d != c.second {
			t.Errorf("jitter %v: second delay %v, want %v", c.jitter, d, c.second)
		}
		if d := delays[2].Round(time.Millisecond); d != c.third {
			t.Errorf("jitter %v: third delay %v, want %v", c.jitter, d, c.third)
		}
		if d := delays[9].Round(time.Millisecond); d != c.capAfter {
			t.Errorf("jitter %v: tenth delay %v, want %v (the cap, jittered, never above it)", c.jitter, d, c.capAfter)
		}
	}
}

func TestPolicyResetsAfterStableRun(t *testing.T) {
	p := newPolicy(spec.RestartOnFailure)
	now := time.Now()
	for range 5 {
		p.Exited(1, time.Millisecond, now, fixedJitter(0.5))
	}
	d := p.Exited(1, 2*time.Minute, now, fixedJitter(0.5))
	if d.Delay != 0 || d.Failures != 1 {
		t.Errorf("after a stable run: delay %v failures %d, want 0 and 1", d.Delay, d.Failures)
	}
}

// A start that never happened has no uptime: it must not count as a
// stable run, or a runtime that cannot start is retried at once forever.
func TestPolicyFailedStartIsNeverStable(t *testing.T) {
	p := newPolicy(spec.RestartOnFailure)
	p.o.RestartResetAfter = 0
	now := time.Now()
	var last Decision
	for range 4 {
		last = p.Exited(127, 0, now, fixedJitter(0.5))
	}
	if last.Failures != 4 || last.Delay == 0 {
		t.Errorf("after 4 failed starts: failures %d delay %v, want 4 and a back-off", last.Failures, last.Delay)
	}
}

func TestPolicyLimit(t *testing.T) {
	p := newPolicy(spec.RestartAlways)
	p.o.RestartLimit, p.o.RestartLimitWindow = 3, 10*time.Second
	start := time.Now()
	// Failures spread wider than the window never hit the limit.
	for i := range 6 {
		if d := p.Exited(1, time.Millisecond, start.Add(time.Duration(i)*6*time.Second), fixedJitter(0.5)); d.LimitHit {
			t.Fatalf("limit hit at failure %d though failures are 6s apart in a 10s window", i+1)
		}
	}
	q := newPolicy(spec.RestartOnFailure)
	q.o.RestartLimit, q.o.RestartLimitWindow = 3, 10*time.Second
	var hit []bool
	for i := range 3 {
		hit = append(hit, q.Exited(1, time.Millisecond, start.Add(time.Duration(i)*time.Second), fixedJitter(0.5)).LimitHit)
	}
	if hit[0] || hit[1] || !hit[2] {
		t.Errorf("limit hits %v, want only the third", hit)
	}
	q.Reset()
	if d := q.Exited(1, time.Millisecond, start.Add(3*time.Second), fixedJitter(0.5)); d.LimitHit || d.Failures != 1 {
		t.Errorf("after Reset: %+v, want a first failure", d)
	}
}

func TestExitCode(t *testing.T) {
	// A wait status: exit code in bits 8-15, signal in the low 7 bits.
	if got := exitCode(3 << 8); got != 3 {
		t.Errorf("exit 3: got %d", got)
	}
	if got := exitCode(9); got != 137 {
		t.Errorf("killed by 9: got %d", got)
	}
}
