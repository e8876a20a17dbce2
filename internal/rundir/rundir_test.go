package rundir

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestBase(t *testing.T) {
	env := map[string]string{"RUNTIME_DIRECTORY": "/run/niod:/run/other", "XDG_RUNTIME_DIR": "/run/user/1"}
	if got := Base(func(k string) string { return env[k] }); got != "/run/niod" {
		t.Errorf("got %s", got)
	}
	delete(env, "RUNTIME_DIRECTORY")
	if got := Base(func(k string) string { return env[k] }); got != "/run/user/1" {
		t.Errorf("got %s", got)
	}
	delete(env, "XDG_RUNTIME_DIR")
	env["TMPDIR"] = "/var/tmp/mine"
	if got := Base(func(k string) string { return env[k] }); got != "/var/tmp/mine" {
		t.Errorf("got %s", got)
	}
	delete(env, "TMPDIR")
	none := func(string) string { return "" }
	for _, c := range []struct {
		memory []string
		want   string
	}{{nil, "/tmp"}, {[]string{"/tmp"}, "/tmp"}, {[]string{"/tmp", "/dev/shm"}, "/tmp"}, {[]string{"/dev/shm"}, "/dev/shm"}} {
		if got := base(none, func(d string) bool { return slices.Contains(c.memory, d) }); got != c.want {
			t.Errorf("in memory %v: %s, want %s", c.memory, got, c.want)
		}
	}
}

func TestOnMemoryFS(t *testing.T) {
	dir := t.TempDir()
	if onMemoryFS(dir) {
		t.Errorf("%s (mode 0700) taken for a shared memory directory", dir)
	}
	if onMemoryFS(filepath.Join(dir, "absent")) {
		t.Error("an absent directory taken for one")
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, "/dev/shm", "/tmp"} {
		var fs unix.Statfs_t
		var st unix.Stat_t
		if unix.Statfs(d, &fs) != nil || unix.Stat(d, &st) != nil {
			continue
		}
		want := fs.Type == unix.TMPFS_MAGIC && st.Mode&0o7777 == 0o1777
		if got := onMemoryFS(d); got != want {
			t.Errorf("%s (mode %o, file system %#x): %v", d, st.Mode&0o7777, fs.Type, got)
		}
	}
}

func TestMakeNamesTheOwner(t *testing.T) {
	base := t.TempDir()
	dir, err := Make(base, "notify")
	if err != nil {
		t.Fatal(err)
	}
	o, ok := parseName(filepath.Base(dir))
	if !ok || o.pid != os.Getpid() || o.start == 0 || !o.alive() {
		t.Errorf("%s: owner %+v ok %v", dir, o, ok)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v %v", st.Mode(), err)
	}
}

func TestParseName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"niod-notify-12-345-678", true}, {"niod-handoff-1-2-x", true},
		{"niod-12345", false}, {"niod-notify-x-1-2", false}, {"niod-notify-1-2", false},
		{"other-notify-1-2-3", false}, {"niod-notify-0-1-2", false}, {"niod-a-1-2-3-4", false},
	} {
		if _, ok := parseName(c.name); ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
		}
	}
}

func TestSweepRemovesOnlyWhatIsGone(t *testing.T) {
	base := t.TempDir()
	// A niod that has exited: a child that is gone by now.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(base, fmt.Sprintf("niod-handoff-%d-1-abc", cmd.Process.Pid))
	mine, err := Make(base, "notify")
	if err != nil {
		t.Fatal(err)
	}
	// This process's pid with another start time: the pid was reused.
	reused := filepath.Join(base, fmt.Sprintf("niod-notify-%d-1-abc", os.Getpid()))
	other := filepath.Join(base, "unrelated-dir")
	link := filepath.Join(base, fmt.Sprintf("niod-handoff-%d-1-link", cmd.Process.Pid))
	for _, d := range []string{gone, reused, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "settings.conf"), []byte("secret"), 0o600)
	}
	target := t.TempDir()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if removed, _ := Sweep(base, os.Geteuid()+1); len(removed) != 0 {
		t.Errorf("swept another user's: %v", removed)
	}
	removed, err := Sweep(base, os.Geteuid())
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(removed, " ")
	if !strings.Contains(got, gone) || !strings.Contains(got, reused) || len(removed) != 2 {
		t.Errorf("removed %v, want %s and %s", removed, gone, reused)
	}
	for _, keep := range []string{mine, other, link, target} {
		if _, err := os.Lstat(keep); err != nil {
			t.Errorf("%s was removed: %v", keep, err)
		}
	}
}
