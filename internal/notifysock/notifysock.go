// Package notifysock is niod's own notify socket for the runtime: a
// datagram socket in a private 0700 directory where the runtime sends
// READY=1 and WATCHDOG=1 as it would to systemd. SO_PASSCRED makes the
// kernel attach the sender's pid and uid, so messages from outside the
// runtime's process tree can be told apart and dropped.
package notifysock

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"niod/internal/proctree"
	"niod/internal/rundir"
)

// MaxMessage is the largest datagram read whole. It is systemd's
// NOTIFY_BUFFER_MAX (PIPE_BUF): sd_notify senders already keep within it,
// and a longer datagram is flagged Truncated rather than half parsed.
const MaxMessage = 4096

// MaxAncestors bounds the parent chain read for each sender.
const MaxAncestors = 64

// Backoff between repeated read errors, so a persistent error cannot spin.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// Message is one datagram, with who sent it as known at receipt: the
// sender may exit right after sending (systemd-notify style helpers do), so
// its ancestry cannot be looked up later.
type Message struct {
	PID int // sender's pid from SCM_CREDENTIALS; 0 when the kernel gave none
	UID int // sender's uid from SCM_CREDENTIALS; -1 when the kernel gave none

	// Ancestors is the sender's chain of parent pids read from /proc at
	// receipt, nearest first, at most MaxAncestors long.
	Ancestors []int
	// Gone says the sender's /proc entry was already gone at receipt (it
	// exited and was reaped), so Ancestors is empty.
	Gone bool

	// Truncated says the datagram was longer than MaxMessage; Fields is
	// then nil, as a cut message cannot be trusted.
	Truncated bool
	Fields    map[string]string

	// Err, when set, is a read error; no datagram came with it. Serve goes
	// on reading after reporting it.
	Err error
}

// From reports whether m was sent from the runtime's process tree: by the
// runtime itself or a process below it, or, when the sender had already
// gone before it could be traced, by a process of the runtime's uid. The
// last case accepts a short-lived helper of the runtime at the cost of
// trusting any process of that uid that can reach the socket (its
// directory is 0700, which keeps out all but its owner and root).
func (m Message) From(runtimePID, runtimeUID int) bool {
	if m.Err != nil || m.PID <= 0 || runtimePID <= 0 {
		return false
	}
	if m.PID == runtimePID || slices.Contains(m.Ancestors, runtimePID) {
		return true
	}
	return m.Gone && m.UID >= 0 && m.UID == runtimeUID
}

// conn is what Serve reads from: a *net.UnixConn, or a fake in tests.
type conn interface {
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	Close() error
}

// Socket is the listening socket.
type Socket struct {
	Path string
	conn conn
	dir  string

	done      chan struct{} // closed by Close, so Serve never blocks past it
	closeOnce sync.Once
	// pause waits between read errors; false means the socket closed.
	pause func(time.Duration) bool
}

// Listen creates the socket in a new private directory under base.
func Listen(base string) (*Socket, error) {
	dir, err := rundir.Make(base, "notify")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	rc, err := conn.SyscallConn()
	if err == nil {
		ctlErr := rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
		if err == nil {
			err = ctlErr
		}
	}
	if err != nil {
		conn.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	return newSocket(path, dir, conn), nil
}

func newSocket(path, dir string, c conn) *Socket {
	s := &Socket{Path: path, conn: c, dir: dir, done: make(chan struct{})}
	s.pause = s.sleep
	return s
}

// Serve reads datagrams and sends each to out until the socket is closed,
// then returns. A read error is sent as a Message with Err set and reading
// goes on, after a pause that grows from 10 ms to 1 s while errors repeat.
// Close unblocks Serve even when nobody reads out any more.
func (s *Socket) Serve(out chan<- Message) {
	buf := make([]byte, MaxMessage)
	// Room for exactly one SCM_CREDENTIALS: file descriptors a sender
	// passes along do not fit, so the kernel drops them (MSG_CTRUNC)
	// instead of installing them in niod.
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	backoff := time.Duration(0)
	for {
		n, oobn, flags, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if s.closed() || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			if !s.send(out, Message{UID: -1, Err: err}) || !s.pause(backoff) {
				return
			}
			continue
		}
		backoff = 0
		m := Message{UID: -1}
		m.PID, m.UID = credentials(oob[:oobn])
		// Trace the sender now: a helper that has sent and exited can be
		// reaped (and so vanish from /proc) at any moment from here on.
		if m.PID > 0 {
			m.Ancestors, m.Gone = proctree.Ancestors(m.PID, MaxAncestors)
		}
		if flags&unix.MSG_TRUNC != 0 {
			m.Truncated = true
		} else {
			m.Fields = Parse(string(buf[:n]))
		}
		if !s.send(out, m) {
			return
		}
	}
}

func (s *Socket) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// send delivers m unless the socket is closed first.
func (s *Socket) send(out chan<- Message, m Message) bool {
	select {
	case out <- m:
		return true
	case <-s.done:
		return false
	}
}

// sleep waits d unless the socket is closed first.
func (s *Socket) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// credentials returns the pid and uid of SCM_CREDENTIALS in oob, or 0 and
// -1 when there are none. Any passed file descriptors that did arrive are
// closed, so a sender cannot make niod hold its files open.
func credentials(oob []byte) (pid, uid int) {
	pid, uid = 0, -1
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return pid, uid
	}
	for _, m := range msgs {
		if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			pid, uid = int(cred.Pid), int(cred.Uid)
		} else if fds, err := unix.ParseUnixRights(&m); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	return pid, uid
}

// Parse splits a notify message into its KEY=VALUE lines.
func Parse(msg string) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(msg, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			fields[k] = v
		}
	}
	return fields
}

// Close stops Serve and removes the socket and its directory.
func (s *Socket) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.conn.Close()
		os.RemoveAll(s.dir)
	})
	return err
}
