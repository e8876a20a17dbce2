package e2e

// niod status, restart, reload, stop, start, signal and wait against a
// running niod: real sockets, processes and users.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ctl runs a control command against n's project, in n's environment
// (where its control socket is).
func (n *niodProc) ctl(args ...string) (stdout, stderr string, code int) {
	n.t.Helper()
	return runNiod(n.t, runOpts{Env: map[string]string{"XDG_RUNTIME_DIR": n.env["XDG_RUNTIME_DIR"]}},
		append(args, "-r", n.root)...)
}

// status is niod status --json.
type statusJSON struct {
	NiodPID int    `json:"niod_pid"`
	State   string `json:"state"`
	Text    string `json:"text"`
	Live    bool   `json:"live"`
	Ready   bool   `json:"ready"`
	ReadyBy string `json:"ready_by"`
	Runtime *struct {
		PID int `json:"pid"`
	} `json:"runtime"`
	BackoffUntil *time.Time `json:"backoff_until"`
	Restarts     int        `json:"restarts"`
	Failures     int        `json:"failures"`
	LastExit     *struct {
		Exit string `json:"exit"`
	} `json:"last_exit"`
	Settings []struct {
		Path    string `json:"path"`
		Changed bool   `json:"changed"`
	} `json:"settings"`
	Reload struct {
		Outcome string `json:"outcome"`
	} `json:"reload"`
}

func (n *niodProc) status() statusJSON {
	n.t.Helper()
	out, stderr, code := n.ctl("status", "--json")
	if code != 0 {
		n.t.Fatalf("niod status: exit %d\n%s\n%s", code, stderr, n.dump())
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		n.t.Fatalf("niod status --json: %v\n%s", err, out)
	}
	return st
}

// waitStatus asks until cond holds; until niod's socket is there too.
func (n *niodProc) waitStatus(what string, cond func(statusJSON) bool) statusJSON {
	n.t.Helper()
	var st statusJSON
	n.waitFor(what, func() bool {
		out, _, code := n.ctl("status", "--json")
		st = statusJSON{}
		return code == 0 && json.Unmarshal([]byte(out), &st) == nil && cond(st)
	})
	return st
}

func TestControlCommands(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	conf := "[niod]\ncommand = sh -c 'trap \"echo got USR1\" USR1; while :; do sleep 0.05; done'\nrestart_delay = 10ms\n[s]\nk = v\n"
	mustWrite(t, filepath.Join(root, "nio.conf"), conf, 0o600)
	n := startNiod(t, startOpts{root: root})
	first := n.waitRuntime(1)

	st := n.waitStatus("ready", func(s statusJSON) bool { return s.Ready })
	if st.NiodPID != n.pid || st.State != "ready" || st.Runtime == nil || st.Runtime.PID != first || st.ReadyBy != "exec" || !st.Live ||
		len(st.Settings) != 1 || st.Settings[0].Path != filepath.Join(root, "nio.conf") || st.Settings[0].Changed {
		t.Errorf("status %+v", st)
	}
	out, _, code := n.ctl("status")
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("niod %d (", n.pid)) || !strings.Contains(out, fmt.Sprintf("runtime   pid %d, up ", first)) {
		t.Errorf("niod status: exit %d\n%s", code, out)
	}
	for flag, want := range map[string]int{"--ready": 0, "--live": 0} {
		if out, _, code := n.ctl("status", flag); code != want || out != "" {
			t.Errorf("status %s: exit %d %q, want %d and nothing", flag, code, out, want)
		}
	}

	// signal: to the runtime's group, not a stop of niod.
	if _, stderr, code := n.ctl("signal", "USR1"); code != 0 {
		t.Fatalf("niod signal USR1: exit %d %s", code, stderr)
	}
	n.waitStdout("got USR1", 1)
	if _, stderr, code := n.ctl("signal", "NOPE"); code != 64 || stderr != "niod signal: unknown signal \"NOPE\" (give a name such as TERM, HUP or USR1)\n" {
		t.Errorf("niod signal NOPE: exit %d %q", code, stderr)
	}

	// stop: the tree goes, niod stays; --ready says 1, --live 0.
	if out, _, code := n.ctl("stop"); code != 0 || !strings.Contains(out, "on request") {
		t.Errorf("niod stop: exit %d %q", code, out)
	}
	n.waitStatus("stopped", func(s statusJSON) bool { return s.State == "stopped" })
	if alive(first) || n.exited() {
		t.Errorf("after stop: runtime alive %v, niod exited %v", alive(first), n.exited())
	}
	if _, _, code := n.ctl("status", "--ready"); code != 1 {
		t.Errorf("status --ready while stopped: exit %d, want 1", code)
	}
	if _, _, code := n.ctl("status", "--live"); code != 0 {
		t.Errorf("status --live while stopped: exit %d, want 0", code)
	}

	// start, then wait --ready.
	if _, stderr, code := n.ctl("start"); code != 0 {
		t.Fatalf("niod start: exit %d %s", code, stderr)
	}
	if _, stderr, code := n.ctl("wait", "--ready", "--timeout", "20s"); code != 0 {
		t.Fatalf("niod wait --ready: exit %d %s", code, stderr)
	}
	second := n.status().Runtime.PID

	// restart: a new runtime at once.
	if _, stderr, code := n.ctl("restart"); code != 0 {
		t.Fatalf("niod restart: exit %d %s", code, stderr)
	}
	st = n.waitStatus("a new runtime", func(s statusJSON) bool { return s.Ready && s.Runtime != nil && s.Runtime.PID != second })
	if alive(second) || st.Failures != 0 {
		t.Errorf("after restart: old runtime alive %v, failures %d", alive(second), st.Failures)
	}

	// reload: the outcome, as the answer.
	if out, stderr, code := n.ctl("reload"); code != 0 || out != "settings unchanged\n" {
		t.Errorf("niod reload: exit %d %q %q", code, out, stderr)
	}
	mustWrite(t, filepath.Join(root, "nio.conf"), conf+"bad line\n", 0o600)
	if st := n.status(); !st.Settings[0].Changed {
		t.Errorf("a changed nio.conf is not reported changed: %+v", st.Settings)
	}
	_, stderr, code := n.ctl("reload")
	if want := "niod reload: settings not reloaded (failed); the runtime keeps running with the old ones:\nnio.conf:6: "; code != 78 || !strings.HasPrefix(stderr, want) {
		t.Errorf("niod reload of bad settings: exit %d %q, want 78 and %q", code, stderr, want)
	}
	mustWrite(t, filepath.Join(root, "nio.conf"), conf+"k2 = w\n", 0o600)
	if out, stderr, code := n.ctl("reload"); code != 0 || out != "settings reloaded; the runtime was restarted with them and is ready\n" {
		t.Errorf("niod reload of new settings: exit %d %q %q", code, out, stderr)
	}

	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	// Gone with niod: nothing listens, and the message says where it looked.
	_, stderr, code = n.ctl("status")
	if code != 69 || !strings.HasPrefix(stderr, "niod status: no niod runs the project "+root+": looked for its control socket at "+n.env["XDG_RUNTIME_DIR"]+"/niod/") {
		t.Errorf("status after niod exited: exit %d %q", code, stderr)
	}
	// wait --ready says so too: its --ready is what it waits for, not a
	// quiet answer as status's is.
	if _, stderr, code = n.ctl("wait", "--ready"); code != 69 || !strings.HasPrefix(stderr, "niod wait: no niod runs the project ") {
		t.Errorf("wait after niod exited: exit %d %q", code, stderr)
	}
	if out, stderr, code := n.ctl("status", "--ready"); code != 1 || out != "" || stderr != "" {
		t.Errorf("status --ready after niod exited: exit %d %q %q, want 1 and nothing", code, out, stderr)
	}
	if left := leftIn(t, n.env["XDG_RUNTIME_DIR"]); len(left) != 0 {
		t.Errorf("left in XDG_RUNTIME_DIR: %v", left)
	}
}

func TestControlBackingOff(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sh -c 'exit 3'\nrestart_delay = 1h\nrestart_max_delay = 1h\nrestart_limit = 0\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	st := n.waitStatus("backing off", func(s statusJSON) bool { return s.State == "backing-off" })
	if st.BackoffUntil == nil || st.Failures != 2 || st.LastExit == nil || st.LastExit.Exit != "exit code 3" || st.Ready {
		t.Errorf("status %+v", st)
	}
	out, _, _ := n.ctl("status")
	if !strings.Contains(out, "backoff   next start at ") {
		t.Errorf("niod status does not say when the next start is:\n%s", out)
	}
	// restart: now, the back-off forgotten.
	n.ctl("restart")
	n.waitLog("runtime started", 3)
}

// Ten clients at once, a silent one and one that sends garbage, while
// the runtime crashes and is restarted: every answer comes, and the loop
// keeps restarting on time.
func TestControlManyAndHostileClients(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sh -c 'sleep 0.2; exit 1'\nrestart_delay = 10ms\nrestart_max_delay = 10ms\nrestart_limit = 0\n[s]\nk = v\n", 0o600)
	sd := listenNotify(t)
	n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, map[string]string{"WATCHDOG_USEC": "400000"})})
	n.waitRuntime(1)
	sock := filepath.Join(n.env["XDG_RUNTIME_DIR"], "niod")
	var path string
	filepath.Walk(sock, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode()&os.ModeSocket != 0 && filepath.Base(p) == "control.sock" {
			path = p
		}
		return nil
	})
	if path == "" {
		t.Fatalf("no control socket under %s", sock)
	}
	silent, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	garbage, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	go func() {
		junk := make([]byte, 64<<10)
		for i := range junk {
			junk[i] = 'x'
		}
		for range 1600 { // 100 MiB, or until niod closes it
			if _, err := garbage.Write(junk); err != nil {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan string, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, stderr, code := n.ctl("status", "--json"); code != 0 {
				errs <- stderr
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a client of ten: %s", e)
	}
	// The runtime lives 0.2 s: restarts and watchdog pings keep coming
	// while both hostile clients hang on.
	before, pings := len(n.logsWith("runtime started")), sd.count("WATCHDOG=1")
	n.waitLog("runtime started", before+3)
	sd.wait(t, n, "WATCHDOG=1", pings+3)
}

// --ready follows the runtime: 0 while it answers, 1 while it hangs past
// health_grace (restart = never leaves it so), 0 again once it answers.
func TestControlReadyFollowsHealth(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeConf(t, root, conf{port: freePort(t), test: "workers = 0",
		niod: "ready = probe\nrestart = never\nhealth_interval = 200ms\nhealth_timeout = 150ms\nhealth_grace = 600ms"})
	n := startNiod(t, startOpts{root: root})
	pid := n.waitRuntime(1)
	ready := func(want int) {
		t.Helper()
		n.waitFor(fmt.Sprintf("status --ready to exit %d", want), func() bool { _, _, code := n.ctl("status", "--ready"); return code == want })
	}
	ready(0)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	ready(1)
	if st := n.status(); st.State != "unhealthy" || !st.Live {
		t.Errorf("a hanging runtime: %+v", st)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	ready(0)
}

func TestControlSecondNiodAndStaleSocket(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 1000\n[s]\nk = v\n", 0o600)
	xdg := t.TempDir()
	env := map[string]string{"XDG_RUNTIME_DIR": xdg}
	n := startNiod(t, startOpts{root: root, env: env})
	n.waitRuntime(1)
	n.status()
	// A second niod on the project refuses, naming the first.
	second := startNiod(t, startOpts{root: root, env: env})
	second.expectExit(69, waitLong)
	if l := second.logsWith("niod starts"); len(l) != 1 || !strings.Contains(second.dump(), "another niod (pid "+strconv.Itoa(n.pid)+") runs the project "+root+": its control socket is "+xdg+"/niod/") {
		t.Errorf("the second niod does not say who holds the project:\n%s", second.dump())
	}
	// SIGKILLed, niod leaves its socket: the next one replaces it.
	n.signal(syscall.SIGKILL)
	n.waitExit(waitLong)
	third := startNiod(t, startOpts{root: root, env: env})
	third.waitRuntime(1)
	if st := third.status(); st.NiodPID != third.pid {
		t.Errorf("status answered by pid %d, want the new niod %d", st.NiodPID, third.pid)
	}
}

// A user who is neither root, niod's user nor in control_group gets no
// answer but a refusal.
func TestControlOtherUserRefused(t *testing.T) {
	t.Parallel()
	owner := makeAccount(t, 0)
	other := makeAccount(t, 0)
	root := publicRoot(t, "[niod]\ncommand = sleep 1000\n[s]\nk = v\n")
	n := startNiod(t, startOpts{root: root, args: []string{"--user", owner.name}, env: map[string]string{"XDG_RUNTIME_DIR": publicDir(t, "niod-e2e-run-")}})
	n.waitRuntime(1)
	if st := n.status(); !st.Ready {
		t.Errorf("root is refused: %+v", st)
	}
	for _, c := range []struct {
		acct testAccount
		code int
	}{{owner, 0}, {other, 77}} {
		uid := uint32(c.acct.uid)
		_, stderr, code := runNiod(t, runOpts{Dir: root, UID: &uid, Env: map[string]string{"XDG_RUNTIME_DIR": n.env["XDG_RUNTIME_DIR"], "HOME": "/"}},
			"status", "-r", root)
		if code != c.code {
			t.Errorf("niod status as %s: exit %d, want %d\n%s", c.acct.name, code, c.code, stderr)
		}
	}
}

// While the runtime's tree takes its time to stop (it ignores TERM), each
// command says what it does to the stop under way.
func TestControlWhileStopping(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sh -c 'trap \"\" TERM; while :; do sleep 0.05; done'\nstop_timeout = 1min\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	first := n.waitRuntime(1)
	n.waitStatus("ready", func(s statusJSON) bool { return s.Ready })
	n.ctl("stop")
	st := n.status()
	if st.State != "stopping-to-idle" || st.Ready || !st.Live || st.Runtime == nil || st.Runtime.PID != first {
		t.Errorf("stopping on request: %+v", st)
	}
	if _, _, code := n.ctl("status", "--ready"); code != 1 {
		t.Errorf("status --ready while stopping: exit %d, want 1", code)
	}
	// start: the stop goes on, then the runtime starts again.
	n.ctl("start")
	if st := n.status(); st.State != "stopping-to-restart" {
		t.Errorf("start while stopping: %+v", st)
	}
	// The tree ignores TERM: a KILL to its group ends the stop at once.
	if _, stderr, code := n.ctl("signal", "KILL"); code != 0 {
		t.Fatalf("niod signal KILL: exit %d %s", code, stderr)
	}
	st = n.waitStatus("a new runtime", func(s statusJSON) bool { return s.Ready && s.Runtime != nil && s.Runtime.PID != first })
	if st.LastExit == nil || st.LastExit.Exit != "killed by SIGKILL" {
		t.Errorf("after the KILL: %+v", st.LastExit)
	}
	// TERM to niod: stopping-to-exit is not live.
	n.ctl("stop")
	n.signal(syscall.SIGTERM)
	n.waitFor("niod to say it is ending", func() bool { _, _, code := n.ctl("status", "--live"); return code == 1 })
	n.ctl("signal", "KILL")
	n.expectExit(143, waitLong)
}
