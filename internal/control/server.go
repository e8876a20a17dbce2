package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The deadlines of a connection. Variables so tests can shorten them;
// Listen copies them into the Server.
var (
	// requestTimeout is how long a request line may take to arrive,
	// from the connection's opening or from the previous answer.
	requestTimeout = 5 * time.Second
	// answerTimeout is how long the supervisor's loop may take to reply.
	answerTimeout = 5 * time.Second
	// writeTimeout is how long writing an answer may take.
	writeTimeout = 5 * time.Second
	// busyTimeout bounds the one write to a connection refused for
	// lack of room: the accept loop does it itself, and a fresh
	// connection's buffer always takes a short line.
	busyTimeout = 100 * time.Millisecond
)

// MaxConns is how many connections are served at once; more are
// answered "niod is busy" and closed.
const MaxConns = 16

// backlog is the listen queue; the accept loop empties it at once.
const backlog = 64

// maxStatusRead bounds what is read of /proc/PID/status.
const maxStatusRead = 64 << 10

// ListenOptions say where and for whom Listen makes the control socket.
// Every id is -1 for "none" or "keep": 0 is root's.
type ListenOptions struct {
	// Dir is the control directory (Dir); Root the project's root.
	Dir, Root string
	// Owner and Group are the uid and gid to own the directory, the
	// socket and the lock file: the user niod drops to. -1 keeps the
	// current one.
	Owner, Group int
	// ControlGroup is a gid whose members may control niod besides root
	// and Owner; -1 for none. With one, the directory is 0710 and the
	// socket 0660, both of that group.
	ControlGroup int
}

// Server is a listening control socket holding the project's lock.
type Server struct {
	path string
	ln   *net.UnixListener
	// lock is the project directory's descriptor, holding its flock.
	lock int
	// owner is the uid allowed besides root; group the control group
	// (-1 none).
	owner, group int

	requestTimeout, answerTimeout, writeTimeout time.Duration

	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error

	mu    sync.Mutex // over conns and wg's count; closed is closed under it
	conns map[*net.UnixConn]struct{}
	wg    sync.WaitGroup
}

// Peer is who is at the other end of a connection, as the kernel says.
type Peer struct {
	PID, UID, GID int
	// Groups are the peer's supplementary groups; just GID when they
	// cannot be read.
	Groups []int
}

// Call is one request handed to the supervisor's loop.
type Call struct {
	Req  Request
	Peer Peer

	reply chan Answer
}

// Reply answers the call. It never blocks: a second reply, or one after
// the server gave up waiting, is dropped.
func (c *Call) Reply(a Answer) {
	select {
	case c.reply <- a:
	default:
	}
}

// NewCall makes a call that is not from a connection (for a loop's own
// tests); its reply is read with Answer.
func NewCall(req Request, peer Peer) *Call {
	return &Call{Req: req, Peer: peer, reply: make(chan Answer, 1)}
}

// Answer is the reply given to a call made with NewCall, and whether one
// was given.
func (c *Call) Answer() (Answer, bool) {
	select {
	case a := <-c.reply:
		return a, true
	default:
		return Answer{}, false
	}
}

// Listen makes the control directory if it is missing, checks it, takes
// the project's lock and listens on the project's control socket. When
// another niod holds the lock, the error is a *HeldError.
func Listen(o ListenOptions) (*Server, error) {
	base, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot place the control directory %s: %v", o.Dir, err)
	}
	root := absClean(o.Root)
	path := filepath.Join(base, SocketName(root))
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket path %s is %d bytes, more than the %d a unix socket takes: set RUNTIME_DIRECTORY to a shorter directory", path, len(path), maxSocketPath)
	}
	dir := filepath.Dir(path)
	dirMode, sockMode, gid := os.FileMode(0o700), os.FileMode(0o600), o.Group
	if o.ControlGroup >= 0 {
		dirMode, sockMode, gid = 0o710, 0o660, o.ControlGroup
	}
	// The base is shared: root's may be entered by anyone (each
	// project's directory decides who gets further).
	baseMode := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		baseMode = 0o711
	}
	bfd, made, err := openDir(base, baseMode)
	if err != nil {
		return nil, err
	}
	if made {
		err = fixDir(bfd, base, baseMode, -1, -1)
	}
	if err == nil {
		err = checkDir(bfd, base, o.Owner)
	}
	unix.Close(bfd)
	if err != nil {
		return nil, err
	}
	lock, made, err := openDir(dir, dirMode)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(lock, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(lock)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &HeldError{PID: holderPID(path), Path: path, Root: root}
		}
		return nil, fmt.Errorf("cannot lock %s: %v", dir, err)
	}
	// The project's directory stays between runs (making and removing it
	// is most of what the socket costs a launch). Holding its lock, root
	// takes it over for the user it becomes now.
	if made || os.Geteuid() == 0 {
		err = fixDir(lock, dir, dirMode, o.Owner, gid)
	}
	if err == nil {
		err = checkDir(lock, dir, o.Owner)
	}
	if err != nil {
		unix.Close(lock)
		return nil, err
	}
	ln, err := bindSocket(path, sockMode, o.Owner, gid)
	if err != nil {
		unix.Close(lock)
		return nil, err
	}
	owner := o.Owner
	if owner < 0 {
		owner = os.Geteuid()
	}
	s := &Server{
		path: path, ln: ln, lock: lock, owner: owner, group: o.ControlGroup,
		requestTimeout: requestTimeout, answerTimeout: answerTimeout, writeTimeout: writeTimeout,
		slots:  make(chan struct{}, MaxConns),
		closed: make(chan struct{}),
		conns:  map[*net.UnixConn]struct{}{},
	}
	return s, nil
}

// openDir opens dir, making it with mode when it is missing; made says it
// did. A symbolic link or a file in its place is refused.
func openDir(dir string, mode os.FileMode) (fd int, made bool, err error) {
	made = true
	if err := unix.Mkdir(dir, uint32(mode)); err != nil {
		if !errors.Is(err, unix.EEXIST) {
			return -1, false, fmt.Errorf("cannot make the control directory %s: %v (make its parent directory or set RUNTIME_DIRECTORY)", dir, cause(err))
		}
		made = false
	}
	fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		if st, lerr := os.Lstat(dir); lerr == nil && st.Mode()&fs.ModeSymlink != 0 {
			return -1, false, fmt.Errorf("control directory %s is a symbolic link: remove it, niod makes the directory itself", dir)
		}
		return -1, false, fmt.Errorf("control directory %s is not a directory: remove it", dir)
	case err != nil:
		return -1, false, fmt.Errorf("cannot open the control directory %s: %v", dir, err)
	}
	return fd, made, nil
}

// fixDir gives the directory open at fd its mode (a new one's went
// through the umask) and, when owner or gid is set, its owner.
func fixDir(fd int, dir string, mode os.FileMode, owner, gid int) error {
	if err := unix.Fchmod(fd, uint32(mode)); err != nil {
		return fmt.Errorf("cannot set the mode of the control directory %s: %v", dir, err)
	}
	if owner >= 0 || gid >= 0 {
		if err := unix.Fchown(fd, owner, gid); err != nil {
			return fmt.Errorf("cannot give the control directory %s to %s: %v", dir, ids(owner, gid), err)
		}
	}
	return nil
}

// checkDir refuses the directory open at fd unless no one but root, niod
// and owner can write to it.
func checkDir(fd int, dir string, owner int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("cannot read the control directory %s: %v", dir, err)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("control directory %s is writable by group or others (mode %04o): chmod go-w %s", dir, st.Mode&0o7777, dir)
	}
	if uid := int(st.Uid); uid != 0 && uid != os.Geteuid() && uid != owner {
		return fmt.Errorf("control directory %s is owned by uid %d, not by root or niod's user: remove it or chown it to niod's user", dir, uid)
	}
	return nil
}

// bindSocket replaces whatever is at path (the caller holds the lock: a
// socket there is a dead niod's) with a listening socket of that mode
// and owner.
func bindSocket(path string, mode os.FileMode, owner, gid int) (*net.UnixListener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot remove the stale control socket %s: %v", path, cause(err))
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot make the control socket %s: %v", path, err)
	}
	fail := func(what string, err error) (*net.UnixListener, error) {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("cannot %s the control socket %s: %v", what, path, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cannot make the control socket %s: %v", path, err)
	}
	// Mode and owner before listen: until then a connect is refused.
	if err := os.Chmod(path, mode); err != nil {
		return fail("set the mode of", cause(err))
	}
	if owner >= 0 || gid >= 0 {
		if err := os.Lchown(path, owner, gid); err != nil {
			return fail("give "+ids(owner, gid), cause(err))
		}
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen on", err)
	}
	f := os.NewFile(uintptr(fd), path)
	l, err := net.FileListener(f) // a dup, close-on-exec
	f.Close()
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("cannot listen on the control socket %s: %v", path, err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // Close removes it, before releasing the lock
	return ul, nil
}

// Path is the control socket's path.
func (s *Server) Path() string { return s.path }

// Close stops accepting, ends the connections (an answer the loop has
// given is still written), removes the socket and releases the lock. The
// lock file stays: see lockFile. Close may be called more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closed)
		conns := make([]*net.UnixConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		s.ln.Close()
		// Wake the readers; a handler that sets a later deadline sees
		// closed right after.
		for _, c := range conns {
			c.SetReadDeadline(time.Now())
		}
		s.wg.Wait()
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.closeErr = fmt.Errorf("cannot remove the control socket %s: %v", s.path, cause(err))
		}
		// The project's directory stays, for the next niod of the
		// project; letting go of it lets go of the lock.
		unix.Close(s.lock)
	})
	return s.closeErr
}

func (s *Server) closing() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Serve accepts connections until the server is closed and hands each
// request to calls without ever waiting on it: when calls is full the
// client is answered "niod is busy". Whoever reads calls must Reply to
// every call, at once.
func (s *Server) Serve(calls chan<- *Call) {
	var pause time.Duration
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if s.closing() {
				return
			}
			// Out of descriptors or the like: wait a little, as
			// net/http does, rather than spin.
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(pause):
			case <-s.closed:
				return
			}
			continue
		}
		pause = 0
		select {
		case s.slots <- struct{}{}:
		default:
			c.SetWriteDeadline(time.Now().Add(busyTimeout))
			writeAnswer(c, Answer{Error: "niod is busy"})
			c.Close()
			continue
		}
		if !s.track(c) {
			<-s.slots
			c.Close()
			return
		}
		go func() {
			defer s.untrack(c)
			s.serveConn(c, calls)
		}()
	}
}

func (s *Server) track(c *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing() {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *net.UnixConn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	<-s.slots
	s.wg.Done()
}

// serveConn checks the peer, then answers its requests one line at a time
// until it is silent too long, sends too much, goes or the server closes.
func (s *Server) serveConn(c *net.UnixConn, calls chan<- *Call) {
	peer, err := peerOf(c)
	if err != nil {
		s.answer(c, Answer{Error: "cannot read the peer's credentials: " + err.Error()})
		return
	}
	if !s.allowed(peer) {
		s.answer(c, Answer{Error: fmt.Sprintf("%s: uid %d may not control this niod", NotAllowed, peer.UID)})
		return
	}
	// The reader's buffer is the bound: a line that does not fit is
	// refused, nothing more is buffered.
	r := bufio.NewReaderSize(c, MaxRequest)
	for {
		c.SetReadDeadline(time.Now().Add(s.requestTimeout))
		if s.closing() {
			return
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				s.answer(c, Answer{Error: fmt.Sprintf("request too long: a request is one line of at most %d bytes", MaxRequest)})
			}
			// A timeout, the peer gone mid-line, or the server closing.
			return
		}
		if !s.answer(c, s.handle(line, peer, calls)) {
			return
		}
	}
}

// handle turns one request line into its answer.
func (s *Server) handle(line []byte, peer Peer, calls chan<- *Call) Answer {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Answer{Error: "bad request: " + err.Error()}
	}
	if req.V != Version {
		return Answer{Error: fmt.Sprintf("unsupported protocol version %d: this niod speaks version %d", req.V, Version)}
	}
	call := NewCall(req, peer)
	select {
	case calls <- call:
	default:
		return Answer{Error: "niod is busy"}
	}
	t := time.NewTimer(s.answerTimeout)
	defer t.Stop()
	select {
	case a := <-call.reply:
		return checked(a)
	case <-t.C:
		return Answer{Error: "no answer from niod's loop"}
	case <-s.closed:
		if a, ok := call.Answer(); ok {
			return checked(a)
		}
		return Answer{Error: "niod is stopping"}
	}
}

// checked fills the answer's Settings from its Stamps, unless the loop
// filled them: looking at the disk is the connection's work, not the
// loop's.
func checked(a Answer) Answer {
	if a.Status != nil && a.Status.Settings == nil {
		a.Status.CheckSettings()
	}
	return a
}

// answer writes one answer line within the write deadline; false when it
// could not.
func (s *Server) answer(c net.Conn, a Answer) bool {
	c.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	return writeAnswer(c, a) == nil
}

func writeAnswer(w io.Writer, a Answer) error {
	a.V = Version
	b, err := json.Marshal(a)
	if err != nil {
		b, _ = json.Marshal(Answer{V: Version, Error: "niod could not encode its answer: " + err.Error()})
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// allowed says whether peer may control niod: root, niod's user, and the
// members of the control group.
func (s *Server) allowed(p Peer) bool {
	if p.UID == 0 || p.UID == s.owner {
		return true
	}
	return s.group >= 0 && (p.GID == s.group || slices.Contains(p.Groups, s.group))
}

// peerOf reads the peer's credentials as they were when it connected.
func peerOf(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var groups []int
	var credErr, groupsErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if credErr == nil {
			groups, groupsErr = peerGroups(int(fd))
		}
	}); err != nil {
		return Peer{}, err
	}
	if credErr != nil {
		return Peer{}, credErr
	}
	p := Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}
	if groupsErr != nil {
		groups = procGroups(p.PID, p.UID)
	}
	if groups == nil {
		groups = []int{p.GID}
	}
	p.Groups = groups
	return p, nil
}

// peerGroups reads the peer's supplementary groups as they were when it
// connected (SO_PEERGROUPS, Linux 4.13). x/sys has no wrapper that
// returns them.
func peerGroups(fd int) ([]int, error) {
	buf := make([]uint32, 64)
	for {
		n := uint32(len(buf) * 4)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		if errno == unix.ERANGE && int(n/4) > len(buf) && n/4 <= 65536 {
			buf = make([]uint32, n/4)
			continue
		}
		if errno != 0 {
			return nil, errno
		}
		out := make([]int, 0, n/4)
		for _, g := range buf[:n/4] {
			out = append(out, int(g))
		}
		return out, nil
	}
}

// procGroups reads the supplementary groups of pid from /proc, provided
// its effective uid is still uid (the pid may be another process's by
// now); nil when they cannot be read.
func procGroups(pid, uid int) []int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStatusRead))
	if err != nil {
		return nil
	}
	return parseStatusGroups(string(b), uid)
}

// parseStatusGroups reads the Groups: line of a /proc/PID/status text
// whose effective uid is uid; nil when it cannot.
func parseStatusGroups(status string, uid int) []int {
	var groups []int
	uidOK, found := false, false
	for line := range strings.Lines(status) {
		key, val, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		switch key {
		case "Uid":
			uidOK = len(fields) >= 2 && fields[1] == strconv.Itoa(uid)
		case "Groups":
			if !strings.HasSuffix(line, "\n") {
				return nil // cut by the bound
			}
			found = true
			for _, f := range fields {
				g, err := strconv.Atoi(f)
				if err != nil {
					return nil
				}
				groups = append(groups, g)
			}
		}
	}
	if !uidOK || !found {
		return nil
	}
	if groups == nil {
		groups = []int{}
	}
	return groups
}

// cause is the error under a *PathError or *LinkError, whose own text
// repeats the path.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func ids(uid, gid int) string {
	switch {
	case gid < 0:
		return "uid " + strconv.Itoa(uid)
	case uid < 0:
		return "gid " + strconv.Itoa(gid)
	}
	return fmt.Sprintf("uid %d gid %d", uid, gid)
}
