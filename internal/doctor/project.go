package doctor

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"niod/internal/config"
	"niod/internal/health"
	"niod/internal/plan"
	"niod/internal/privs"
	"niod/internal/securefile"
	"niod/internal/shell"
)

// ProjectChecks are the checks of the project's own settings and files;
// they skip without settings.
func ProjectChecks() []Check {
	return []Check{
		{ID: "secrets.vcs", Container: true, Run: project(secretsInGit)},
		{ID: "secrets.permissions", Container: true, Run: project(secretsWriters)},
		{ID: "files.project", Container: true, Run: project(projectWriters)},
		{ID: "runtime.root", Container: true, Run: project(runtimeRoot)},
		{ID: "tls.api", Container: true, Run: project(tlsAPI)},
		{ID: "exposure.api", Container: true, Run: project(apiExposure)},
		{ID: "credentials.weak", Container: true, Run: project(weakCredentials)},
	}
}

func project(run func(h *Host, l *config.Loaded) Finding) func(h *Host) Finding {
	return func(h *Host) Finding {
		if h.Settings == nil {
			return Finding{Status: Skip, Summary: "no project settings (give -r ROOT and -s FILE)"}
		}
		return run(h, h.Settings)
	}
}

// secretFiles are the settings files that hold a secret as written (not
// just a [[ reference ]]), as absolute paths, in order.
func secretFiles(l *config.Loaded) []string {
	var out []string
	seen := map[string]bool{}
	l.Settings.All(func(_ *config.Section, v *config.Value) {
		if v.Origin.File == "" || !v.HoldsSecret() {
			return
		}
		if p := config.RootPath(l.Root, v.Origin.File); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	})
	return out
}

// gitTimeout bounds each git call: a check never hangs.
const gitTimeout = 5 * time.Second

// git runs git in dir without taking any lock (doctor changes nothing) and
// returns its exit code; -1 when git is missing or did not run.
func git(dir string, args ...string) int {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	err := cmd.Run()
	if err == nil {
		return 0
	}
	if x, ok := err.(*exec.ExitError); ok && ctx.Err() == nil {
		return x.ExitCode()
	}
	return -1
}

func secretsInGit(h *Host, l *config.Loaded) Finding {
	files := secretFiles(l)
	if len(files) == 0 {
		return Finding{Status: OK, Summary: "no settings file holds a secret as written"}
	}
	if _, err := exec.LookPath("git"); err != nil {
		return Finding{Status: Skip, Summary: "git is not installed: cannot tell what is in version control"}
	}
	worst := Finding{Status: OK, Summary: "no file holding a secret is in version control"}
	for _, f := range files {
		dir, name := filepath.Dir(f), filepath.Base(f)
		if git(dir, "rev-parse", "--is-inside-work-tree") != 0 {
			worst.Evidence = append(worst.Evidence, f+": not in a git work tree")
			continue
		}
		switch {
		case git(dir, "ls-files", "--error-unmatch", "--", name) == 0:
			worst.Status, worst.Summary = Fail, name+" holds a secret and is tracked by git"
			worst.Fix = "git rm --cached " + f + ", add it to .gitignore, and change the secrets it held (they are in the history)"
			worst.Evidence = append(worst.Evidence, f+": tracked by git")
		case git(dir, "check-ignore", "-q", "--", name) != 0:
			if worst.Status == OK {
				worst.Status, worst.Summary = Warn, name+" holds a secret and git does not ignore it"
				worst.Fix = "add " + name + " to the .gitignore of " + dir
			}
			worst.Evidence = append(worst.Evidence, f+": in a git work tree, not ignored")
		default:
			worst.Evidence = append(worst.Evidence, f+": ignored by git")
		}
	}
	return worst
}

func secretsWriters(h *Host, l *config.Loaded) Finding {
	files := secretFiles(l)
	if len(files) == 0 {
		return Finding{Status: OK, Summary: "no settings file holds a secret as written"}
	}
	f := Finding{Status: OK, Summary: "only root and niod's user can change the secrets files"}
	for _, p := range files {
		w, err := securefile.PathWriters(p, uint32(h.Euid))
		switch {
		case err != nil:
			f.Evidence = append(f.Evidence, p+": "+err.Error())
		case w != nil:
			f.Status, f.Summary = Fail, "someone else can change a secrets file"
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s can be changed by %s", p, w.Path, w.Who()))
			f.Fix = w.Fix(w.Path)
		default:
			f.Evidence = append(f.Evidence, p+": root's or niod's")
		}
	}
	return f
}

// projectWriters judges the directories holding the runtime's code: the
// root, the venv and the blocks. Group or others writing them fails; the
// runtime's own user writing them warns: a compromised runtime could
// rewrite the code it runs next, and keep its hold over a restart.
func projectWriters(h *Host, l *config.Loaded) Finding {
	dirs := []string{l.Root}
	if v := l.Options.Venv; v != "" {
		dirs = append(dirs, config.RootPath(l.Root, v), filepath.Join(config.RootPath(l.Root, v), "bin"))
	}
	for _, name := range []string{"venv", ".venv", "env"} {
		if st, err := os.Stat(filepath.Join(l.Root, name, "bin", "python")); err == nil && !st.IsDir() {
			dirs = append(dirs, filepath.Join(l.Root, name), filepath.Join(l.Root, name, "bin"))
		}
	}
	if v := l.Settings.Lookup("instance", "blocks_path"); v != nil && strings.TrimSpace(v.Text) != "" {
		dirs = append(dirs, config.RootPath(l.Root, strings.TrimSpace(v.Text)))
	}
	u, who, err := runtimeUser(h, l)
	f := Finding{Status: OK, Summary: "the project's code is writable by no one but its owner"}
	switch {
	case err != nil:
		f.Evidence = append(f.Evidence, "the runtime's user: "+err.Error())
	case u != nil && u.UID == 0:
		u = nil // root writes everything: runtime.root says so
	case u != nil:
		f.Summary = "the project's code is writable neither by group or others nor by the runtime's user"
	}
	var mine []string
	seen := map[string]bool{}
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil || seen[d] {
			continue
		}
		seen[d] = true
		switch {
		case st.Mode().Perm()&0o022 != 0:
			f.Status, f.Summary = Fail, "the project's code can be changed by group or others"
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s: mode %04o", d, st.Mode().Perm()))
			f.Fix = "chmod go-w " + shell.Quote(d)
		case u != nil && privs.CheckAccess(u, d, privs.Write) == nil:
			mine = append(mine, d)
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s: writable by %s, %s", d, u, who))
		}
	}
	if len(mine) > 0 && f.Status == OK {
		f.Status, f.Summary = Warn, "the runtime's user can change the code it runs"
		f.Fix = "chown -R root: " + shell.Join(mine) + " (the runtime only reads its code; give it a data directory of its own to write)"
	}
	return f
}

// runtimeUser is the account the runtime runs or would run as, and where
// that comes from: the running runtime, the user niod drops to, or niod's
// own. It is nil as root without a user (niod would refuse to start).
func runtimeUser(h *Host, l *config.Loaded) (*privs.User, string, error) {
	acc := privs.SystemAccounts()
	switch {
	case h.Running != nil:
		u, err := acc.Lookup(strconv.Itoa(h.Running.UID), "")
		return u, fmt.Sprintf("the running runtime's user (pid %d)", h.Running.PID), err
	case l.Options.User != "":
		u, err := acc.Lookup(l.Options.User, l.Options.Group)
		return u, "the user niod drops to", err
	case h.Euid != 0:
		u, err := acc.Lookup(strconv.Itoa(h.Euid), "")
		return u, "niod's own user, which the runtime keeps", err
	}
	return nil, "", nil
}

func runtimeRoot(h *Host, l *config.Loaded) Finding {
	o := l.Options
	if r := h.Running; r != nil {
		ev := []string{fmt.Sprintf("/proc/%d/status: uid %d", r.PID, r.UID)}
		if r.UID == 0 {
			return Finding{Status: Fail, Summary: fmt.Sprintf("the running runtime (pid %d) runs as root", r.PID), Evidence: ev,
				Fix: "give the runtime a user of its own: useradd --system nio, then user = nio"}
		}
		who := fmt.Sprintf("uid %d", r.UID)
		if u, _, err := runtimeUser(h, l); err == nil {
			who = u.String()
		}
		return Finding{Status: OK, Summary: fmt.Sprintf("the running runtime (pid %d) runs as %s", r.PID, who), Evidence: ev}
	}
	switch {
	case o.User == "" && h.Euid == 0 && o.AllowRoot:
		return Finding{Status: Fail, Summary: "the runtime would run as root (allow_root)",
			Evidence: []string{"[niod] allow_root = true, no user"}, Fix: "give the runtime a user: --user nio, User=nio, USER nio"}
	case o.User == "0" || o.User == "root":
		return Finding{Status: Fail, Summary: "the runtime's user is root", Evidence: []string{"[niod] user = " + o.User},
			Fix: "give the runtime a user of its own: useradd --system nio, then user = nio"}
	case o.User == "" && h.Euid == 0:
		return Finding{Status: Warn, Summary: "no user to drop to: niod would refuse to run as root",
			Fix: "set [niod] user = nio (or --user, User= in the unit)"}
	}
	who := o.User
	if who == "" {
		who = fmt.Sprintf("uid %d (niod's own)", h.Euid)
	}
	return Finding{Status: OK, Summary: "the runtime runs as " + who}
}

func tlsAPI(h *Host, l *config.Loaded) Finding {
	tls, ps := plan.CheckTLS(l)
	host, _ := plan.RestValue(l, "host")
	switch {
	case len(ps) > 0:
		f := Finding{Status: Fail, Summary: "the API's certificate is not usable"}
		for _, p := range ps {
			f.Evidence = append(f.Evidence, p.Error())
		}
		f.Fix = "niod check says what to run"
		return f
	case tls.Files.Cert == "" && !loopback(host):
		return Finding{Status: Fail, Summary: "the API is served without TLS on " + orAll(host),
			Fix: "niod cert, then the [user_defined] SSL_* lines it prints"}
	case tls.Files.Cert == "":
		return Finding{Status: Warn, Summary: "the API is served without TLS (on loopback only)", Fix: "niod cert"}
	case len(tls.Warnings) > 0:
		return Finding{Status: Warn, Summary: "the API's certificate ends soon", Evidence: tls.Warnings, Fix: "niod check says what to run"}
	}
	return Finding{Status: OK, Summary: "TLS, certificate valid until " + tls.NotAfter.UTC().Format(time.DateOnly)}
}

func apiExposure(h *Host, l *config.Loaded) Finding {
	if port, _ := plan.RestValue(l, "port"); port == "" {
		return Finding{Status: Skip, Summary: "no [rest] port: the runtime serves no API"}
	}
	host, _ := plan.RestValue(l, "host")
	if health.IsWildcard(host) {
		return Finding{Status: Warn, Summary: "the API listens on every address", Evidence: []string{"[rest] host = " + host},
			Fix: "set [rest] host to the one address clients use (127.0.0.1 behind a proxy)"}
	}
	return Finding{Status: OK, Summary: "the API listens on " + host}
}

// examplePasswords are the example project's placeholders.
var examplePasswords = map[string]bool{"change-me": true, "changeme": true, "password": true, "admin": true, "secret": true}

// minPassword is the shortest password not reported as short.
const minPassword = 12

func weakCredentials(h *Host, l *config.Loaded) Finding {
	users := map[string]bool{}
	if v := l.Settings.Lookup("security", "users"); v != nil {
		for _, u := range strings.FieldsFunc(v.Text, func(r rune) bool { return r == ',' || r == ' ' }) {
			users[u] = true
		}
	}
	f := Finding{Status: OK, Summary: "no weak password in the settings"}
	worse := func(s Status, ev, fix string) {
		if s == Fail || f.Status == OK {
			f.Status, f.Fix = s, fix
		}
		f.Evidence = append(f.Evidence, ev)
	}
	l.Settings.All(func(sec *config.Section, v *config.Value) {
		if sec.Name == config.NiodSection || !strings.Contains(strings.ToLower(v.Key), "password") {
			return
		}
		at := fmt.Sprintf("%s: [%s] %s", v.Origin, sec.Name, v.Key)
		pw := strings.TrimSpace(v.Text)
		switch {
		case pw == "":
			worse(Fail, at+" is empty", "set a password of "+fmt.Sprint(minPassword)+" characters or more in secrets.conf")
		case examplePasswords[strings.ToLower(pw)]:
			worse(Fail, at+" is the example's placeholder", "set a password of your own in secrets.conf")
		case users[pw] || strings.EqualFold(pw, strings.TrimSuffix(strings.ToLower(v.Key), "_password")):
			worse(Fail, at+" equals a user name", "set a password that is not a user's name")
		case len([]rune(pw)) < minPassword:
			worse(Warn, at+" is shorter than "+fmt.Sprint(minPassword)+" characters", "use a password of "+fmt.Sprint(minPassword)+" characters or more")
		}
	})
	if f.Status != OK {
		f.Summary = "a weak password in the settings"
	}
	return f
}

func loopback(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func orAll(host string) string {
	if host == "" {
		return "every address"
	}
	return host
}
