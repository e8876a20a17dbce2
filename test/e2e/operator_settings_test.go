package e2e

// What niod says about settings files an operator got wrong: a missing file
// says where it was looked for and names a near file that is there, the
// missing default says how to give others, references a missing file would
// have defined are one line, and no problem is printed twice.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// operatorProject is a project root whose nio.conf takes two references
// from secrets.conf, as deployments do.
func operatorProject(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[user_defined]\nNIOPORT = 8181\n\n[rest]\nport = [[NIOPORT]]\n\n"+
		"[pubkeeper]\ntoken = [[PK_TOKEN]]\nhost = [[PK_HOST]]\n", 0o600)
	mustWrite(t, filepath.Join(root, "secrets.conf"), "[user_defined]\nPK_TOKEN = t0k3n\nPK_HOST = pk.example\n", 0o600)
	return root
}

// wantStderr runs niod and wants exit code 78 and exactly the lines want.
func wantStderr(t *testing.T, want []string, args ...string) {
	t.Helper()
	_, stderr, code := runNiod(t, runOpts{}, args...)
	if code != 78 || stderr != strings.Join(want, "\n")+"\n" {
		t.Errorf("niod %s: exit %d, stderr:\n%s\nwant exit 78, stderr:\n%s", strings.Join(args, " "), code, stderr, strings.Join(want, "\n"))
	}
}

func TestOperatorSettingsMissingFile(t *testing.T) {
	t.Parallel()
	root := operatorProject(t)
	want := []string{
		"secret.conf: no such file (looked for " + filepath.Join(root, "secret.conf") + "; did you mean secrets.conf?)",
		"nio.conf:8: [[PK_TOKEN]] and 1 other reference are not defined, perhaps because secret.conf could not be read (fix that first)",
	}
	for _, cmd := range [][]string{{"config"}, {"check"}, {"run"}, {}} {
		args := append(cmd, "-r", root, "-s", "nio.conf", "-s", "secret.conf")
		if len(cmd) > 0 && cmd[0] == "run" {
			args = append(args, "--", "true")
		}
		wantStderr(t, want, args...)
	}
}

func TestOperatorSettingsMissingFileAbsolute(t *testing.T) {
	t.Parallel()
	root := operatorProject(t)
	abs := filepath.Join(root, "secret.conf")
	// Given as an absolute path, the name is where niod looked.
	wantStderr(t, []string{
		abs + ": no such file (did you mean " + filepath.Join(root, "secrets.conf") + "?)",
		"nio.conf:8: [[PK_TOKEN]] and 1 other reference are not defined, perhaps because " + abs + " could not be read (fix that first)",
	}, "check", "-r", root, "-s", "nio.conf", "-s", abs)
}

func TestOperatorSettingsMissingDirectory(t *testing.T) {
	t.Parallel()
	root := operatorProject(t)
	wantStderr(t, []string{
		"etc/secrets.conf: no such file (looked for " + filepath.Join(root, "etc", "secrets.conf") + "; there is no directory " + filepath.Join(root, "etc") + ")",
		"nio.conf:8: [[PK_TOKEN]] and 1 other reference are not defined, perhaps because etc/secrets.conf could not be read (fix that first)",
	}, "config", "-r", root, "-s", "nio.conf", "-s", "etc/secrets.conf")
}

func TestOperatorSettingsNoDefaultFile(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	hint := "give another project root with -r ROOT or settings files with -s FILE"
	for _, cmd := range []string{"config", "check"} {
		wantStderr(t, []string{"nio.conf: no such file (the default settings file is " + filepath.Join(empty, "nio.conf") + "; " + hint + ")"},
			cmd, "-r", empty)
	}
	near := t.TempDir()
	mustWrite(t, filepath.Join(near, "nio.cfg"), "[s]\nk = v\n", 0o600)
	wantStderr(t, []string{"nio.conf: no such file (the default settings file is " + filepath.Join(near, "nio.conf") + "; " + hint + ", such as -s nio.cfg)"},
		"config", "-r", near)
}

func TestOperatorSettingsOneLinePerProblem(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[s]\nboth = [[X]] and [[X]]\nother = [[X]]\nmore = [[X]][[Y]][[X]]\n", 0o600)
	hint := " (set it in the environment or in [user_defined]; [niod] allow_undefined = true keeps it as text)"
	wantStderr(t, []string{
		"nio.conf:2: [s] both: [[X]] is not defined" + hint,
		"nio.conf:3: [s] other: [[X]] is not defined" + hint,
		"nio.conf:4: [s] more: [[X]] is not defined" + hint,
		"nio.conf:4: [s] more: [[Y]] is not defined" + hint,
	}, "check", "-r", root)

	// --show-origin names each reference of a value once.
	out, stderr, code := runNiod(t, runOpts{Env: map[string]string{"NIOD_ALLOW_UNDEFINED": "true"}}, "config", "-r", root, "--show-origin")
	if code != 0 {
		t.Fatalf("config --show-origin: exit %d\n%s", code, stderr)
	}
	for _, line := range []string{
		"# nio.conf:2, [[X]] is undefined\nboth = [[X]] and [[X]]\n",
		"# nio.conf:4, [[X]] is undefined, [[Y]] is undefined\nmore = [[X]][[Y]][[X]]\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("config --show-origin:\n%s\nwant it to hold:\n%s", out, line)
		}
	}
	if n := strings.Count(stderr, "\n"); n != 4 {
		t.Errorf("allow_undefined warns %d times, want once for each of the 4 problems:\n%s", n, stderr)
	}
}

func TestOperatorSettingsUnreadableFile(t *testing.T) {
	t.Parallel()
	// A directory: no mode keeps root from reading a file.
	root := operatorProject(t)
	if err := os.Mkdir(filepath.Join(root, "secrets.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	wantStderr(t, []string{
		"secrets.d: is a directory (give a file)",
		"nio.conf:8: [[PK_TOKEN]] and 1 other reference are not defined, perhaps because secrets.d could not be read (fix that first)",
	}, "config", "-r", root, "-s", "nio.conf", "-s", "secrets.d")
}
