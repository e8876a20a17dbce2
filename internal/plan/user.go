package plan

import (
	"errors"
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
	if !reload && euid == 0 && u.UID != 0 {
		if msg := privs.CannotDrop(); msg != "" {
			return nil, exitcode.NoPerm, msg
		}
	}
	return u, 0, ""
}

func describeOrigin(o *config.Options, key string) string {
	if origin := o.Origins[key]; origin.File != "" {
		return origin.String() + ": "
	}
	return ""
}

// UserPATH is the runtime's PATH (after the venv's bin) when niod runs it
// as a user: the default su and sudo give, never the PATH of whoever
// started niod (root's may hold directories the user cannot enter or that
// others can write to).
const UserPATH = "/usr/local/bin:/usr/bin:/bin"

// userEnviron sets HOME, USER, LOGNAME and PATH for u, as su and sudo do.
func userEnviron(environ []string, u *privs.User) []string {
	if u == nil {
		return environ
	}
	out := make([]string, 0, len(environ)+4)
	for _, kv := range environ {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "USER", "LOGNAME", "PATH":
		default:
			out = append(out, kv)
		}
	}
	name := u.Name
	if name == "" {
		name = fmt.Sprint(u.UID)
	}
	return append(out, "HOME="+u.Home, "USER="+name, "LOGNAME="+name, "PATH="+UserPATH)
}

// reachable checks that u can use the project root, the runtime's command,
// the venv's python and the TLS files the runtime reads. Each problem is
// one line naming what needed the access, however many of those one path
// stands in the way of.
func reachable(u *privs.User, s *spec.Spec, venv string, tls TLS) []string {
	if u == nil {
		return nil
	}
	var needs []accessNeed
	if s != nil {
		needs = append(needs, accessNeed{"the project root", s.Dir, privs.Read | privs.Execute},
			accessNeed{"the runtime's command", s.Path, privs.Execute})
		for i, st := range s.PreStart {
			needs = append(needs, accessNeed{fmt.Sprintf("pre_start step %d", i+1), st.Path, privs.Execute})
		}
	}
	if venv != "" {
		needs = append(needs, accessNeed{"the venv", filepath.Join(venv, "bin", "python"), privs.Execute})
	}
	needs = append(needs, accessNeed{"the TLS certificate", tls.Files.Cert, privs.Read},
		accessNeed{"the TLS key", tls.Files.Key, privs.Read}, accessNeed{"the TLS chain", tls.Files.Chain, privs.Read})
	var failed []accessFailure
	for _, n := range needs {
		if n.path == "" {
			continue
		}
		err := privs.CheckAccess(u, n.path, n.need)
		var ae *privs.AccessError
		switch {
		case err == nil:
		case errors.As(err, &ae):
			failed = append(failed, accessFailure{n, ae})
		default:
			failed = append(failed, accessFailure{n, &privs.AccessError{Path: n.path, Target: n.path, Err: err}})
		}
	}
	return describeAccess(failed)
}

// accessNeed is one thing the runtime's user must reach.
type accessNeed struct {
	what, path string
	need       privs.Need
}

type accessFailure struct {
	accessNeed
	err *privs.AccessError
}

// describeAccess renders failures one line per path in the way, in the
// order first met, naming everything that path keeps the user from.
func describeAccess(failed []accessFailure) []string {
	var order []string
	byKey := map[string][]accessFailure{}
	for _, f := range failed {
		key := f.err.Error()
		if _, seen := byKey[key]; !seen {
			order = append(order, key)
		}
		byKey[key] = append(byKey[key], f)
	}
	out := make([]string, 0, len(order))
	for _, key := range order {
		group := byKey[key]
		e := group[0].err
		var names, items []string
		for _, f := range group {
			names = append(names, f.what)
			items = append(items, f.what+" "+f.path)
		}
		switch {
		case e.Err != nil:
			out = append(out, fmt.Sprintf("%s: %v (needed for %s)", e.Path, e.Err, joinAnd(items)))
		case e.Blocked():
			out = append(out, fmt.Sprintf("user %s cannot enter %s, so it cannot reach %s (run: %s)", e.User, e.Path, joinAnd(items), e.Fix))
		default:
			out = append(out, fmt.Sprintf("%s %s: user %s cannot %s it (run: %s)", joinAnd(names), e.Path, e.User, e.Action, e.Fix))
		}
	}
	return out
}

// joinAnd joins items as "a, b and c".
func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
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
