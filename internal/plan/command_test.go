package plan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"niod/internal/config"
)

func loaded(t *testing.T, root, niod string) *config.Loaded {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, "nio.conf"), []byte("[niod]\n"+niod+"[s]\nk = v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, ps := config.Load(config.Request{Root: root})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	return l
}

func makeVenv(t *testing.T, dir string) {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"python", "tool"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func envValue(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

func TestCommandSpecAutoDetectsVenv(t *testing.T) {
	root := t.TempDir()
	makeVenv(t, filepath.Join(root, ".venv"))
	l := loaded(t, root, "command = tool --flag 'two words'\n")
	spec, venvFound, ps := commandSpec(l, []string{"PATH=/usr/bin:/bin", "PYTHONHOME=/bad", "NIOD_RESTART=always"}, nil)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	venv := filepath.Join(root, ".venv")
	if venvFound != venv {
		t.Errorf("venv %q, want %q", venvFound, venv)
	}
	if spec.Path != filepath.Join(venv, "bin", "tool") {
		t.Errorf("path %s", spec.Path)
	}
	if !slices.Equal(spec.Args, []string{"tool", "--flag", "two words"}) {
		t.Errorf("args %q", spec.Args)
	}
	if v, _ := envValue(spec.Env, "VIRTUAL_ENV"); v != venv {
		t.Errorf("VIRTUAL_ENV %q", v)
	}
	if v, _ := envValue(spec.Env, "PATH"); !strings.HasPrefix(v, venv+"/bin:") {
		t.Errorf("PATH %q", v)
	}
	for _, gone := range []string{"PYTHONHOME", "NIOD_RESTART"} {
		if _, ok := envValue(spec.Env, gone); ok {
			t.Errorf("%s passed on", gone)
		}
	}
	if v, _ := envValue(spec.Env, "NIO_ROOT"); v != root {
		t.Errorf("NIO_ROOT %q", v)
	}
	if spec.Dir != root || strings.Contains(string(spec.Payload), "[niod]") {
		t.Errorf("dir %s payload %q", spec.Dir, spec.Payload)
	}
}

func TestCommandSpecProblems(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		niod string
		args []string
		want string
	}{
		{"", nil, "no runtime to run"},
		{"command = no-such-program-xyz\n", nil, "not found"},
		{"command = ./missing\n", nil, "does not exist"},
		{"venv = nope\ncommand = sh\n", nil, "python3 -m venv"},
		{"command = sh\n", []string{"./nio.conf"}, "not executable"},
	} {
		l := loaded(t, root, c.niod)
		_, _, ps := commandSpec(l, []string{"PATH=/usr/bin:/bin"}, c.args)
		if len(ps) != 1 || !strings.Contains(ps[0].Error(), c.want) {
			t.Errorf("%q %q: problems %v, want one with %q", c.niod, c.args, ps, c.want)
		}
	}
}

func TestCommandSpecArgsOverrideCommand(t *testing.T) {
	root := t.TempDir()
	l := loaded(t, root, "command = false\n")
	spec, _, ps := commandSpec(l, []string{"PATH=/usr/bin:/bin"}, []string{"true", "x"})
	if len(ps) > 0 || !slices.Equal(spec.Args, []string{"true", "x"}) || filepath.Base(spec.Path) != "true" {
		t.Errorf("%v %+v", ps, spec)
	}
}
