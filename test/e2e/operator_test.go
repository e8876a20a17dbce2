package e2e

// What niod says to an operator: the run framed by a first and a last log
// line, ends said as a shell user reads them, a command after -- blamed on
// the command line, and no subcommand that is not there.

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

func TestOperatorRunIsFramed(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 1000\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	first := n.waitRuntime(1)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n.waitRuntime(2)
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	logs := n.logs()
	if len(logs) < 2 {
		t.Fatalf("log %v", logs)
	}
	start := logs[0]
	if start.msg() != "niod starts" || start.str("root") != root || !strings.Contains(start.str("settings"), "nio.conf") ||
		!strings.Contains(start.str("command"), "sleep") || start.str("handoff") != "memfd" || start.str("probe") != "none" ||
		start.str("version") == "" {
		t.Errorf("first line %v, want niod's version, root, settings, user, venv, command, handoff and probe", start)
	}
	last := logs[len(logs)-1]
	if last.msg() != "niod exits" || last.str("code") != "143" || last.str("why") != "stopped by SIGTERM" {
		t.Errorf("last line %v, want the exit code and why", last)
	}
	if l := n.logsWith("runtime exited"); len(l) < 1 || l[0].str("exit") != "killed by SIGKILL" {
		t.Errorf("a runtime killed by SIGKILL is logged as %v", l)
	}
}

func TestOperatorGiveUpSaysWhy(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sh -c 'exit 4'\nrestart_limit = 3\nrestart_delay = 10ms\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	n.expectExit(69, waitLong)
	l := n.logsWith("niod exits")
	if len(l) != 1 || l[0].str("code") != "69" || !strings.Contains(l[0].str("why"), "gave up after 3 failures in 1m0s") ||
		!strings.Contains(l[0].str("why"), "exit code 4") {
		t.Errorf("last line %v, want why niod gave up", l)
	}
}

// Before readiness the probe asks ten times a second: niod says once what
// it waits for and each reason a probe failed once.
func TestOperatorReadinessWaitIsQuiet(t *testing.T) {
	t.Parallel()
	// The test holds the port: every probe connects, and fails the same
	// way (the listener is not the runtime's).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var probes atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			probes.Add(1)
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 1000\nready = probe\nlog_level = debug\n"+
		"health_url = http://127.0.0.1:"+port+"/nio\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	n.waitRuntime(1)
	n.waitFor("ten readiness probes", func() bool { return probes.Load() >= 10 })
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	if w := n.logsWith("waiting for the runtime to be ready"); len(w) != 1 || w[0].str("by") != "probe" || !strings.Contains(w[0].str("url"), port) {
		t.Errorf("what niod waits for: %v", w)
	}
	if f := n.logsWith("health probe failed"); len(f) != 1 {
		t.Errorf("%d \"health probe failed\" lines for %d probes failing the same way, want 1", len(f), probes.Load())
	}
}

func TestOperatorCheckTakesTheCommandAfterDash(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = /bin/true\n[s]\nk = v\n", 0o600)
	_, stderr, code := runNiod(t, runOpts{Dir: root}, "check", "-r", root, "--allow-root", "--", "/opt/venv/bin/nio")
	if code != 78 || strings.TrimSpace(stderr) != "the command after --: command /opt/venv/bin/nio does not exist" {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	_, stderr, code = runNiod(t, runOpts{Dir: root}, "check", "-r", root, "--allow-root", "--", "/bin/true")
	if code != 0 || !strings.Contains(stderr, "settings ok") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// Every command --help lists is there: its own --help answers, and none
// says it is not built.
func TestOperatorNoSubcommandThatIsNotThere(t *testing.T) {
	t.Parallel()
	stdout, _, code := runNiod(t, runOpts{}, "--help")
	if code != 0 || strings.Contains(stdout, "not built") {
		t.Errorf("--help lists what is not there:\n%s", stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if !strings.HasPrefix(line, "  niod ") || len(f) < 2 || strings.HasPrefix(f[1], "[") || strings.HasPrefix(f[1], "-") {
			continue
		}
		out, stderr, code := runNiod(t, runOpts{}, f[1], "--help")
		if code != 0 || !strings.HasPrefix(out, "Usage: niod "+f[1]) || strings.Contains(out+stderr, "not built") {
			t.Errorf("niod %s --help: exit %d\n%s%s", f[1], code, out, stderr)
		}
	}
	_, stderr, code := runNiod(t, runOpts{}, "frobnicate")
	if code != 64 || !strings.Contains(stderr, `"frobnicate" is not a command`) {
		t.Errorf("niod frobnicate: exit %d %s", code, stderr)
	}
}
