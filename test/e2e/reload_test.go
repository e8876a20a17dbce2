package e2e

// Reloads that apply niod's own options in place, and readiness rules that
// are checked before anything starts.

import (
	"os"
	"path/filepath"
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

	c.niod = "log_level = debug\nhealth_interval = 2s\nstop_timeout = 3s"
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	applied := n.waitLog("options applied in place", 1)
	changed := applied[0].str("changed")
	for _, name := range []string{"log_level", "health_interval", "stop_timeout"} {
		if !strings.Contains(changed, name) {
			t.Errorf("\"options applied in place\" does not name %s: %s", name, changed)
		}
	}
	if pids := n.runtimePIDs(); len(pids) != 1 || !alive(first) {
		t.Errorf("runtime pids %v: niod's own options restarted the runtime", pids)
	}
	// Two TERMs at once: the repeat is logged at debug level, which only
	// the reloaded log_level shows.
	n.signal(syscall.SIGTERM)
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	if len(n.logsWith("stop signal again; the stop is under way")) == 0 {
		t.Errorf("no debug line after the reload to log_level = debug\n%s", n.dump())
	}
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
