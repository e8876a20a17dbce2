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

// prepare decides who the runtime runs as and what it runs, printing what
// stops it; without a command (check) it stops after the user.
func prepare(inv *invocation, l *config.Loaded, command []string, needCommand bool) (*privs.User, []string, *supervisor.Spec, int) {
	user, code, msg := whoToBe(l.Options)
	if msg != "" {
		fmt.Fprintln(inv.stderr, "niod: "+msg)
		return nil, nil, nil, code
	}
	environ := userEnviron(inv.environ, user)
	if !needCommand && len(command) == 0 && len(l.Options.Command) == 0 {
		return user, environ, nil, exitcode.OK
	}
	spec, ps := launch.Plan(l, environ, command)
	if len(ps) > 0 {
		printProblems(inv, ps)
		return nil, nil, nil, exitcode.Config
	}
	if problems := reachable(user, spec); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(inv.stderr, "niod: "+p)
		}
		return nil, nil, nil, exitcode.NoPerm
	}
	return user, environ, spec, exitcode.OK
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

// reachable checks that u can use the project root and the runtime's
// command.
func reachable(u *privs.User, spec *supervisor.Spec) []string {
	if u == nil {
		return nil
	}
	var problems []string
	if err := privs.CheckAccess(u, spec.Dir, privs.Read|privs.Execute); err != nil {
		problems = append(problems, err.Error())
	}
	if err := privs.CheckAccess(u, spec.Path, privs.Execute); err != nil {
		problems = append(problems, err.Error())
	}
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
