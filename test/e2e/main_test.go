// Package e2e runs the niod binary as a user would and checks what it prints.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"niod/test/testbin"
)

// niodBin is the binary built once by TestMain.
var niodBin string

// moduleRoot is the directory holding go.mod.
var moduleRoot string

const defaultTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if job := os.Getenv(hostileHelperEnv); job != "" {
		// A copy of the test binary that only starts niod (runHostile).
		niodBin = os.Getenv("E2E_NIOD_BIN")
		if err := runHostileJob(job); err != nil {
			fmt.Fprintln(os.Stderr, "e2e helper:", err)
			return 2
		}
		return 0
	}
	root, err := testbin.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	moduleRoot = root

	// E2E_NIOD_BIN tests an existing binary (a release build, say)
	// instead of building one from this checkout.
	if bin := os.Getenv("E2E_NIOD_BIN"); bin != "" {
		niodBin = bin
		return m.Run()
	}

	// The directory is world-searchable so that a test can run niod as an
	// unprivileged user.
	dir, err := os.MkdirTemp("", "niod-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}

	niodBin, err = testbin.BuildNiod(root, filepath.Join(dir, "niod"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	return m.Run()
}

// runOpts controls how runNiod starts niod.
type runOpts struct {
	// Dir is the working directory; empty means a fresh temporary one.
	Dir string
	// Env is added to the minimal environment (PATH and HOME); a key set
	// here replaces PATH or HOME.
	Env map[string]string
	// UID, when non-nil, runs niod as that user (and group of the same
	// number); it needs root.
	UID *uint32
	// Timeout overrides the default 30s limit.
	Timeout time.Duration
}

// baseEnv is the environment every niod run starts from.
func baseEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"PATH": os.Getenv("PATH"),
		"HOME": os.Getenv("HOME"),
	}
	if env["HOME"] == "" {
		env["HOME"] = "/"
	}
	if os.Geteuid() == 0 {
		// The tests run as root in CI; niod refuses root without a user,
		// so runs that are not about privileges allow it explicitly. A key
		// in extra with an empty value removes it.
		env["NIOD_ALLOW_ROOT"] = "true"
	}
	for k, v := range extra {
		env[k] = v
		if v == "" && k == "NIOD_ALLOW_ROOT" {
			delete(env, k)
		}
	}
	return env
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// runNiod runs the niod binary with args and returns what it printed and
// its exit code. A run that outlives its timeout fails the test.
func runNiod(t *testing.T, opts runOpts, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, niodBin, args...)
	cmd.Dir = opts.Dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	env := baseEnv(opts.Env)
	if env["RUNTIME_DIRECTORY"] == "" && env["XDG_RUNTIME_DIR"] == "" {
		// A niod that runs makes its control socket there, not in the
		// host's /run/niod.
		env["XDG_RUNTIME_DIR"] = t.TempDir()
		if opts.UID != nil {
			os.Chmod(env["XDG_RUNTIME_DIR"], 0o777)
		}
	}
	cmd.Env = envList(env)
	if opts.UID != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: *opts.UID, Gid: *opts.UID},
		}
	}
	var outBuf, errBuf bytes.Buffer
	cmd.Stdout = &outBuf
	cmd.Stderr = &errBuf
	cmd.WaitDelay = 5 * time.Second

	err := cmd.Run()
	stdout, stderr = outBuf.String(), errBuf.String()
	if ctx.Err() != nil {
		t.Fatalf("niod %s: still running after %v (killed)\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), timeout, stdout, stderr)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return stdout, stderr, 0
	case errors.As(err, &exitErr):
		code := exitErr.ExitCode()
		if code < 0 {
			t.Fatalf("niod %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
		}
		return stdout, stderr, code
	default:
		t.Fatalf("niod %s: cannot run: %v", strings.Join(args, " "), err)
		return "", "", -1
	}
}

var (
	pythonOnce sync.Once
	pythonExe  string
	pythonErr  error
)

// pythonPath returns the python3 interpreter, failing the test when it is
// missing: the tests that compare with configparser cannot run without it.
// It asks python3 for its own executable so that a version-manager shim in
// front of it is not paid for on every run.
func pythonPath(t *testing.T) string {
	t.Helper()
	pythonOnce.Do(func() {
		var p string
		p, pythonErr = exec.LookPath("python3")
		if pythonErr != nil {
			return
		}
		out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output()
		if exe := strings.TrimSpace(string(out)); err == nil && exe != "" {
			p = exe
		}
		pythonExe = p
	})
	if pythonErr != nil {
		t.Fatalf("python3 is needed to compare with configparser: %v", pythonErr)
	}
	return pythonExe
}

// assertNoCrash fails when niod's output looks like a Go panic or trace.
func assertNoCrash(t *testing.T, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, bad := range []string{"panic:", "goroutine ", "runtime error"} {
			if strings.Contains(out, bad) {
				t.Errorf("output looks like a crash (contains %q):\n%s", bad, out)
			}
		}
	}
}

// copyTree copies the regular files under src into dst, files with mode
// 0600 and directories with 0700 (git does not keep modes). skip names
// top-level entries that are not to be copied.
func copyTree(t *testing.T, src, dst string, skip map[string]bool) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if !strings.Contains(rel, string(filepath.Separator)) && skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return writeFile(target, data, 0o600)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// writeFile writes data with exactly mode perm, whatever the umask.
func writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		return err
	}
	return os.Chmod(path, perm)
}
