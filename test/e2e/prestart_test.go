package e2e

// [niod] pre_start: steps run before the runtime, supervised like it.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A step that succeeds runs before the runtime, from the project root,
// with the runtime's environment but without its handoff: no NIO_SETTINGS,
// no descriptor 3.
func TestPreStartStepRunsBeforeTheRuntime(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "step.sh"), "#!/bin/sh\n"+
		"{ echo \"cwd=$(pwd)\"; echo \"root=$NIO_ROOT\"; echo \"settings=${NIO_SETTINGS-absent}\";"+
		" if [ -e /proc/self/fd/3 ]; then echo fd3=open; else echo fd3=absent; fi; } > step.out\n"+
		"echo step output on stdout\n", 0o700)
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sh -c 'cat step.out > runtime.saw; exec sleep 600'\n"+
		"pre_start = ./step.sh\n    true\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	n.waitRuntime(1)
	done := n.waitLog("pre_start step done", 2)
	if done[0].str("step") != "1/2 (./step.sh)" || done[1].str("step") != "2/2 (true)" {
		t.Errorf("steps logged %v", done)
	}
	n.waitFor("runtime.saw", func() bool { _, err := os.Stat(filepath.Join(root, "runtime.saw")); return err == nil })
	saw, _ := os.ReadFile(filepath.Join(root, "runtime.saw"))
	want := fmt.Sprintf("cwd=%s\nroot=%s\nsettings=absent\nfd3=absent\n", root, root)
	if string(saw) != want {
		t.Errorf("the step saw:\n%s\nwant:\n%s", saw, want)
	}
	if len(n.stdoutLines("step output on stdout")) != 1 {
		t.Errorf("the step's stdout is not niod's\n%s", n.dump())
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// A failing step is a failed start: the back-off, then 69 at the limit;
// the log names the step and its exit code.
func TestPreStartStepFailing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 600\npre_start = sh -c 'exit 3'\n"+
		"restart_delay = 10ms\nrestart_limit = 3\nrestart_limit_window = 1h\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	n.expectExit(69, waitLong)
	failed := n.logsWith("pre_start step failed")
	if len(failed) != 3 || failed[0].str("exit") != "exit code 3" || !strings.HasPrefix(failed[0].str("step"), "1/1 (sh -c exit 3)") {
		t.Errorf("want 3 failures named, got %v", failed)
	}
	if len(n.logsWith("runtime started")) != 0 {
		t.Errorf("the runtime started after a failed step")
	}
	if last := n.logsWith("niod exits"); len(last) != 1 || !strings.Contains(last[0].str("why"), "pre_start step 1 (sh) exit code 3") {
		t.Errorf("niod's last line: %v", last)
	}
}

// A step that hangs is killed at pre_start_timeout, with its tree.
func TestPreStartStepTimesOut(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 600\n"+
		"pre_start = sh -c 'sleep 600 & echo $! > child.pid; wait'\npre_start_timeout = 300ms\nrestart = never\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	n.expectExit(137, waitLong)
	if len(n.logsWith("pre_start step timed out; killing it")) != 1 {
		t.Errorf("no timeout logged\n%s", n.dump())
	}
	if f := n.logsWith("pre_start step failed"); len(f) != 1 || f[0].str("exit") != "timed out after 300ms" {
		t.Errorf("failure logged %v", f)
	}
	assertPidFileGone(t, filepath.Join(root, "child.pid"))
}

// TERM during a step stops the step's whole tree and niod; niod status and
// STATUS= say which step runs meanwhile.
func TestPreStartStopDuringAStep(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 600\n"+
		"pre_start = sh -c 'setsid sleep 600 & echo $! > child.pid; sleep 600'\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	n.waitLog("pre_start step started", 1)
	n.waitFor("child.pid", func() bool {
		b, err := os.ReadFile(filepath.Join(root, "child.pid"))
		return err == nil && strings.HasSuffix(string(b), "\n")
	})
	st := n.waitStatus("the step in the status", func(s statusJSON) bool { return strings.HasPrefix(s.Text, "running pre_start step 1/1") })
	if st.State != "starting" {
		t.Errorf("state %q while a step runs", st.State)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	if len(n.logsWith("runtime started")) != 0 {
		t.Errorf("the runtime started after the stop")
	}
	assertPidFileGone(t, filepath.Join(root, "child.pid"))
}

// Steps run as the user niod drops to.
func TestPreStartStepRunsAsTheDroppedUser(t *testing.T) {
	t.Parallel()
	acct := makeAccount(t, 0)
	root := publicRoot(t, "[niod]\ncommand = sleep 600\npre_start = sh -c 'id -u > \"$NIO_ROOT/out/step.uid\"'\n[s]\nk = v\n")
	out := filepath.Join(root, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(out, acct.uid, acct.gid)
	n := startNiod(t, startOpts{root: root, args: []string{"--user", acct.name}, env: map[string]string{"XDG_RUNTIME_DIR": publicDir(t, "niod-e2e-run-")}})
	n.waitRuntime(1)
	b, err := os.ReadFile(filepath.Join(out, "step.uid"))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(acct.uid) {
		t.Errorf("the step ran as %q (%v), want uid %d", b, err, acct.uid)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// niod check validates each step as it does the runtime's command.
func TestPreStartCheck(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 600\npre_start = true\n  no-such-step --x\n[s]\nk = v\n", 0o600)
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root, "--allow-root")
	if code != 78 || !strings.Contains(stderr, "nio.conf:3: pre_start step 2: ") || !strings.Contains(stderr, "no-such-step") {
		t.Errorf("a missing step: exit %d %q", code, stderr)
	}
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 600\npre_start = tool --token [[TOKEN]]\n[user_defined]\nTOKEN = a-secret-token-value\n", 0o600)
	_, stderr, code = runNiod(t, runOpts{}, "check", "-r", root, "--allow-root")
	if code != 78 || !strings.Contains(stderr, "pre_start holds a secret") || strings.Contains(stderr, "a-secret-token-value") {
		t.Errorf("a secret in a step: exit %d %q", code, stderr)
	}
}

// assertPidFileGone checks that the process whose pid a file holds is gone.
func assertPidFileGone(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %q", path, b)
	}
	if p, ok := readProc(pid); ok && p.state != 'Z' {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("process %d of the step survives niod", pid)
	}
}
