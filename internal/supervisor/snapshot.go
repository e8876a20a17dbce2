package supervisor

import (
	"time"

	"niod/internal/control"
)

// probeResult is the last health probe's answer; ok says there was one.
type probeResult struct {
	at      time.Time
	latency time.Duration
	err     error
	ok      bool
}

// exitNote is how the runtime last ended, or why it did not start; ok
// says it ended at least once.
type exitNote struct {
	code     int
	at       time.Time
	after    time.Duration
	startErr string
	ok       bool
}

// Snapshot is the machine's part of niod status at now: the same state
// that STATUS= and the log show. The loop adds what only it knows (pid,
// version, the settings files on disk).
func (m *Machine) Snapshot(now time.Time) control.Status {
	o := m.spec.Options
	st := control.Status{
		State: m.state.String(), Text: m.Status(now),
		Live:      m.state != Done && m.state != StoppingToExit,
		Ready:     m.state == Ready,
		ReadyRule: o.Ready.String(),
		Restarts:  max(m.gen-1, 0),
		Failures:  m.failures,
		Watchdog:  m.cfg.Watchdog > 0,
		Reload: control.Reload{Asked: m.reloadAsked, Done: m.reloadDone,
			Outcome: m.reloadOutcome, Problems: m.reloadProblems},
	}
	if m.state == Ready || m.state == Unhealthy {
		st.ReadyBy = m.readyBy
	}
	st.WatchdogPinged = st.Watchdog && m.Healthy(now)
	if pid := m.runtimePID(); pid != 0 {
		st.Runtime = &control.Runtime{PID: pid, Started: m.started, UptimeSeconds: now.Sub(m.started).Seconds()}
	}
	if m.state == BackingOff {
		t := m.restartAt
		st.BackoffUntil = &t
	}
	if x := m.lastExit; x.ok {
		le := &control.LastExit{Code: x.code, At: x.at, AfterSeconds: x.after.Seconds(), Exit: describeEnd(x.code)}
		if _, ok := killedBy(x.code); ok {
			le.Signal = describeCode(x.code)
		}
		if x.startErr != "" {
			le.Exit = "did not start: " + x.startErr
		}
		st.LastExit = le
	}
	if p := m.lastProbe; p.ok {
		pr := &control.Probe{URL: o.HealthURL, OK: p.err == nil, LatencyMS: float64(p.latency.Microseconds()) / 1000, At: p.at}
		if p.err != nil {
			pr.Error = p.err.Error()
		}
		st.Probe = pr
	}
	st.Stamps = m.spec.Settings
	if t := m.spec.CertNotAfter; !t.IsZero() {
		st.CertNotAfter = &t
	}
	return st
}
