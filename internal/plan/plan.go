// Package plan turns flags, environment and settings into everything niod
// run needs, the same way at start, at check and at every reload.
package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/health"
	"niod/internal/privs"
	"niod/internal/rundir"
	"niod/internal/spec"
	"niod/internal/tlscheck"
)

// Request is what a plan is made from.
type Request struct {
	Settings config.Request
	// Command, when given (niod run -- COMMAND ARGS), replaces [niod]
	// command.
	Command []string
	// NeedCommand makes a missing command a problem (run); check plans the
	// command only when one is given.
	NeedCommand bool
	// Reload says niod runs already (as the user it dropped to): who it
	// may become is then the supervisor's to judge.
	Reload bool
	// HandoffDir is the base of niod's private directories (see
	// rundir.Base): where a file handoff and the notify socket go.
	HandoffDir string
}

// Plan is everything niod run needs: the runtime's spec (command,
// environment, settings payload, supervisor options, handoff), the user to
// become, the TLS result and the warnings to log.
type Plan struct {
	Loaded *config.Loaded
	// User is the account to drop to; nil means staying as is.
	User *privs.User
	// Spec is the runtime's spec; nil for a check without a command.
	Spec *spec.Spec
	// Venv is the virtual environment the runtime runs in, "" for none.
	Venv string
	TLS  TLS
	// Warnings do not stop niod: they are logged at start (those of the
	// settings themselves are in Loaded.Warnings).
	Warnings []string
}

// Failure says why no plan was made: the exit code and one line a problem.
type Failure struct {
	Code     int
	Problems []string
}

func (f *Failure) Error() string { return strings.Join(f.Problems, "; ") }

// Make loads the settings and plans the run.
func Make(req Request) (*Plan, *Failure) {
	l, ps := config.Load(req.Settings)
	if len(ps) > 0 {
		return nil, configFailure(ps)
	}
	return FromLoaded(l, req)
}

// FromLoaded plans the run of settings loaded already.
func FromLoaded(l *config.Loaded, req Request) (*Plan, *Failure) {
	p := &Plan{Loaded: l}
	var code int
	var msg string
	p.User, code, msg = whoToBe(privs.SystemAccounts(), l.Options, os.Geteuid(), req.Reload)
	if msg != "" {
		return nil, &Failure{Code: code, Problems: []string{"niod: " + msg}}
	}
	environ := userEnviron(req.Settings.Environ, p.User)
	tls, ps := CheckTLS(l)
	p.TLS = tls
	p.Warnings = append(p.Warnings, tls.Warnings...)
	if req.NeedCommand || len(req.Command) > 0 || len(l.Options.Command) > 0 {
		s, venv, cps := commandSpec(l, environ, req.Command)
		p.Venv = venv
		ps = append(cps, ps...)
		if s != nil {
			o, ops := supervisorOptions(l, req.HandoffDir)
			ps = append(ps, ops...)
			s.Options = o
			s.Handoff = spec.HandoffMemfd
			if l.Options.Handoff == "file" {
				s.Handoff = spec.HandoffFile
			}
			s.Identity = identity(p.User, l.Root, req.HandoffDir)
			s.Identity.ControlGroup = -1
			if g := l.Options.ControlGroup; g != "" {
				gid, err := privs.SystemAccounts().LookupGroup(g)
				if err != nil {
					ps = append(ps, config.Problem{Origin: l.Options.Origins["control_group"], Msg: "control_group: " + err.Error()})
				}
				s.Identity.ControlGroup = gid
			}
			if !tls.NotAfter.IsZero() {
				s.CertNotAfter, s.CertWarnFrom = tls.NotAfter, tls.NotAfter.Add(-tlscheck.ExpiryWarning)
			}
			p.Spec = s
		}
	}
	if len(ps) > 0 {
		return nil, configFailure(ps)
	}
	p.Warnings = append(p.Warnings, rootRunWarnings(p.User, p.Spec, p.Venv, 0)...)
	if problems := reachable(p.User, p.Spec, p.Venv, tls); len(problems) > 0 {
		for i := range problems {
			problems[i] = "niod: " + problems[i]
		}
		return nil, &Failure{Code: exitcode.NoPerm, Problems: problems}
	}
	if p.Spec != nil {
		for _, w := range l.Warnings {
			p.Spec.Warnings = append(p.Spec.Warnings, w.Error())
		}
		p.Spec.Warnings = append(p.Spec.Warnings, p.Warnings...)
		p.Spec.Settings = stampFiles(l.Root, l.Files)
	}
	return p, nil
}

func configFailure(ps config.Problems) *Failure {
	f := &Failure{Code: exitcode.Config}
	for _, p := range ps {
		f.Problems = append(f.Problems, p.Error())
	}
	return f
}

// RuntimeUID is the uid the runtime runs as.
func (p *Plan) RuntimeUID() int {
	if p.User != nil {
		return p.User.UID
	}
	return os.Geteuid()
}

func identity(u *privs.User, root, handoffDir string) spec.Identity {
	id := spec.Identity{UID: os.Geteuid(), GID: os.Getegid(), Root: root, HandoffDir: handoffDir}
	if u != nil {
		id.User, id.UID, id.GID, id.Groups = u.String(), u.UID, u.GID, u.Groups
	}
	return id
}

// maxSocketPath is the longest path a unix socket address holds (sun_path
// less its terminating NUL).
const maxSocketPath = 107

// notifySocketPath is as long as the path of niod's notify socket under
// dir can be (see notifysock.Listen).
func notifySocketPath(dir string) string {
	return filepath.Join(dir, rundir.LongestName("notify"), "notify")
}

// supervisorOptions types niod's options for the supervisor and checks
// what can only be checked with the settings at hand: the health target,
// and that ready = notify has a notify socket to use.
func supervisorOptions(l *config.Loaded, handoffDir string) (spec.Options, config.Problems) {
	o := l.Options
	out := spec.Options{
		RestartDelay: o.RestartDelay, RestartMaxDelay: o.RestartMaxDelay, RestartResetAfter: o.RestartResetAfter,
		RestartLimit: o.RestartLimit, RestartLimitWindow: o.RestartLimitWindow,
		StopSignal: o.StopSignal, StopTimeout: o.StopTimeout,
		StopExit:       spec.StopExit{Code: o.StopExitCode, Set: o.StopExitCode >= 0},
		HealthInterval: o.HealthInterval, HealthTimeout: o.HealthTimeout, HealthGrace: o.HealthGrace,
		LogLevel: o.LogLevel, LogFormat: o.LogFormat,
		PreStartTimeout: o.PreStartTimeout, PreStartOnce: o.PreStartOnce,
	}
	switch o.Restart {
	case "always":
		out.Restart = spec.RestartAlways
	case "never":
		out.Restart = spec.RestartNever
	default:
		out.Restart = spec.RestartOnFailure
	}
	var ps config.Problems
	out.HealthURL, out.HealthCA = healthTarget(l)
	if out.HealthURL != "" {
		if _, err := health.New(out.HealthURL, out.HealthTimeout, out.HealthCA); err != nil {
			ps = append(ps, config.Problem{Origin: o.Origins["health_url"], Msg: "health probe: " + err.Error()})
		}
	}
	if out.HealthURL != "" {
		ps = append(ps, healthContradictions(o, out)...)
	}
	ps = append(ps, restartLimitContradiction(o, out)...)
	switch o.Ready {
	case "exec":
		out.Ready = spec.ReadyExec
	case "notify":
		out.Ready = spec.ReadyNotify
		if path := notifySocketPath(handoffDir); len(path) > maxSocketPath {
			ps = append(ps, config.Problem{Origin: o.Origins["ready"], Msg: fmt.Sprintf(
				"ready = notify needs niod's notify socket, but its path under %s would be %d bytes, longer than a socket address holds (%d): set RUNTIME_DIRECTORY or XDG_RUNTIME_DIR to a shorter directory",
				handoffDir, len(path), maxSocketPath)})
		}
	case "probe":
		out.Ready = spec.ReadyProbe
		if out.HealthURL == "" {
			ps = append(ps, config.Problem{Origin: o.Origins["ready"], Msg: "ready = probe needs a health probe: set [rest] port or health_url"})
		}
	default: // auto
		out.Ready = spec.ReadyExec
		if out.HealthURL != "" {
			out.Ready = spec.ReadyProbe
		}
	}
	return out, ps
}

// healthContradictions reports probe options that defeat each other.
func healthContradictions(o *config.Options, out spec.Options) config.Problems {
	var ps config.Problems
	if out.HealthTimeout >= out.HealthInterval {
		ps = append(ps, contradiction(o, []string{"health_timeout", "health_interval"}, func(show func(string, any) string) string {
			return fmt.Sprintf("%s is not shorter than %s: a probe could still be waiting when the next one is due; make health_timeout shorter than health_interval",
				show("health_timeout", out.HealthTimeout), show("health_interval", out.HealthInterval))
		}))
	}
	if out.HealthGrace < out.HealthInterval {
		ps = append(ps, contradiction(o, []string{"health_grace", "health_interval"}, func(show func(string, any) string) string {
			return fmt.Sprintf("%s is shorter than %s: a healthy runtime would be restarted between two probes; make health_grace at least health_interval",
				show("health_grace", out.HealthGrace), show("health_interval", out.HealthInterval))
		}))
	}
	return ps
}

// restartLimitContradiction reports a restart_limit_window too short to
// ever hold restart_limit failures, given the back-off between them.
func restartLimitContradiction(o *config.Options, out spec.Options) config.Problems {
	need := out.TimeToLimit()
	if out.Restart == spec.RestartNever || out.RestartLimit == 0 || out.RestartLimitWindow >= need {
		return nil
	}
	return config.Problems{contradiction(o, []string{"restart_limit_window", "restart_limit", "restart_delay", "restart_max_delay"}, func(show func(string, any) string) string {
		return fmt.Sprintf("%s is shorter than the back-off takes to reach %s: %d failures in a row need at least %v with %s and %s, so the limit could never be hit; lengthen restart_limit_window or lower restart_limit",
			show("restart_limit_window", out.RestartLimitWindow), show("restart_limit", out.RestartLimit), out.RestartLimit, need,
			show("restart_delay", out.RestartDelay), show("restart_max_delay", out.RestartMaxDelay))
	})}
}

// contradiction is a problem between options: reported where the first of
// keys that was set is, its message naming each option with its value and,
// unless that is the problem's own line, where it was set ("the default"
// for an option left alone), so that both sides can be found.
func contradiction(o *config.Options, keys []string, msg func(show func(key string, value any) string) string) config.Problem {
	var at config.Origin
	for _, k := range keys {
		if origin, ok := o.Origins[k]; ok {
			at = origin
			break
		}
	}
	show := func(key string, value any) string {
		origin, ok := o.Origins[key]
		switch {
		case !ok:
			return fmt.Sprintf("%s = %v (the default)", key, value)
		case origin == at:
			return fmt.Sprintf("%s = %v", key, value)
		}
		return fmt.Sprintf("%s = %v (%s)", key, value, origin)
	}
	return config.Problem{Origin: at, Msg: msg(show)}
}
