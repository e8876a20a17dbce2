package doctor

import (
	"os"
	"reflect"
	"testing"
)

func TestSSHConfig(t *testing.T) {
	t.Parallel()
	debian := "# This is the sshd server system-wide configuration file.\n" +
		"Include /etc/ssh/sshd_config.d/*.conf\n\n" +
		"#PermitRootLogin prohibit-password\n" +
		"KbdInteractiveAuthentication no\n" +
		"UsePAM yes\n"
	tests := []struct {
		name     string
		files    map[string]string
		status   Status
		summary  string
		evidence []string
	}{
		{"defaults", map[string]string{"/etc/ssh/sshd_config": debian}, Warn,
			"sshd accepts passwords: passwords can be guessed; use keys",
			[]string{"PermitRootLogin unset: sshd's default is prohibit-password", "PasswordAuthentication unset: sshd's default is yes"}},
		{"keys only, set in an included file", map[string]string{"/etc/ssh/sshd_config": debian + "PasswordAuthentication yes\n",
			"/etc/ssh/sshd_config.d/50-keys.conf": "PasswordAuthentication no\n"}, OK,
			"sshd takes keys only and root cannot log in with a password",
			[]string{"PermitRootLogin unset: sshd's default is prohibit-password", "/etc/ssh/sshd_config.d/50-keys.conf:1: PasswordAuthentication no"}},
		{"root with a password; the first value wins", map[string]string{"/etc/ssh/sshd_config": "permitrootlogin=yes\nPermitRootLogin no\nPasswordAuthentication no\n"}, Fail,
			"root may log in with a password",
			[]string{"/etc/ssh/sshd_config:1: permitrootlogin=yes", "/etc/ssh/sshd_config:3: PasswordAuthentication no"}},
		{"both; a Match block is left out; relative Include", map[string]string{
			"/etc/ssh/sshd_config": "Include extra.conf\nPasswordAuthentication yes\nMatch User backup\n\tPermitRootLogin no\n",
			"/etc/ssh/extra.conf":  "PermitRootLogin yes\n",
		}, Fail, "root may log in with a password; sshd accepts passwords: passwords can be guessed; use keys",
			[]string{"/etc/ssh/extra.conf:1: PermitRootLogin yes", "/etc/ssh/sshd_config:2: PasswordAuthentication yes"}},
		{"forced commands only", map[string]string{"/etc/ssh/sshd_config": "PermitRootLogin forced-commands-only\nMatch Address 10.0.0.0/8\nPasswordAuthentication yes\nMatch all\nPasswordAuthentication yes\n",
			"/etc/ssh/sshd_config.d/x.conf": "PasswordAuthentication no\n"}, Warn,
			"sshd accepts passwords: passwords can be guessed; use keys",
			[]string{"/etc/ssh/sshd_config:1: PermitRootLogin forced-commands-only", "PasswordAuthentication unset: sshd's default is yes"}},
		{"no sshd", map[string]string{"/etc/ssh/ssh_config": "Host *\n"}, Skip, "no sshd", []string{"/etc/ssh/sshd_config: absent"}},
		{"an included file is missing", map[string]string{"/etc/ssh/sshd_config": "Include /etc/ssh/none.conf\nPasswordAuthentication no\n"}, OK,
			"sshd takes keys only and root cannot log in with a password",
			[]string{"PermitRootLogin unset: sshd's default is prohibit-password", "/etc/ssh/sshd_config:2: PasswordAuthentication no"}},
	}
	for _, tt := range tests {
		f := runOne(t, SSHChecks(), "ssh.config", hostLaidOut(t, tt.files))
		if f.Status != tt.status || f.Summary != tt.summary || !reflect.DeepEqual(f.Evidence, tt.evidence) {
			t.Errorf("%s: got %s %q %q, want %s %q %q", tt.name, f.Status, f.Summary, f.Evidence, tt.status, tt.summary, tt.evidence)
		}
	}
}

func TestSSHConfigFix(t *testing.T) {
	t.Parallel()
	h := hostLaidOut(t, map[string]string{"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\n",
		"/etc/ssh/sshd_config.d/10-root.conf": "PermitRootLogin yes\n"})
	f := runOne(t, SSHChecks(), "ssh.config", h)
	want := "set PermitRootLogin prohibit-password at /etc/ssh/sshd_config.d/10-root.conf:1 and PasswordAuthentication no at /etc/ssh/sshd_config (sshd keeps a keyword's first value), then systemctl reload ssh"
	if f.Fix != want {
		t.Errorf("fix %q, want %q", f.Fix, want)
	}
}

func TestSSHConfigUnreadable(t *testing.T) {
	t.Parallel()
	h := hostLaidOut(t, map[string]string{"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\n"})
	// A directory where a file is expected cannot be read by anyone, root included.
	if err := os.MkdirAll(h.Path("/etc/ssh/sshd_config.d/bad.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := runOne(t, SSHChecks(), "ssh.config", h)
	if want := "cannot read /etc/ssh/sshd_config.d/bad.conf: is a directory"; f.Status != Skip || f.Summary != want {
		t.Errorf("got %s %q, want skip %q", f.Status, f.Summary, want)
	}
}
