package e2e

// make test names what it skipped and why, one line each, and CI fails on
// a skip: the suite runners themselves, run on small suites of their own.

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// runner runs one of test/'s suite runners in dir with env added, and
// returns its output, exit code and what it wrote to $NIOD_SKIPPED.
func runner(t *testing.T, script, dir string, env []string, args ...string) (out string, code int, skipped string) {
	t.Helper()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "skipped")
	cmd := exec.Command(filepath.Join(repo, "test", script), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"NIOD_SKIPPED=" + list, "CI=", "GO=" + filepath.Join(runtime.GOROOT(), "bin", "go")}, env...)...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(list)
	return string(b), cmd.ProcessState.ExitCode(), string(data)
}

func TestOperatorGoSkipsSummed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "go.mod"), "module example.com/suite\n\ngo 1.22\n", 0o644)
	mustWrite(t, filepath.Join(dir, "a_test.go"), `package suite

import "testing"

func TestRuns(t *testing.T) {}
func TestRootOne(t *testing.T) { t.Skip("needs root") }
func TestFails(t *testing.T) { if testing.Short() { t.Log("the failure's own line"); t.Fail() } }
func TestRootTwo(t *testing.T) { t.Skip("needs root") }
func TestEngine(t *testing.T) { t.Skipf("no %s here", "podman") }
`, 0o644)
	out, code, skipped := runner(t, "gotest.sh", dir, nil, "./...")
	want := "skipped 2 tests in example.com/suite: needs root\nskipped 1 test in example.com/suite: no podman here\n"
	if code != 0 || skipped != want || !strings.HasPrefix(out, "ok  \texample.com/suite\t") {
		t.Errorf("exit %d, skipped list %q, want 0, the package's ok line and %q\n%s", code, skipped, want, out)
	}
	out, code, _ = runner(t, "gotest.sh", dir, []string{"CI=true"}, "./...")
	if code != 1 || !strings.Contains(out, "CI=true: these tests were skipped, and must run in CI:\n"+want) {
		t.Errorf("CI=true: exit %d, want 1 and the skips named\n%s", code, out)
	}
	// A failure shows the failed test's own output.
	out, code, _ = runner(t, "gotest.sh", dir, nil, "-short", "./...")
	if code != 1 || !strings.Contains(out, "the failure's own line") || !strings.Contains(out, "FAIL\texample.com/suite\t") {
		t.Errorf("a failing run: exit %d, want 1 with the failure's output\n%s", code, out)
	}
}

func TestOperatorPythonSkipsSummed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "test_suite.py"), `import unittest

class T(unittest.TestCase):
    def test_runs(self):
        pass

    def test_root(self):
        self.skipTest("needs root")
`, 0o644)
	out, code, skipped := runner(t, "pyunit.sh", dir, nil, dir)
	if want := "skipped 1 test in " + dir + ": needs root\n"; code != 0 || skipped != want {
		t.Errorf("exit %d, skipped list %q, want 0 and %q\n%s", code, skipped, want, out)
	}
	out, code, _ = runner(t, "pyunit.sh", dir, []string{"CI=true"}, dir)
	if code != 1 || !strings.Contains(out, "needs root") {
		t.Errorf("CI=true: exit %d, want 1 and the skip named\n%s", code, out)
	}
}
