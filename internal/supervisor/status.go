package supervisor

import (
	"fmt"
	"strings"
	"time"
)

// Status is the one-line state that STATUS=, the log and niod status show:
// it is computed from the state, so it is true in every state.
func (m *Machine) Status(now time.Time) string {
	var s string
	switch m.state {
	case Starting:
		s = "starting the runtime"
		if m.step > 0 {
			s = "running pre_start step " + m.stepText(m.step)
		}
	case Running:
		s = fmt.Sprintf("waiting for pid %d to be ready (%s)", m.pid, m.spec.Options.Ready)
	case Ready:
		s = fmt.Sprintf("running pid %d", m.pid)
	case Unhealthy:
		s = fmt.Sprintf("pid %d unhealthy; restart = never, so the watchdog is not pinged", m.pid)
	case BackingOff:
		s = fmt.Sprintf("restarting at %s after %s (failure %d)", m.restartAt.Format("15:04:05.000"), m.why, m.failures)
	case StoppingToRestart:
		s = "stopping the runtime to restart it after " + m.why
	case StoppingToIdle:
		s = "stopping the runtime on request"
	case StoppingToExit:
		s = "stopping"
	case Stopped:
		s = "stopped on request"
	case Done:
		s = fmt.Sprintf("exited with code %d", m.exitCode)
	}
	var notes []string
	if m.reloading {
		notes = append(notes, "reloading")
	} else if m.reloadNote != "" {
		notes = append(notes, m.reloadNote)
	}
	if t := m.spec.CertNotAfter; !t.IsZero() && !now.Before(m.spec.CertWarnFrom) {
		notes = append(notes, "certificate expires "+t.UTC().Format("2006-01-02"))
	}
	if len(notes) > 0 {
		s += "; " + strings.Join(notes, "; ")
	}
	return s
}
