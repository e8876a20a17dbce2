package main

import (
	"fmt"
	"os"
	"strings"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/launch"
	"niod/internal/privs"
	"niod/internal/supervisor"
)

// rootRefused is the message for root without a user to become.
const rootRefused = "refusing to run the runtime as root: give it a user to drop to " +
	"(--user nio, User=nio in the systemd unit, USER nio in a Dockerfile, or [niod] user = nio), " +
	"or pass --allow-root to run as root anyway"

// prepared is what run and check find out before anything starts.
type prepared struct {
	user    *privs.User // nil: stay as is
	environ []string
	spec    *supervisor.Spec // nil for check without a command
	tls     launch.TLS
}

// prepare decides who the runtime runs as, what it runs and with which
// certificate, printing what stops it; without a command (check) it skips
// what only the command decides.
func prepare(inv *invocation, l *config.Loaded, command []string, needCommand bool) (prepared, int) {
	var p prepared
	var code int
	var msg string
	p.user, code, msg = whoToBe(l.Options)
	if msg != "" {
		fmt.Fprintln(inv.stderr, "niod: "+msg)
		return p, code
	}
	p.environ = userEnviron(inv.environ, p.user)
	tls, ps := launch.CheckTLS(l)
	p.tls = tls
	if needCommand || len(command) > 0 || len(l.Options.Command) > 0 {
		var planPs config.Problems
		p.spec, planPs = launch.Plan(l, p.environ, command)
		ps = append(planPs, ps...)
	}
	if len(ps) > 0 {
		printProblems(inv, ps)
		return p, exitcode.Config
	}
	if problems := reachable(p.user, p.spec, tls); len(problems) > 0 {
		for _, problem := range problems {
			fmt.Fprintln(inv.stderr, "niod: "+problem)
		}
		return p, exitcode.NoPerm
	}
	return p, exitcode.OK
}

// whoToBe resolves the user niod drops to; nil means staying as is. It
// returns an exit code and a message when niod must not go on.
func whoToBe(o *config.Options) (*privs.User, int, string) {
	euid := os.Geteuid()
	if o.User == "" {
		if euid == 0 && !o.AllowRoot {
			return nil, exitcode.NoPerm, rootRefused
		}
		return nil, 0, ""
	}
	u, err := privs.Lookup(o.User, o.Group)
	if err != nil {
		return nil, exitcode.Config, describeOrigin(o, "user") + err.Error()
	}
	if euid != 0 && euid != u.UID {
		return nil, exitcode.NoPerm, fmt.Sprintf("niod runs as uid %d and cannot become user %s (start it as root or as that user)", euid, u)
	}
	return u, 0, ""
}

func describeOrigin(o *config.Options, key string) string {
	if origin := o.Origins[key]; origin.File != "" {
		return origin.String() + ": "
	}
	return ""
}

// userEnviron sets HOME, USER and LOGNAME for u.
func userEnviron(environ []string, u *privs.User) []string {
	if u == nil {
		return environ
	}
	out := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k != "HOME" && k != "USER" && k != "LOGNAME" {
			out = append(out, kv)
		}
	}
	name := u.Name
	if name == "" {
		name = fmt.Sprint(u.UID)
	}
	return append(out, "HOME="+u.Home, "USER="+name, "LOGNAME="+name)
}

// reachable checks that u can use the project root, the runtime's command
// and the TLS files the runtime reads.
func reachable(u *privs.User, spec *supervisor.Spec, tls launch.TLS) []string {
	if u == nil {
		return nil
	}
	var problems []string
	check := func(path string, need privs.Need) {
		if path == "" {
			return
		}
		if err := privs.CheckAccess(u, path, need); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if spec != nil {
		check(spec.Dir, privs.Read|privs.Execute)
		check(spec.Path, privs.Execute)
	}
	check(tls.Files.Cert, privs.Read)
	check(tls.Files.Key, privs.Read)
	check(tls.Files.Chain, privs.Read)
	return problems
}

// dropPrivileges makes niod u for good and proves it.
func dropPrivileges(u *privs.User) error {
	fromRoot := os.Geteuid() == 0
	if err := privs.Drop(u); err != nil {
		return fmt.Errorf("cannot drop to user %s: %w", u, err)
	}
	if err := privs.Prove(u, fromRoot); err != nil {
		return fmt.Errorf("dropped to user %s, but the proof failed: %w", u, err)
	}
	return nil
}
