package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen makes a datagram socket and points NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no message: %v", err)
	}
	return string(buf[:n])
}

func TestMessages(t *testing.T) {
	c := listen(t)
	n := New()
	n.Ready()
	if got := recv(t, c); got != "READY=1" {
		t.Errorf("got %q", got)
	}
	n.Reloading()
	got := recv(t, c)
	if !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("got %q", got)
	}
	n.Status("running pid 7")
	n.Status("running pid 7") // not repeated
	n.Stopping()
	n.Stopping() // once
	n.ExtendTimeout(3 * time.Second)
	n.Errno(69)
	n.Watchdog()
	want := []string{"STATUS=running pid 7", "STOPPING=1", "EXTEND_TIMEOUT_USEC=3000000", "ERRNO=69", "WATCHDOG=1"}
	for _, w := range want {
		if got := recv(t, c); got != w {
			t.Errorf("got %q, want %q", got, w)
		}
	}
	// NOTIFY_SOCKET stays set: later messages still reach systemd.
	if os.Getenv("NOTIFY_SOCKET") == "" {
		t.Error("NOTIFY_SOCKET was unset")
	}
}

func TestDisabledOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := New()
	sent := 0
	n.Sent = func(string) { sent++ }
	n.Ready()
	n.Stopping()
	if sent != 0 {
		t.Errorf("%d messages sent without NOTIFY_SOCKET", sent)
	}
}

func TestWatchdogInterval(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "")
	if d, why := WatchdogInterval(); d != 0 || !strings.Contains(why, "WATCHDOG_USEC") {
		t.Errorf("unset: %v %q", d, why)
	}
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if d, why := WatchdogInterval(); d != 2*time.Second || why != "" {
		t.Errorf("own pid: %v %q", d, why)
	}
	t.Setenv("WATCHDOG_PID", "1")
	if d, why := WatchdogInterval(); d != 0 || !strings.Contains(why, "WATCHDOG_PID") {
		t.Errorf("other pid: %v %q", d, why)
	}
	t.Setenv("WATCHDOG_PID", "")
	t.Setenv("WATCHDOG_USEC", "bogus")
	if d, why := WatchdogInterval(); d != 0 || why == "" {
		t.Errorf("bogus: %v %q", d, why)
	}
}
