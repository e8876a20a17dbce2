package e2e

// Faults: the real binary in the situations a supervisor meets on a bad
// day: its log reader gone, a runtime that cannot be executed, signal
// storms, an endless crash loop, too few file descriptors, a full disk, a
// flood on its notify socket. Each test asserts what a broken supervisor
// gets wrong; every wait is bounded only to keep a broken niod from
// hanging the suite, never as a claim about speed.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"niod/internal/descriptors"
	"niod/internal/supervisor"
)

// ---------------------------------------------------------------- helpers

// faultMark is a value for markEnv unique to one niod run, as startNiod
// makes it.
func faultMark(t *testing.T) string {
	return fmt.Sprintf("%s-%d-%d-%d", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid(), time.Now().UnixNano(), markSeq.Add(1))
}

// startNiodOnPipe starts niod like startNiod (same flags, environment and
// cleanup), but with its stdout and stderr on one pipe whose read end the
// test holds. Closing it makes every later write of niod, and of the
// runtime that inherits both, fail with EPIPE (and raise SIGPIPE). What
// arrives before is copied to n.stdout and n.stderr alike, so the log and
// stdout helpers find their lines in it.
func startNiodOnPipe(t *testing.T, root string, env map[string]string) (*niodProc, *os.File) {
	t.Helper()
	mark := faultMark(t)
	e := baseEnv(env)
	e[markEnv] = mark
	cmd := exec.Command(niodBin, "-r", root, "-s", "nio.conf", "--log-format", "json", "--allow-root")
	cmd.Dir = root
	cmd.Env = envList(e)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start niod: %v", err)
	}
	w.Close()
	n := &niodProc{t: t, cmd: cmd, pid: cmd.Process.Pid, mark: mark, stdout: &lineBuf{}, stderr: &lineBuf{},
		done: make(chan struct{}), outEOF: make(chan struct{})}
	t.Cleanup(n.cleanup)
	go func() {
		_, _ = io.Copy(io.MultiWriter(n.stdout, n.stderr), r)
		close(n.outEOF)
	}()
	go n.awaitExit()
	return n, r
}

// logTime is the "ts" of a log line.
func logTime(t *testing.T, l logLine) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, l.str("ts"))
	if err != nil {
		t.Fatalf("log line without a valid ts: %v: %v", l, err)
	}
	return ts
}

// logDuration is a duration field of a log line ("100ms", "1.2s").
func logDuration(t *testing.T, l logLine, key string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(l.str(key))
	if err != nil {
		t.Fatalf("log line %v: field %q is not a duration: %v", l, key, err)
	}
	return d
}

// nominalDelay is the documented back-off before the restart that follows
// failure number f: the first restart is immediate, then restart_delay
// doubling up to restart_max_delay.
func nominalDelay(f int, base, maxDelay time.Duration) time.Duration {
	if f <= 1 {
		return 0
	}
	d := base
	for i := 2; i < f && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// checkBackoff checks the "restarting the runtime" lines of a run in which
// every start fails: each delay is the documented one within the ±20%
// jitter (so the delays grow from 0 up to the cap), and niod honoured it:
// the next attempt is logged no sooner than the delay after the previous
// one. That is a lower bound on elapsed time, which a slow machine only
// makes easier to meet; a hot loop breaks it.
func checkBackoff(t *testing.T, n *niodProc, lines []logLine, base, maxDelay time.Duration) {
	t.Helper()
	const slack = 2 * time.Millisecond // ts has millisecond precision, delay is rounded to it
	for i, l := range lines {
		f, ok := l.int("failures")
		if !ok || f != i+1 {
			t.Errorf("restart line %d has failures %q, want %d (every start fails, nothing resets the count)\n%s", i, l.str("failures"), i+1, n.dump())
			return
		}
		d := logDuration(t, l, "delay")
		nom := nominalDelay(f, base, maxDelay)
		lo, hi := nom*8/10-slack, min(nom*12/10, maxDelay)+slack
		if d < lo || d > hi {
			t.Errorf("restart after failure %d waits %v; want %v ±20%% (capped at %v)", f, d, nom, maxDelay)
		}
		if i+1 < len(lines) {
			gap := logTime(t, lines[i+1]).Sub(logTime(t, l))
			if gap < d-slack {
				t.Errorf("failure %d was logged %v after failure %d, whose restart was to wait %v: niod did not back off", f+1, gap, f, d)
			}
		}
	}
}

// cpuTicks is a process's user+system time in clock ticks (USER_HZ, 100 on
// Linux) from /proc/PID/stat.
func cpuTicks(pid int) (int64, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	return u + k, err1 == nil && err2 == nil
}

const userHZ = 100

// assertNoSpin fails when niod uses half a core or more over window: it
// would be spinning (a loop around a failing call), not waiting.
func assertNoSpin(t *testing.T, n *niodProc, window time.Duration) {
	t.Helper()
	before, ok := cpuTicks(n.pid)
	start := time.Now()
	time.Sleep(window)
	after, ok2 := cpuTicks(n.pid)
	wall := time.Since(start)
	if !ok || !ok2 {
		t.Fatalf("cannot read niod's CPU time (it exited?)\n%s", n.dump())
	}
	cpu := time.Duration(after-before) * time.Second / userHZ
	if cpu*2 >= wall {
		t.Errorf("niod used %v of CPU in %v of wall time: it spins\n%s", cpu, wall.Round(time.Millisecond), n.dump())
	}
}

// assertNoFatal fails on Go runtime deaths that assertNoCrash misses.
func assertNoFatal(t *testing.T, out string) {
	t.Helper()
	assertNoCrash(t, out)
	for _, bad := range []string{"fatal error:", "SIGSEGV", "[signal "} {
		if strings.Contains(out, bad) {
			t.Errorf("niod crashed (output contains %q):\n%s", bad, out)
		}
	}
}

// fdCount is the number of open descriptors of pid.
func fdCount(pid int) (int, bool) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(ents), err == nil
}

// vmRSS is pid's resident set size in bytes.
func vmRSS(pid int) (int64, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// cmdline is a process's command line, arguments separated by spaces.
func cmdline(pid int) string {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}

// writeConfAtomic writes c to ROOT/nio.conf by renaming a complete file
// over it, so that a reload reading it meanwhile sees the old or the new
// settings, never half a file.
func writeConfAtomic(t *testing.T, root string, c conf) {
	t.Helper()
	tmp := filepath.Join(root, ".nio.conf.new")
	mustWrite(t, tmp, c.text(t), 0o600)
	if err := os.Rename(tmp, filepath.Join(root, "nio.conf")); err != nil {
		t.Fatal(err)
	}
}

// entries lists a directory's names.
// leftIn is what niod left in dir: its entries, less the control
// directories, which stay empty for the next niod (docs/control.md): the
// shared "niod" holding only empty project directories, or a project's
// directory (16 hex digits) itself when dir is the shared one.
func leftIn(t *testing.T, dir string) []string {
	t.Helper()
	emptyDir := func(p string) bool {
		st, err := os.Lstat(p)
		return err == nil && st.IsDir() && len(entries(t, p)) == 0
	}
	var out []string
	for _, e := range entries(t, dir) {
		p := filepath.Join(dir, e)
		switch {
		case regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(e) && emptyDir(p):
			continue
		case e == "niod" && len(leftIn(t, p)) == 0:
			continue
		}
		out = append(out, e)
	}
	return out
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// ---------------------------------------------------------------- 1. closed output

// The log reader goes away (a journald restart, a closed terminal, a
// `niod | head`) while the runtime ignores TERM: every line niod writes
// from then on fails with EPIPE. niod must still stop the tree, kill what
// ignores TERM after stop_timeout, clean up, and exit 143, not die of
// SIGPIPE (141) half way and leave the runtime running.
func TestFaultClosedOutputWhileStopping(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	xdg := t.TempDir()
	writeConf(t, root, conf{test: "ignore_term = true\nworkers = 2", niod: "stop_timeout = 1s"})
	n, reader := startNiodOnPipe(t, root, map[string]string{"XDG_RUNTIME_DIR": xdg})
	pid := n.waitRuntime(1)
	n.waitStdout("ready", 1)
	refs := []procRef{track(t, pid, "runtime")}
	for _, w := range pidsOf(t, n.waitStdout("workers ", 1)[0]) {
		refs = append(refs, track(t, w, "worker"))
	}
	if got := entries(t, xdg); len(got) != 2 || got[0] != "niod" || !strings.HasPrefix(got[1], "niod-notify-") {
		t.Fatalf("XDG_RUNTIME_DIR holds %q; want niod's control and notify directories only", got)
	}

	reader.Close()
	select {
	case <-n.outEOF:
	case <-time.After(waitLong):
		t.Fatal("the copy from the closed pipe did not end")
	}
	n.signal(syscall.SIGTERM)
	ws := n.waitExit(waitLong)
	switch {
	case ws.Signaled():
		t.Errorf("niod died of %v after its output went away; want exit 143\n%s", ws.Signal(), n.dump())
	case ws.ExitStatus() != 143:
		t.Errorf("niod exited %d after its output went away; want 143\n%s", ws.ExitStatus(), n.dump())
	}
	assertNoFatal(t, n.stderr.String())
	n.assertGoneAtExit(refs)
	if left := leftIn(t, xdg); len(left) != 0 {
		t.Errorf("niod left %q in XDG_RUNTIME_DIR; its notify and control directories must be removed", left)
	}
}

// ---------------------------------------------------------------- 2. bad shebang

// The command is a script whose #! names an interpreter that does not
// exist: execve fails with ENOENT on every start. niod must name the
// interpreter once, back off between attempts as documented (not retry in a
// hot loop, though restart_limit = 0 lets it retry forever), and still stop
// at once on TERM.
func TestFaultBadShebangBacksOff(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	interp := filepath.Join(root, "missing", "python9")
	script := filepath.Join(root, "runtime.sh")
	mustWrite(t, script, "#!"+interp+"\necho never\n", 0o755)
	const base, maxDelay = 100 * time.Millisecond, 800 * time.Millisecond
	writeConf(t, root, conf{niod: fmt.Sprintf("command = %s\nrestart_limit = 0\nrestart_delay = %v\nrestart_max_delay = %v",
		shellQuote(script), base, maxDelay)})
	started := time.Now()
	n := startNiod(t, startOpts{root: root})
	n.waitLog("restarting the runtime", 6) // past the cap: 0, 100, 200, 400, 800, 800 ms
	time.Sleep(time.Second)
	lines := n.logsWith("restarting the runtime")
	elapsed := time.Since(started)

	// However slow the machine, niod cannot have made more attempts than
	// the shortest allowed back-off (-20%) fits into the time that passed.
	possible, spent := 0, time.Duration(0)
	for f := 1; spent <= elapsed; f++ {
		possible++
		spent += nominalDelay(f, base, maxDelay) * 8 / 10
	}
	if len(lines) > possible {
		t.Errorf("%d failed starts in %v; the back-off allows at most %d\n%s", len(lines), elapsed.Round(time.Millisecond), possible, n.dump())
	}
	checkBackoff(t, n, lines, base, maxDelay)
	for _, l := range lines {
		if l.str("after") != "a failed start (127)" {
			t.Errorf("restart after %q; want \"a failed start (127)\"", l.str("after"))
		}
	}

	failed := n.logsWith("runtime did not start")
	if len(failed) != 1 {
		t.Errorf("%d \"runtime did not start\" lines for %d identical failures; want the error once\n%s", len(failed), len(lines), n.dump())
	}
	if len(failed) > 0 {
		e := failed[0].str("error")
		if !strings.Contains(e, interp) || !strings.Contains(e, "ENOENT") || failed[0].str("code") != "127" {
			t.Errorf("the error %q (code %s) does not name the missing interpreter %s with ENOENT and code 127", e, failed[0].str("code"), interp)
		}
	}
	if got := n.logsWith("runtime started"); len(got) != 0 {
		t.Errorf("niod says a runtime started: %v", got)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// ---------------------------------------------------------------- 3. HUP storm

// reloadOrder checks that each RELOADING=1 is answered by a READY=1 before
// the next one is sent (reloads never overlap; HUPs during one fold into
// one more) and that the last one is answered. It returns what is wrong,
// "" when nothing is.
func reloadOrder(msgs []string) string {
	owed := -1 // index of the RELOADING=1 still owed a READY=1
	for i, m := range msgs {
		switch {
		case strings.HasPrefix(m, "RELOADING=1"):
			if owed >= 0 {
				return fmt.Sprintf("RELOADING=1 (message %d) while the one at %d has no READY=1 yet", i, owed)
			}
			owed = i
		case strings.HasPrefix(m, "READY=1"):
			owed = -1
		}
	}
	if owed >= 0 {
		return fmt.Sprintf("the last RELOADING=1 (message %d) has no READY=1", owed)
	}
	return ""
}

// 200 HUPs in one second, the settings changed five times meanwhile: the
// reloads must fold without overlapping, every RELOADING=1 must be
// answered by READY=1, and the storm must end with exactly one runtime (the
// one with the last settings) and its worker, and no zombie.
func TestFaultHUPStorm(t *testing.T) {
	t.Parallel()
	sd := listenNotify(t)
	root := t.TempDir()
	c := conf{instance: "v0", test: "workers = 1", niod: "ready = exec\nstop_timeout = 5s"}
	writeConf(t, root, c)
	n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, nil)})
	n.waitRuntime(1)
	sd.wait(t, n, "READY=1", 1)

	const hups = 200
	begin := time.Now()
	for i := range hups {
		if i%40 == 20 { // 20, 60, 100, 140, 180: HUPs follow each change
			c.instance = "v" + strconv.Itoa(i)
			writeConfAtomic(t, root, c)
		}
		n.signal(syscall.SIGHUP)
		time.Sleep(time.Until(begin.Add(time.Duration(i+1) * time.Second / hups)))
	}
	t.Logf("%d HUPs in %v", hups, time.Since(begin).Round(time.Millisecond))

	// Let the folded reloads run out: wait until every RELOADING=1 is
	// answered and nothing new came for a second.
	var msgs []string
	seen, quietSince := -1, time.Now()
	n.waitForFn(func() string { return "the reloads to settle: " + reloadOrder(msgs) + "\n" + strings.Join(msgs, " | ") },
		func() bool {
			msgs = sd.all()
			if len(msgs) != seen {
				seen, quietSince = len(msgs), time.Now()
				return false
			}
			return time.Since(quietSince) >= time.Second && reloadOrder(msgs) == ""
		})
	reloads, readies := sd.count("RELOADING=1"), sd.count("READY=1")
	t.Logf("%d RELOADING=1, %d READY=1, %d runtime starts", reloads, readies, len(n.runtimePIDs()))
	if problem := reloadOrder(msgs); problem != "" {
		t.Errorf("%s\n%s", problem, strings.Join(msgs, " | "))
	}
	if reloads == 0 || readies-1 < reloads {
		t.Errorf("%d RELOADING=1 and %d READY=1 after the first; want every reload answered", reloads, readies-1)
	}
	if len(n.logsWith("settings changed; restarting the runtime with them")) == 0 {
		t.Errorf("no reload restarted the runtime though the settings changed five times\n%s", n.dump())
	}

	pids := n.runtimePIDs()
	final := pids[len(pids)-1]
	var worker int
	n.waitFor("the last runtime's worker", func() bool {
		for _, p := range descendants(final) {
			if strings.Contains(cmdline(p.pid), "nio-worker") && p.state != 'Z' {
				worker = p.pid
				return true
			}
		}
		return false
	})
	var runtimes, others []string
	for _, pid := range markedProcs(n.mark) {
		switch cl := cmdline(pid); {
		case pid == n.pid: // niod itself carries the mark
		case strings.Contains(cl, "nio_runtime.py"):
			runtimes = append(runtimes, strconv.Itoa(pid))
		case pid != worker:
			others = append(others, fmt.Sprintf("%d %q", pid, cl))
		}
	}
	if len(runtimes) != 1 || runtimes[0] != strconv.Itoa(final) || len(others) != 0 {
		t.Errorf("after the storm: runtimes %v (want only %d, the last started), other processes %v (want only worker %d)",
			runtimes, final, others, worker)
	}
	// The runtime left running has the last settings (its memfd, fd 3).
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/fd/3", final)); err != nil {
		t.Errorf("cannot read the runtime's settings: %v", err)
	} else if !strings.Contains(string(data), "name = "+c.instance+"\n") {
		t.Errorf("the runtime left running has settings without name = %s:\n%s", c.instance, data)
	}
	var zombies []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		zombies = zombies[:0]
		for _, p := range descendants(n.pid) {
			if p.state == 'Z' {
				zombies = append(zombies, p.pid)
			}
		}
		if len(zombies) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(zombies) > 0 {
		t.Errorf("zombies below niod after the storm: %v", zombies)
	}

	refs := []procRef{track(t, final, "runtime"), track(t, worker, "worker")}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	n.assertGoneAtExit(refs)
}

// ---------------------------------------------------------------- 4. TERM burst

// 100 TERMs in a burst (coreutils timeout signalling niod and its group, a
// supervisor that retries, a keyboard that bounces): it is one stop
// request. The runtime stops promptly on TERM (it takes 0.3 s to finish, so
// that the burst lands while it stops), so niod must neither escalate to
// SIGKILL ("second stop signal") nor run out of stop_timeout; it exits 143
// with the tree gone.
func TestFaultTERMBurst(t *testing.T) {
	root := t.TempDir()
	// sh waits in `wait`, which a trapped signal interrupts at once; the
	// sleep in the background gets the group's TERM and dies.
	writeConf(t, root, conf{niod: `command = /bin/sh -c 'trap "echo stopping; sleep 0.3; exit 0" TERM; echo ready; while :; do sleep 10 & wait $!; done'`})
	n := startNiod(t, startOpts{root: root, args: []string{"--log-level", "debug"}})
	pid := n.waitRuntime(1)
	n.waitStdout("ready", 1)
	refs := []procRef{track(t, pid, "runtime")}

	// Spaced a little: TERMs sent faster than niod runs merge into one
	// pending signal in the kernel, and the burst would be a single TERM.
	begin := time.Now()
	sent := 0
	for range 100 {
		if err := syscall.Kill(n.pid, syscall.SIGTERM); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				break // niod has already exited
			}
			t.Fatal(err)
		}
		sent++
		time.Sleep(2 * time.Millisecond)
	}
	burst := time.Since(begin)
	n.expectExit(143, waitLong)
	if burst >= supervisor.SameStopWindow {
		t.Fatalf("sending %d TERMs took %v, longer than the window they are meant to fall into", sent, burst)
	}
	repeats := len(n.logsWith("stop signal again; the stop is under way"))
	t.Logf("%d TERMs in %v; niod saw %d repeats", sent, burst.Round(time.Millisecond), repeats)
	if repeats == 0 {
		t.Errorf("niod saw none of the %d TERMs after the first: the burst did not reach it as a burst\n%s", sent, n.dump())
	}
	for _, bad := range []string{"second stop signal; killing the runtime now", "runtime did not stop in time; killing it"} {
		if got := n.logsWith(bad); len(got) != 0 {
			t.Errorf("niod logged %q for a burst of TERMs within %v\n%s", bad, supervisor.SameStopWindow, n.dump())
		}
	}
	if got := n.logsWith("stopping"); len(got) != 1 {
		t.Errorf("%d \"stopping\" lines; want one stop\n%s", len(got), n.dump())
	}
	// One stop request is one stop signal for each process of the tree.
	// (The kernel merges a second signal that arrives before the first is
	// handled, so a niod that signals twice is caught most of the time,
	// never a correct one.)
	if got := len(n.stdoutLines("stopping")); got != 1 {
		t.Errorf("the runtime got the stop signal %d times for one stop request; want once\n%s", got, n.dump())
	}
	if exited := n.logsWith("runtime exited"); len(exited) != 1 || exited[0].str("code") != "0" {
		t.Errorf("want the runtime to stop by itself (one \"runtime exited\" with code 0), got %v", exited)
	}
	n.assertGoneAtExit(refs)
}

// ---------------------------------------------------------------- 5. crash loop

// A runtime that exits 1 at once (leaving a child behind) with
// restart_limit = 0, for 60 s: some 300 starts, stops and reaps. niod's open
// descriptors must not grow and its memory must level off.
func TestFaultCrashLoopResources(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a 60 s run")
	}
	const run = 60 * time.Second
	root := t.TempDir()
	writeConf(t, root, conf{niod: `command = /bin/sh -c 'sleep 0.1 & exit 1'
restart_limit = 0
restart_delay = 50ms
restart_max_delay = 200ms`})
	n := startNiod(t, startOpts{root: root})
	n.waitRuntime(1)

	type sample struct {
		at  time.Duration
		fds int
		rss int64
	}
	var samples []sample
	begin := time.Now()
	startsAtHalf := 0
	for time.Since(begin) < run {
		fds, ok1 := fdCount(n.pid)
		rss, ok2 := vmRSS(n.pid)
		if !ok1 || !ok2 || n.exited() {
			t.Fatalf("niod is gone after %v of the crash loop\n%s", time.Since(begin), n.dump())
		}
		samples = append(samples, sample{time.Since(begin), fds, rss})
		if startsAtHalf == 0 && time.Since(begin) >= run/2 {
			startsAtHalf = len(n.logsWith("runtime started"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	starts := len(n.logsWith("runtime started"))

	// A start holds a descriptor or two for a moment (/dev/null, the
	// memfd): the lowest count of a window is what niod keeps open.
	minFDs := func(from, to time.Duration) int {
		m := -1
		for _, s := range samples {
			if s.at >= from && s.at < to && (m < 0 || s.fds < m) {
				m = s.fds
			}
		}
		return m
	}
	maxRSS := func(from, to time.Duration) int64 {
		var m int64
		for _, s := range samples {
			if s.at >= from && s.at < to {
				m = max(m, s.rss)
			}
		}
		return m
	}
	early, late := minFDs(3*time.Second, 6*time.Second), minFDs(run-3*time.Second, run+time.Second)
	// Go's heap takes some tens of seconds to reach its steady size (here
	// some 3 MiB); a leak keeps growing with the starts.
	q1, q2, q3, q4 := maxRSS(0, run/4), maxRSS(run/4, run/2), maxRSS(run/2, run*3/4), maxRSS(run*3/4, run+time.Second)
	t.Logf("%d starts; open descriptors %d early, %d at the end; RSS max per quarter %d, %d, %d, %d KiB",
		starts, early, late, q1/1024, q2/1024, q3/1024, q4/1024)
	if starts-startsAtHalf < 10 {
		t.Errorf("only %d starts in the second half of the crash loop: it stalled\n%s", starts-startsAtHalf, n.dump())
	}
	if early < 0 || late != early {
		t.Errorf("niod holds %d descriptors at the end of the crash loop, %d after its first seconds: it leaks (%d starts)", late, early, starts)
	}
	if q4 > q1+4<<20 {
		t.Errorf("niod's RSS grew from %d KiB (first quarter) to %d KiB (last quarter) over %d starts: it leaks", q1/1024, q4/1024, starts)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	assertNoMarked(t, n)
}

// The back-off has ±20% jitter (README, docs/supervisor.md) so that many
// instances that failed together do not restart in lockstep: capped delays
// must not all be the same.
func TestFaultBackoffJitter(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const base, maxDelay = 10 * time.Millisecond, 20 * time.Millisecond
	writeConf(t, root, conf{niod: fmt.Sprintf("command = /bin/sh -c 'exit 1'\nrestart_limit = 0\nrestart_delay = %v\nrestart_max_delay = %v", base, maxDelay)})
	n := startNiod(t, startOpts{root: root})
	lines := n.waitLog("restarting the runtime", 40)
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	distinct := map[string]bool{}
	for _, l := range lines[3:] { // failures 4 on are at the cap
		d := logDuration(t, l, "delay")
		if d < maxDelay*8/10-time.Millisecond || d > maxDelay+time.Millisecond {
			t.Errorf("capped delay %v outside %v -20%%..%v", d, maxDelay, maxDelay)
		}
		distinct[l.str("delay")] = true
	}
	if len(distinct) < 2 {
		t.Errorf("%d capped restarts all waited exactly %v: the back-off has no jitter", len(lines)-3, slices.Sorted(maps.Keys(distinct)))
	}
}

// ---------------------------------------------------------------- 6. fd limit

// niod under a tiny RLIMIT_NOFILE (prlimit --nofile=N:N, as `ulimit -n N`):
// whatever N, it must not crash and not spin. Below descriptors.Min it says so
// before it opens anything (Go's runtime would abort setting up its poller
// at 6 or 7) and exits 69; from there on it runs the runtime, reloads and
// stops as usual.
func TestFaultFDLimit(t *testing.T) {
	t.Parallel()
	prlimit := requireTool(t, "prlimit")
	for _, limit := range []int{descriptors.Min + 1, descriptors.Min, descriptors.Min - 1, 12, 8, 7, 6, 5, 3} {
		t.Run("nofile="+strconv.Itoa(limit), func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeConf(t, root, conf{test: "workers = 1", niod: "stop_timeout = 5s"})
			n := startNiod(t, startOpts{root: root, wrap: []string{prlimit, fmt.Sprintf("--nofile=%d:%d", limit, limit)}})
			n.waitFor("the runtime ready, or niod's exit", func() bool {
				return n.exited() || len(n.stdoutLines("ready")) > 0
			})
			if limit < descriptors.Min {
				ws := n.waitExit(waitLong)
				out := n.stderr.String()
				assertNoFatal(t, out)
				if ws.Signaled() || ws.ExitStatus() != 69 || !strings.Contains(out, fmt.Sprintf("the open-file limit is %d", limit)) ||
					!strings.Contains(out, "ulimit -n") {
					t.Errorf("with %d descriptors: %v, want exit 69 saying the limit and the fix\n%s", limit, ws, n.dump())
				}
				if len(n.logsWith("runtime started")) > 0 {
					t.Errorf("the runtime was started with %d descriptors", limit)
				}
				return
			}
			if n.exited() {
				t.Fatalf("niod did not run the runtime with %d descriptors\n%s", limit, n.dump())
			}
			if soft, hard := nofile(n.pid); soft != limit || hard != limit {
				t.Fatalf("niod runs with RLIMIT_NOFILE %d:%d, want %d:%d", soft, hard, limit, limit)
			}
			assertNoSpin(t, n, 3*time.Second)
			n.signal(syscall.SIGHUP)
			n.waitFor("the reload to end", func() bool {
				return len(n.logsWith("settings unchanged"))+len(n.logsWith("settings not reloaded; the runtime keeps running with the old ones")) > 0
			})
			n.signal(syscall.SIGTERM)
			n.expectExit(143, waitLong)
			assertNoFatal(t, n.stderr.String())
			t.Logf("nofile=%d: the runtime ran; reload: %d unchanged, %d refused", limit,
				len(n.logsWith("settings unchanged")), len(n.logsWith("settings not reloaded; the runtime keeps running with the old ones")))
		})
	}
}

// nofile is pid's RLIMIT_NOFILE from /proc/PID/limits; -1 when unknown.
func nofile(pid int) (soft, hard int) {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				s, err1 := strconv.Atoi(f[0])
				h, err2 := strconv.Atoi(f[1])
				if err1 == nil && err2 == nil {
					return s, h
				}
			}
		}
	}
	return -1, -1
}

// ---------------------------------------------------------------- 7. full tmpfs

// mountFullTmpfs mounts a 64 KiB tmpfs (with opts added) on a new
// directory, fills it until writes fail with ENOSPC, and unmounts it when
// the test ends (after niod's cleanup, which runs first).
func mountFullTmpfs(t *testing.T, opts string) string {
	t.Helper()
	requireRoot(t)
	mountCmd := requireTool(t, "mount")
	umountCmd := requireTool(t, "umount")
	dir := t.TempDir()
	if out, err := exec.Command(mountCmd, "-t", "tmpfs", "-o", "size=64k,mode=0700"+opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(umountCmd, dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			_ = exec.Command(umountCmd, "-l", dir).Run()
		}
	})
	f, err := os.OpenFile(filepath.Join(dir, "fill"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 4096)
	for {
		if _, err = f.Write(block); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the tmpfs ended with %v, want ENOSPC", err)
	}
	return dir
}

// The file handoff's directory is on a full tmpfs: no start can hand the
// settings over. niod must say so (ENOSPC), back off, give up after
// restart_limit (5) failures with 69 (not 70, not a hot loop), and leave
// nothing on the file system.
func TestFaultFullTmpfsFileHandoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, opts string
		socket     bool // whether niod's notify socket can be made there
	}{
		{"no blocks left", "", true},
		{"no inodes left", ",nr_inodes=2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := mountFullTmpfs(t, tc.opts)
			root := t.TempDir()
			writeConf(t, root, conf{test: "workers = 1", niod: "handoff = file"})
			n := startNiod(t, startOpts{root: root, env: map[string]string{"XDG_RUNTIME_DIR": dir}})
			n.expectExit(69, waitLong)

			failed := n.logsWith("runtime did not start")
			if len(failed) == 0 {
				t.Fatalf("no \"runtime did not start\"\n%s", n.dump())
			}
			for _, l := range failed {
				if e := l.str("error"); !strings.Contains(e, "no space left on device") && !strings.Contains(e, "ENOSPC") {
					t.Errorf("the start error %q does not say ENOSPC", e)
				}
			}
			if len(failed) != 1 {
				// docs/supervisor.md: "The error is logged once per distinct
				// error"; the same ENOSPC each time is one error.
				t.Errorf("the same ENOSPC was logged %d times, once per attempt; want once:\n%s", len(failed), n.dump())
			}
			restarts := n.logsWith("restarting the runtime")
			if len(restarts) != 4 || len(n.logsWith("runtime failed too often; giving up")) != 1 {
				t.Errorf("%d restarts before giving up; want 4 (restart_limit = 5)\n%s", len(restarts), n.dump())
			}
			checkBackoff(t, n, restarts, 100*time.Millisecond, 30*time.Second)
			if got := n.logsWith("runtime started"); len(got) != 0 {
				t.Errorf("niod says a runtime started: %v", got)
			}
			if warned := len(n.logsWith("no notify socket for the runtime")) > 0; warned == tc.socket {
				t.Errorf("notify socket warning logged: %v; want %v\n%s", warned, !tc.socket, n.dump())
			}
			if left := leftIn(t, dir); len(left) != 1 || left[0] != "fill" {
				t.Errorf("niod left %q on the tmpfs; want only the test's fill file", left)
			}
			assertNoMarked(t, n)
		})
	}
}

// ---------------------------------------------------------------- 8. notify flood

// stampedSocket plays systemd's notify socket like sdSocket, and records
// when each message was sent: the kernel's timestamp (SO_TIMESTAMPNS), so
// a reader that falls behind does not make gaps appear or vanish.
type stampedSocket struct {
	path string
	mu   sync.Mutex
	msgs []stampedMsg
}

type stampedMsg struct {
	at   time.Time
	text string
}

func listenNotifyStamped(t *testing.T) *stampedSocket {
	t.Helper()
	s := &stampedSocket{}
	var conn *net.UnixConn
	s.path, conn = listenDatagram(t)
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		t.Fatalf("SO_TIMESTAMPNS: %v %v", err, serr)
	}
	go func() {
		buf := make([]byte, 4096)
		oob := make([]byte, 128)
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			at := time.Now()
			if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, cm := range cms {
					if cm.Header.Level == unix.SOL_SOCKET && cm.Header.Type == unix.SCM_TIMESTAMPNS && len(cm.Data) >= 16 {
						sec := int64(binary.NativeEndian.Uint64(cm.Data[0:8]))
						nsec := int64(binary.NativeEndian.Uint64(cm.Data[8:16]))
						at = time.Unix(sec, nsec)
					}
				}
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, stampedMsg{at, string(buf[:n])})
			s.mu.Unlock()
		}
	}()
	return s
}

// pings returns when each WATCHDOG=1 was sent.
func (s *stampedSocket) pings() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Time
	for _, m := range s.msgs {
		if strings.HasPrefix(m.text, "WATCHDOG=1") {
			out = append(out, m.at)
		}
	}
	return out
}

// runtimeNotifySocket returns the NOTIFY_SOCKET niod gave the runtime.
func runtimeNotifySocket(t *testing.T, n *niodProc, pid int) string {
	t.Helper()
	for _, kv := range environ(pid) {
		if v, ok := strings.CutPrefix(kv, "NOTIFY_SOCKET="); ok {
			return v
		}
	}
	t.Fatalf("the runtime (pid %d) has no NOTIFY_SOCKET\n%s", pid, n.dump())
	return ""
}

// lastLogWith returns the last log line with message msg. It scans niod's
// stderr backwards in place: the log holds some 100,000 lines here, too
// many to split and parse on every poll.
func lastLogWith(n *niodProc, msg string) (logLine, bool) {
	quoted := []byte(`"msg":"` + msg + `"`)
	b := n.stderr
	b.mu.Lock()
	defer b.mu.Unlock()
	data := b.buf.Bytes()
	for {
		i := bytes.LastIndex(data, quoted)
		if i < 0 {
			return nil, false
		}
		start := bytes.LastIndexByte(data[:i], '\n') + 1
		end := bytes.IndexByte(data[i:], '\n')
		if end >= 0 {
			var l logLine
			if json.Unmarshal(data[start:i+end], &l) == nil && l.msg() == msg {
				return l, true
			}
		}
		data = data[:start]
	}
}

// 100,000 datagrams on niod's notify socket for the runtime, while systemd's
// watchdog (WATCHDOG_USEC=400000, so niod pings every 200 ms) waits for
// WATCHDOG=1: every gap between two pings must stay below WATCHDOG_USEC,
// the service manager's deadline, however busy the socket keeps niod. Sent
// by the runtime itself (accepted, each one a sign of life) and by the
// test, outside the runtime's tree (dropped, and every one counted).
func TestFaultNotifyFlood(t *testing.T) {
	const count = 100000
	const watchdogUsec = 400000
	const floodGuard = 2 * time.Minute // a hang guard, like waitLong
	deadline := time.Duration(watchdogUsec) * time.Microsecond

	check := func(t *testing.T, n *niodProc, sd *stampedSocket, fromPing int) {
		t.Helper()
		pings := sd.pings()[fromPing:]
		var worst time.Duration
		for i := 1; i < len(pings); i++ {
			gap := pings[i].Sub(pings[i-1])
			worst = max(worst, gap)
			if gap >= deadline {
				t.Errorf("WATCHDOG=1 gap of %v (ping %d to %d) reaches WATCHDOG_USEC (%v): systemd would kill the service",
					gap.Round(time.Millisecond), fromPing+i-1, fromPing+i, deadline)
			}
		}
		t.Logf("%d pings during the flood, longest gap %v", len(pings), worst.Round(time.Millisecond))
		if n.exited() {
			t.Fatalf("niod exited during the flood\n%s", n.dump())
		}
		if pids := n.runtimePIDs(); len(pids) != 1 {
			t.Errorf("the runtime was restarted during the flood: starts %v", pids)
		}
	}
	waitPings := func(t *testing.T, n *niodProc, sd *stampedSocket, count int) {
		t.Helper()
		n.waitFor(strconv.Itoa(count)+" WATCHDOG=1", func() bool { return len(sd.pings()) >= count })
	}

	t.Run("from the runtime", func(t *testing.T) {
		sd := listenNotifyStamped(t)
		root := t.TempDir()
		trigger := filepath.Join(t.TempDir(), "go")
		script := filepath.Join(moduleRoot, "test", "e2e", "testdata", "faults", "notify_flood.py")
		writeConf(t, root, conf{niod: fmt.Sprintf("command = %s %s %s %d\nready = exec",
			shellQuote(pythonPath(t)), shellQuote(script), shellQuote(trigger), count)})
		n := startNiod(t, startOpts{root: root, env: map[string]string{"NOTIFY_SOCKET": sd.path, "WATCHDOG_USEC": strconv.Itoa(watchdogUsec)}})
		n.waitRuntime(1)
		n.waitStdout("flood ready", 1)
		waitPings(t, n, sd, 3)
		from := len(sd.pings()) - 1
		mustWrite(t, trigger, "", 0o600)
		// niod reads the whole flood before the runtime can print this (it
		// sends blocking): seconds, more than waitLong on a slow machine.
		for guard := time.Now().Add(floodGuard); len(n.stdoutLines("flood sent ")) == 0; {
			if n.exited() || time.Now().After(guard) {
				t.Fatalf("the flood did not end within %v (niod exited: %v)\n%s", floodGuard, n.exited(), n.dump())
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitPings(t, n, sd, len(sd.pings())+3)
		check(t, n, sd, from)
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
	})

	t.Run("from outside the tree", func(t *testing.T) {
		sd := listenNotifyStamped(t)
		root := t.TempDir()
		writeConf(t, root, conf{test: "workers = 0", niod: "ready = exec"})
		// Debug level: each dropped message is logged with the count so far.
		n := startNiod(t, startOpts{root: root, args: []string{"--log-level", "debug"},
			env: map[string]string{"NOTIFY_SOCKET": sd.path, "WATCHDOG_USEC": strconv.Itoa(watchdogUsec)}})
		pid := n.waitRuntime(1)
		n.waitStdout("ready", 1)
		sock := runtimeNotifySocket(t, n, pid)
		waitPings(t, n, sd, 3)
		from := len(sd.pings()) - 1

		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SetWriteDeadline(time.Now().Add(floodGuard)); err != nil {
			t.Fatal(err)
		}
		msg := []byte("READY=1\nWATCHDOG=1")
		for i := range count {
			if _, err := c.Write(msg); err != nil {
				t.Fatalf("datagram %d: %v", i, err)
			}
		}
		// The async log may drop lines while the flood lasts; once niod has
		// read everything (the count in its log stops moving), one more
		// datagram is logged with the total.
		dropped := func() int {
			l, _ := lastLogWith(n, "dropped a notify message from outside the runtime")
			d, _ := l.int("dropped")
			return d
		}
		last, quiet := -1, time.Now()
		n.waitFor("niod to read the whole flood", func() bool {
			if d := dropped(); d != last {
				last, quiet = d, time.Now()
				return false
			}
			return last > 0 && time.Since(quiet) >= 500*time.Millisecond
		})
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		n.waitFor("the last datagram counted", func() bool { return dropped() > last })
		if got := dropped(); got != count+1 {
			t.Errorf("niod counted %d dropped messages; the test sent %d", got, count+1)
		}
		waitPings(t, n, sd, len(sd.pings())+3)
		check(t, n, sd, from)
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
	})
}
