package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/privs"
	"niod/internal/securefile"
	"niod/internal/spec"
)

// rootRefused is the message for root without a user to become.
const rootRefused = "refusing to run the runtime as root: give it a user to drop to " +
	"(--user nio, User=nio in the systemd unit, USER nio in a Dockerfile, or [niod] user = nio), " +
	"or pass --allow-root to run as root anyway"

// whoToBe resolves the user niod drops to in accounts; nil means staying as
// is. It returns an exit code and a message when niod must not go on. At a
// reload niod has dropped already: a different user is for the supervisor
// to refuse with its reason.
func whoToBe(accounts privs.Accounts, o *config.Options, euid int, reload bool) (*privs.User, int, string) {
	if o.User == "" {
		if euid == 0 && !o.AllowRoot {
			return nil, exitcode.NoPerm, rootRefused
		}
		return nil, 0, ""
	}
	u, err := accounts.Lookup(o.User, o.Group)
	if err != nil {
		return nil, exitcode.Config, describeOrigin(o, "user") + err.Error()
	}
	if !reload && euid != 0 && euid != u.UID {
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
func reachable(u *privs.User, s *spec.Spec, tls TLS) []string {
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
	if s != nil {
		check(s.Dir, privs.Read|privs.Execute)
		check(s.Path, privs.Execute)
	}
	check(tls.Files.Cert, privs.Read)
	check(tls.Files.Key, privs.Read)
	check(tls.Files.Chain, privs.Read)
	return problems
}

// rootRunWarnings warns when the runtime runs as root and what it runs —
// the command, its #! interpreter, the venv's python — could be rewritten
// by someone other than root (trusted, 0 but in tests): they could then
// run anything as root.
func rootRunWarnings(u *privs.User, s *spec.Spec, venv string, trusted uint32) []string {
	if s == nil || (u == nil && os.Geteuid() != 0) || (u != nil && u.UID != 0) {
		return nil
	}
	paths := []string{s.Path}
	if interp := securefile.Interpreter(s.Path); interp != "" {
		paths = append(paths, interp)
	}
	if venv != "" {
		paths = append(paths, filepath.Join(venv, "bin", "python"))
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		w, err := securefile.PathWriters(p, trusted)
		if err != nil || w == nil || seen[w.Path] {
			continue
		}
		seen[w.Path] = true
		out = append(out, fmt.Sprintf("the runtime runs as root, but %s can be rewritten by %s: they could run anything as root (%s, or give the runtime a user with --user)",
			w.Path, w.Who(), w.Fix(w.Path)))
	}
	return out
}
