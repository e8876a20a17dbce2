package supervisor

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"niod/internal/logging"
	"niod/internal/spec"
)

// maxProblemsLogged bounds the problems a failed reload logs.
const maxProblemsLogged = 20

// reloadRequest handles HUP: read the settings again on the loop's side.
// Requests while one is under way are folded into one more reload after it.
func (m *Machine) reloadRequest() {
	m.reloadAsked++
	switch {
	case m.state == Done || m.state == StoppingToExit:
		m.log(zapcore.InfoLevel, "reload ignored: niod is stopping")
		m.reloadDone, m.reloadOutcome, m.reloadProblems = m.reloadAsked, "ignored", nil
	case m.reloading:
		m.reloadAgain = true
	default:
		m.openReload()
	}
}

func (m *Machine) openReload() {
	m.reloading, m.loading = true, true
	m.reloadCovers = m.reloadAsked
	m.log(zapcore.InfoLevel, "reloading the settings")
	m.do(Tell{What: TellReloading}, LoadSettings{})
}

// finishReload ends a reload with READY=1 and its outcome for niod
// status, and starts the one asked for meanwhile.
func (m *Machine) finishReload(outcome string, problems []string) {
	m.reloading = false
	m.reloadDone, m.reloadOutcome, m.reloadProblems = m.reloadCovers, outcome, problems
	m.do(Tell{What: TellReady})
	if m.reloadAgain {
		m.reloadAgain = false
		m.openReload()
	}
}

// loaded takes the settings read for a reload: invalid, or changing what
// only a new niod can change, they are refused and the runtime keeps
// running; niod's own options are applied in place; anything the runtime
// sees restarts it, and READY=1 then waits for it by the same rule as at
// start.
func (m *Machine) loaded(e Loaded, now time.Time) {
	if !m.loading {
		return
	}
	m.loading = false
	if m.state == Done || m.state == StoppingToExit {
		m.reloading, m.reloadAgain = false, false
		m.reloadDone, m.reloadOutcome, m.reloadProblems = m.reloadAsked, "ignored", nil
		return
	}
	if e.Spec == nil {
		m.reloadNote = "last reload failed"
		for i, p := range e.Problems {
			if i == maxProblemsLogged {
				m.log(zapcore.ErrorLevel, "settings problem", logging.String("problem",
					fmt.Sprintf("... and %d more (niod check lists them all)", len(e.Problems)-i)))
				break
			}
			m.log(zapcore.ErrorLevel, "settings problem", logging.String("problem", p))
		}
		m.log(zapcore.ErrorLevel, "settings not reloaded; the runtime keeps running with the old ones",
			logging.Int("problems", len(e.Problems)))
		m.finishReload("failed", e.Problems[:min(len(e.Problems), maxProblemsLogged)])
		return
	}
	if fixed := m.spec.Identity.Differences(e.Spec.Identity); len(fixed) > 0 {
		m.reloadNote = "last reload refused"
		m.log(zapcore.ErrorLevel, "settings not reloaded: only a new niod can apply this change (restart niod); the runtime keeps running with the old settings",
			logging.String("changed", strings.Join(fixed, ", ")))
		m.finishReload("refused", []string{"only a new niod can change " + strings.Join(fixed, ", ")})
		return
	}
	m.reloadNote = ""
	old := m.spec
	for _, w := range e.Spec.Warnings {
		if !slices.Contains(old.Warnings, w) {
			m.log(zapcore.WarnLevel, w)
		}
	}
	m.spec = e.Spec
	m.policy.Use(e.Spec.Options)
	changed := old.Options.Changed(e.Spec.Options)
	if len(changed) > 0 {
		m.do(Apply{Spec: e.Spec, Changed: changed})
		m.log(zapcore.InfoLevel, "options applied in place", logging.Strings("changed", changed))
		m.reconcile(old.Options, now)
	}
	if old.RuntimeSame(e.Spec) {
		outcome := "applied"
		if len(changed) == 0 {
			m.log(zapcore.InfoLevel, "settings unchanged")
			outcome = "unchanged"
		}
		m.finishReload(outcome, nil)
		return
	}
	switch {
	case m.state.up() || m.state == Starting:
		m.log(zapcore.InfoLevel, "settings changed; restarting the runtime with them")
		m.why = "the settings changed"
		m.restartAt = now
		m.beginStop(StoppingToRestart, 0)
	case m.state == BackingOff:
		m.log(zapcore.InfoLevel, "settings changed; starting the runtime with them now")
		m.do(Cancel{TimerRestart})
		m.start()
	case m.state == StoppingToRestart:
		m.log(zapcore.InfoLevel, "settings changed; the restart under way uses them")
	default: // stopped or being stopped on request: nothing to wait for
		m.log(zapcore.InfoLevel, "settings changed; the runtime gets them at its next start")
		m.finishReload("applied", nil)
	}
}

// reconcile re-arms what depends on options that changed in place.
func (m *Machine) reconcile(old spec.Options, now time.Time) {
	o := m.spec.Options
	if m.state.up() && o.HealthInterval != old.HealthInterval {
		m.ticking = false // re-armed below at the new interval
	}
	if o.HealthURL != old.HealthURL {
		// A probe of the old target may be out: it still keeps a second
		// one from starting, but its answer counts for no start.
		m.probeGen = 0
		if m.state.up() {
			m.watched = o.HealthURL != "" || o.Ready == spec.ReadyNotify
			m.alive = now
		}
	}
	if m.state.up() {
		m.tickHealth()
	}
	if m.state == Running && o.Ready != old.Ready {
		switch o.Ready {
		case spec.ReadyExec:
			m.becomeReady("exec")
		case spec.ReadyProbe:
			m.do(Arm{TimerReadyProbe, readyProbeEvery})
		}
	}
}

// request handles an operator's stop, start or restart.
func (m *Machine) request(r Request, now time.Time) {
	switch r.Op {
	case OpStop:
		switch {
		case m.state.up() || m.state == Starting || m.state == BackingOff:
			m.log(zapcore.InfoLevel, "stopping the runtime on request")
			m.beginStop(StoppingToIdle, 0)
		case m.state == StoppingToRestart:
			m.state = StoppingToIdle
		}
	case OpStart:
		switch m.state {
		case Stopped, BackingOff:
			m.log(zapcore.InfoLevel, "starting the runtime on request")
			m.resetFailures()
			m.do(Cancel{TimerRestart})
			m.start()
		case StoppingToIdle:
			m.state, m.restartAt, m.why = StoppingToRestart, now, "a start request"
		}
	case OpRestart:
		switch {
		case m.state.up():
			m.log(zapcore.InfoLevel, "restarting the runtime on request")
			m.resetFailures()
			m.why, m.restartAt = "a restart request", now
			m.beginStop(StoppingToRestart, 0)
		case m.state == Stopped || m.state == BackingOff:
			m.request(Request{Op: OpStart}, now)
		case m.state == StoppingToIdle || m.state == StoppingToRestart:
			m.resetFailures()
			m.state, m.restartAt = StoppingToRestart, now
		}
	case OpReload:
		m.reloadRequest()
	case OpSignal:
		m.forward(r.Sig)
	}
}

// resetFailures forgets the failures in a row: an operator started or
// restarted the runtime by hand, so the back-off and niod status start over.
func (m *Machine) resetFailures() {
	m.policy.Reset()
	m.failures = 0
}
