package supervisor

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"

	"niod/internal/exitcode"
	"niod/internal/logging"
)

// Pre-start steps: the commands of pre_start run one after the other before
// a start of the runtime, each as a child of niod in a process group of its
// own, so that a stop, a timeout or the reaper treat it as they treat the
// runtime. The machine's pid is the step's while one runs; step says which.

// stepsDue reports whether this start runs the pre-start steps.
func (m *Machine) stepsDue() bool {
	return len(m.spec.PreStart) > 0 && !(m.spec.Options.PreStartOnce && m.stepsDone)
}

// The steps of a start are those of the spec it began with: a reload
// while they run changes the next start's, not these (m.steps).

// stepText names step k for the log and the status: "2/3 (pip install ...)".
func (m *Machine) stepText(k int) string {
	args := m.steps[k-1].Args
	cmd := strings.Join(args, " ")
	if len(cmd) > 60 {
		cmd = cmd[:57] + "..."
	}
	return fmt.Sprintf("%d/%d (%s)", k, len(m.steps), cmd)
}

// stepSpawned takes the pid of a step that started.
func (m *Machine) stepSpawned(e Spawned, now time.Time) {
	m.spawning, m.pid, m.stepStarted = false, e.PID, now
	if m.state.stopping() {
		m.do(Kill{PGID: m.pid, Sig: m.spec.Options.StopSignal, Tree: true})
		return
	}
	d := m.spec.Options.PreStartTimeout
	m.do(Arm{TimerPreStart, d}, Tell{What: TellExtendTimeout, D: d + extendStopBy})
	m.log(zapcore.InfoLevel, "pre_start step started", logging.String("step", m.stepText(m.step)), logging.Int("pid", m.pid),
		logging.Strings("command", m.steps[m.step-1].Args))
}

// stepExited takes the end of the step that ran: the next step, the
// runtime, or a failed start.
func (m *Machine) stepExited(x ChildExit, now time.Time) {
	k, took, timedOut := m.step, now.Sub(m.stepStarted), m.stepTimedOut
	m.pid, m.stepTimedOut = 0, false
	m.do(Cancel{TimerPreStart})
	if m.state.stopping() {
		m.step = 0
		m.log(zapcore.InfoLevel, "pre_start step stopped", logging.String("step", m.stepText(k)), logging.String("exit", describeEnd(x.Code)))
		return
	}
	if x.Code == 0 && !timedOut {
		m.log(zapcore.InfoLevel, "pre_start step done", logging.String("step", m.stepText(k)), logging.Duration("took", took.Round(time.Millisecond)))
		if k == len(m.steps) {
			m.stepsDone = true
			m.spawnStep(0)
		} else {
			m.spawnStep(k + 1)
		}
		return
	}
	why := describeEnd(x.Code)
	if timedOut {
		why = "timed out after " + m.spec.Options.PreStartTimeout.String()
	}
	m.step = 0
	m.stepFailed(k, x.Code, why, now)
}

// stepFailed ends the start: a failing step is a failed start, with the
// back-off and the restart limit.
func (m *Machine) stepFailed(k, code int, why string, now time.Time) {
	m.log(zapcore.ErrorLevel, "pre_start step failed", logging.String("step", m.stepText(k)), logging.String("exit", why))
	m.started = time.Time{}
	if code == 0 {
		code = exitcode.SignalBase + int(syscall.SIGKILL)
	}
	m.ended(code, 0, now, fmt.Sprintf("pre_start step %d (%s) %s", k, filepath.Base(m.steps[k-1].Args[0]), why))
}

// stepTimeout kills a step that ran past pre_start_timeout: its whole
// tree, at once (a hung step has no clean stop to wait for).
func (m *Machine) stepTimeout() {
	if m.step == 0 || m.pid == 0 || m.state.stopping() {
		return
	}
	m.stepTimedOut = true
	m.log(zapcore.WarnLevel, "pre_start step timed out; killing it", logging.String("step", m.stepText(m.step)),
		logging.Duration("pre_start_timeout", m.spec.Options.PreStartTimeout))
	m.do(Kill{PGID: m.pid, Sig: syscall.SIGKILL, Tree: true}, CheckTree{})
}

// spawnStep asks for step k of this start, or the runtime for k = 0.
func (m *Machine) spawnStep(k int) {
	m.step, m.spawning = k, true
	sp := Spawn{Gen: m.gen, Spec: m.spec, Step: k}
	if k > 0 {
		sp.PreStart = m.steps[k-1]
	}
	m.do(sp)
}
