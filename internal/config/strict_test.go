package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// trustSelf makes strict mode trust the user running the tests besides
// root, so that a test's own temporary directory counts as safe.
func trustSelf(t *testing.T) {
	old := strictUID
	strictUID = uint32(os.Getuid())
	t.Cleanup(func() { strictUID = old })
}

func TestLoadStrict(t *testing.T) {
	trustSelf(t)
	type file struct {
		name, content string
		mode          os.FileMode
		owner         int // > 0: chown to it (root only)
	}
	const unsafeMsg = " and niod runs as root: it takes no [niod] options from a file another user can change ("
	tests := []struct {
		name     string
		files    []file
		dirMode  os.FileMode // of ROOT/sub, when set
		creds    string      // CREDENTIALS_DIRECTORY under the root
		root     bool
		problems []string // in order; ROOT and G stand for the root and the file's group
	}{
		{
			name:  "[niod] in a file everyone can write",
			files: []file{{"nio.conf", "[niod]\nallow_root = true\ncommand = x\n[s]\nk = v\n", 0o666, 0}},
			problems: []string{
				"nio.conf:2: [niod] allow_root: nio.conf is writable by group G and everyone (mode 0666)" + unsafeMsg + "chmod go-w nio.conf)",
				"nio.conf:3: [niod] command: nio.conf is writable by group G and everyone (mode 0666)" + unsafeMsg + "chmod go-w nio.conf)",
			},
		},
		{
			name:  "the runtime's sections from such a file",
			files: []file{{"nio.conf", "[s]\nk = v\n[DEFAULT]\nrestart = always\n", 0o666, 0}},
		},
		{
			name:  "safe files",
			files: []file{{"nio.conf", "[niod]\nallow_root = true\n", 0o644, 0}},
		},
		{
			name: "filled in from a file everyone can write",
			files: []file{
				{"nio.conf", "[niod]\ncommand = [[CMD]] --flag\n[user_defined]\nA = [[B]]\n", 0o644, 0},
				{"other.conf", "[user_defined]\nCMD = evil\nB = x\n[niod]\n", 0o646, 0},
				{"third.conf", "[niod]\nvenv = [[A]]\n", 0o600, 0},
			},
			problems: []string{
				"nio.conf:2: [niod] command: [[CMD]] comes from other.conf:2, but other.conf is writable by everyone (mode 0646)" + unsafeMsg + "chmod go-w other.conf)",
				"third.conf:2: [niod] venv: [[B]] comes from other.conf:3, but other.conf is writable by everyone (mode 0646)" + unsafeMsg + "chmod go-w other.conf)",
			},
		},
		{
			name: "overridden by a safe file",
			files: []file{
				{"a.conf", "[niod]\nrestart = always\n", 0o666, 0},
				{"b.conf", "[niod]\nrestart = never\n", 0o600, 0},
			},
		},
		{
			name:    "in a directory its group can write",
			files:   []file{{"sub/nio.conf", "[niod]\nrestart = never\n", 0o600, 0}},
			dirMode: 0o775,
			problems: []string{
				"sub/nio.conf:2: [niod] restart: sub/nio.conf is in ROOT/sub, which is writable by group G (mode 0775)" + unsafeMsg + "chmod go-w ROOT/sub)",
			},
		},
		{
			name:    "a credential",
			files:   []file{{"sub/creds.conf", "[niod]\nrestart = never\n", 0o400, 0}},
			dirMode: 0o777,
			creds:   "sub",
		},
		{
			name:  "owned by another user",
			root:  true,
			files: []file{{"nio.conf", "[niod]\nrestart = never\n", 0o644, 65534}},
			problems: []string{
				"nio.conf:2: [niod] restart: nio.conf is writable by uid 65534 (its owner)" + unsafeMsg + "chown root nio.conf)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Getuid() != 0 {
				t.Skip("needs root to give a file away")
			}
			dir, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			gid := ""
			for _, f := range tt.files {
				path := writeFile(t, dir, f.name, f.content, f.mode)
				if f.owner > 0 {
					if err := os.Chown(path, f.owner, -1); err != nil {
						t.Fatal(err)
					}
				}
				names = append(names, f.name)
				if gid == "" {
					st, _ := os.Stat(path)
					gid = strconv.FormatUint(uint64(statGID(st)), 10)
				}
			}
			if tt.dirMode != 0 {
				if err := os.Chmod(filepath.Join(dir, "sub"), tt.dirMode); err != nil {
					t.Fatal(err)
				}
				st, _ := os.Stat(filepath.Join(dir, "sub"))
				gid = strconv.FormatUint(uint64(statGID(st)), 10)
			}
			req := Request{Root: dir, Files: names, Strict: true}
			if tt.creds != "" {
				req.Environ = []string{"CREDENTIALS_DIRECTORY=" + filepath.Join(dir, tt.creds)}
			}
			l, ps := Load(req)
			var want []string
			for _, p := range tt.problems {
				want = append(want, strings.NewReplacer("ROOT", dir, "G", gid).Replace(p))
			}
			if len(ps) != len(want) {
				t.Fatalf("problems:\n%v\nwant:\n%s", ps, strings.Join(want, "\n"))
			}
			for i := range want {
				if ps[i].Error() != want[i] {
					t.Errorf("problem %d:\n%s\nwant\n%s", i, ps[i].Error(), want[i])
				}
			}
			if len(want) == 0 {
				if l == nil {
					t.Fatal("no settings")
				}
				// The same files load without Strict.
				req.Strict = false
				mustLoad(t, req)
			}
			if tt.name == "the runtime's sections from such a file" && text(t, l.Settings, "s", "k") != "v" {
				t.Error("[s] k is missing")
			}
		})
	}
}

func statGID(st os.FileInfo) uint32 {
	if st == nil {
		return 0
	}
	return st.Sys().(*syscall.Stat_t).Gid
}
