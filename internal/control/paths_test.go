package control

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDir(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env  map[string]string
		euid int
		want string
	}{
		{map[string]string{"RUNTIME_DIRECTORY": "/run/niod-a:/run/other", "XDG_RUNTIME_DIR": "/run/user/1"}, 1, "/run/niod-a"},
		{map[string]string{"RUNTIME_DIRECTORY": "/run/niod"}, 0, "/run/niod"},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, 1000, "/run/user/1000/niod"},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/0"}, 0, "/run/user/0/niod"},
		{nil, 0, "/run/niod"},
		{nil, 1000, "/tmp/niod-1000"},
		{map[string]string{"TMPDIR": "/var/tmp/"}, 1000, "/var/tmp/niod-1000"},
	} {
		if got := Dir(env(c.env), c.euid); got != c.want {
			t.Errorf("%v euid %d: %s, want %s", c.env, c.euid, got, c.want)
		}
	}
}

func TestSocketName(t *testing.T) {
	t.Parallel()
	name := SocketName("/srv/project")
	if !regexp.MustCompile(`^[0-9a-f]{16}/control\.sock$`).MatchString(name) {
		t.Errorf("name %s", name)
	}
	// sha256("/srv/project"), first 8 bytes.
	if name != "4f3f91f6b0b47e3b/control.sock" {
		t.Errorf("name %s", name)
	}
	for _, same := range []string{"/srv/project/", "/srv//project", "/srv/x/../project"} {
		if SocketName(same) != name {
			t.Errorf("%s: %s, want %s", same, SocketName(same), name)
		}
	}
	if SocketName("/srv/other") == name {
		t.Error("two roots, one name")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if SocketName("project") != SocketName(filepath.Join(wd, "project")) {
		t.Error("a relative root is not made absolute")
	}
}

func TestCandidates(t *testing.T) {
	t.Parallel()
	n := SocketName("/srv/p")
	l := SocketName("/data/p")
	for _, c := range []struct {
		name  string
		env   map[string]string
		euid  int
		roots []string
		run   []string
		want  []string
	}{
		{"explicit", map[string]string{"NIOD_CONTROL": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/1"}, 1, []string{"/srv/p"}, []string{"/run/niod-a"},
			[]string{"/x/y.sock"}},
		{"root", nil, 0, []string{"/srv/p"}, []string{"/run/niod-a", "/run/niod-b"},
			[]string{"/run/niod/" + n, "/run/niod-a/" + n, "/run/niod-b/" + n, "/tmp/niod-0/" + n}},
		{"user", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "TMPDIR": "/var/tmp"}, 1000, []string{"/srv/p"}, nil,
			[]string{"/run/user/1000/niod/" + n, "/run/niod/" + n, "/var/tmp/niod-1000/" + n, "/tmp/niod-1000/" + n}},
		{"unit", map[string]string{"RUNTIME_DIRECTORY": "/run/niod-x", "XDG_RUNTIME_DIR": "/run/user/5"}, 5, []string{"/srv/p"}, []string{"/run/niod-x"},
			[]string{"/run/niod-x/" + n, "/run/user/5/niod/" + n, "/run/niod/" + n, "/tmp/niod-5/" + n}},
		{"linked root", nil, 1, []string{"/srv/p", "/data/p"}, nil,
			[]string{"/tmp/niod-1/" + n, "/tmp/niod-1/" + l, "/run/niod/" + n, "/run/niod/" + l}},
	} {
		var got []string
		if c.env["NIOD_CONTROL"] != "" {
			got = Candidates(env(c.env), c.euid, c.roots[0])
		} else {
			got = candidates(env(c.env), c.euid, c.roots, c.run)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestCandidatesFollowTheRootsLinks(t *testing.T) {
	t.Parallel()
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	got := Candidates(env(nil), 0, link)
	for _, want := range []string{"/run/niod/" + SocketName(link), "/run/niod/" + SocketName(real)} {
		if !slices.Contains(got, want) {
			t.Errorf("%s missing from %q", want, got)
		}
	}
	seen := map[string]bool{}
	for _, p := range Candidates(env(nil), 0, real) {
		if seen[p] || !strings.HasSuffix(p, "/"+SocketName(real)) {
			t.Errorf("unlinked root: %s", p)
		}
		seen[p] = true
	}
}

func TestRunDirs(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	for _, d := range []string{"niod-b", "niod-a", "other", "niodx"} {
		if err := os.Mkdir(filepath.Join(run, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(run, "niod-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(run, "niod-a"), filepath.Join(run, "niod-link")); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(run, "niod-a"), filepath.Join(run, "niod-b")}
	if got := runDirs(run); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
