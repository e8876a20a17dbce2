package e2e

// Reloads that apply niod's own options in place, and readiness rules that
// are checked before anything starts.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A reload that changes only niod's own options keeps the runtime and
// applies them: a new log_level shows at once.
func TestReloadAppliesNiodOptionsInPlace(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	c := conf{test: "workers = 0", niod: "log_level = info"}
	writeConf(t, root, c)
	n := startNiod(t, startOpts{root: root})
	first := n.waitRuntime(1)

	// A probe of a port nothing listens on: each failure is a debug line,
	// which only the reloaded log_level shows.
	c.niod = "log_level = debug\nhealth_interval = 200ms\nhealth_timeout = 150ms\nstop_timeout = 3s\n" +
		"health_url = http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/nio"
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	applied := n.waitLog("options applied in place", 1)
	changed := applied[0].str("changed")
	for _, name := range []string{"log_level", "health_interval", "stop_timeout", "health_url"} {
		if !strings.Contains(changed, name) {
			t.Errorf("\"options applied in place\" does not name %s: %s", name, changed)
		}
	}
	if pids := n.runtimePIDs(); len(pids) != 1 || !alive(first) {
		t.Errorf("runtime pids %v: niod's own options restarted the runtime", pids)
	}
	n.waitLog("health probe failed", 2)
	if pids := n.runtimePIDs(); len(pids) != 1 {
		t.Errorf("runtime pids %v: a new probe target restarted the runtime", pids)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// ready = notify with no notify socket to use is a configuration error at
// check and at start, not a runtime restarted every health_grace.
func TestReadyNotifyWithoutSocketIsAConfigError(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeConf(t, root, conf{test: "workers = 0", niod: "ready = notify"})
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"XDG_RUNTIME_DIR": long}
	for _, args := range [][]string{{"check"}, {"run"}} {
		_, stderr, code := runNiod(t, runOpts{Dir: root, Env: env}, append(args, "-r", root, "--allow-root")...)
		if code != 78 || !strings.Contains(stderr, "ready = notify needs niod's notify socket") || !strings.Contains(stderr, "nio.conf:") {
			t.Errorf("niod %s: exit %d, want 78 naming the setting\n%s", args[0], code, stderr)
		}
		assertNoCrash(t, stderr)
	}
}
