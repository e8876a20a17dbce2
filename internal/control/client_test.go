package control

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAskAndFindAServer(t *testing.T) {
	t.Parallel()
	s := listen(t, opts(t.TempDir()))
	serve(t, s, nil)
	missing := filepath.Join(t.TempDir(), "missing.sock")
	p, err := Find([]string{missing, s.Path(), missing + "2"})
	if err != nil || p != s.Path() {
		t.Fatalf("find: %q %v", p, err)
	}
	a, err := Ask(p, Request{Cmd: CmdReload}, guard)
	if err != nil || a.V != Version || !a.OK || a.Status == nil || !strings.HasPrefix(a.Status.Text, "reload from uid") {
		t.Errorf("ask: %+v %v", a, err)
	}
	if p, err := Locate(env(map[string]string{"NIOD_CONTROL": s.Path()}), os.Geteuid(), "/elsewhere"); err != nil || p != s.Path() {
		t.Errorf("locate: %q %v", p, err)
	}
}

func TestAskWhereNothingListens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil || unix.Bind(fd, &unix.SockaddrUnix{Name: stale}) != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing.sock"), stale, filepath.Join(file, "x.sock")} {
		_, err := Ask(p, Request{Cmd: CmdStatus}, guard)
		var nr *NotRunningError
		if !errors.As(err, &nr) || nr.Path != p {
			t.Errorf("%s: %#v", p, err)
			continue
		}
		if want := "no niod runs the project: nothing listens at " + p; err.Error() != want {
			t.Errorf("got %s\nwant %s", err, want)
		}
	}
}

func TestFindWhereNothingListens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tried := []string{filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")}
	_, err := Find(tried)
	var nr *NotRunningError
	if !errors.As(err, &nr) || !slices.Equal(nr.Tried, tried) || nr.Denied != nil {
		t.Fatalf("%#v", err)
	}
	want := "no niod runs the project: looked for its control socket at " + tried[0] + ", " + tried[1] +
		" (set NIOD_CONTROL to the socket's path if it is elsewhere)"
	if err.Error() != want {
		t.Errorf("got %s\nwant %s", err, want)
	}
}

func TestLocateNamesTheRoot(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.sock")
	_, err := Locate(env(map[string]string{"NIOD_CONTROL": missing}), os.Geteuid(), "/srv/project/")
	want := "no niod runs the project /srv/project: looked for its control socket at " + missing +
		" (set NIOD_CONTROL to the socket's path if it is elsewhere)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestNotRunningMessageShortensALongList(t *testing.T) {
	t.Parallel()
	var tried []string
	for i := range 9 {
		tried = append(tried, fmt.Sprintf("/d%d/s", i))
	}
	e := &NotRunningError{Root: "/srv/p", Tried: tried, Denied: []string{"/d1/s"}}
	want := "no niod runs the project /srv/p: looked for its control socket at /d0/s, /d1/s, /d2/s, /d3/s, /d4/s, /d5/s and 3 more" +
		" (set NIOD_CONTROL to the socket's path if it is elsewhere); permission denied at /d1/s:" +
		" run it as root, as niod's user or as a member of niod's control group"
	if e.Error() != want {
		t.Errorf("got %s\nwant %s", e, want)
	}
}

func TestFindNotesDenied(t *testing.T) {
	t.Parallel()
	needRoot(t)
	s := listen(t, opts(filepath.Join(reachableDir(t), "ctl"))) // 0700, root's
	serve(t, s, nil)
	out := runAs(t, 4306, 4306, nil, "find", s.Path())
	want := fmt.Sprintf(`"" no niod runs the project: looked for its control socket at %s`+
		` (set NIOD_CONTROL to the socket's path if it is elsewhere); permission denied at %s:`+
		` run it as root, as niod's user or as a member of niod's control group`+"\n", s.Path(), s.Path())
	if out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// fake listens at a new socket and runs handle on each connection.
func fake(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(guard))
				bufio.NewReader(c).ReadString('\n')
				handle(c)
			}()
		}
	}()
	return path
}

func TestAskOfABadServer(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	for _, c := range []struct {
		name   string
		handle func(net.Conn)
		want   string
	}{
		{"closes", func(net.Conn) {}, "niod at PATH closed the connection without an answer"},
		{"silent", func(net.Conn) { <-hang }, "no answer from niod at PATH within 100ms"},
		{"not json", func(c net.Conn) { c.Write([]byte("hello\n")) },
			"niod at PATH gave an answer that is not JSON: invalid character 'h' looking for beginning of value"},
		{"endless", func(c net.Conn) {
			chunk := []byte(strings.Repeat("x", 1<<16))
			for range 32 {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}, "niod at PATH gave an answer longer than 1048576 bytes"},
	} {
		path := fake(t, c.handle)
		timeout := guard
		if c.name == "silent" {
			timeout = 100 * time.Millisecond
		}
		_, err := Ask(path, Request{Cmd: CmdStatus}, timeout)
		if want := strings.ReplaceAll(c.want, "PATH", path); err == nil || err.Error() != want {
			t.Errorf("%s: got %v\nwant %s", c.name, err, want)
		}
	}
}
