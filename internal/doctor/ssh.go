package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// sshdConfig is sshd's main configuration file.
const sshdConfig = "/etc/ssh/sshd_config"

// SSHChecks are the checks of the SSH server a device is reached by.
func SSHChecks() []Check {
	return []Check{{ID: "ssh.config", Run: sshConfig}}
}

// sshSetting is the value sshd takes for a keyword and where it was set.
type sshSetting struct {
	value, origin string
}

// sshSettings reads sshd's configuration from the main file and the files
// it includes: sshd keeps the first value of a keyword, so the first one
// seen wins. Match blocks apply to some connections only; their contents
// are left out. It returns the first file it could not read and why.
func sshSettings(h *Host) (map[string]sshSetting, string, error) {
	set := map[string]sshSetting{}
	var read func(p string, depth int) (string, error)
	read = func(p string, depth int) (string, error) {
		if depth > 16 {
			return p, errors.New("Include nested too deep")
		}
		text, err := h.ReadFile(p)
		if err != nil {
			return p, err
		}
		inMatch := false
		for n, line := range strings.Split(text, "\n") {
			key, args := sshLine(line)
			if key == "" {
				continue
			}
			switch {
			case key == "match":
				// A Match block lasts to the next Match or the file's end.
				inMatch = true
			case inMatch:
			case key == "include":
				for _, pattern := range strings.Fields(args) {
					if !strings.HasPrefix(pattern, "/") {
						pattern = "/etc/ssh/" + pattern
					}
					matches, err := filepath.Glob(h.Path(pattern))
					if err != nil {
						return fmt.Sprintf("%s:%d", p, n+1), err
					}
					for _, m := range matches {
						rel, err := filepath.Rel(h.Path("/"), m)
						if err != nil {
							return m, err
						}
						if bad, err := read("/"+filepath.ToSlash(rel), depth+1); err != nil {
							return bad, err
						}
					}
				}
			default:
				if _, seen := set[key]; !seen {
					set[key] = sshSetting{strings.ToLower(args), fmt.Sprintf("%s:%d: %s", p, n+1, strings.TrimSpace(line))}
				}
			}
		}
		return "", nil
	}
	bad, err := read(sshdConfig, 0)
	return set, bad, err
}

// sshLine splits a configuration line into its keyword, lower-cased, and
// its arguments; a keyword is followed by white space or "=".
func sshLine(line string) (key, args string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", ""
	}
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return strings.ToLower(line), ""
	}
	args = strings.TrimLeft(line[i:], " \t")
	args = strings.TrimPrefix(args, "=")
	return strings.ToLower(line[:i]), strings.Trim(strings.TrimSpace(args), `"`)
}

// sshConfig judges who may log in to sshd and how.
func sshConfig(h *Host) Finding {
	set, bad, err := sshSettings(h)
	if err != nil {
		if bad == sshdConfig && errors.Is(err, fs.ErrNotExist) {
			return Finding{Status: Skip, Summary: "no sshd", Evidence: []string{sshdConfig + ": absent"}}
		}
		return cannotRead(bad, err)
	}
	var evidence, problems, fixes []string
	status := OK
	setting := func(key, name, def string) string {
		if s, ok := set[key]; ok {
			evidence = append(evidence, s.origin)
			return s.value
		}
		evidence = append(evidence, name+" unset: sshd's default is "+def)
		return def
	}
	// where names the line a fix changes, or the main file for a default.
	where := func(key string) string {
		if s, ok := set[key]; ok {
			p, _, _ := strings.Cut(s.origin, ": ")
			return p
		}
		return sshdConfig
	}
	switch setting("permitrootlogin", "PermitRootLogin", "prohibit-password") {
	case "prohibit-password", "without-password", "forced-commands-only", "no":
	default:
		status = Fail
		problems = append(problems, "root may log in with a password")
		fixes = append(fixes, "PermitRootLogin prohibit-password at "+where("permitrootlogin"))
	}
	if setting("passwordauthentication", "PasswordAuthentication", "yes") != "no" {
		if status == OK {
			status = Warn
		}
		problems = append(problems, "sshd accepts passwords: passwords can be guessed; use keys")
		fixes = append(fixes, "PasswordAuthentication no at "+where("passwordauthentication"))
	}
	if status == OK {
		return Finding{Status: OK, Summary: "sshd takes keys only and root cannot log in with a password", Evidence: evidence}
	}
	return Finding{Status: status, Summary: strings.Join(problems, "; "), Evidence: evidence,
		Fix: "set " + strings.Join(fixes, " and ") + " (sshd keeps a keyword's first value), then systemctl reload ssh"}
}
