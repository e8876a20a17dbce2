// Package nspawn drives test/systemd/harness.sh for the suites that need a
// real systemd: one systemd-nspawn container under a machine name, booted,
// entered and powered off by the harness.
package nspawn

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"niod/test/testbin"
)

// Container is the harness's container of one machine name.
type Container struct {
	Harness string // the path of harness.sh
	Machine string
}

// Cmd runs harness.sh with args for the container's machine.
func (c *Container) Cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", append([]string{c.Harness}, args...)...)
	cmd.Env = append(os.Environ(), "NIOH_MACHINE="+c.Machine)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Up boots the container; args go to the harness (--bind-ro SRC:DST).
func (c *Container) Up(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := c.Cmd(ctx, append([]string{"up"}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("harness.sh up: %v\n%s", err, out)
	}
	return nil
}

// Down powers the container off and removes it (none is no error).
func (c *Container) Down() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := c.Cmd(ctx, "down").CombinedOutput(); err != nil {
		return fmt.Errorf("harness.sh down: %v\n%s", err, out)
	}
	return nil
}

// Run runs a command in the container and returns its output and exit
// code; err is for a command that did not run or did not end in time.
func (c *Container) Run(stdin []byte, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := c.Cmd(ctx, append([]string{"exec"}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	stdout, stderr, code, err = testbin.Output(ctx, cmd)
	if err != nil {
		err = fmt.Errorf("%s: %v (stderr: %s)", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr, code, err
}

// RunOK is Run for a command that must exit 0.
func (c *Container) RunOK(stdin []byte, args ...string) (string, error) {
	out, errOut, code, err := c.Run(stdin, args...)
	if err != nil {
		return out, err
	}
	if code != 0 {
		return out, fmt.Errorf("%s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out, nil
}

// Write puts data into a file of the container with mode and owner,
// through stdin (a secret never touches the host's disk).
func (c *Container) Write(path string, data []byte, mode, owner string) error {
	_, err := c.RunOK(data, "sh", "-c",
		`set -e; mkdir -p "$(dirname "$1")"; umask 077; cat >"$1.new"; chmod "$2" "$1.new"; chown "$3" "$1.new"; mv -f "$1.new" "$1"`,
		"sh", path, mode, owner)
	return err
}

// ParseProps reads `systemctl show -p A,B` output: NAME=VALUE a line.
func ParseProps(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}
