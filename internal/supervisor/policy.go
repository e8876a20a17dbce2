package supervisor

import (
	"math/rand/v2"
	"time"
)

// Policy decides whether and when the runtime is started again after it
// ended by itself. It is plain data driven by the event loop.
type Policy struct {
	Restart      string // on-failure, always or never
	Delay        time.Duration
	MaxDelay     time.Duration
	ResetAfter   time.Duration
	Limit        int
	LimitWindow  time.Duration
	failures     int
	failureTimes []time.Time
}

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

// Exited records an exit with code after uptime at now and decides.
func (p *Policy) Exited(code int, uptime time.Duration, now time.Time) Decision {
	switch {
	case p.Restart == "never":
		return Decision{}
	case p.Restart == "on-failure" && code == 0:
		return Decision{}
	}
	if uptime >= p.ResetAfter {
		// It ran long enough to count as stable: start the count over.
		p.failures = 0
	}
	p.failures++
	if p.Limit > 0 {
		p.failureTimes = append(p.failureTimes, now)
		cut := 0
		for cut < len(p.failureTimes) && now.Sub(p.failureTimes[cut]) > p.LimitWindow {
			cut++
		}
		p.failureTimes = p.failureTimes[cut:]
		if len(p.failureTimes) >= p.Limit {
			return Decision{LimitHit: true, Failures: p.failures}
		}
	}
	return Decision{Restart: true, Delay: p.backoff(p.failures), Failures: p.failures}
}

// backoff is 0 for the first failure, then Delay doubling per failure up to
// MaxDelay, with up to 20% jitter either way so that many instances that
// failed together do not restart in lockstep.
func (p *Policy) backoff(failures int) time.Duration {
	if failures <= 1 {
		return 0
	}
	d := p.Delay
	for i := 2; i < failures && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return min(max(d+jitter, 0), p.MaxDelay)
}
