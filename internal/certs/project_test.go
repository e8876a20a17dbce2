package certs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertOpenProject(t *testing.T) {
	dir := t.TempDir()
	writeT(t, filepath.Join(dir, "file"), "", 0o644)
	t.Chdir(dir)
	for _, tt := range []struct {
		root, want, err string
	}{
		{"", dir, ""},
		{".", dir, ""},
		{dir + "/", dir, ""},
		{"sub/..", dir, ""},
		{"missing", "", dir + "/missing: the project root is not a directory (give -r)"},
		{"file", "", dir + "/file: the project root is not a directory (give -r)"},
	} {
		p, err := OpenProject(tt.root)
		if tt.err == "" {
			if err != nil || p.Root != tt.want {
				t.Errorf("OpenProject(%q) = %q, %v; want %q", tt.root, p.Root, err, tt.want)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != Invalid || err.Error() != tt.err {
			t.Errorf("OpenProject(%q): err = %v, want an Invalid error %q", tt.root, err, tt.err)
		}
	}
}

func TestCertProjectPaths(t *testing.T) {
	p := Project{Root: "/srv/nio"}
	for in, want := range map[string]string{
		"nio.conf":          "/srv/nio/nio.conf",
		"etc/../secrets":    "/srv/nio/secrets",
		"/etc/nio/x.conf":   "/etc/nio/x.conf",
		"/etc//nio/./y.crt": "/etc/nio/y.crt",
	} {
		if got := p.Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"/srv/nio/etc/ssl/cert.crt": "etc/ssl/cert.crt",
		"/srv/nio/cert.crt":         "cert.crt",
		"/srv/nio":                  "/srv/nio",
		"/srv":                      "/srv",
		"/srv/nio2/cert.crt":        "/srv/nio2/cert.crt",
		"/etc/ssl/cert.crt":         "/etc/ssl/cert.crt",
	} {
		if got := p.Show(in); got != want {
			t.Errorf("Show(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"":          "/srv/nio/etc/ssl",
		"tls":       "/srv/nio/tls",
		"/etc/tls/": "/etc/tls",
	} {
		if got := p.OutDir(in); got != want {
			t.Errorf("OutDir(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCertCADir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := map[string]string{"HOME": "/home/u"}
	getenv := func(k string) string { return env[k] }
	for in, want := range map[string]string{
		"":        "/home/u/.config/niod/ca",
		"ca":      filepath.Join(dir, "ca"),
		"/etc/ca": "/etc/ca",
	} {
		if got, err := CADir(in, getenv); err != nil || got != want {
			t.Errorf("CADir(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	delete(env, "HOME")
	if _, err := CADir("", getenv); err == nil || !strings.Contains(err.Error(), "(give --ca-dir)") {
		t.Errorf("CADir without HOME: err = %v, want one that says to give --ca-dir", err)
	}
}

func TestCertCheckDays(t *testing.T) {
	for _, days := range []int{1, DefaultDays, MaxDays} {
		if err := CheckDays(days); err != nil {
			t.Errorf("CheckDays(%d) = %v", days, err)
		}
	}
	for days, want := range map[int]string{
		0:           "days must be between 1 and 3650, not 0",
		-1:          "days must be between 1 and 3650, not -1",
		MaxDays + 1: "days must be between 1 and 3650, not 3651",
	} {
		if err := CheckDays(days); err == nil || err.Error() != want {
			t.Errorf("CheckDays(%d) = %v, want %q", days, err, want)
		}
		// Issue checks the same.
		req := request(t, ECDSAP256)
		req.Days = days
		_, err := Issue(req)
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != Invalid || err.Error() != want {
			t.Errorf("Issue with %d days: err = %v, want an Invalid error %q", days, err, want)
		}
	}
}

func TestCertOwnerFor(t *testing.T) {
	owner, err := OwnerFor("nio", 1001, 1002, 0)
	if err != nil || owner == nil || *owner != (Owner{UID: 1001, GID: 1002}) {
		t.Errorf("as root: %v, %v; want 1001:1002", owner, err)
	}
	owner, err = OwnerFor("nio", 1001, 1002, 1001)
	if err != nil || owner != nil {
		t.Errorf("as the user: %v, %v; want no owner to set", owner, err)
	}
	owner, err = OwnerFor("nio(1001:1002)", 1001, 1002, 1003)
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != Permission || !errors.Is(err, os.ErrPermission) || owner != nil {
		t.Fatalf("as another user: %v, %v; want a Permission error", owner, err)
	}
	if want := "only root can give the files to user nio(1001:1002) (run niod cert as root or as that user)"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}
