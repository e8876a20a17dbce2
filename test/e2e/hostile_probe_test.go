package e2e

// Something other than the runtime answers on the runtime's port: a broken
// runtime, or any local user who bound the port while the runtime was down.
// niod's health probe must neither read without limit nor believe it.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hostileListener listens on 127.0.0.1:port and answers every connection
// with prefix followed by filler, written over and over until the peer
// goes away. It counts connections and the bytes the kernel took.
type hostileListener struct {
	conns, written atomic.Int64
}

func listenHostile(t *testing.T, port int, prefix string, filler []byte) *hostileListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("cannot listen on port %d: %v", port, err)
	}
	h := &hostileListener{}
	var closed atomic.Bool
	t.Cleanup(func() { closed.Store(true); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.conns.Add(1)
			go func() {
				defer c.Close()
				n, _ := c.Write([]byte(prefix))
				h.written.Add(int64(n))
				for !closed.Load() {
					c.SetWriteDeadline(time.Now().Add(5 * time.Second))
					n, err := c.Write(filler)
					h.written.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return h
}

// streamingRuntime is a runtime that listens on its [rest] port and
// answers every connection with prefix and then "A" for ever, never a
// newline: a broken runtime, inside niod's tree.
const streamingRuntime = `import socket, sys, threading
prefix = sys.argv[2].encode()
chunk = b"A" * 65536
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
print("listening", flush=True)
def serve(c):
    try:
        c.sendall(prefix)
        while True:
            c.sendall(chunk)
    except OSError:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`

// runHostileProbe runs niod with ready = probe on port, the runtime
// command, and checks for 5 seconds that niod stays small (VmRSS under 64
// MiB), probes, never calls the runtime ready and leaves it running; then
// TERM ends niod with 143. written, when set, counts what the other end
// wrote. It returns the reasons niod logged for its failed probes.
func runHostileProbe(t *testing.T, root string, port int, command string, written func() int64) []string {
	t.Helper()
	writeConf(t, root, conf{port: port, niod: "command = " + command + "\nready = probe\nhealth_interval = 200ms\nhealth_timeout = 150ms\nhealth_grace = 60s"})
	n := startNiod(t, startOpts{root: root, args: []string{"--log-level", "debug"}})
	rt := n.waitRuntime(1)

	// vmRSS (faults_test.go) is in bytes.
	const limit = 64 << 20
	var maxRSS int64
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if n.exited() {
			t.Fatalf("niod exited (%v) while probing a hostile port\n%s", n.state, n.dump())
		}
		rss, ok := vmRSS(n.pid)
		if !ok {
			t.Fatalf("cannot read niod's VmRSS\n%s", n.dump())
		}
		maxRSS = max(maxRSS, rss)
		if rss > limit {
			t.Fatalf("niod's VmRSS is %d MiB\n%s", rss>>20, n.dump())
		}
	}
	var reasons []string
	for _, l := range n.logsWith("health probe failed") {
		reasons = append(reasons, l.str("error"))
	}
	if written != nil {
		t.Logf("niod's VmRSS at most %d KiB; %d failed probes; the listener wrote %d bytes", maxRSS>>10, len(reasons), written())
	} else {
		t.Logf("niod's VmRSS at most %d KiB; %d failed probes", maxRSS>>10, len(reasons))
	}
	// Before readiness niod logs each distinct reason once; that the
	// probes went on is seen by the listeners (conns).
	if len(reasons) < 1 {
		t.Errorf("no failed probe logged in 5s\n%s", n.dump())
	}
	if got := n.logsWith("runtime ready"); len(got) > 0 {
		t.Errorf("niod called the runtime ready: %v\n%s", got, n.dump())
	}
	if pids := n.runtimePIDs(); len(pids) != 1 || !alive(rt) {
		t.Errorf("the runtime was restarted or killed: runtime pids %v, pid %d alive %v\n%s", pids, rt, alive(rt), n.dump())
	}
	for _, r := range reasons {
		if len(r) > 300 {
			t.Errorf("a probe error of %d bytes: %.300s...", len(r), r)
		}
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	return reasons
}

// hasReason fails the test unless one of reasons holds want.
func hasReason(t *testing.T, reasons []string, want string) {
	t.Helper()
	for _, r := range reasons {
		if strings.Contains(r, want) {
			t.Logf("probe error: %s", r)
			return
		}
	}
	t.Errorf("no probe failure says %q; first reasons: %q", want, reasons[:min(len(reasons), 3)])
}

// TestHostileProbeEndlessBytes: while the runtime (sleep) does not listen,
// the test itself takes the port and streams bytes without a newline to
// every probe. niod reads at most a status line of it, or, since the
// listener is outside the runtime's tree, none at all.
func TestHostileProbeEndlessBytes(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	h := listenHostile(t, port, "", []byte(strings.Repeat("A", 64<<10)))
	reasons := runHostileProbe(t, t.TempDir(), port, "sleep 1000", h.written.Load)
	if h.conns.Load() < 3 {
		t.Errorf("%d probes reached the listener in 5s", h.conns.Load())
	}
	if len(reasons) > 0 && !strings.Contains(reasons[0], "not an HTTP answer") && !strings.Contains(reasons[0], "held by pid") {
		t.Errorf("unexpected probe error: %s", reasons[0])
	}
}

// TestHostileProbeForeignListener: a listener outside the runtime's tree
// (the test itself) answers every probe with a valid 200 and then streams a
// body. The answer comes from another process than the runtime, so it does
// not count.
func TestHostileProbeForeignListener(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	h := listenHostile(t, port, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", []byte(strings.Repeat("A", 64<<10)))
	reasons := runHostileProbe(t, t.TempDir(), port, "sleep 1000", h.written.Load)
	hasReason(t, reasons, fmt.Sprintf("is held by pid %d", os.Getpid()))
	if h.conns.Load() < 3 {
		t.Errorf("%d probes reached the listener in 5s", h.conns.Load())
	}
}

// TestHostileProbeRuntimeStreams: the runtime itself listens and streams a
// status line that never ends. It is the runtime's socket, so the answer is
// read, but no further than the cap on a status line.
func TestHostileProbeRuntimeStreams(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "stream.py"), streamingRuntime, 0o644)
	port := freePort(t)
	command := shellQuote(pythonPath(t)) + " " + shellQuote(filepath.Join(root, "stream.py")) + " " + strconv.Itoa(port) + " " + shellQuote("HTTP/1.1 200 ")
	reasons := runHostileProbe(t, root, port, command, nil)
	hasReason(t, reasons, "status line longer than 512 bytes")
}
