package doctor

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"niod/internal/config"
)

// project loads settings written into a new root; files maps a name to
// its text (mode 0600).
func loadProject(t *testing.T, files map[string]string, names ...string) *Host {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, ps := config.Load(config.Request{Root: root, Files: names})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	return &Host{Root: "/", Euid: os.Geteuid(), Settings: l}
}

func find(t *testing.T, h *Host, id string) Finding {
	t.Helper()
	for _, c := range ProjectChecks() {
		if c.ID == id {
			f := c.Run(h)
			f.ID = id
			return f
		}
	}
	t.Fatalf("no check %s", id)
	return Finding{}
}

func TestProjectChecksSkipWithoutSettings(t *testing.T) {
	for _, f := range Run(&Host{Root: "/"}, ProjectChecks()) {
		if f.Status != Skip || !strings.Contains(f.Summary, "no project settings") {
			t.Errorf("%s without settings: %+v", f.ID, f)
		}
	}
}

func TestSecretsInGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed for this test")
	}
	files := map[string]string{"nio.conf": "[rest]\nport = 8181\n", "secrets.conf": "[user_defined]\nADMIN_PASSWORD = a-real-password-123\n"}
	h := loadProject(t, files, "nio.conf", "secrets.conf")
	root := h.Settings.Root
	if f := find(t, h, "secrets.vcs"); f.Status != OK || !strings.Contains(strings.Join(f.Evidence, "\n"), "not in a git work tree") {
		t.Errorf("outside git: %+v", f)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.email=t@example.invalid", "-c", "user.name=t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	if f := find(t, h, "secrets.vcs"); f.Status != Warn || !strings.Contains(f.Fix, ".gitignore") {
		t.Errorf("in a work tree, not ignored: %+v", f)
	}
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("secrets.conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f := find(t, h, "secrets.vcs"); f.Status != OK {
		t.Errorf("ignored: %+v", f)
	}
	run("add", "-f", "secrets.conf")
	run("commit", "-q", "-m", "oops")
	if f := find(t, h, "secrets.vcs"); f.Status != Fail || !strings.Contains(f.Fix, "git rm --cached") {
		t.Errorf("committed: %+v", f)
	}
	// A value secret only because a secret refers to it is one too.
	h3 := loadProject(t, map[string]string{"nio.conf": "[security]\nadmin_password = [[DB]]\n[user_defined]\nDB = hunter2hunter2\n"}, "nio.conf")
	if got := secretFiles(h3.Settings); len(got) != 1 || got[0] != filepath.Join(h3.Settings.Root, "nio.conf") {
		t.Errorf("a secret by reference: secret files %v", got)
	}
	// A file of references only holds no secret.
	h2 := loadProject(t, map[string]string{"nio.conf": "[security]\nadmin_password = [[ADMIN_PASSWORD]]\n[user_defined]\nADMIN_PASSWORD =\n"}, "nio.conf")
	if f := find(t, h2, "secrets.vcs"); f.Status != OK || f.Summary != "no settings file holds a secret as written" {
		t.Errorf("references only: %+v", f)
	}
}

func TestWeakCredentials(t *testing.T) {
	for _, c := range []struct {
		password string
		want     Status
	}{
		{"", Fail}, {"change-me", Fail}, {"admin", Fail}, {"short-pw", Warn}, {"a-long-enough-password", OK},
	} {
		h := loadProject(t, map[string]string{"nio.conf": "[security]\nusers = admin\nadmin_password = " + c.password + "\n"}, "nio.conf")
		if f := find(t, h, "credentials.weak"); f.Status != c.want || (c.want != OK && (f.Fix == "" || len(f.Evidence) == 0)) {
			t.Errorf("password %q: %+v, want %s", c.password, f, c.want)
		}
		if f := find(t, h, "credentials.weak"); c.password != "" && strings.Contains(strings.Join(f.Evidence, " ")+f.Summary, c.password) && c.want == Warn {
			t.Errorf("the password is in the finding: %+v", f)
		}
	}
}

func TestExposureAndTLS(t *testing.T) {
	for _, c := range []struct {
		rest         string
		expose, tlsS Status
	}{
		{"port = 8181\nhost = 0.0.0.0\n", Warn, Fail},
		{"port = 8181\nhost = 127.0.0.1\n", OK, Warn},
		{"host = 127.0.0.1\n", Skip, Warn},
	} {
		h := loadProject(t, map[string]string{"nio.conf": "[rest]\n" + c.rest}, "nio.conf")
		if f := find(t, h, "exposure.api"); f.Status != c.expose {
			t.Errorf("%q exposure: %+v, want %s", c.rest, f, c.expose)
		}
		if f := find(t, h, "tls.api"); f.Status != c.tlsS {
			t.Errorf("%q tls: %+v, want %s", c.rest, f, c.tlsS)
		}
	}
}

func TestRuntimeRootAndProjectWriters(t *testing.T) {
	for _, c := range []struct {
		niod string
		want Status
	}{{"user = root", Fail}, {"user = nobody", OK}} {
		h := loadProject(t, map[string]string{"nio.conf": "[niod]\n" + c.niod + "\n"}, "nio.conf")
		if f := find(t, h, "runtime.root"); f.Status != c.want {
			t.Errorf("%q: %+v, want %s", c.niod, f, c.want)
		}
	}
	h := loadProject(t, map[string]string{"nio.conf": "[s]\nk = v\n"}, "nio.conf")
	h.Euid = 0
	h.Settings.Options.AllowRoot = true
	if f := find(t, h, "runtime.root"); f.Status != Fail {
		t.Errorf("allow_root as root: %+v", f)
	}
	if f := find(t, h, "files.project"); f.Status != OK {
		t.Errorf("a private root: %+v", f)
	}
	if err := os.Chmod(h.Settings.Root, 0o777); err != nil {
		t.Fatal(err)
	}
	if f := find(t, h, "files.project"); f.Status != Fail || f.Fix != "chmod go-w "+h.Settings.Root {
		t.Errorf("a world-writable root: %+v", f)
	}
}

func TestSecretsWriters(t *testing.T) {
	h := loadProject(t, map[string]string{"secrets.conf": "[user_defined]\nADMIN_PASSWORD = a-real-password-123\n"}, "secrets.conf")
	if f := find(t, h, "secrets.permissions"); f.Status != OK {
		t.Errorf("a private secrets file: %+v", f)
	}
	if err := os.Chmod(h.Settings.Root, 0o777); err != nil {
		t.Fatal(err)
	}
	if f := find(t, h, "secrets.permissions"); f.Status != Fail || !strings.Contains(f.Summary, "someone else can change") {
		t.Errorf("in a world-writable directory: %+v", f)
	}
}

func TestRunningRuntimeDecides(t *testing.T) {
	h := loadProject(t, map[string]string{"nio.conf": "[niod]\nuser = nobody\n"}, "nio.conf")
	h.Running = &Running{PID: 77, UID: 0}
	if f := find(t, h, "runtime.root"); f.Status != Fail || f.Summary != "the running runtime (pid 77) runs as root" {
		t.Errorf("a runtime running as root, settings saying nobody: %+v", f)
	}
	h.Running = &Running{PID: 77, UID: 4242}
	if f := find(t, h, "runtime.root"); f.Status != OK || !strings.HasPrefix(f.Summary, "the running runtime (pid 77) runs as 4242 (uid 4242") {
		t.Errorf("a runtime running as 4242: %+v", f)
	}
	// The project is root's: only a runtime of its owner's uid could
	// write it (root, here, or the test's own user).
	owner := os.Geteuid()
	h.Running = &Running{PID: 77, UID: owner}
	f := find(t, h, "files.project")
	if owner == 0 {
		if f.Status != OK {
			t.Errorf("a runtime running as root: files.project %+v (runtime.root reports root)", f)
		}
		return
	}
	if f.Status != Warn || !strings.Contains(strings.Join(f.Evidence, "\n"), "the running runtime's user (pid 77)") {
		t.Errorf("a runtime that owns its project: %+v", f)
	}
}

func TestStatusUID(t *testing.T) {
	for text, want := range map[string]int{
		"Name:\tsleep\nUid:\t999\t999\t999\t999\nGid:\t999\n": 999,
		"Uid:\t0\t1000\t0\t0\n":                               0,
		"Uid:\n":                                              -1,
		"Uid:\tx\n":                                           -1,
		"Name:\tsleep\n":                                      -1,
	} {
		got, ok := statusUID(text)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("%q: %d, want %d", text, got, want)
		}
	}
}
