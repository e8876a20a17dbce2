package notifysock

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helper process: re-executed test binary that sends one datagram, as
// a runtime or a systemd-notify style helper would.
const (
	envPath = "NOTIFYSOCK_TEST_PATH" // socket to send to
	envMsg  = "NOTIFYSOCK_TEST_MSG"  // what to send
	envWait = "NOTIFYSOCK_TEST_WAIT" // stay alive until stdin is closed
)

// TestMain runs the test binary as the helper process when asked to: a
// helper that is a test of its own would show as skipped in every run.
func TestMain(m *testing.M) {
	path := os.Getenv(envPath)
	if path == "" {
		os.Exit(m.Run())
	}
	if err := send(path, os.Getenv(envMsg)); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	if os.Getenv(envWait) != "" {
		io.Copy(io.Discard, os.Stdin)
	}
	os.Exit(0)
}

func helper(path, msg string, wait bool) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envPath+"="+path, envMsg+"="+msg)
	if wait {
		cmd.Env = append(cmd.Env, envWait+"=1")
	}
	cmd.Stderr = os.Stderr
	return cmd
}

func send(path, msg string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(msg))
	return err
}

func listen(t *testing.T) *Socket {
	t.Helper()
	s, err := Listen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func receive(t *testing.T, out <-chan Message) Message {
	t.Helper()
	select {
	case m := <-out:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
		return Message{}
	}
}

func TestReceivesWithSenderPID(t *testing.T) {
	s := listen(t)
	st, _ := os.Stat(s.dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v", st.Mode())
	}
	out := make(chan Message, 4)
	served := make(chan struct{})
	go func() { s.Serve(out); close(served) }()
	if err := send(s.Path, "READY=1\nSTATUS=up"); err != nil {
		t.Fatal(err)
	}
	m := receive(t, out)
	if m.PID != os.Getpid() || m.UID != os.Getuid() || m.Gone || m.Truncated || m.Err != nil ||
		m.Fields["READY"] != "1" || m.Fields["STATUS"] != "up" {
		t.Errorf("got %+v", m)
	}
	if len(m.Ancestors) == 0 || m.Ancestors[0] != os.Getppid() {
		t.Errorf("own message: ancestors %v, want %d first", m.Ancestors, os.Getppid())
	}
	s.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return on Close")
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("directory left: %v", err)
	}
}

// A living child's message carries this process in its ancestry.
func TestLivingChildHasAncestors(t *testing.T) {
	s := listen(t)
	out := make(chan Message, 4)
	go s.Serve(out)
	cmd := helper(s.Path, "WATCHDOG=1", true)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	m := receive(t, out)
	if m.PID != cmd.Process.Pid || m.UID != os.Getuid() || m.Gone || m.Fields["WATCHDOG"] != "1" {
		t.Errorf("got %+v, want pid %d", m, cmd.Process.Pid)
	}
	if len(m.Ancestors) == 0 || m.Ancestors[0] != os.Getpid() {
		t.Errorf("ancestors %v, want %d first", m.Ancestors, os.Getpid())
	}
	if !m.From(os.Getpid(), -1) {
		t.Error("not recognised as from this process's tree")
	}
	if m.From(os.Getpid()+1_000_000, os.Getuid()) {
		t.Error("a living sender outside the tree was accepted on its uid")
	}
}

// A helper that sent READY=1 and was reaped before the reader got to the
// message: its pid is gone from /proc, yet the message still counts as the
// runtime's by uid.
func TestReapedSenderIsGone(t *testing.T) {
	s := listen(t)
	cmd := helper(s.Path, "READY=1", false)
	if err := cmd.Run(); err != nil { // waits, so the helper is reaped
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(cmd.Process.Pid)); !os.IsNotExist(err) {
		t.Fatalf("helper %d still in /proc: %v", cmd.Process.Pid, err)
	}
	out := make(chan Message, 4)
	go s.Serve(out)
	m := receive(t, out)
	if m.PID != cmd.Process.Pid || !m.Gone || len(m.Ancestors) != 0 || m.UID != os.Getuid() || m.Fields["READY"] != "1" {
		t.Fatalf("got %+v, want pid %d gone", m, cmd.Process.Pid)
	}
	if !m.From(os.Getpid(), os.Getuid()) {
		t.Error("reaped helper of the runtime's uid not recognised")
	}
	if m.From(os.Getpid(), os.Getuid()+1) {
		t.Error("reaped sender of another uid accepted")
	}
}

func TestTruncated(t *testing.T) {
	s := listen(t)
	out := make(chan Message, 4)
	go s.Serve(out)
	long := "READY=1\nSTATUS=" + strings.Repeat("x", MaxMessage)
	if err := send(s.Path, long); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, out); !m.Truncated || m.Fields != nil || m.PID != os.Getpid() {
		t.Errorf("long datagram: %+v", m)
	}
	// Exactly the buffer: whole.
	full := "READY=1\nSTATUS=" + strings.Repeat("y", MaxMessage-len("READY=1\nSTATUS="))
	if err := send(s.Path, full); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, out); m.Truncated || m.Fields["READY"] != "1" || len(m.Fields["STATUS"]) != MaxMessage-len("READY=1\nSTATUS=") {
		t.Errorf("datagram of MaxMessage bytes: truncated %v, fields %d", m.Truncated, len(m.Fields))
	}
}

// Close must unblock a Serve that waits for someone to take a message.
func TestCloseUnblocksServe(t *testing.T) {
	s := listen(t)
	out := make(chan Message) // nobody reads
	served := make(chan struct{})
	go func() { s.Serve(out); close(served) }()
	if err := send(s.Path, "READY=1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still blocked after Close")
	}
}

// fakeConn replays scripted reads; past the script it fails with errNext
// (or, when errNext is nil, blocks until closed).
type fakeConn struct {
	mu      sync.Mutex
	script  []fakeRead
	errNext error
	reads   int
	closed  chan struct{}
}

type fakeRead struct {
	data string
	err  error
}

func newFake(errNext error, script ...fakeRead) *fakeConn {
	return &fakeConn{script: script, errNext: errNext, closed: make(chan struct{})}
}

func (f *fakeConn) ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	f.mu.Lock()
	f.reads++
	var r fakeRead
	scripted := len(f.script) > 0
	if scripted {
		r, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	select {
	case <-f.closed:
		return 0, 0, 0, nil, net.ErrClosed
	default:
	}
	if !scripted {
		if f.errNext != nil {
			return 0, 0, 0, nil, f.errNext
		}
		<-f.closed
		return 0, 0, 0, nil, net.ErrClosed
	}
	if r.err != nil {
		return 0, 0, 0, nil, r.err
	}
	return copy(b, r.data), 0, 0, nil, nil
}

func (f *fakeConn) Close() error { close(f.closed); return nil }

func (f *fakeConn) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

var errRead = &net.OpError{Op: "read", Net: "unixgram", Err: syscall.ENOBUFS}

func TestServeSurvivesReadErrors(t *testing.T) {
	f := newFake(nil, fakeRead{err: errRead}, fakeRead{err: errRead}, fakeRead{err: errRead}, fakeRead{data: "READY=1"})
	s := newSocket("", "", f)
	out := make(chan Message, 8)
	served := make(chan struct{})
	go func() { s.Serve(out); close(served) }()
	for i := 0; i < 3; i++ {
		if m := receive(t, out); !errors.Is(m.Err, syscall.ENOBUFS) || m.Fields != nil || m.PID != 0 || m.From(1, -1) {
			t.Fatalf("report %d: %+v", i, m)
		}
	}
	m := receive(t, out)
	if m.Err != nil || m.Fields["READY"] != "1" || m.PID != 0 || m.UID != -1 || m.From(1, -1) {
		t.Errorf("message after the errors: %+v", m)
	}
	s.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return on Close")
	}
	select {
	case m := <-out:
		t.Errorf("closing reported %+v", m)
	default:
	}
}

func TestServeBacksOff(t *testing.T) {
	f := newFake(errRead)
	s := newSocket("", "", f)
	out := make(chan Message, 1000)
	var pauses []time.Duration
	s.pause = func(d time.Duration) bool {
		pauses = append(pauses, d)
		if len(pauses) == 10 {
			s.Close()
			return false
		}
		return true
	}
	served := make(chan struct{})
	go func() { s.Serve(out); close(served) }()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return on Close")
	}
	want := []time.Duration{10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(pauses, want) {
		t.Errorf("pauses between errors %v, want %v", pauses, want)
	}
	if len(out) != f.count() {
		t.Errorf("%d errors reported for %d failed reads", len(out), f.count())
	}
}

// A Close while Serve pauses after an error ends Serve.
func TestCloseDuringPause(t *testing.T) {
	f := newFake(errRead)
	s := newSocket("", "", f)
	out := make(chan Message, 1000)
	served := make(chan struct{})
	go func() { s.Serve(out); close(served) }()
	<-out // the first error: Serve pauses now
	s.Close()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return on Close")
	}
}

func TestFrom(t *testing.T) {
	const rt, uid = 100, 998
	for _, c := range []struct {
		name string
		m    Message
		want bool
	}{
		{"runtime itself", Message{PID: rt, UID: uid, Ancestors: []int{1}}, true},
		{"child", Message{PID: 200, UID: uid, Ancestors: []int{rt, 1}}, true},
		{"grandchild of another uid", Message{PID: 300, UID: 0, Ancestors: []int{200, rt, 1}}, true},
		{"outsider", Message{PID: 400, UID: uid, Ancestors: []int{50, 1}}, false},
		{"outsider without ancestry", Message{PID: 400, UID: uid}, false},
		{"gone, same uid", Message{PID: 500, UID: uid, Gone: true}, true},
		{"gone, other uid", Message{PID: 500, UID: 0, Gone: true}, false},
		{"gone, no uid", Message{PID: 500, UID: -1, Gone: true}, false},
		{"no credentials", Message{PID: 0, UID: uid, Gone: true}, false},
		{"read error", Message{PID: rt, UID: uid, Err: errRead}, false},
		{"truncated from the runtime", Message{PID: rt, UID: uid, Truncated: true}, true},
	} {
		if got := c.m.From(rt, uid); got != c.want {
			t.Errorf("%s: From = %v, want %v", c.name, got, c.want)
		}
	}
	if (Message{PID: 5, UID: -1, Gone: true}).From(0, -1) {
		t.Error("accepted with no runtime")
	}
}

func TestParse(t *testing.T) {
	got := Parse("READY=1\nSTATUS=a=b\n\nnoeq\n=x\nWATCHDOG=1")
	want := map[string]string{"READY": "1", "STATUS": "a=b", "WATCHDOG": "1"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
