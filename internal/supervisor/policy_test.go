package supervisor

import (
	"testing"
	"time"
)

func newPolicy(restart string) *Policy {
	return &Policy{Restart: restart, Delay: 100 * time.Millisecond, MaxDelay: 2 * time.Second,
		ResetAfter: time.Minute, LimitWindow: time.Minute}
}

func TestPolicyRestartModes(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		restart string
		code    int
		want    bool
	}{
		{"never", 1, false}, {"never", 0, false},
		{"on-failure", 0, false}, {"on-failure", 1, true}, {"on-failure", 137, true},
		{"always", 0, true}, {"always", 2, true},
	} {
		d := newPolicy(c.restart).Exited(c.code, time.Second, now)
		if d.Restart != c.want {
			t.Errorf("restart=%s code=%d: Restart=%v, want %v", c.restart, c.code, d.Restart, c.want)
		}
	}
}

func TestPolicyBackoffGrowsToCap(t *testing.T) {
	p := newPolicy("on-failure")
	now := time.Now()
	var delays []time.Duration
	for i := 0; i < 10; i++ {
		delays = append(delays, p.Exited(1, time.Millisecond, now).Delay)
	}
	if delays[0] != 0 {
		t.Errorf("first restart delay %v, want 0 (immediate)", delays[0])
	}
	// 100ms doubling with ±20% jitter: 2nd in [80,120]ms, 3rd in [160,240]ms.
	if delays[1] < 80*time.Millisecond || delays[1] > 120*time.Millisecond {
		t.Errorf("second delay %v, want about 100ms", delays[1])
	}
	if delays[2] < 160*time.Millisecond || delays[2] > 240*time.Millisecond {
		t.Errorf("third delay %v, want about 200ms", delays[2])
	}
	for i, d := range delays {
		if d > 2*time.Second {
			t.Errorf("delay %d = %v exceeds the cap", i, d)
		}
	}
	if delays[9] < 1600*time.Millisecond {
		t.Errorf("tenth delay %v, want near the 2s cap", delays[9])
	}
}

func TestPolicyResetsAfterStableRun(t *testing.T) {
	p := newPolicy("on-failure")
	now := time.Now()
	for i := 0; i < 5; i++ {
		p.Exited(1, time.Millisecond, now)
	}
	d := p.Exited(1, 2*time.Minute, now)
	if d.Delay != 0 || d.Failures != 1 {
		t.Errorf("after a stable run: delay %v failures %d, want 0 and 1", d.Delay, d.Failures)
	}
}

func TestPolicyLimit(t *testing.T) {
	p := newPolicy("always")
	p.Limit, p.LimitWindow = 3, 10*time.Second
	start := time.Now()
	// Failures spread wider than the window never hit the limit.
	for i := 0; i < 6; i++ {
		if d := p.Exited(1, time.Millisecond, start.Add(time.Duration(i)*6*time.Second)); d.LimitHit {
			t.Fatalf("limit hit at failure %d though failures are 6s apart in a 10s window", i+1)
		}
	}
	q := newPolicy("on-failure")
	q.Limit, q.LimitWindow = 3, 10*time.Second
	var hit []bool
	for i := 0; i < 3; i++ {
		hit = append(hit, q.Exited(1, time.Millisecond, start.Add(time.Duration(i)*time.Second)).LimitHit)
	}
	if hit[0] || hit[1] || !hit[2] {
		t.Errorf("limit hits %v, want only the third", hit)
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
