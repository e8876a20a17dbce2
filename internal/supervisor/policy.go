package supervisor

import (
	"time"

	"niod/internal/spec"
)

// Policy decides whether and when the runtime is started again after it
// ended by itself or did not start. It is plain data: the machine feeds it
// the time and the jitter.
type Policy struct {
	o            spec.Options
	failures     int
	failureTimes []time.Time
}

// Use takes options from a (re)load; the failures counted so far stay.
func (p *Policy) Use(o spec.Options) { p.o = o }

// Reset forgets the failures (an operator started the runtime by hand).
func (p *Policy) Reset() { p.failures, p.failureTimes = 0, nil }

// Decision is what to do after the runtime ended.
type Decision struct {
	Restart bool
	// Delay before the next start; the first restart after a stable run is
	// immediate.
	Delay time.Duration
	// LimitHit is set when restart_limit failures happened within the
	// window: niod gives up with 69 so the service manager's policy rules.
	LimitHit bool
	// Failures is the count of restarts in a row, for messages.
	Failures int
}

// Exited records an end with code after uptime (0 for a start that never
// happened, which never counts as stable) at now, and decides. jitter
// returns a number in [0, 1).
func (p *Policy) Exited(code int, uptime time.Duration, now time.Time, jitter func() float64) Decision {
	switch {
	case p.o.Restart == spec.RestartNever:
		return Decision{}
	case p.o.Restart == spec.RestartOnFailure && code == 0:
		return Decision{}
	}
	if uptime > 0 && uptime >= p.o.RestartResetAfter {
		// It ran long enough to count as stable: start the count over.
		p.failures = 0
	}
	p.failures++
	if p.o.RestartLimit > 0 {
		p.failureTimes = append(p.failureTimes, now)
		cut := 0
		for cut < len(p.failureTimes) && now.Sub(p.failureTimes[cut]) > p.o.RestartLimitWindow {
			cut++
		}
		p.failureTimes = p.failureTimes[cut:]
		if len(p.failureTimes) >= p.o.RestartLimit {
			return Decision{LimitHit: true, Failures: p.failures}
		}
	} else {
		p.failureTimes = nil
	}
	return Decision{Restart: true, Delay: p.o.Backoff(p.failures, jitter()), Failures: p.failures}
}
