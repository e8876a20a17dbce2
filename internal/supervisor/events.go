package supervisor

import (
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"

	"niod/internal/logging"
	"niod/internal/notifysock"
	"niod/internal/spec"
)

// An Event is one input of the machine: everything the outside world tells
// the supervisor arrives as one of the types below, on one loop.
type Event interface{ event() }

// Boot starts the machine: the first start of the runtime.
type Boot struct{}

// Spawned says start number Gen gave the runtime pid PID, or, with Step
// above 0, that pre-start step number Step of that start runs as PID.
type Spawned struct{ Gen, PID, Step int }

// SpawnFailed says start number Gen did not give a runtime: the exec, the
// fork or the handoff failed. Code is what a shell would report (127 not
// found, 126 cannot execute); Err says why.
type SpawnFailed struct {
	Gen  int
	Code int
	Err  error
	Step int // the pre-start step that did not start; 0: the runtime
}

// ChildExit is one reaped process and its shell-style exit code.
type ChildExit struct{ PID, Code int }

// Reaped lists the children wait4 collected; Empty says niod has no child
// left, which (niod being PID 1 or subreaper) means no descendant either.
type Reaped struct {
	Exits []ChildExit
	Empty bool
}

// Signal is a signal niod received (never SIGCHLD, which the loop turns
// into Reaped, nor SIGPIPE, which it ignores).
type Signal struct{ Sig syscall.Signal }

// TimerFired says a timer the machine armed ran out.
type TimerFired struct{ Timer Timer }

// Notified is a datagram on niod's notify socket for the runtime.
type Notified struct{ Msg notifysock.Message }

// NotifyFailed says reading the notify socket failed; the reader goes on.
type NotifyFailed struct{ Err error }

// ProbeDone is the result of health probe number Seq.
type ProbeDone struct {
	Seq int
	Err error
	// Refused says nothing listened on the probe's address yet (the
	// connection was refused): asking again soon costs the runtime nothing.
	Refused bool
}

// Loaded is the result of reading the settings again for a reload: a new
// spec, or the problems that stop it, one line each.
type Loaded struct {
	Spec     *spec.Spec
	Problems []string
}

// Request is an operator's request (the control socket).
type Request struct {
	Op Op
	// Sig is the signal of OpSignal.
	Sig syscall.Signal
}

// Op is what a Request asks.
type Op int

// The requests.
const (
	OpStop    Op = iota // stop the runtime and keep niod up
	OpStart             // start it again (now, when backing off)
	OpRestart           // stop it and start it again, the back-off reset
	OpReload            // read the settings again, as HUP does
	OpSignal            // send Sig to the runtime's process group
)

func (Boot) event()         {}
func (Spawned) event()      {}
func (SpawnFailed) event()  {}
func (Reaped) event()       {}
func (Signal) event()       {}
func (TimerFired) event()   {}
func (Notified) event()     {}
func (NotifyFailed) event() {}
func (ProbeDone) event()    {}
func (Loaded) event()       {}
func (Request) event()      {}

// Timer names one of the machine's timers; each is armed at most once.
type Timer int

// The timers.
const (
	TimerRestart    Timer = iota // the back-off ends: start again
	TimerKill                    // stop_timeout ends: SIGKILL the tree
	TimerKillAgain               // sweep the tree with SIGKILL again
	TimerHealth                  // the next health probe and check
	TimerReadyProbe              // the next probe while waiting for readiness
	TimerWatchdog                // ping the service manager's watchdog
	TimerPreStart                // pre_start_timeout ends: kill the step
	numTimers
)

func (t Timer) String() string {
	return [...]string{"restart", "kill", "kill-again", "health", "ready-probe", "watchdog", "pre-start"}[t]
}

// An Effect is one thing the machine asks the loop to do. The loop does
// them in order; those with an answer (Spawn, CheckTree, Probe,
// LoadSettings) answer with an event on a later turn, never by a call back
// into the machine.
type Effect interface{ effect() }

// Spawn starts the runtime of Spec as start number Gen, or with Step above
// 0 that start's pre-start step number Step, PreStart (in Spec's
// directory and environment); the loop answers Spawned or SpawnFailed.
type Spawn struct {
	Gen      int
	Spec     *spec.Spec
	Step     int
	PreStart spec.Step // the step's command, with Step above 0
}

// Kill sends Sig to the process group PGID (when not 0) and, with Tree, to
// every living descendant of niod (those that left the group).
type Kill struct {
	PGID int
	Sig  syscall.Signal
	Tree bool
}

// CheckTree asks the loop to reap now and answer Reaped.
type CheckTree struct{}

// Arm starts (or restarts) Timer to fire After from now.
type Arm struct {
	Timer Timer
	After time.Duration
}

// Cancel stops Timer.
type Cancel struct{ Timer Timer }

// Probe starts health probe number Seq; the loop answers ProbeDone.
type Probe struct{ Seq int }

// LoadSettings reads the settings again; the loop answers Loaded.
type LoadSettings struct{}

// Apply tells the loop that niod's own options changed in place (the
// logger, the probe's target).
type Apply struct {
	Spec    *spec.Spec
	Changed []string
}

// Release frees the handoff of the runtime that ended (a file handoff's
// directory is removed).
type Release struct{}

// Tell sends a message to the service manager.
type Tell struct {
	What Telling
	// Text is the STATUS= text, D the EXTEND_TIMEOUT_USEC= time, Code the
	// ERRNO= number.
	Text string
	D    time.Duration
	Code int
}

// Telling is the kind of a Tell.
type Telling int

// The service manager messages.
const (
	TellReady Telling = iota
	TellReloading
	TellStatus
	TellStopping
	TellExtendTimeout
	TellErrno
	TellWatchdog
)

// Log writes one entry.
type Log struct {
	Level  zapcore.Level
	Msg    string
	Fields []logging.Field
}

// Exit ends niod with Code; nothing of the tree is left.
type Exit struct{ Code int }

func (Spawn) effect()        {}
func (Kill) effect()         {}
func (CheckTree) effect()    {}
func (Arm) effect()          {}
func (Cancel) effect()       {}
func (Probe) effect()        {}
func (LoadSettings) effect() {}
func (Apply) effect()        {}
func (Release) effect()      {}
func (Tell) effect()         {}
func (Log) effect()          {}
func (Exit) effect()         {}
