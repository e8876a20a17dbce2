package e2e

import (
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sdSocket plays systemd's side of the notify protocol: a datagram socket
// that records what niod sends.
type sdSocket struct {
	path string
	mu   sync.Mutex
	msgs []string
}

// listenDatagram listens on a datagram socket in a temporary directory,
// closed when the test ends.
func listenDatagram(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return path, conn
}

func listenNotify(t *testing.T) *sdSocket {
	t.Helper()
	s := &sdSocket{}
	var conn *net.UnixConn
	s.path, conn = listenDatagram(t)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sdSocket) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// index returns the position of the count-th message starting with prefix,
// or -1.
func (s *sdSocket) index(prefix string, count int) int {
	for i, m := range s.all() {
		if strings.HasPrefix(m, prefix) {
			count--
			if count == 0 {
				return i
			}
		}
	}
	return -1
}

func (s *sdSocket) count(prefix string) int {
	n := 0
	for _, m := range s.all() {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func (s *sdSocket) wait(t *testing.T, n *niodProc, prefix string, count int) int {
	t.Helper()
	var i int
	n.waitForFn(func() string {
		return "notify message " + prefix + " #" + strconv.Itoa(count) + " in " + strings.Join(s.all(), " | ")
	},
		func() bool { i = s.index(prefix, count); return i >= 0 })
	return i
}

func notifyEnv(s *sdSocket, extra map[string]string) map[string]string {
	env := map[string]string{"NOTIFY_SOCKET": s.path}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func TestNotifyStartAndStop(t *testing.T) {
	t.Parallel()
	sd := listenNotify(t)
	root := t.TempDir()
	writeConf(t, root, conf{test: "workers = 1", niod: "ready = exec"})
	n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, nil)})
	ready := sd.wait(t, n, "READY=1", 1)
	if st := sd.index("STATUS=running pid", 1); st < 0 || st > ready {
		t.Errorf("no STATUS=running before READY=1: %q", sd.all())
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	stopping := sd.index("STOPPING=1", 1)
	if stopping < ready || sd.count("STOPPING=1") != 1 {
		t.Errorf("want one STOPPING=1 after READY=1: %q", sd.all())
	}
	if i := sd.index("EXTEND_TIMEOUT_USEC=", 1); i < stopping {
		t.Errorf("no EXTEND_TIMEOUT_USEC after STOPPING=1: %q", sd.all())
	}
}

func TestNotifyReadyWaitsForTheRuntime(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"notify", "probe"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			sd := listenNotify(t)
			root := t.TempDir()
			port := freePort(t)
			writeConf(t, root, conf{port: port, test: "ready_delay = 1.5\nworkers = 1", niod: "ready = " + mode + "\nhealth_interval = 200ms\nhealth_timeout = 150ms"})
			n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, nil)})
			sd.wait(t, n, "READY=1", 1)
			// By the time niod says ready, the runtime is.
			if len(n.stdoutLines("ready")) == 0 {
				t.Errorf("READY=1 before the runtime was ready\n%s", n.dump())
			}
			if code, _, err := newAPI(port).get("/nio"); err != nil || code != 200 {
				t.Errorf("API after READY=1: %d %v", code, err)
			}
			n.signal(syscall.SIGTERM)
			n.expectExit(143, waitLong)
		})
	}
}

func TestNotifyReload(t *testing.T) {
	t.Parallel()
	sd := listenNotify(t)
	root := t.TempDir()
	c := conf{instance: "one", test: "workers = 1"}
	writeConf(t, root, c)
	n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, nil)})
	first := n.waitRuntime(1)
	sd.wait(t, n, "READY=1", 1)

	c.instance = "two"
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	rel := sd.wait(t, n, "RELOADING=1", 1)
	if !strings.Contains(sd.all()[rel], "\nMONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", sd.all()[rel])
	}
	if ready := sd.wait(t, n, "READY=1", 2); ready < rel {
		t.Errorf("READY=1 does not follow RELOADING=1: %q", sd.all())
	}
	second := n.waitRuntime(2)

	mustWrite(t, filepath.Join(root, "nio.conf"), "[broken\n", 0o600)
	n.signal(syscall.SIGHUP)
	rel2 := sd.wait(t, n, "RELOADING=1", 2)
	n.waitForFn(func() string { return "READY=1 after the failed reload in " + strings.Join(sd.all(), " | ") },
		func() bool { return sd.index("READY=1", sd.count("READY=1")) > rel2 })
	if pids := n.runtimePIDs(); len(pids) != 2 || pids[0] != first || pids[1] != second || !alive(second) {
		t.Errorf("runtime pids %v; want %d then %d still running", pids, first, second)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

func TestNotifyCrashRestartStatus(t *testing.T) {
	t.Parallel()
	sd := listenNotify(t)
	root := t.TempDir()
	writeConf(t, root, conf{test: "crash_after = 0.3\nworkers = 0", niod: "restart_delay = 100ms\nrestart_limit = 0"})
	n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, nil)})
	i := sd.wait(t, n, "STATUS=restarting at", 1)
	if !strings.Contains(sd.all()[i], "after exit code 3") {
		t.Errorf("status %q lacks the exit code", sd.all()[i])
	}
	sd.wait(t, n, "READY=1", 2)
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

func TestNotifyWatchdog(t *testing.T) {
	t.Parallel()
	t.Run("pings while healthy", func(t *testing.T) {
		t.Parallel()
		sd := listenNotify(t)
		root := t.TempDir()
		writeConf(t, root, conf{test: "workers = 0"})
		n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, map[string]string{"WATCHDOG_USEC": "400000"})})
		sd.wait(t, n, "WATCHDOG=1", 3)
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
	})
	t.Run("WATCHDOG_PID of another process", func(t *testing.T) {
		t.Parallel()
		sd := listenNotify(t)
		root := t.TempDir()
		writeConf(t, root, conf{test: "workers = 0"})
		n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, map[string]string{"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})})
		n.waitLog("watchdog off: WATCHDOG_PID=1 is not niod's pid "+strconv.Itoa(n.pid), 1)
		sd.wait(t, n, "READY=1", 1)
		time.Sleep(600 * time.Millisecond) // three intervals
		if c := sd.count("WATCHDOG=1"); c != 0 {
			t.Errorf("%d pings though WATCHDOG_PID is not niod", c)
		}
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
	})
	t.Run("no ping while unhealthy", func(t *testing.T) {
		t.Parallel()
		sd := listenNotify(t)
		root := t.TempDir()
		port := freePort(t)
		// restart = never: niod does not recover the runtime, so the
		// service manager's watchdog must see it.
		writeConf(t, root, conf{port: port, test: "hang_after = 1\nworkers = 0\nwatchdog_interval = 0.2",
			niod: "restart = never\nhealth_interval = 200ms\nhealth_timeout = 150ms\nhealth_grace = 1s"})
		n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, map[string]string{"WATCHDOG_USEC": "400000"})})
		sd.wait(t, n, "WATCHDOG=1", 2)
		n.waitLog("runtime unhealthy; restart = never, so niod stops pinging the watchdog", 1)
		before := sd.count("WATCHDOG=1")
		time.Sleep(800 * time.Millisecond) // four ping intervals
		if after := sd.count("WATCHDOG=1"); after > before+1 {
			// One ping may have been on its way when the log line was read.
			t.Errorf("%d pings while the runtime was unhealthy", after-before)
		}
		n.signal(syscall.SIGKILL)
		n.waitExit(waitLong)
	})
}

func TestNotifySpoofedMessagesIgnored(t *testing.T) {
	t.Parallel()
	sd := listenNotify(t)
	root := t.TempDir()
	writeConf(t, root, conf{test: "ready_delay = 2\nworkers = 0", niod: "ready = notify"})
	n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, nil), args: []string{"--log-level", "debug"}})
	pid := n.waitRuntime(1)
	sock := ""
	for _, kv := range environ(pid) {
		if v, ok := strings.CutPrefix(kv, "NOTIFY_SOCKET="); ok {
			sock = v
		}
	}
	if sock == "" || sock == sd.path {
		t.Fatalf("the runtime's NOTIFY_SOCKET is %q, want niod's own", sock)
	}
	// An unrelated process (a child of the test, not of the runtime)
	// claims the runtime is ready.
	spoof := exec.Command(pythonPath(t), "-c", `import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"READY=1\nWATCHDOG=1", sys.argv[1])`, sock)
	if out, err := spoof.CombinedOutput(); err != nil {
		t.Fatalf("spoof: %v %s", err, out)
	}
	n.waitLog("dropped a notify message from outside the runtime", 1)
	sd.wait(t, n, "READY=1", 1)
	if len(n.stdoutLines("ready")) == 0 {
		t.Errorf("READY=1 before the runtime was ready: the spoofed message counted\n%s", n.dump())
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// alive reports whether pid is a living process.
func alive(pid int) bool {
	info, ok := readProc(pid)
	return ok && info.state != 'Z'
}
