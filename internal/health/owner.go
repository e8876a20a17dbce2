package health

// Who answers: before a probe believes an answer from a port on this host,
// it finds the socket that listens on that port and the processes that hold
// it, and asks the caller whether one of them is the runtime's. Any local
// user can bind the runtime's port while the runtime restarts; without this
// check, whatever answered would make the runtime ready and healthy.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// Caps on the work of one ownership check.
const (
	// MaxProcNetBytes caps what a check reads of /proc/net/tcp and of
	// /proc/net/tcp6, each. The kernel lists listening sockets before all
	// others, so a longer file (a host with very many connections) is
	// still decided when its listening sockets fit.
	MaxProcNetBytes = 4 << 20
	// MaxPIDScan caps the processes a check looks at for the holder of the
	// listening socket.
	MaxPIDScan = 1 << 16
	// MaxFDScan caps the file descriptors a check looks at.
	MaxFDScan = 1 << 17
	// maxProcNetLine is longer than any line of /proc/net/tcp6 (about 180
	// bytes).
	maxProcNetLine = 512
)

// Errors of the ownership check; a probe's error wraps one of them.
var (
	// ErrForeignListener says the socket listening on the probed port is
	// held by processes the caller did not accept: something other than the
	// runtime answers.
	ErrForeignListener = errors.New("the probed port is held by another process")
	// ErrOwnerUnknown says the check could not see who listens on the
	// probed port (no /proc, no visible holder, or a cap reached), so the
	// answer is not proven to come from the runtime.
	ErrOwnerUnknown = errors.New("cannot tell which process listens on the probed port")
)

// ownerError is ErrForeignListener or ErrOwnerUnknown with the details.
type ownerError struct {
	kind error
	msg  string
}

func (e *ownerError) Error() string { return e.msg }
func (e *ownerError) Unwrap() error { return e.kind }

func unknownf(f string, a ...any) error {
	return &ownerError{ErrOwnerUnknown, fmt.Sprintf(f, a...)}
}

func foreignf(f string, a ...any) error {
	return &ownerError{ErrForeignListener, fmt.Sprintf(f, a...)}
}

func procPath(root string, p ...string) string {
	return root + "/" + strings.Join(p, "/")
}

// localIP reports whether remote is an address of this host: loopback,
// unspecified (which the kernel connects to locally), the connection's own
// source address (the kernel picks a local destination as the source), or
// one of the interfaces' addresses (when they can be listed: a sandbox
// without AF_NETLINK cannot).
func localIP(remote, local net.IP, addrs func() ([]net.Addr, error)) bool {
	if remote.IsLoopback() || remote.IsUnspecified() || remote.Equal(local) {
		return true
	}
	list, err := addrs()
	if err != nil {
		return false
	}
	for _, a := range list {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(remote) {
			return true
		}
	}
	return false
}

// listener is one line of /proc/net/tcp or tcp6 in state LISTEN.
type listener struct {
	ip    net.IP // 16 bytes; an IPv4 socket's address as ::ffff:a.b.c.d
	v6    bool   // from tcp6
	port  int
	inode uint64
}

// parseProcNetLine reads one line of /proc/net/tcp (v6 false) or tcp6:
// "sl local_address rem_address st ... uid timeout inode ...". ok is false
// for a socket in another state than LISTEN (0A); an error for a line that
// does not have the shape.
func parseProcNetLine(line []byte, v6 bool) (l listener, ok bool, err error) {
	f := bytes.Fields(line)
	if len(f) < 10 {
		return l, false, fmt.Errorf("short line")
	}
	if string(f[3]) != "0A" {
		return l, false, nil
	}
	addr, port, found := bytes.Cut(f[1], []byte{':'})
	if !found {
		return l, false, fmt.Errorf("bad address %q", f[1])
	}
	p, err := strconv.ParseUint(string(port), 16, 16)
	if err != nil {
		return l, false, fmt.Errorf("bad port %q", port)
	}
	ip, err := procNetIP(addr, v6)
	if err != nil {
		return l, false, err
	}
	inode, err := strconv.ParseUint(string(f[9]), 10, 64)
	if err != nil {
		return l, false, fmt.Errorf("bad inode %q", f[9])
	}
	return listener{ip: ip, v6: v6, port: int(p), inode: inode}, true, nil
}

// procNetIP decodes the kernel's "%08X" words of an address: each is a
// 32-bit word of the address in network order printed as a number of the
// host's byte order.
func procNetIP(hex []byte, v6 bool) (net.IP, error) {
	words := 1
	if v6 {
		words = 4
	}
	if len(hex) != 8*words {
		return nil, fmt.Errorf("bad address %q", hex)
	}
	raw := make([]byte, 4*words)
	for i := range words {
		w, err := strconv.ParseUint(string(hex[8*i:8*i+8]), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("bad address %q", hex)
		}
		binary.NativeEndian.PutUint32(raw[4*i:], uint32(w))
	}
	return net.IP(raw).To16(), nil
}

// readListeners calls visit for each listening socket in the file at path
// (a /proc/net/tcp), reading at most limit bytes through r. A file cut by the limit
// is decided by what came before the cut when the listening sockets, which
// the kernel lists first, had ended by then; else it is an error.
func readListeners(path string, v6 bool, limit int64, r *bufio.Reader, visit func(listener)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	counted := &countingReader{r: io.LimitReader(f, limit)}
	r.Reset(counted)
	header, lastListen := true, false
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxProcNetLine {
			return fmt.Errorf("%s: a line longer than %d bytes", path, maxProcNetLine)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: %v", path, err)
		}
		cut := counted.n >= limit
		if err == io.EOF && cut {
			// The last line may be cut short: leave it.
			line = nil
		}
		if len(line) > 0 {
			if !header {
				l, ok, perr := parseProcNetLine(line, v6)
				if perr != nil {
					return fmt.Errorf("%s: %v", path, perr)
				}
				if lastListen = ok; ok {
					visit(l)
				}
			}
			header = false
		}
		if err == io.EOF {
			if cut && (lastListen || header) {
				return fmt.Errorf("%s: more listening sockets than %d bytes of it hold", path, limit)
			}
			return nil
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// candidates picks, among the listeners on the port, the ones the kernel
// may have handed a connection to dest: those bound to dest itself, else
// those bound to the wildcard of dest's family, else (for IPv4) the IPv6
// wildcard, which takes IPv4 too unless IPV6_V6ONLY is set. More than one in
// the chosen rank are a SO_REUSEPORT group: any of them may have answered.
func candidates(ls []listener, dest net.IP, port int) []listener {
	dest16, v4 := dest.To16(), dest.To4() != nil
	var exact, wild4, wild6 []listener
	for _, l := range ls {
		switch {
		case l.port != port:
		case l.ip.Equal(dest16) && (v4 || l.v6):
			exact = append(exact, l)
		case !l.v6 && v4 && l.ip.Equal(net.IPv4zero):
			wild4 = append(wild4, l)
		case l.v6 && l.ip.Equal(net.IPv6unspecified):
			wild6 = append(wild6, l)
		}
	}
	switch {
	case len(exact) > 0:
		return exact
	case len(wild4) > 0:
		return wild4
	}
	return wild6
}

// checkOwner proves that the listening socket behind conn (connected to an
// address of this host) is held by a process owner accepts. It returns the
// accepted holder's pid. hint is a pid to look at first (the holder last
// time). A remote address is not checked (pid 0, nil).
//
// The rule: every listening socket that may have taken the connection (see
// candidates) must be held by at least one process that owner accepts. A
// socket held only by other processes fails with ErrForeignListener; one
// whose holder niod cannot see fails with ErrOwnerUnknown. niod runs as the
// runtime's user (it drops to that user before it starts the runtime), so
// the runtime's descriptors are always visible to it; a holder that /proc
// hides (hidepid, ProtectProc=invisible, another user's process, a process
// that made itself undumpable) is therefore not the runtime, and failing is
// the safe answer. Root sees every holder.
func checkOwner(ctx context.Context, proc string, conn net.Conn, owner func(pid int) bool, hint int) (int, error) {
	remote, ok1 := conn.RemoteAddr().(*net.TCPAddr)
	local, ok2 := conn.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return 0, unknownf("cannot tell who answers on a %s connection", conn.RemoteAddr().Network())
	}
	if !localIP(remote.IP, local.IP, net.InterfaceAddrs) {
		return 0, nil
	}
	var all []listener
	r := bufio.NewReaderSize(nil, 64<<10)
	for _, f := range []struct {
		name string
		v6   bool
	}{{"tcp", false}, {"tcp6", true}} {
		err := readListeners(procPath(proc, "net", f.name), f.v6, MaxProcNetBytes, r, func(l listener) {
			if l.port == remote.Port {
				all = append(all, l)
			}
		})
		// No tcp6 is a kernel without IPv6: nothing listens there.
		if err != nil && !(f.v6 && errors.Is(err, os.ErrNotExist)) {
			return 0, unknownf("cannot read the listening sockets: %v", shortText(err.Error()))
		}
	}
	want := candidates(all, remote.IP, remote.Port)
	if len(want) == 0 {
		return 0, unknownf("no socket listens on port %d in /proc/net/tcp (cannot tell who answered on %s)", remote.Port, remote)
	}
	s := &fdScan{proc: proc, owner: owner, need: map[uint64]*holding{}, verdicts: map[int]bool{}}
	for _, l := range want {
		s.need[l.inode] = &holding{}
	}
	s.pending = len(s.need)
	if hint > 0 {
		s.scanPID(hint)
	}
	if s.pending > 0 {
		if err := s.scanAll(ctx, hint); err != nil {
			return 0, err
		}
	}
	for _, l := range want {
		h := s.need[l.inode]
		switch {
		case h.accepted > 0:
		case h.foreign > 0:
			return 0, foreignf("port %d is held by pid %d (%s), not by the runtime", remote.Port, h.foreign, comm(proc, h.foreign))
		default:
			hidden := ""
			if s.unreadable > 0 {
				hidden = fmt.Sprintf("; %d processes could not be read", s.unreadable)
			}
			return 0, unknownf("no process niod can inspect holds the socket listening on port %d (another user's process, or /proc hides it%s): not proven to be the runtime", remote.Port, hidden)
		}
	}
	return s.need[want[0].inode].accepted, nil
}

// holding is what a scan found of one listening socket.
type holding struct {
	accepted int // a holder owner accepted
	foreign  int // a holder owner refused
}

// fdScan looks through /proc/PID/fd for the holders of sockets.
type fdScan struct {
	proc       string
	owner      func(int) bool
	need       map[uint64]*holding
	pending    int // sockets without an accepted holder
	verdicts   map[int]bool
	pids, fds  int
	unreadable int
}

// scanAll looks at every process in /proc but skip (already seen), within
// the caps and ctx, until every socket has an accepted holder.
func (s *fdScan) scanAll(ctx context.Context, skip int) error {
	d, err := os.Open(s.proc)
	if err != nil {
		return unknownf("cannot list processes: %v", shortText(err.Error()))
	}
	defer d.Close()
	for s.pending > 0 {
		names, err := d.Readdirnames(256)
		for _, name := range names {
			pid, perr := strconv.Atoi(name)
			if perr != nil || pid <= 0 || pid == skip {
				continue
			}
			if ctx.Err() != nil {
				return unknownf("ran out of time looking for the holder of the listening socket (%d processes seen)", s.pids)
			}
			if s.pids++; s.pids > MaxPIDScan {
				return unknownf("gave up looking for the holder of the listening socket after %d processes", MaxPIDScan)
			}
			if !s.scanPID(pid) {
				return unknownf("gave up looking for the holder of the listening socket after %d descriptors", MaxFDScan)
			}
			if s.pending == 0 {
				return nil
			}
		}
		if err != nil {
			break // io.EOF: all seen; another error: what was seen decides
		}
	}
	return nil
}

// scanPID looks at the descriptors of pid; false when the cap on
// descriptors was reached.
func (s *fdScan) scanPID(pid int) bool {
	dir := procPath(s.proc, strconv.Itoa(pid), "fd")
	d, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			s.unreadable++
		}
		return true // gone, or not ours to see
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(256)
		for _, name := range names {
			if s.fds++; s.fds > MaxFDScan {
				return false
			}
			link, lerr := os.Readlink(dir + "/" + name)
			if lerr != nil {
				continue
			}
			inode, ok := socketInode(link)
			if !ok {
				continue
			}
			h := s.need[inode]
			if h == nil || h.accepted > 0 {
				continue
			}
			v, seen := s.verdicts[pid]
			if !seen {
				v = s.owner(pid)
				s.verdicts[pid] = v
			}
			if v {
				h.accepted = pid
				s.pending--
				if s.pending == 0 {
					return true
				}
			} else if h.foreign == 0 {
				h.foreign = pid
			}
		}
		if err != nil {
			return true
		}
	}
}

// socketInode reads "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// comm is the quoted name of process pid, "?" when it cannot be read.
func comm(proc string, pid int) string {
	f, err := os.Open(procPath(proc, strconv.Itoa(pid), "comm"))
	if err != nil {
		return "?"
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	return excerpt(bytes.TrimSuffix(buf[:n], []byte{'\n'}))
}
