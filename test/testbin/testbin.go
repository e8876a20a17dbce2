// Package testbin finds the module and builds niod for the suites that run
// the binary as a user would (test/e2e, test/systemd).
package testbin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ModuleRoot returns the directory holding go.mod, above the working
// directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the test directory")
		}
		dir = parent
	}
}

// BuildNiod builds ./cmd/niod of the module at root as the release is
// built (static, trimmed) and returns the binary's path, out.
func BuildNiod(root, out string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	build := exec.Command(goTool, "build", "-trimpath", "-o", out, "./cmd/niod")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build ./cmd/niod (%v):\n%s", err, output)
	}
	return out, nil
}

// Output runs cmd, made with exec.CommandContext(ctx, ...), and returns
// its stdout, stderr and exit code; err is set, and code is -1, when the
// command did not run or did not end by itself before ctx was done.
func Output(ctx context.Context, cmd *exec.Cmd) (stdout, stderr string, code int, err error) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return o.String(), e.String(), 0, nil
	case errors.As(err, &ee) && ee.ExitCode() >= 0 && ctx.Err() == nil:
		return o.String(), e.String(), ee.ExitCode(), nil
	}
	return o.String(), e.String(), -1, err
}
