package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"niod/internal/securefile"
)

// guard bounds every read in these tests so that a bug fails a test
// instead of hanging it; it is no timing assertion.
const guard = time.Minute

func opts(dir string) ListenOptions {
	return ListenOptions{Dir: dir, Root: "/srv/project", Owner: -1, Group: -1, ControlGroup: -1}
}

func listen(t *testing.T, o ListenOptions) *Server {
	t.Helper()
	s, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// serve runs s with a loop that answers every call at once with the
// command and the peer in Status.Text, and sends each call to seen when
// it is not nil.
func serve(t *testing.T, s *Server, seen chan<- *Call) {
	t.Helper()
	calls := make(chan *Call, 4)
	done := make(chan struct{})
	served := make(chan struct{})
	go func() { s.Serve(calls); close(served) }()
	go func() {
		for {
			select {
			case c := <-calls:
				if seen != nil {
					seen <- c
				}
				c.Reply(Answer{OK: true, Status: &Status{Text: peerText(c)}})
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		s.Close()
		<-served
		close(done)
	})
}

func peerText(c *Call) string {
	return fmt.Sprintf("%s from uid %d gid %d groups %v", c.Req.Cmd, c.Peer.UID, c.Peer.GID, c.Peer.Groups)
}

func dial(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(guard))
	t.Cleanup(func() { c.Close() })
	return c
}

// readAll reads what the server sends until it closes the connection.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v (got %q)", err, b)
	}
	return string(b)
}

func ask(t *testing.T, path, cmd string) Answer {
	t.Helper()
	a, err := Ask(path, Request{Cmd: cmd}, guard)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestListenMakesDirAndSocket(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ctl")
	s := listen(t, opts(dir))
	want := filepath.Join(dir, SocketName("/srv/project"))
	if s.Path() != want {
		t.Errorf("path %s, want %s", s.Path(), want)
	}
	// The shared base: root's may be entered by all; the project's own
	// directory decides who gets further.
	base := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		base = 0o711
	}
	for p, mode := range map[string]os.FileMode{dir: os.ModeDir | base, filepath.Dir(s.Path()): os.ModeDir | 0o700, s.Path(): os.ModeSocket | 0o600} {
		if st, err := os.Lstat(p); err != nil || st.Mode() != mode {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode(), err, mode)
		}
	}
	// The socket goes with its niod; the directories stay, empty.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(filepath.Dir(s.Path())); err != nil || len(left) != 0 {
		t.Errorf("the project's directory holds %v (%v), want nothing", left, err)
	}
}

func TestListenWithControlGroup(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ctl")
	o := opts(dir)
	o.ControlGroup = os.Getegid()
	s := listen(t, o)
	for p, mode := range map[string]os.FileMode{filepath.Dir(s.Path()): os.ModeDir | 0o710, s.Path(): os.ModeSocket | 0o660} {
		st, err := os.Lstat(p)
		if err != nil || st.Mode() != mode || int(st.Sys().(*syscall.Stat_t).Gid) != o.ControlGroup {
			t.Errorf("%s: mode %v (%v), want %v group %d", p, st.Mode(), err, mode, o.ControlGroup)
		}
	}
}

func TestListenRefusesUnsafeDirectories(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	link := filepath.Join(base, "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil || os.Chmod(open, 0o777) != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{link, "control directory " + link + " is a symbolic link: remove it, niod makes the directory itself"},
		{open, "control directory " + open + " is writable by group or others (mode 0777): chmod go-w " + open},
		{file, "control directory " + file + " is not a directory: remove it"},
		{filepath.Join(base, "no", "ctl"), "cannot make the control directory " + filepath.Join(base, "no", "ctl") + ": no such file or directory (make its parent directory or set RUNTIME_DIRECTORY)"},
	} {
		if _, err := Listen(opts(c.dir)); err == nil || err.Error() != c.want {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
}

func TestListenRefusesOthersDir(t *testing.T) {
	t.Parallel()
	needRoot(t)
	dir := filepath.Join(t.TempDir(), "ctl")
	if err := os.Mkdir(dir, 0o700); err != nil || os.Chown(dir, 4399, 4399) != nil {
		t.Fatal(err)
	}
	want := "control directory " + dir + " is owned by uid 4399, not by root or niod's user: remove it or chown it to niod's user"
	if _, err := Listen(opts(dir)); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// The same directory is fine when it is the user's niod drops to.
	o := opts(dir)
	o.Owner = 4399
	listen(t, o)
}

func TestListenRefusesALongPath(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	path := filepath.Join(dir, SocketName("/srv/project"))
	want := fmt.Sprintf("control socket path %s is %d bytes, more than the 107 a unix socket takes: set RUNTIME_DIRECTORY to a shorter directory", path, len(path))
	if _, err := Listen(opts(dir)); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestSecondListenIsHeld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := listen(t, opts(dir))
	_, err := Listen(opts(dir))
	var held *HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() || held.Path != s.Path() {
		t.Fatalf("got %#v", err)
	}
	want := fmt.Sprintf("another niod (pid %d) runs the project /srv/project: its control socket is %s", os.Getpid(), s.Path())
	if err.Error() != want {
		t.Errorf("got %s\nwant %s", err, want)
	}
	// A different project shares the directory.
	o := opts(dir)
	o.Root = "/srv/other"
	listen(t, o)
}

func TestCloseRemovesSocketFreesLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Listen(opts(dir))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { s.Serve(make(chan *Call)); close(served) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-served
	if _, err := os.Lstat(s.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left: %v", err)
	}
	// The project's directory stays, unlocked: the next niod takes it.
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	serve(t, listen(t, opts(dir)), nil)
	if a := ask(t, s.Path(), CmdStatus); !a.OK {
		t.Errorf("%+v", a)
	}
}

// The directory a niod of another user left is root's to take over.
func TestListenTakesOverAProjectDir(t *testing.T) {
	t.Parallel()
	needRoot(t)
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName("/srv/project"))
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil || os.Chown(filepath.Dir(path), 4398, 4398) != nil {
		t.Fatal(err)
	}
	o := opts(dir)
	o.Owner, o.Group = 4397, 4397
	listen(t, o)
	st, err := os.Stat(filepath.Dir(path))
	if err != nil || st.Mode() != os.ModeDir|0o700 || st.Sys().(*syscall.Stat_t).Uid != 4397 {
		t.Errorf("the project's directory: %v %v, want 0700 of uid 4397", st.Mode(), err)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ctl")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// What a SIGKILLed niod leaves: its directory, unlocked, and a bound
	// socket nobody listens on.
	path := filepath.Join(dir, SocketName("/srv/project"))
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	var nr *NotRunningError
	if _, err := Ask(path, Request{Cmd: CmdStatus}, guard); !errors.As(err, &nr) {
		t.Fatalf("before: %v", err)
	}
	s := listen(t, opts(dir))
	serve(t, s, nil)
	if a := ask(t, path, CmdStatus); !a.OK {
		t.Errorf("%+v", a)
	}
}

func TestPeers(t *testing.T) {
	t.Parallel()
	const group = 4310
	ok := func(t *testing.T, out string, uid int) {
		t.Helper()
		var a Answer
		line, _, _ := strings.Cut(out, "\n")
		if err := json.Unmarshal([]byte(line), &a); err != nil || !a.OK || a.Status == nil ||
			!strings.HasPrefix(a.Status.Text, fmt.Sprintf("status from uid %d ", uid)) {
			t.Errorf("got %q", out)
		}
	}
	t.Run("self", func(t *testing.T) {
		t.Parallel()
		s := listen(t, opts(t.TempDir()))
		serve(t, s, nil)
		a := ask(t, s.Path(), CmdStatus)
		want := fmt.Sprintf("status from uid %d gid %d ", os.Geteuid(), os.Getegid())
		if !a.OK || a.Status == nil || !strings.HasPrefix(a.Status.Text, want) {
			t.Errorf("got %+v", a)
		}
	})
	t.Run("owner", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		o := opts(filepath.Join(reachableDir(t), "ctl"))
		o.Owner, o.Group = 4301, 4301
		s := listen(t, o)
		serve(t, s, nil)
		ok(t, runAs(t, 4301, 4301, nil, "raw", s.Path()), 4301)
	})
	t.Run("supplementary group", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		o := opts(filepath.Join(reachableDir(t), "ctl"))
		o.ControlGroup = group
		s := listen(t, o)
		serve(t, s, nil)
		out := runAs(t, 4302, 4302, []uint32{4309, group}, "raw", s.Path())
		ok(t, out, 4302)
		if !strings.Contains(out, "gid 4302 groups [4309 4310]") {
			t.Errorf("groups: %q", out)
		}
	})
	t.Run("primary group", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		o := opts(filepath.Join(reachableDir(t), "ctl"))
		o.ControlGroup = group
		s := listen(t, o)
		serve(t, s, nil)
		ok(t, runAs(t, 4303, group, nil, "raw", s.Path()), 4303)
	})
	t.Run("other uid refused", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		o := opts(filepath.Join(reachableDir(t), "ctl"))
		o.ControlGroup = group
		s := listen(t, o)
		seen := make(chan *Call, 1)
		serve(t, s, seen)
		// Open the file system's doors: the peer check alone must refuse.
		if err := os.Chmod(filepath.Dir(s.Path()), 0o711); err != nil || os.Chmod(s.Path(), 0o666) != nil {
			t.Fatal(err)
		}
		out := runAs(t, 4304, 4304, []uint32{4309}, "raw", s.Path(), "NIOD_CONTROL_TEST_EOF=1")
		want := `{"v":1,"ok":false,"error":"not allowed: uid 4304 may not control this niod"}` + "\nclosed\n"
		if out != want {
			t.Errorf("got %q\nwant %q", out, want)
		}
		select {
		case c := <-seen:
			t.Errorf("the loop got %+v", c)
		default:
		}
	})
}

func TestSilentClientIsClosed(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	s.requestTimeout = 500 * time.Millisecond
	serve(t, s, nil)
	silent := dial(t, s.Path())
	if a := ask(t, s.Path(), CmdStatus); !a.OK {
		t.Errorf("%+v", a)
	}
	if got := readAll(t, silent); got != "" {
		t.Errorf("silent client got %q", got)
	}
}

func TestIdleAfterAnAnswerIsClosed(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	s.requestTimeout = 250 * time.Millisecond
	serve(t, s, nil)
	c := dial(t, s.Path())
	if _, err := c.Write([]byte(`{"v":1,"cmd":"status"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, c)
	if strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, `{"v":1,"ok":true,`) {
		t.Errorf("got %q", got)
	}
}

func TestSeveralRequestsOnOneConnection(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	serve(t, s, nil)
	c := dial(t, s.Path())
	r := bufio.NewReader(c)
	for _, cmd := range []string{CmdStatus, CmdRestart} {
		if _, err := fmt.Fprintf(c, `{"v":1,"cmd":%q}`+"\n", cmd); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.Contains(line, `"text":"`+cmd+` from uid`) {
			t.Errorf("%s: %q %v", cmd, line, err)
		}
	}
}

func TestGarbageIsRefusedAfterTheLimit(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	seen := make(chan *Call, 1)
	serve(t, s, seen)
	c := dial(t, s.Path())
	wrote := make(chan int64)
	go func() {
		// 100 MB without a newline; the writes fail once the server
		// has closed the connection.
		chunk := []byte(strings.Repeat("x", 1<<16))
		var n int64
		for range 100 << 20 >> 16 {
			m, err := c.Write(chunk)
			n += int64(m)
			if err != nil {
				break
			}
		}
		wrote <- n
	}()
	want := `{"v":1,"ok":false,"error":"request too long: a request is one line of at most 4096 bytes"}` + "\n"
	if got := readAll(t, c); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if n := <-wrote; n >= 100<<20 {
		t.Errorf("the server took all %d bytes", n)
	}
	if len(seen) != 0 {
		t.Error("the loop got a call")
	}
}

func TestRequestOfExactlyTheLimit(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	serve(t, s, nil)
	req := `{"v":1,"cmd":"status"}`
	for _, c := range []struct {
		size int
		ok   bool
	}{{MaxRequest, true}, {MaxRequest + 1, false}} {
		conn := dial(t, s.Path())
		line := req + strings.Repeat(" ", c.size-len(req)-1) + "\n"
		if _, err := conn.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		got, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || strings.HasPrefix(got, `{"v":1,"ok":true`) != c.ok {
			t.Errorf("%d bytes: %q %v", c.size, got, err)
		}
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	serve(t, s, nil)
	c := dial(t, s.Path())
	r := bufio.NewReader(c)
	for _, tc := range []struct{ req, want string }{
		{`{"v":1,"cmd":`, `{"v":1,"ok":false,"error":"bad request: unexpected end of JSON input"}`},
		{`status`, `{"v":1,"ok":false,"error":"bad request: invalid character 's' looking for beginning of value"}`},
		{`{"v":2,"cmd":"status"}`, `{"v":1,"ok":false,"error":"unsupported protocol version 2: this niod speaks version 1"}`},
		{`{"cmd":"status"}`, `{"v":1,"ok":false,"error":"unsupported protocol version 0: this niod speaks version 1"}`},
		// A new field is ignored: fields may be added.
		{`{"v":1,"cmd":"status","later":true}`, `{"v":1,"ok":true,`},
	} {
		if _, err := c.Write([]byte(tc.req + "\n")); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: got %q %v\nwant %s", tc.req, got, err, tc.want)
		}
	}
}

func TestClientGoneMidRequest(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	seen := make(chan *Call, 4)
	serve(t, s, seen)
	c := dial(t, s.Path())
	if _, err := c.Write([]byte(`{"v":1,"cmd":"sto`)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if a := ask(t, s.Path(), CmdStatus); !a.OK {
		t.Errorf("%+v", a)
	}
	if len(seen) != 1 || (<-seen).Req.Cmd != CmdStatus {
		t.Error("the loop did not get exactly the status request")
	}
}

func TestTooManyConnectionsAreBusy(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	s.requestTimeout = guard
	serve(t, s, nil)
	var held []*net.UnixConn
	for range MaxConns {
		held = append(held, dial(t, s.Path()))
	}
	want := `{"v":1,"ok":false,"error":"niod is busy"}` + "\n"
	for i := range 4 {
		if got := readAll(t, dial(t, s.Path())); got != want {
			t.Errorf("connection %d: got %q", MaxConns+1+i, got)
		}
	}
	for _, c := range held {
		c.Close()
	}
	// The slots free as the server sees the closes.
	for {
		a, err := Ask(s.Path(), Request{Cmd: CmdStatus}, guard)
		if err != nil {
			t.Fatal(err)
		}
		if a.OK {
			break
		}
		if a.Error != "niod is busy" {
			t.Fatalf("%+v", a)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestALoopThatIsFullOrSilent(t *testing.T) {
	t.Parallel()
	// Nobody reads calls: the send would block.
	s := listen(t, opts(t.TempDir()))
	go s.Serve(make(chan *Call))
	if a := ask(t, s.Path(), CmdStatus); a.OK || a.Error != "niod is busy" {
		t.Errorf("full: %+v", a)
	}
	// The loop takes the call and never replies.
	s2 := listen(t, ListenOptions{Dir: t.TempDir(), Root: "/srv/p2", Owner: -1, Group: -1, ControlGroup: -1})
	s2.answerTimeout = 50 * time.Millisecond
	go s2.Serve(make(chan *Call, 1))
	if a := ask(t, s2.Path(), CmdStatus); a.OK || a.Error != "no answer from niod's loop" {
		t.Errorf("silent: %+v", a)
	}
}

func TestCloseAfterAReply(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	calls, c := serveAndSend(t, s, `{"v":1,"cmd":"stop"}`+"\n")
	// The loop replies, then niod closes the server at once: the
	// answer still goes out.
	call := <-calls
	call.Reply(Answer{OK: true})
	call.Reply(Answer{OK: false, Error: "dropped"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c); got != `{"v":1,"ok":true}`+"\n" {
		t.Errorf("got %q", got)
	}
}

func TestCloseAnswersAPendingCall(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	s.answerTimeout = guard
	calls, c := serveAndSend(t, s, `{"v":1,"cmd":"status"}`+"\n")
	<-calls // and never replied to
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c); got != `{"v":1,"ok":false,"error":"niod is stopping"}`+"\n" {
		t.Errorf("got %q", got)
	}
}

func TestSettingsChecked(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	calls := make(chan *Call, 1)
	go s.Serve(calls)
	dir := t.TempDir()
	same, changed := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")
	for _, p := range []string{same, changed} {
		if err := os.WriteFile(p, []byte("[a]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stamps := []securefile.Stamp{securefile.StampOf(same), securefile.StampOf(changed)}
	if err := os.WriteFile(changed, []byte("[a]\nb = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		c := <-calls
		c.Reply(Answer{OK: true, Status: &Status{Stamps: stamps}})
	}()
	a := ask(t, s.Path(), CmdStatus)
	want := []Settings{{Path: same}, {Path: changed, Changed: true}}
	if a.Status == nil || !slices.Equal(a.Status.Settings, want) {
		t.Errorf("got %+v", a.Status)
	}
}

func TestParseStatusGroups(t *testing.T) {
	t.Parallel()
	show := func(g []int) string {
		if g == nil {
			return "nil"
		}
		return fmt.Sprint(g)
	}
	status := "Name:\tx\nUid:\t1000\t1001\t1001\t1001\nGid:\t5\t5\t5\t5\nGroups:\t4 24 27 \nNSpid:\t1\n"
	for _, c := range []struct {
		status string
		uid    int
		want   string
	}{
		{status, 1001, "[4 24 27]"},
		{status, 1000, "nil"}, // not the peer's effective uid: the pid is another process's by now
		{strings.Replace(status, "Groups:\t4 24 27 ", "Groups:\t", 1), 1001, "[]"},
		{status[:strings.Index(status, "27")], 1001, "nil"}, // cut by the bound
		{"Uid:\t1\t1\t1\t1\n", 1, "nil"},
		{"Uid:\t1\t1\t1\t1\nGroups:\t4 x\n", 1, "nil"},
	} {
		if got := show(parseStatusGroups(c.status, c.uid)); got != c.want {
			t.Errorf("%q uid %d: %s, want %s", c.status, c.uid, got, c.want)
		}
	}
}

func TestProcGroupsOfThisProcess(t *testing.T) {
	t.Parallel()
	want, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	got := procGroups(os.Getpid(), os.Geteuid())
	if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// serveAndSend serves s to a loop of its own (calls) and sends one line on
// a new connection.
func serveAndSend(t *testing.T, s *Server, line string) (chan *Call, *net.UnixConn) {
	t.Helper()
	calls := make(chan *Call, 1)
	go s.Serve(calls)
	c := dial(t, s.Path())
	if _, err := c.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	return calls, c
}
