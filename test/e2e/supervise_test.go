package e2e

// End-to-end tests of niod run supervising real processes: the reference
// runtime (examples/runtime/nio_runtime.py) or small shell scripts. Nothing
// is mocked; every process is cleaned up by pid.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"niod/internal/supervisor"
)

// A crashing runtime is restarted: the first restart at once, then with a
// growing delay capped by restart_max_delay; what a crashed runtime left
// behind (its workers) is gone before the next one starts.
func TestSuperviseCrashRestartsWithBackoff(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const delay, maxDelay = 200 * time.Millisecond, 500 * time.Millisecond
	writeConf(t, root, conf{
		test: "crash_after = 0.3\nworkers = 1",
		niod: "restart = on-failure\nrestart_delay = 200ms\nrestart_max_delay = 500ms",
	})
	n := startNiod(t, startOpts{root: root})
	n.waitRuntime(5)

	pids := n.runtimePIDs()[:5]
	seen := map[int]bool{}
	for _, pid := range pids {
		if seen[pid] {
			t.Errorf("runtime pid %d started twice: %v", pid, pids)
		}
		seen[pid] = true
	}
	for _, l := range n.logsWith("runtime exited")[:4] {
		if code, _ := l.int("code"); code != 3 {
			t.Errorf("runtime exited with %d, want 3 (crash_code): %v", code, l)
		}
	}
	restarts := n.logsWith("restarting the runtime")
	if len(restarts) < 4 {
		t.Fatalf("%d \"restarting the runtime\" lines for 5 starts\n%s", len(restarts), n.dump())
	}
	var delays []time.Duration
	for i, l := range restarts[:4] {
		d, err := time.ParseDuration(l.str("delay"))
		if err != nil {
			t.Fatalf("restart %d: bad delay %q: %v", i+1, l.str("delay"), err)
		}
		if f, _ := l.int("failures"); f != i+1 {
			t.Errorf("restart %d: failures = %d, want %d", i+1, f, i+1)
		}
		delays = append(delays, d)
	}
	t.Logf("logged delays: %v", delays)
	if delays[0] != 0 {
		t.Errorf("first restart delay %v, want 0 (the first restart is immediate)", delays[0])
	}
	// The first back-off is restart_delay, give or take the jitter.
	if delays[1] < delay/2 || delays[1] > delay*3/2 {
		t.Errorf("second restart delay %v, want about restart_delay = %v", delays[1], delay)
	}
	if delays[2] <= delays[1] {
		t.Errorf("delays do not grow: %v", delays)
	}
	for i, d := range delays {
		if d > maxDelay {
			t.Errorf("restart %d: delay %v exceeds restart_max_delay %v", i+1, d, maxDelay)
		}
	}
	if delays[3] <= 0 {
		t.Errorf("fourth restart delay %v, want > 0", delays[3])
	}

	// Workers of the crashed instances (they outlive their parent) must
	// not pile up: each instance's workers are gone by now.
	for _, line := range n.waitStdout("workers ", 5)[:4] {
		for _, pid := range pidsOf(t, line) {
			p, ok := readProc(pid)
			if !ok {
				continue
			}
			// Only a process that carries this test's mark counts: the pid
			// may have been reused by anything else on the machine.
			for _, kv := range environ(pid) {
				if kv == markEnv+"="+n.mark {
					t.Errorf("worker %d of a crashed runtime still runs (state %c) after 4 restarts", pid, p.state)
				}
			}
		}
	}

	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	n.assertGoneAtExit(nil)
}

// restart = never: niod ends with the runtime's own exit code, or 128+N
// when a signal killed it; on-failure does not restart a clean exit.
func TestSuperviseRestartNeverPassesExitCode(t *testing.T) {
	t.Parallel()
	t.Run("exit code 7", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		writeConf(t, root, conf{test: "exit_code = 7", niod: "restart = never"})
		n := startNiod(t, startOpts{root: root})
		n.expectExit(7, waitLong)
		if got := len(n.runtimePIDs()); got != 1 {
			t.Errorf("runtime started %d times, want once\n%s", got, n.dump())
		}
		if l := n.logsWith("runtime exited"); len(l) != 1 || l[0].str("code") != "7" {
			t.Errorf("want one \"runtime exited\" with code 7, got %v", l)
		}
	})
	t.Run("killed by SIGKILL", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		writeConf(t, root, conf{test: "workers = 2", niod: "restart = never\nstop_timeout = 5s"})
		n := startNiod(t, startOpts{root: root})
		pid := n.waitRuntime(1)
		workers := pidsOf(t, n.waitStdout("workers ", 1)[0])
		refs := []procRef{track(t, pid, "runtime")}
		for _, w := range workers {
			refs = append(refs, track(t, w, "worker"))
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		n.expectExit(137, waitLong)
		if l := n.logsWith("runtime exited"); len(l) != 1 || l[0].str("exit") != "killed by SIGKILL" || l[0].str("code") != "" {
			t.Errorf("want one \"runtime exited\" killed by SIGKILL (not code 137), got %v", l)
		}
		if got := len(n.runtimePIDs()); got != 1 {
			t.Errorf("runtime started %d times with restart = never", got)
		}
		// The workers outlived the killed runtime; niod stops them too.
		n.assertGoneAtExit(refs)
	})
	t.Run("clean exit with on-failure", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		writeConf(t, root, conf{test: "exit_code = 0", niod: "restart = on-failure"})
		n := startNiod(t, startOpts{root: root})
		n.expectExit(0, waitLong)
		if got := len(n.runtimePIDs()); got != 1 {
			t.Errorf("runtime started %d times after a clean exit with on-failure, want once\n%s", got, n.dump())
		}
	})
}

// restart_limit failures within restart_limit_window end niod with 69.
func TestSuperviseRestartLimit(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeConf(t, root, conf{
		niod: "command = /bin/sh -c 'exit 3'\nrestart = on-failure\nrestart_delay = 100ms\n" +
			"restart_limit = 3\nrestart_limit_window = 1min",
	})
	n := startNiod(t, startOpts{root: root})
	n.expectExit(69, waitLong)
	if got := len(n.runtimePIDs()); got != 3 {
		t.Errorf("runtime started %d times, want 3 (the third failure hits restart_limit = 3)\n%s", got, n.dump())
	}
	if len(n.logsWith("runtime failed too often; giving up")) != 1 {
		t.Errorf("niod did not log that it gives up\n%s", n.dump())
	}
}

// restart = always starts the runtime again after a clean exit too.
func TestSuperviseRestartAlways(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeConf(t, root, conf{niod: "command = /bin/sh -c 'exit 0'\nrestart = always\nrestart_delay = 100ms\nrestart_max_delay = 200ms"})
	n := startNiod(t, startOpts{root: root})
	n.waitRuntime(3)
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// TERM to niod stops the whole tree: the runtime, its workers and a
// grandchild that left the runtime's session; niod exits 143 only when
// all of them are gone.
func TestSuperviseStopKillsWholeTree(t *testing.T) {
	t.Parallel()
	requireTool(t, "setsid")
	root := t.TempDir()
	// The escaped grandchild takes a while to stop (its TERM trap waits for
	// the current sleep): niod must wait for it, not just for the runtime.
	script := "#!/bin/sh\n" +
		"setsid sh -c 'echo $$ > escaped.pid; trap \"sleep 0.5; exit 0\" TERM; while :; do sleep 1; done' </dev/null &\n" +
		"exec " + runtimeCommand(t) + "\n"
	mustWrite(t, filepath.Join(root, "start.sh"), script, 0o700)
	writeConf(t, root, conf{test: "workers = 3", niod: "command = ./start.sh\nstop_timeout = 10s"})
	n := startNiod(t, startOpts{root: root})

	pid := n.waitRuntime(1)
	n.waitStdout("ready", 1)
	workers := pidsOf(t, n.waitStdout("workers ", 1)[0])
	if len(workers) != 3 {
		t.Fatalf("want 3 workers, got %v", workers)
	}
	var escaped int
	n.waitFor("escaped.pid", func() bool {
		data, err := os.ReadFile(filepath.Join(root, "escaped.pid"))
		if err != nil || !strings.HasSuffix(string(data), "\n") {
			return false
		}
		escaped, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	})

	rt, ok := readProc(pid)
	if !ok {
		t.Fatalf("runtime %d is gone", pid)
	}
	if rt.pgid != pid || rt.sid != pid {
		t.Errorf("runtime pid %d has pgid %d sid %d; want its own group and session", pid, rt.pgid, rt.sid)
	}
	es, ok := readProc(escaped)
	if !ok {
		t.Fatalf("escaped process %d is gone before the stop", escaped)
	}
	if es.sid == rt.sid || es.pgid == rt.pgid {
		t.Fatalf("setup: process %d did not leave the runtime's session (sid %d pgid %d)", escaped, es.sid, es.pgid)
	}
	refs := []procRef{track(t, pid, "runtime"), track(t, escaped, "setsid grandchild")}
	for _, w := range workers {
		refs = append(refs, track(t, w, "worker"))
	}

	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	if len(n.logsWith("stopping")) != 1 {
		t.Errorf("niod did not log \"stopping\"\n%s", n.dump())
	}
	n.assertGoneAtExit(refs)
	for _, procs := range [][]procInfo{n.atExit, allProcs()} {
		for _, p := range procs {
			if p.pgid == pid || p.sid == pid || p.sid == es.sid || p.pgid == es.pgid {
				t.Errorf("process %d (ppid %d pgid %d sid %d state %c) of the runtime's groups survives niod", p.pid, p.ppid, p.pgid, p.sid, p.state)
			}
		}
	}
}

// A runtime that ignores TERM is killed after stop_timeout; a second TERM
// to niod kills it at once.
func TestSuperviseStopTimeout(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, n *niodProc, refs []procRef) {
		t.Helper()
		exited := n.logsWith("runtime exited")
		if len(exited) != 1 || exited[0].str("exit") != "killed by SIGKILL" {
			t.Errorf("want the runtime SIGKILLed (one \"runtime exited\" killed by SIGKILL), got %v", exited)
		}
		if len(n.stdoutLines("signal TERM ignored")) == 0 {
			t.Errorf("the runtime never got the stop signal\n%s", n.dump())
		}
		n.assertGoneAtExit(refs)
	}

	t.Run("after stop_timeout", func(t *testing.T) {
		t.Parallel()
		n, refs := startIgnoringTerm(t, 2, "1s")
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
		check(t, n, refs)
	})

	t.Run("second TERM", func(t *testing.T) {
		t.Parallel()
		// A stop_timeout far beyond the wait: only the second TERM can end
		// niod in time. It comes after the window in which a repeat is the
		// same request.
		n, refs := startIgnoringTerm(t, 1, "10min")
		n.signal(syscall.SIGTERM)
		n.waitStdout("signal TERM ignored", 1)
		time.Sleep(supervisor.SameStopWindow + 100*time.Millisecond)
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
		check(t, n, refs)
		if len(n.logsWith("second stop signal; killing the runtime now")) != 1 || len(n.logsWith("runtime did not stop in time; killing it")) != 0 {
			t.Errorf("the log does not say the second signal killed it\n%s", n.dump())
		}
	})

	t.Run("the same TERM twice", func(t *testing.T) {
		t.Parallel()
		// Two TERMs at once (coreutils timeout, a double key press) are
		// one request: the runtime gets stop_timeout all the same.
		n, refs := startIgnoringTerm(t, 1, "1s")
		n.signal(syscall.SIGTERM)
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
		check(t, n, refs)
		if len(n.logsWith("second stop signal; killing the runtime now")) != 0 || len(n.logsWith("runtime did not stop in time; killing it")) != 1 {
			t.Errorf("a repeated TERM escalated instead of waiting stop_timeout\n%s", n.dump())
		}
	})
}

// niod killed outright: the runtime gets its parent-death signal (TERM)
// and ends.
func TestSuperviseNiodKilledRuntimeFollows(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeConf(t, root, conf{test: "workers = 1"})
	n := startNiod(t, startOpts{root: root})
	pid := n.waitRuntime(1)
	n.waitStdout("ready", 1)
	rt := track(t, pid, "runtime")

	n.signal(syscall.SIGKILL)
	ws := n.waitExit(waitLong)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("niod did not die of SIGKILL: %v", ws)
	}
	// Whoever adopts the runtime reaps it: a zombie counts as ended here.
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, ok := rt.exists()
		if !ok || p.state == 'Z' || p.state == 'X' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runtime %d still runs (state %c) 10s after niod was killed\n%s", pid, p.state, n.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Cleanup kills the workers the runtime may have left.
}

// HUP reloads: unchanged settings keep the runtime, changed ones restart
// it with them, broken ones keep the old runtime and are reported.
func TestSuperviseReload(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	port := freePort(t)
	c := conf{port: port, instance: "before-reload", test: "workers = 1", niod: "stop_timeout = 5s"}
	writeConf(t, root, c)
	n := startNiod(t, startOpts{root: root})
	a := newAPI(port)
	st := n.waitAPI(a, nil)
	pid1 := n.waitRuntime(1)
	if st.PID != pid1 {
		t.Fatalf("/nio says pid %d, niod started %d", st.PID, pid1)
	}
	if got := a.settings(t)["instance"]["name"]; got != "before-reload" {
		t.Fatalf("/settings instance name %q, want before-reload", got)
	}

	// Unchanged: nothing happens.
	n.signal(syscall.SIGHUP)
	n.waitLog("settings unchanged", 1)
	if st := n.waitAPI(a, nil); st.PID != pid1 {
		t.Errorf("unchanged settings: runtime pid %d, want %d", st.PID, pid1)
	}

	// Changed: a new runtime with the new settings.
	c.instance = "after-reload"
	writeConf(t, root, c)
	old := track(t, pid1, "runtime before the reload")
	n.signal(syscall.SIGHUP)
	n.waitLog("settings changed; restarting the runtime with them", 1)
	pid2 := n.waitRuntime(2)
	if pid2 == pid1 {
		t.Fatalf("the runtime was not restarted: pid %d", pid2)
	}
	st = n.waitAPI(a, func(s nioStatus) bool { return s.PID == pid2 })
	if got := a.settings(t)["instance"]["name"]; got != "after-reload" {
		t.Errorf("/settings instance name %q after the reload, want after-reload", got)
	}
	if st.Instance != "after-reload" {
		t.Errorf("/nio instance %q after the reload, want after-reload", st.Instance)
	}
	assertGone(t, []procRef{old})

	// Broken: reported, the running runtime stays.
	broken := c.text(t) + "\n[broken\n"
	brokenLine := strings.Count(broken, "\n") // the last line
	mustWrite(t, filepath.Join(root, "nio.conf"), broken, 0o600)
	n.signal(syscall.SIGHUP)
	n.waitLog("settings not reloaded; the runtime keeps running with the old ones", 1)
	problems := n.logsWith("settings problem")
	found := false
	for _, p := range problems {
		if strings.Contains(p.str("problem"), fmt.Sprintf("nio.conf:%d", brokenLine)) {
			found = true
		}
	}
	if !found {
		t.Errorf("no \"settings problem\" naming nio.conf:%d; got %v", brokenLine, problems)
	}
	// Give a wrong restart a chance to show, then look.
	time.Sleep(500 * time.Millisecond)
	if st, err := a.status(); err != nil || st.PID != pid2 {
		t.Errorf("after a broken reload the runtime should still be pid %d: %+v %v", pid2, st, err)
	}
	if got := len(n.runtimePIDs()); got != 2 {
		t.Errorf("runtime started %d times; a broken reload must not restart it", got)
	}
	if got := a.settings(t)["instance"]["name"]; got != "after-reload" {
		t.Errorf("/settings instance name %q after a broken reload, want after-reload", got)
	}
	if n.exited() {
		t.Fatalf("niod ended after a broken reload: %v\n%s", n.state, n.dump())
	}

	// Fixed again: the next reload works.
	c.instance = "fixed"
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	pid3 := n.waitRuntime(3)
	n.waitAPI(a, func(s nioStatus) bool { return s.PID == pid3 && s.Instance == "fixed" })

	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	n.assertGoneAtExit(nil)
}

// USR1 and USR2 to niod reach the runtime, once each; its workers (same
// process group, ignoring them) keep running.
func TestSuperviseForwardsSignals(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	port := freePort(t)
	writeConf(t, root, conf{port: port, test: "workers = 2"})
	n := startNiod(t, startOpts{root: root})
	a := newAPI(port)
	before := n.waitAPI(a, func(s nioStatus) bool { return len(s.Workers) == 2 })
	// The workers share the runtime's group and ignore USR1/USR2 once
	// their Python is up: before that the signals would kill them.
	n.waitFor("workers ignoring USR1 and USR2", func() bool {
		for _, w := range before.Workers {
			if !ignores(w, syscall.SIGUSR1) || !ignores(w, syscall.SIGUSR2) {
				return false
			}
		}
		return true
	})

	n.signal(syscall.SIGUSR1)
	st := n.waitAPI(a, func(s nioStatus) bool { return s.Signals["USR1"] > 0 })
	n.signal(syscall.SIGUSR2)
	st = n.waitAPI(a, func(s nioStatus) bool { return s.Signals["USR2"] > 0 })
	if st.Signals["USR1"] != 1 || st.Signals["USR2"] != 1 {
		t.Errorf("runtime counted signals %v, want USR1 = 1 and USR2 = 1", st.Signals)
	}
	if st.PID != before.PID {
		t.Errorf("runtime pid changed from %d to %d", before.PID, st.PID)
	}
	if fmt.Sprint(st.Workers) != fmt.Sprint(before.Workers) {
		t.Errorf("workers changed from %v to %v", before.Workers, st.Workers)
	}
	if n.exited() {
		t.Fatalf("niod ended: %v", n.state)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// Secrets reach the runtime only through the handoff: not in its
// environment, not on its command line, not in niod's log.
func TestSuperviseSecretsHandoff(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	port := freePort(t)
	uniq := strconv.FormatInt(time.Now().UnixNano(), 36)
	// API_TOKEN: a secret-named variable.
	apiToken := "tok-" + uniq + "-A1"
	// ADMIN_PW: referenced by a *_password key.
	adminPW := "pw-" + uniq + "-B2"
	// PK_RAW: referenced by [user_defined] PK_TOKEN, itself secret-named.
	pkRaw := "pk-" + uniq + "-E5"
	// A literal in a 0600 file.
	dbPassword := "db-" + uniq + "-C3"
	// INSTANCE_LABEL: not a secret (the control).
	plain := "plain-" + uniq + "-D4"
	secrets := []string{apiToken, adminPW, pkRaw, dbPassword}

	nio := fmt.Sprintf(`[rest]
host = 127.0.0.1
port = %d

[security]
users = admin
admin_password = [[ADMIN_PW]]

[user_defined]
PK_TOKEN = [[PK_RAW]]

[pubkeeper_client]
token = [[API_TOKEN]]
client_token = [[PK_TOKEN]]

[instance]
name = [[INSTANCE_LABEL]]

[runtime_test]
workers = 1

[niod]
command = %s
`, port, runtimeCommand(t))
	mustWrite(t, filepath.Join(root, "nio.conf"), nio, 0o644)
	mustWrite(t, filepath.Join(root, "secrets.conf"), "[user_defined]\ndb_password = "+dbPassword+"\n", 0o600)

	n := startNiod(t, startOpts{
		root:     root,
		settings: []string{"nio.conf", "secrets.conf"},
		env:      map[string]string{"API_TOKEN": apiToken, "ADMIN_PW": adminPW, "PK_RAW": pkRaw, "INSTANCE_LABEL": plain},
		args:     []string{"--log-level", "debug"},
	})
	a := api{port: port, user: "admin", password: adminPW}
	st := n.waitAPI(a, func(s nioStatus) bool { return len(s.Workers) == 1 })
	pid := n.waitRuntime(1)
	if st.PID != pid {
		t.Fatalf("/nio pid %d, niod started %d", st.PID, pid)
	}

	for _, p := range []struct {
		pid  int
		what string
	}{{pid, "runtime"}, {st.Workers[0], "worker"}} {
		env := environ(p.pid)
		if env == nil {
			t.Fatalf("cannot read the environment of the %s %d", p.what, p.pid)
		}
		names := map[string]bool{}
		for _, kv := range env {
			k, _, _ := strings.Cut(kv, "=")
			names[k] = true
		}
		for _, name := range []string{"API_TOKEN", "ADMIN_PW", "PK_RAW"} {
			if names[name] {
				t.Errorf("%s environment holds %s, which carried a secret into the settings", p.what, name)
			}
		}
		if !names["INSTANCE_LABEL"] {
			t.Errorf("%s environment lacks INSTANCE_LABEL (not a secret, must stay)", p.what)
		}
		joined := strings.Join(env, "\n")
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(joined, s) {
				t.Errorf("%s environment holds the secret %q", p.what, s)
			}
			if strings.Contains(string(cmdline), s) {
				t.Errorf("%s command line holds the secret %q", p.what, s)
			}
		}
	}

	got := a.settings(t)
	want := map[[2]string]string{
		{"pubkeeper_client", "token"}:   apiToken,
		{"security", "admin_password"}:  adminPW,
		{"user_defined", "db_password"}: dbPassword,
		{"instance", "name"}:            plain,
		// The moved variables, for the runtime's own [[ ]] resolution.
		{"user_defined", "API_TOKEN"}:        apiToken,
		{"user_defined", "ADMIN_PW"}:         adminPW,
		{"user_defined", "PK_RAW"}:           pkRaw,
		{"user_defined", "PK_TOKEN"}:         pkRaw,
		{"pubkeeper_client", "client_token"}: pkRaw,
	}
	for k, v := range want {
		if got[k[0]][k[1]] != v {
			t.Errorf("handoff [%s] %s = %q, want %q", k[0], k[1], got[k[0]][k[1]], v)
		}
	}
	if _, ok := got["niod"]; ok {
		t.Errorf("the handoff holds a [niod] section")
	}

	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	for _, s := range secrets {
		if strings.Contains(n.stderr.String(), s) {
			t.Errorf("niod's stderr holds the secret %q", s)
		}
		if strings.Contains(n.stdout.String(), s) {
			t.Errorf("stdout holds the secret %q", s)
		}
	}
}

// The runtime's process: cwd ROOT, its own session and group, stdin
// /dev/null, NIO_ROOT, the settings in a sealed memfd on fd 3, and none of
// niod's service-manager variables or NIOD_* options.
func TestSuperviseRuntimeProcess(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	port := freePort(t)
	writeConf(t, root, conf{port: port, instance: "proc-check", test: "workers = 0"})
	inherited := map[string]string{
		"NOTIFY_SOCKET":  filepath.Join(root, "no-such-notify-socket"),
		"WATCHDOG_USEC":  "600000123",
		"WATCHDOG_PID":   "1", // not niod: its watchdog stays off
		"LISTEN_FDS":     "0",
		"LISTEN_FDNAMES": "none",
		"NIOD_LOG_LEVEL": "info",
		"E2E_KEEP_ME":    "kept",
	}
	n := startNiod(t, startOpts{root: root, env: inherited})
	a := newAPI(port)
	st := n.waitAPI(a, nil)
	pid := n.waitRuntime(1)
	if st.PID != pid {
		t.Fatalf("/nio pid %d, niod started %d", st.PID, pid)
	}
	p, _ := readProc(pid)
	if p.pgid != pid || p.sid != pid {
		t.Errorf("runtime %d: pgid %d sid %d, want both %d", pid, p.pgid, p.sid, pid)
	}
	if p.ppid != n.pid {
		t.Errorf("runtime's parent is %d, want niod %d", p.ppid, n.pid)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	if cwd, err := os.Readlink(proc + "/cwd"); err != nil || cwd != root {
		t.Errorf("runtime cwd %q (%v), want %q", cwd, err, root)
	}
	if in, err := os.Readlink(proc + "/fd/0"); err != nil || in != "/dev/null" {
		t.Errorf("runtime stdin %q (%v), want /dev/null", in, err)
	}
	env := map[string]string{}
	for _, kv := range environ(pid) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["NIO_ROOT"] != root {
		t.Errorf("NIO_ROOT = %q, want %q", env["NIO_ROOT"], root)
	}
	if env["NIO_SETTINGS"] != "/proc/self/fd/3" {
		t.Errorf("NIO_SETTINGS = %q, want /proc/self/fd/3", env["NIO_SETTINGS"])
	}
	if env["E2E_KEEP_ME"] != "kept" {
		t.Errorf("an ordinary variable was not passed on: E2E_KEEP_ME = %q", env["E2E_KEEP_ME"])
	}
	// niod may hand the runtime a NOTIFY_SOCKET (or watchdog settings) of
	// its own, never the ones meant for niod.
	for k, v := range env {
		switch {
		case k == "NOTIFY_SOCKET" && v == inherited["NOTIFY_SOCKET"],
			k == "WATCHDOG_USEC" && v == inherited["WATCHDOG_USEC"],
			k == "WATCHDOG_PID" && v == inherited["WATCHDOG_PID"],
			strings.HasPrefix(k, "LISTEN_"), strings.HasPrefix(k, "NIOD_"):
			t.Errorf("runtime environment holds niod's %s=%s", k, v)
		}
	}
	if target, err := os.Readlink(proc + "/fd/3"); err != nil || !strings.HasPrefix(target, "/memfd:") {
		t.Errorf("runtime fd 3 is %q (%v), want a memfd", target, err)
	}
	f, err := os.Open(proc + "/fd/3")
	if err != nil {
		t.Fatalf("open the runtime's fd 3: %v", err)
	}
	defer f.Close()
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	want := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if err != nil || seals&want != want {
		t.Errorf("memfd seals %#x (%v), want at least %#x", seals, err, want)
	}
	data := make([]byte, 1<<16)
	m, _ := f.ReadAt(data, 0)
	text := string(data[:m])
	if !strings.Contains(text, "proc-check") || strings.Contains(text, "[niod]") {
		t.Errorf("memfd content is not the settings without [niod]:\n%s", text)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// handoff = file: a 0600 file in a private 0700 directory under
// $RUNTIME_DIRECTORY, replaced on a restart and removed at the end.
func TestSuperviseHandoffFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	base := t.TempDir()
	port := freePort(t)
	c := conf{port: port, instance: "file-one", test: "workers = 0", niod: "handoff = file"}
	writeConf(t, root, c)
	n := startNiod(t, startOpts{root: root, env: map[string]string{"RUNTIME_DIRECTORY": base}})
	a := newAPI(port)
	n.waitAPI(a, nil)
	pid := n.waitRuntime(1)

	settingsPath := func(pid int) string {
		t.Helper()
		for _, kv := range environ(pid) {
			if v, ok := strings.CutPrefix(kv, "NIO_SETTINGS="); ok {
				return v
			}
		}
		t.Fatalf("runtime %d has no NIO_SETTINGS", pid)
		return ""
	}
	check := func(path, instance string) {
		t.Helper()
		if !filepath.IsAbs(path) || filepath.Dir(filepath.Dir(path)) != base {
			t.Errorf("NIO_SETTINGS = %q, want a file in a directory of its own under %s", path, base)
		}
		dir := filepath.Dir(path)
		if st, err := os.Lstat(dir); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("handoff directory %s: %v %v, want a 0700 directory", dir, st.Mode(), err)
		}
		st, err := os.Lstat(path)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
			t.Fatalf("handoff file %s: %v %v, want a regular 0600 file", path, st.Mode(), err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "name = "+instance) || strings.Contains(string(data), "[niod]") {
			t.Errorf("handoff file holds:\n%s", data)
		}
	}
	first := settingsPath(pid)
	check(first, "file-one")
	if got := a.settings(t)["instance"]["name"]; got != "file-one" {
		t.Errorf("/settings instance name %q", got)
	}

	// A restart (reload with changed settings) ends the first instance:
	// its file goes, the new one has its own.
	c.instance = "file-two"
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	pid2 := n.waitRuntime(2)
	n.waitAPI(a, func(s nioStatus) bool { return s.PID == pid2 })
	second := settingsPath(pid2)
	check(second, "file-two")
	if second == first {
		t.Errorf("the restarted runtime reuses the handoff file %s", first)
	}
	if _, err := os.Lstat(first); err == nil {
		t.Errorf("handoff file %s of the ended runtime still exists", first)
	}
	if _, err := os.Lstat(filepath.Dir(first)); err == nil {
		t.Errorf("handoff directory %s of the ended runtime still exists", filepath.Dir(first))
	}

	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	if _, err := os.Lstat(second); err == nil {
		t.Errorf("handoff file %s still exists after niod exited", second)
	}
	if left := leftIn(t, base); len(left) != 0 {
		t.Errorf("left in RUNTIME_DIRECTORY after niod exited: %v", left)
	}
}

// startIgnoringTerm starts niod with a runtime that ignores SIGTERM and has
// the given number of workers, and tracks the runtime and its workers.
func startIgnoringTerm(t *testing.T, workers int, stopTimeout string) (*niodProc, []procRef) {
	t.Helper()
	root := t.TempDir()
	writeConf(t, root, conf{test: fmt.Sprintf("ignore_term = true\nworkers = %d", workers), niod: "stop_timeout = " + stopTimeout})
	n := startNiod(t, startOpts{root: root})
	pid := n.waitRuntime(1)
	n.waitStdout("ready", 1)
	refs := []procRef{track(t, pid, "runtime")}
	for _, w := range pidsOf(t, n.waitStdout("workers ", 1)[0]) {
		refs = append(refs, track(t, w, "worker"))
	}
	return n, refs
}

// Processes that left the group are signalled with it even when the
// group's death moves them to niod at that moment: 100 workers each with a
// grandchild in a session of its own, every one ending on TERM. None may
// need stop_timeout's SIGKILL (a walk of /proc taken while their parents
// die can find them under neither), and none survives.
func TestSuperviseStopReachesEscapeesWhileTheGroupDies(t *testing.T) {
	t.Parallel()
	setsid := requireTool(t, "setsid")
	root := t.TempDir()
	script := "#!/bin/sh\n" +
		"i=0; while [ $i -lt 100 ]; do\n" +
		"  sh -c '" + setsid + " sleep 600 & exec sleep 600' &\n" +
		"  i=$((i+1))\ndone\n" +
		"exec sleep 600\n"
	mustWrite(t, filepath.Join(root, "tree.sh"), script, 0o700)
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = ./tree.sh\nstop_timeout = 60s\nrestart = never\n", 0o600)
	for round := 0; round < 3; round++ {
		n := startNiod(t, startOpts{root: root})
		rt := n.waitRuntime(1)
		var escaped []int
		n.waitFor("200 descendants, 100 in sessions of their own", func() bool {
			escaped = escaped[:0]
			all := descendants(n.pid)
			for _, p := range all {
				if p.sid != rt {
					escaped = append(escaped, p.pid)
				}
			}
			return len(all) >= 201 && len(escaped) == 100
		})
		refs := []procRef{}
		for _, p := range escaped {
			refs = append(refs, track(t, p, "setsid grandchild"))
		}
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
		if k := n.logsWith("runtime did not stop in time; killing it"); len(k) != 0 {
			t.Errorf("round %d: stop_timeout's SIGKILL was needed: a process outside the group missed the TERM", round)
		}
		n.assertGoneAtExit(refs)
	}
}
