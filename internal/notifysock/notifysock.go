// Package notifysock is niod's own notify socket for the runtime: a
// datagram socket in a private 0700 directory where the runtime sends
// READY=1 and WATCHDOG=1 as it would to systemd. SO_PASSCRED makes the
// kernel attach the sender's pid, so messages from outside the runtime's
// process tree can be told apart and dropped.
package notifysock

import (
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Message is one datagram and the pid the kernel says sent it (0 when the
// kernel gave none).
type Message struct {
	PID    int
	Fields map[string]string
}

// Socket is the listening socket.
type Socket struct {
	Path string
	conn *net.UnixConn
	dir  string
}

// Listen creates the socket in a new private directory under base.
func Listen(base string) (*Socket, error) {
	dir, err := os.MkdirTemp(base, "niod-notify-")
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
	return &Socket{Path: path, conn: conn, dir: dir}, nil
}

// Serve reads messages until the socket is closed and sends each to out.
func (s *Socket) Serve(out chan<- Message) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		m := Message{PID: senderPID(oob[:oobn]), Fields: Parse(string(buf[:n]))}
		out <- m
	}
}

func senderPID(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if cred, err := unix.ParseUnixCredentials(&m); err == nil {
			return int(cred.Pid)
		}
	}
	return 0
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
	err := s.conn.Close()
	os.RemoveAll(s.dir)
	return err
}
