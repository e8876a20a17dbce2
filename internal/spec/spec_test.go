package spec

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	o := Options{RestartDelay: 100 * time.Millisecond, RestartMaxDelay: time.Second}
	for _, c := range []struct {
		failure int
		j       float64
		want    time.Duration
	}{
		{1, 0.5, 0},
		{2, 0.5, 100 * time.Millisecond},
		{3, 0.5, 200 * time.Millisecond},
		{5, 0.5, 800 * time.Millisecond},
		{6, 0.5, time.Second}, // capped
		{2, 0, 80 * time.Millisecond},
		{6, 0.99, time.Second}, // jitter never passes the cap
		{1000, 0.5, time.Second},
	} {
		if got := o.Backoff(c.failure, c.j); got != c.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", c.failure, c.j, got, c.want)
		}
	}
}

func TestTimeToLimit(t *testing.T) {
	o := Options{RestartDelay: 100 * time.Millisecond, RestartMaxDelay: time.Second, RestartLimit: 5, RestartLimitWindow: time.Minute}
	// Failures 1..4 are followed by 0, 80, 160 and 320 ms at the shortest jitter.
	if got, want := o.TimeToLimit(), 560*time.Millisecond; got != want {
		t.Errorf("TimeToLimit = %v, want %v", got, want)
	}
	o.RestartLimit = 1
	if got := o.TimeToLimit(); got != 0 {
		t.Errorf("a limit of one failure takes %v, want 0", got)
	}
	// A huge limit stops counting once past the window.
	o.RestartLimit, o.RestartLimitWindow = 1<<40, 10*time.Second
	if got := o.TimeToLimit(); got <= o.RestartLimitWindow || got > o.RestartLimitWindow+o.RestartMaxDelay {
		t.Errorf("TimeToLimit with a limit of 2^40 = %v, want just past the window", got)
	}
}
