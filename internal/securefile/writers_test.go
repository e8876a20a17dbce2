package securefile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// trusted is the user CheckWriters trusts besides root in these tests: the
// one running them, so that the temporary directory above is safe.
var trusted = uint32(os.Getuid())

func mkdir(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
}

func TestCheckWriters(t *testing.T) {
	const other = 65534 // nobody
	tests := []struct {
		name string
		root bool // needs root, to give files away
		// setup creates the file to read under base and returns its path;
		// the file is 0600 in base/d unless setup changes that.
		setup func(t *testing.T, base string) string
		// want is "" for safe, else the path (relative to base) and who.
		want, who, fix string
		dir            bool
	}{
		{name: "private file", setup: func(t *testing.T, base string) string { return filepath.Join(base, "d", "f") }},
		{name: "file others can read", setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "d", "f")
			os.Chmod(p, 0o644)
			return p
		}},
		{name: "file its group can write", setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "d", "f")
			os.Chmod(p, 0o664)
			return p
		}, want: "d/f", who: "group G (mode 0664)", fix: "chmod go-w N"},
		{name: "file everyone can write", setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "d", "f")
			os.Chmod(p, 0o606)
			return p
		}, want: "d/f", who: "everyone (mode 0606)", fix: "chmod go-w N"},
		{name: "file another user owns", root: true, setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "d", "f")
			chown(t, p, other)
			return p
		}, want: "d/f", who: "uid 65534 (its owner)", fix: "chown root N"},
		{name: "file another user owns, writable by all", root: true, setup: func(t *testing.T, base string) string {
			p := filepath.Join(base, "d", "f")
			chown(t, p, other)
			os.Chmod(p, 0o666)
			return p
		}, want: "d/f", who: "uid 65534 (its owner) and group G and everyone (mode 0666)", fix: "chown root N; chmod go-w N"},
		{name: "directory its group can write", setup: func(t *testing.T, base string) string {
			os.Chmod(filepath.Join(base, "d"), 0o775)
			return filepath.Join(base, "d", "f")
		}, want: "d", dir: true, who: "group G (mode 0775)", fix: "chmod go-w N"},
		{name: "directory above that everyone can write", setup: func(t *testing.T, base string) string {
			mkdir(t, filepath.Join(base, "up", "d"), 0o700)
			write(t, filepath.Join(base, "up", "d", "f"), "x", 0o600)
			os.Chmod(filepath.Join(base, "up"), 0o707)
			return filepath.Join(base, "up", "d", "f")
		}, want: "up", dir: true, who: "everyone (mode 0707)", fix: "chmod go-w N"},
		{name: "sticky directory like /tmp", setup: func(t *testing.T, base string) string {
			os.Chmod(filepath.Join(base, "d"), 0o777|os.ModeSticky)
			return filepath.Join(base, "d", "f")
		}},
		{name: "directory another user owns", root: true, setup: func(t *testing.T, base string) string {
			chown(t, filepath.Join(base, "d"), other)
			os.Chmod(filepath.Join(base, "d"), 0o755)
			return filepath.Join(base, "d", "f")
		}, want: "d", dir: true, who: "uid 65534 (its owner)", fix: "chown root N"},
		{name: "sticky directory another user owns", root: true, setup: func(t *testing.T, base string) string {
			chown(t, filepath.Join(base, "d"), other)
			os.Chmod(filepath.Join(base, "d"), 0o777|os.ModeSticky)
			return filepath.Join(base, "d", "f")
		}, want: "d", dir: true, who: "uid 65534 (its owner)", fix: "chown root N"},
		{name: "safe link to an unsafe directory", setup: func(t *testing.T, base string) string {
			os.Chmod(filepath.Join(base, "d"), 0o777)
			if err := os.Symlink("d", filepath.Join(base, "link")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(base, "link", "f")
		}, want: "d", dir: true, who: "group G and everyone (mode 0777)", fix: "chmod go-w N"},
		{name: "link to a safe directory", setup: func(t *testing.T, base string) string {
			if err := os.Symlink("d", filepath.Join(base, "link")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(base, "link", "f")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Getuid() != 0 {
				t.Skip("needs root to give a file away")
			}
			base, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			mkdir(t, filepath.Join(base, "d"), 0o700)
			write(t, filepath.Join(base, "d", "f"), "[s]\n", 0o600)
			path := tt.setup(t, base)
			f, err := ReadFile(path, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			w, err := f.CheckWriters(trusted)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if w != nil {
					t.Fatalf("CheckWriters = %+v (%s), want nobody", w, w.Who())
				}
				return
			}
			if w == nil {
				t.Fatalf("CheckWriters = nil, want %s by %s", tt.want, tt.who)
			}
			wantPath := filepath.Join(base, tt.want)
			if !tt.dir {
				wantPath = path
			}
			who := strings.ReplaceAll(tt.who, "G", strconv.FormatUint(uint64(w.GID), 10))
			fix := strings.ReplaceAll(tt.fix, "N", "NAME")
			if w.Path != wantPath || w.Dir != tt.dir || w.Who() != who || w.Fix("NAME") != fix {
				t.Errorf("got %s (dir %v): %q, %q\nwant %s (dir %v): %q, %q", w.Path, w.Dir, w.Who(), w.Fix("NAME"), wantPath, tt.dir, who, fix)
			}
		})
	}
}

func TestCheckWritersTrustsOnlyRootAndUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	base := t.TempDir()
	path := filepath.Join(base, "f")
	write(t, path, "x", 0o600)
	chown(t, path, 65534)
	f, err := ReadFile(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := f.CheckWriters(65534); w != nil || err != nil {
		t.Errorf("trusting its owner: %+v, %v", w, err)
	}
	if w, err := f.CheckWriters(0); w == nil || !w.Owner || err != nil {
		t.Errorf("trusting root only: %+v, %v", w, err)
	}
}

func TestCheckWritersReplacedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	write(t, path, "old", 0o600)
	f, err := ReadFile(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	write(t, path+".new", "new", 0o600)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	if w, err := f.CheckWriters(trusted); err == nil {
		t.Errorf("a file replaced after it was read: %+v, no error", w)
	}
}

func TestPathWritersFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "python3")
	if err := os.WriteFile(target, []byte("#!/bin/sh\n"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "python")
	if err := os.Symlink("python3", link); err != nil {
		t.Fatal(err)
	}
	w, err := PathWriters(link, uint32(os.Geteuid()))
	if err != nil || w == nil || w.Path != target || !w.Others {
		t.Fatalf("PathWriters(%s) = %+v, %v; want everyone may write %s", link, w, err, target)
	}
	if err := os.Chmod(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if w, err := PathWriters(link, uint32(os.Geteuid())); err != nil || (w != nil && w.Path == target) {
		t.Errorf("after chmod 755: %+v, %v", w, err)
	}
}

func TestInterpreter(t *testing.T) {
	dir := t.TempDir()
	for text, want := range map[string]string{
		"#!/usr/bin/python3 -u\nprint()\n": "/usr/bin/python3",
		"#! /bin/sh\n":                     "/bin/sh",
		"echo no shebang\n":                "",
		"#!\n":                             "",
	} {
		p := filepath.Join(dir, "script")
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
		if got := Interpreter(p); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Interpreter(fifo); got != "" {
		t.Errorf("a FIFO: %q", got)
	}
}
