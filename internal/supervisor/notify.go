package supervisor

import (
	"time"

	"go.uber.org/zap/zapcore"

	"niod/internal/logging"
	"niod/internal/spec"
)

// notified takes a message from niod's notify socket. Accepted are messages
// from the runtime's tree as the reader saw it at receipt (the runtime, or a
// process with the runtime among its ancestors) and from a sender already
// gone by then whose kernel-attested uid is the runtime's; the rest are
// dropped and counted.
func (m *Machine) notified(e Notified, now time.Time) {
	msg := e.Msg
	switch {
	case msg.Truncated:
		m.dropped++
		m.log(zapcore.DebugLevel, "dropped a truncated notify message", logging.Int("sender", msg.PID), logging.Int("dropped", m.dropped))
		return
	case m.runtimePID() == 0 || !msg.From(m.pid, m.cfg.RuntimeUID):
		m.dropped++
		m.log(zapcore.DebugLevel, "dropped a notify message from outside the runtime", logging.Int("sender", msg.PID), logging.Int("dropped", m.dropped))
		return
	}
	if msg.Fields["WATCHDOG"] == "1" {
		m.alive, m.watched = now, true
		m.tickHealth() // a runtime that pings is watched from now on
		if m.state == Unhealthy {
			m.checkHealth(now)
		}
	}
	if msg.Fields["READY"] == "1" {
		m.alive = now
		if m.state == Running && m.spec.Options.Ready == spec.ReadyNotify {
			m.becomeReady("notify")
		}
	}
}

// notifyFailed logs a read error of the notify socket once per kind; the
// reader recovers by itself.
func (m *Machine) notifyFailed(e NotifyFailed) {
	if msg := e.Err.Error(); msg != m.notifyErr {
		m.notifyErr = msg
		m.log(zapcore.WarnLevel, "reading the notify socket failed; retrying", logging.Err(e.Err))
	}
}
