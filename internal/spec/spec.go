// Package spec describes one runtime for the supervisor: what to run, as
// whom, with which settings, and the supervisor's own typed options. The
// plan builds it; the supervisor only reads it.
package spec

import (
	"bytes"
	"slices"
	"syscall"
	"time"

	"niod/internal/securefile"
)

// Restart says when the runtime is started again after it ended by itself.
type Restart int

// The restart policies.
const (
	RestartOnFailure Restart = iota // after a non-zero exit, a signal or a failed start
	RestartAlways                   // after every end
	RestartNever                    // never: niod ends with the runtime's code
)

func (r Restart) String() string {
	return [...]string{"on-failure", "always", "never"}[r]
}

// Ready says when the runtime counts as ready.
type Ready int

// The readiness rules.
const (
	ReadyExec   Ready = iota // as soon as it was started
	ReadyNotify              // when it sent READY=1 to niod's notify socket
	ReadyProbe               // when the first health probe answered
)

func (r Ready) String() string {
	return [...]string{"exec", "notify", "probe"}[r]
}

// Handoff is how the runtime gets its settings.
type Handoff int

// The handoff transports.
const (
	HandoffMemfd Handoff = iota // a sealed memfd inherited as a descriptor
	HandoffFile                 // a 0600 file in a private 0700 directory
)

func (h Handoff) String() string {
	return [...]string{"memfd", "file"}[h]
}

// Options are the supervisor's own options, applied in place by a reload.
type Options struct {
	Restart Restart
	// RestartDelay is the first back-off after the immediate restart,
	// doubling up to RestartMaxDelay; RestartResetAfter of uptime forgets
	// earlier failures.
	RestartDelay, RestartMaxDelay, RestartResetAfter time.Duration
	// RestartLimit failures within RestartLimitWindow end niod with 69;
	// 0 means no limit.
	RestartLimit       int
	RestartLimitWindow time.Duration
	// StopSignal asks the runtime's tree to stop; after StopTimeout it is
	// killed.
	StopSignal  syscall.Signal
	StopTimeout time.Duration
	// StopExit is niod's exit code after a requested stop; unset, 128+N.
	StopExit StopExit
	Ready    Ready
	// HealthURL is what the probe asks ("" for no probe); HealthCA
	// verifies it over https.
	HealthURL, HealthCA string
	// HealthInterval is the time between probes, HealthTimeout what one
	// may take, HealthGrace how long the runtime may give no sign of life
	// before it is restarted.
	HealthInterval, HealthTimeout, HealthGrace time.Duration
	// LogLevel and LogFormat are niod's logging.
	LogLevel, LogFormat string
	// PreStartTimeout bounds each pre-start step; PreStartOnce runs the
	// steps before the first start only.
	PreStartTimeout time.Duration
	PreStartOnce    bool
}

// Backoff is the delay before the start that follows the failure-th
// failure in a row: none after the first, then restart_delay doubling per
// failure up to restart_max_delay, with up to 20% jitter either way (j in
// [0, 1)) so that many instances that failed together do not restart in
// lockstep.
func (o Options) Backoff(failure int, j float64) time.Duration {
	if failure <= 1 {
		return 0
	}
	d := o.RestartDelay
	for i := 2; i < failure && d < o.RestartMaxDelay; i++ {
		d *= 2
	}
	d = min(d, o.RestartMaxDelay)
	jitter := time.Duration((j*0.4 - 0.2) * float64(d))
	return min(max(d+jitter, 0), o.RestartMaxDelay)
}

// TimeToLimit is the least time from the first failure to the
// restart_limit-th: the back-off delays between them at their shortest
// jitter, with runs that fail at once. A restart_limit_window shorter than
// this can never hold restart_limit failures. It is 0 without a limit.
func (o Options) TimeToLimit() time.Duration {
	var total time.Duration
	for k := 1; k < o.RestartLimit; k++ {
		total += o.Backoff(k, 0)
		if total > o.RestartLimitWindow {
			break // long enough to tell; a limit in the millions stays cheap
		}
	}
	return total
}

// StopExit is an exit code for a requested stop (stop_exit_code), when
// Set.
type StopExit struct {
	Code int
	Set  bool
}

// Changed names the options that differ between o and p, in a fixed order,
// as the settings name them.
func (o Options) Changed(p Options) []string {
	var out []string
	add := func(differ bool, name string) {
		if differ {
			out = append(out, name)
		}
	}
	add(o.Restart != p.Restart, "restart")
	add(o.RestartDelay != p.RestartDelay, "restart_delay")
	add(o.RestartMaxDelay != p.RestartMaxDelay, "restart_max_delay")
	add(o.RestartResetAfter != p.RestartResetAfter, "restart_reset_after")
	add(o.RestartLimit != p.RestartLimit, "restart_limit")
	add(o.RestartLimitWindow != p.RestartLimitWindow, "restart_limit_window")
	add(o.StopSignal != p.StopSignal, "stop_signal")
	add(o.StopTimeout != p.StopTimeout, "stop_timeout")
	add(o.StopExit != p.StopExit, "stop_exit_code")
	add(o.Ready != p.Ready, "ready")
	add(o.HealthURL != p.HealthURL || o.HealthCA != p.HealthCA, "health_url")
	add(o.HealthInterval != p.HealthInterval, "health_interval")
	add(o.HealthTimeout != p.HealthTimeout, "health_timeout")
	add(o.HealthGrace != p.HealthGrace, "health_grace")
	add(o.LogLevel != p.LogLevel, "log_level")
	add(o.LogFormat != p.LogFormat, "log_format")
	return out
}

// Identity is what only a new niod can change: after the privilege drop
// niod cannot become anyone else, and the root and handoff directory are
// fixed at start.
type Identity struct {
	// User describes the account the runtime runs as ("" for niod's own).
	User     string
	UID, GID int
	Groups   []int
	// Root is the project root.
	Root string
	// HandoffDir is where a file handoff and the notify socket are made.
	HandoffDir string
	// ControlGroup is the gid allowed on the control socket besides root
	// and niod's user; -1 for none.
	ControlGroup int
}

// Differences names what differs between a and b, as a reason a reload
// cannot apply.
func (a Identity) Differences(b Identity) []string {
	var out []string
	if a.UID != b.UID || a.User != b.User {
		out = append(out, "user "+orSelf(a.User)+" → "+orSelf(b.User))
	}
	if a.GID != b.GID || !slices.Equal(a.Groups, b.Groups) {
		out = append(out, "group")
	}
	if a.Root != b.Root {
		out = append(out, "root "+a.Root+" → "+b.Root)
	}
	if a.HandoffDir != b.HandoffDir {
		out = append(out, "handoff directory "+a.HandoffDir+" → "+b.HandoffDir)
	}
	if a.ControlGroup != b.ControlGroup {
		out = append(out, "control_group")
	}
	return out
}

func orSelf(user string) string {
	if user == "" {
		return "(niod's own)"
	}
	return user
}

// Spec is everything needed to start the runtime and to supervise it.
type Spec struct {
	// Path is the executable, Args its argv (Args[0] included).
	Path string
	Args []string
	// Dir is the runtime's working directory, the project root.
	Dir string
	// Env is the runtime's environment, without NIO_SETTINGS and
	// NOTIFY_SOCKET, which niod adds per start.
	Env []string
	// PreStart are the steps run before a start of the runtime, in order:
	// with its directory and environment, without its handoff.
	PreStart []Step
	// Payload is the settings the runtime reads through NIO_SETTINGS, and
	// Handoff how it gets them.
	Payload []byte
	Handoff Handoff
	// Identity is who runs it and where.
	Identity Identity
	// CertNotAfter is when the API certificate ends (zero without TLS);
	// from CertWarnFrom on the status says so.
	CertNotAfter, CertWarnFrom time.Time
	Options                    Options
	// Warnings are what niod warned about when it planned this spec, one
	// line each: logged at start, and at a reload only those that are new.
	Warnings []string
	// Settings are the settings files it was planned from, as they were
	// then: niod status says which changed on disk since.
	Settings []securefile.Stamp
}

// Step is one pre-start command: Path the executable, Args its argv.
type Step struct {
	Path string
	Args []string
}

// RuntimeSame reports whether s and o start the same runtime: the same
// command, arguments, environment, directory, settings and transport. What
// differs otherwise is niod's own and applied in place.
func (s *Spec) RuntimeSame(o *Spec) bool {
	return s.Path == o.Path && slices.Equal(s.Args, o.Args) && s.Dir == o.Dir &&
		slices.Equal(s.Env, o.Env) && bytes.Equal(s.Payload, o.Payload) && s.Handoff == o.Handoff
}
