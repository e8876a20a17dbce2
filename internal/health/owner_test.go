package health

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kernelHex prints ip the way /proc/net/tcp does.
func kernelHex(ip net.IP) string {
	raw := ip.To4()
	if raw == nil {
		raw = ip.To16()
	}
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	return b.String()
}

// procNetLine is a line of /proc/net/tcp for a socket in state st.
func procNetLine(ip net.IP, port int, st string, inode uint64) string {
	zero := strings.Repeat("0", len(kernelHex(ip)))
	return fmt.Sprintf("   0: %s:%04X %s:0000 %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n",
		kernelHex(ip), port, zero, st, inode)
}

const procNetHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestParseProcNetLine(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		// The kernel's own words, on a little-endian host.
		l, ok, err := parseProcNetLine([]byte("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1607 1 00000000dd701ab5 100 0 0 10 0"), false)
		if err != nil || !ok || !l.ip.Equal(net.IPv4(127, 0, 0, 1)) || l.port != 0x1f90 || l.inode != 1607 {
			t.Fatalf("got %+v %v %v", l, ok, err)
		}
		l, ok, err = parseProcNetLine([]byte("   1: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 77 1 0000000000000000 100 0 0 10 0"), true)
		if err != nil || !ok || !l.ip.Equal(net.IPv4(127, 0, 0, 1)) || !l.v6 || l.inode != 77 {
			t.Fatalf("got %+v %v %v", l, ok, err)
		}
	}
	for _, c := range []struct {
		ip net.IP
		v6 bool
	}{
		{net.IPv4(127, 0, 0, 1), false}, {net.IPv4zero, false}, {net.IPv4(192, 0, 2, 200), false},
		{net.IPv6loopback, true}, {net.IPv6unspecified, true}, {net.ParseIP("2001:db8::1:2"), true}, {net.ParseIP("::ffff:10.1.2.3"), true},
	} {
		line := procNetLine(c.ip, 8181, "0A", 4242)
		if c.v6 && c.ip.To4() != nil {
			// A v4-mapped address in tcp6: all four words.
			raw := c.ip.To16()
			var b strings.Builder
			for i := 0; i < 16; i += 4 {
				fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
			}
			line = fmt.Sprintf("   0: %s:1FF5 %s:0000 0A 0 0 0 0 0 4242\n", b.String(), strings.Repeat("0", 32))
		}
		l, ok, err := parseProcNetLine([]byte(line), c.v6)
		if err != nil || !ok || !l.ip.Equal(c.ip) || l.port != 8181 || l.inode != 4242 || l.v6 != c.v6 {
			t.Errorf("%v: got %+v %v %v from %q", c.ip, l, ok, err, line)
		}
	}
	if _, ok, err := parseProcNetLine([]byte(procNetLine(net.IPv4(127, 0, 0, 1), 80, "01", 9)), false); ok || err != nil {
		t.Errorf("an established socket: ok %v, err %v", ok, err)
	}
	for _, bad := range []string{
		"short line",
		"0: 0100007F 00000000:0000 0A 0 0 0 0 0 1",
		"0: 0100007F:XYZ 00000000:0000 0A 0 0 0 0 0 1",
		"0: 0100007:0050 00000000:0000 0A 0 0 0 0 0 1",
		"0: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 -1",
	} {
		if _, _, err := parseProcNetLine([]byte(bad), false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCandidates(t *testing.T) {
	lo, lo6 := net.IPv4(127, 0, 0, 1).To16(), net.IPv6loopback
	exact := listener{ip: lo, port: 80, inode: 1}
	mapped := listener{ip: lo, v6: true, port: 80, inode: 2}
	any4 := listener{ip: net.IPv4zero.To16(), port: 80, inode: 3}
	any6 := listener{ip: net.IPv6unspecified, v6: true, port: 80, inode: 4}
	other := listener{ip: net.IPv4(10, 0, 0, 1).To16(), port: 80, inode: 5}
	otherPort := listener{ip: lo, port: 81, inode: 6}
	exact6 := listener{ip: lo6, v6: true, port: 80, inode: 7}
	inodes := func(ls []listener) string {
		var s []string
		for _, l := range ls {
			s = append(s, strconv.FormatUint(l.inode, 10))
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		ls   []listener
		dest net.IP
		want string
	}{
		{[]listener{any4, exact, any6, other, otherPort}, lo, "1"},
		{[]listener{any6, mapped}, lo, "2"},
		{[]listener{any6, any4, other}, lo, "3"},
		{[]listener{any6, other, otherPort}, lo, "4"},
		{[]listener{other, otherPort}, lo, ""},
		{[]listener{exact, exact}, lo, "1,1"}, // a SO_REUSEPORT group
		{[]listener{any4, exact, any6, exact6}, lo6, "7"},
		{[]listener{any4, exact, any6}, lo6, "4"},
		{[]listener{any4, exact}, lo6, ""},
	} {
		if got := inodes(candidates(c.ls, c.dest, 80)); got != c.want {
			t.Errorf("%v to %v: %s, want %s", inodes(c.ls), c.dest, got, c.want)
		}
	}
}

func TestReadListenersCap(t *testing.T) {
	dir := t.TempDir()
	lo := net.IPv4(127, 0, 0, 1)
	write := func(lines ...string) string {
		p := filepath.Join(dir, "tcp")
		if err := os.WriteFile(p, []byte(procNetHeader+strings.Join(lines, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var many []string
	for i := range 100 {
		many = append(many, procNetLine(lo, 1000+i, "0A", uint64(i)))
	}
	established := procNetLine(lo, 5555, "01", 0)
	line := int64(len(established))
	head := int64(len(procNetHeader))

	// Listeners first, then a long tail of connections cut by the cap:
	// the listeners decide.
	tail := append(append([]string(nil), many[:3]...), strings.Repeat(established, 100))
	var seen []int
	err := readListeners(write(tail...), false, head+10*line+line/2, bufio.NewReader(nil), func(l listener) { seen = append(seen, l.port) })
	if err != nil || fmt.Sprint(seen) != "[1000 1001 1002]" {
		t.Errorf("cut in the connections: %v, %v", seen, err)
	}
	// Cut among the listeners: not decided.
	if err := readListeners(write(many...), false, head+10*line+line/2, bufio.NewReader(nil), func(listener) {}); err == nil || !strings.Contains(err.Error(), "more listening sockets") {
		t.Errorf("cut in the listeners: %v", err)
	}
	// Within the cap, all of it counts.
	seen = nil
	if err := readListeners(write(many...), false, MaxProcNetBytes, bufio.NewReader(nil), func(l listener) { seen = append(seen, l.port) }); err != nil || len(seen) != 100 {
		t.Errorf("whole file: %d listeners, %v", len(seen), err)
	}
	// A line too long for /proc/net/tcp is refused.
	if err := readListeners(write(strings.Repeat("x", 600)+"\n"), false, MaxProcNetBytes, bufio.NewReader(nil), func(listener) {}); err == nil {
		t.Error("a 600-byte line accepted")
	}
}

func TestLocalIP(t *testing.T) {
	none := func() ([]net.Addr, error) { return nil, errors.New("no netlink") }
	host := func() ([]net.Addr, error) {
		return []net.Addr{&net.IPNet{IP: net.IPv4(192, 0, 2, 7), Mask: net.CIDRMask(24, 32)}}, nil
	}
	local := net.IPv4(192, 0, 2, 9)
	for _, c := range []struct {
		remote net.IP
		addrs  func() ([]net.Addr, error)
		want   bool
	}{
		{net.IPv4(127, 0, 0, 1), none, true},
		{net.IPv4(127, 1, 2, 3), none, true},
		{net.IPv6loopback, none, true},
		{net.IPv4zero, none, true},
		{local, none, true}, // the connection's own source address
		{net.IPv4(192, 0, 2, 7), host, true},
		{net.IPv4(192, 0, 2, 7), none, false},
		{net.IPv4(198, 51, 100, 1), host, false},
	} {
		if got := localIP(c.remote, local, c.addrs); got != c.want {
			t.Errorf("%v: %v, want %v", c.remote, got, c.want)
		}
	}
}

// dialProbe connects to addr as a probe would.
func dialProbe(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestProbeOwner(t *testing.T) {
	url := serve(t, "200 OK") + "/nio"
	p, err := New(url, 2*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var asked []int
	if err := p.Probe(context.Background(), func(pid int) bool { asked = append(asked, pid); return pid == self }); err != nil {
		t.Fatalf("a listener of this process, accepted by the owner: %v", err)
	}
	if len(asked) != 1 || asked[0] != self {
		t.Errorf("owner asked about %v, want only %d", asked, self)
	}
	if got := p.holder.Load(); got != int64(self) {
		t.Errorf("holder remembered as %d", got)
	}
	// Again, from the remembered holder.
	if err := p.Probe(context.Background(), func(pid int) bool { return pid == self }); err != nil {
		t.Fatalf("second probe: %v", err)
	}
	err = p.Probe(context.Background(), func(pid int) bool { return false })
	if !errors.Is(err, ErrForeignListener) || !strings.Contains(err.Error(), "held by pid "+strconv.Itoa(self)) {
		t.Fatalf("a listener the owner refuses: %v", err)
	}
	t.Log(err)
	// nil: no check.
	if err := p.Probe(context.Background(), nil); err != nil {
		t.Fatalf("without owner: %v", err)
	}
}

// TestCheckOwnerChild: the listening socket passed to a child; the child is
// the holder the owner is asked about.
func TestCheckOwnerChild(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Skipf("sleep: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	f.Close()
	ln.Close()
	child := cmd.Process.Pid

	conn := dialProbe(t, ln.Addr().String())
	ctx := context.Background()
	pid, err := checkOwner(ctx, "/proc", conn, func(pid int) bool { return pid == child }, 0)
	if err != nil || pid != child {
		t.Fatalf("the child holds the socket: %d, %v", pid, err)
	}
	_, err = checkOwner(ctx, "/proc", conn, func(pid int) bool { return pid == os.Getpid() }, 0)
	if !errors.Is(err, ErrForeignListener) || !strings.Contains(err.Error(), fmt.Sprintf("held by pid %d (\"sleep\")", child)) {
		t.Fatalf("refused child: %v", err)
	}
}

// fakeProc makes a procfs with net/tcp listing port as listening with
// inode, and holders: pid -> inodes its descriptors are sockets of.
func fakeProc(t *testing.T, port int, inode uint64, holders map[int][]uint64) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "net"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "net", "tcp"), []byte(procNetHeader+procNetLine(net.IPv4zero, port, "0A", inode)+procNetLine(net.IPv4(127, 0, 0, 1), 40000, "01", 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "net", "tcp6"), []byte(procNetHeader), 0o644)
	for pid, inodes := range holders {
		fd := filepath.Join(root, strconv.Itoa(pid), "fd")
		os.MkdirAll(fd, 0o755)
		os.WriteFile(filepath.Join(root, strconv.Itoa(pid), "comm"), []byte("squatter\n"), 0o644)
		os.Symlink("/dev/null", filepath.Join(fd, "0"))
		os.Symlink("pipe:[1]", filepath.Join(fd, "1"))
		for i, n := range inodes {
			os.Symlink(fmt.Sprintf("socket:[%d]", n), filepath.Join(fd, strconv.Itoa(3+i)))
		}
	}
	return root
}

func TestCheckOwnerHiddenOrForeign(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	conn := dialProbe(t, ln.Addr().String())
	ctx := context.Background()
	runtime := func(pid int) bool { return pid == 100 }

	// Nobody visible holds it (another user's process under hidepid).
	proc := fakeProc(t, port, 4242, map[int][]uint64{100: {17}, 200: {18}})
	_, err = checkOwner(ctx, proc, conn, runtime, 0)
	if !errors.Is(err, ErrOwnerUnknown) || !strings.Contains(err.Error(), "not proven") {
		t.Fatalf("hidden holder: %v", err)
	}
	t.Log(err)

	// Held by another process only.
	proc = fakeProc(t, port, 4242, map[int][]uint64{100: {17}, 300: {18, 4242}})
	_, err = checkOwner(ctx, proc, conn, runtime, 0)
	if !errors.Is(err, ErrForeignListener) || !strings.Contains(err.Error(), `pid 300 ("squatter")`) {
		t.Fatalf("foreign holder: %v", err)
	}

	// Held by the runtime and by another (inherited): the runtime holds it.
	proc = fakeProc(t, port, 4242, map[int][]uint64{100: {4242}, 300: {4242}})
	if pid, err := checkOwner(ctx, proc, conn, runtime, 0); err != nil || pid != 100 {
		t.Fatalf("shared: %d, %v", pid, err)
	}

	// The hint is looked at first, and a wrong hint does no harm.
	asked := 0
	count := func(pid int) bool { asked++; return pid == 100 }
	if pid, err := checkOwner(ctx, proc, conn, count, 100); err != nil || pid != 100 || asked != 1 {
		t.Fatalf("with the hint: %d, %v, owner asked %d times", pid, err, asked)
	}
	if pid, err := checkOwner(ctx, proc, conn, runtime, 999); err != nil || pid != 100 {
		t.Fatalf("stale hint: %d, %v", pid, err)
	}

	// No /proc/net: not proven.
	empty := t.TempDir()
	if _, err := checkOwner(ctx, empty, conn, runtime, 0); !errors.Is(err, ErrOwnerUnknown) {
		t.Fatalf("no /proc: %v", err)
	}

	// No listener for the port in the table: not proven.
	proc = fakeProc(t, port+1, 4242, map[int][]uint64{100: {4242}})
	if _, err := checkOwner(ctx, proc, conn, runtime, 0); !errors.Is(err, ErrOwnerUnknown) || !strings.Contains(err.Error(), "no socket listens") {
		t.Fatalf("no listener: %v", err)
	}

	// A deadline passed: the scan stops.
	proc = fakeProc(t, port, 4242, map[int][]uint64{300: {4242}})
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := checkOwner(done, proc, conn, runtime, 0); !errors.Is(err, ErrOwnerUnknown) || !strings.Contains(err.Error(), "ran out of time") {
		t.Fatalf("canceled: %v", err)
	}
}

// TestCheckOwnerOtherUser: the listening socket is held by a process of
// another user, whose descriptors the checking user cannot read. That is
// not proof: the check fails with ErrOwnerUnknown, even for an owner that
// would accept the holder. A holder of the checking user's own (as the
// runtime is niod's) is seen and accepted. It needs root, to run the users.
func TestCheckOwnerOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run processes as other users")
	}
	// The checking user: this test binary again, as uid 65533, from a
	// directory it can reach.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "health-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "health.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		uid  uint32
		want string
	}{{65534, "unknown"}, {65533, "accepted"}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		holder := exec.Command("sleep", "60")
		holder.ExtraFiles = []*os.File{f}
		holder.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: c.uid, Gid: c.uid}}
		if err := holder.Start(); err != nil {
			t.Skipf("cannot run sleep as %d: %v", c.uid, err)
		}
		t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
		f.Close()
		ln.Close()

		checker := exec.Command(bin)
		checker.Dir = dir
		checker.Env = append(os.Environ(), fmt.Sprintf("HEALTH_TEST_HELPER=%s,%d,%s", ln.Addr(), holder.Process.Pid, c.want))
		checker.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65533, Gid: 65533}}
		out, err := checker.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "helper: ok") {
			t.Fatalf("holder uid %d, checker as uid 65533: %v\n%s", c.uid, err, out)
		}
		t.Logf("holder uid %d: %s", c.uid, out)
	}
}

// TestMain runs the test binary as the checking side of
// TestCheckOwnerOtherUser when asked to (a helper that were a test of its
// own would show as skipped in every run).
func TestMain(m *testing.M) {
	spec := os.Getenv("HEALTH_TEST_HELPER")
	if spec == "" {
		os.Exit(m.Run())
	}
	if err := checkAsHelper(spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("helper: ok")
	os.Exit(0)
}

// checkAsHelper checks the holder of ADDR against the pid and what is
// expected, from "ADDR,PID,unknown|accepted".
func checkAsHelper(spec string) error {
	f := strings.Split(spec, ",")
	if len(f) != 3 {
		return fmt.Errorf("bad HEALTH_TEST_HELPER %q", spec)
	}
	pid, _ := strconv.Atoi(f[1])
	conn, err := net.DialTimeout("tcp", f[0], 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	got, err := checkOwner(context.Background(), "/proc", conn, func(p int) bool { return p == pid }, 0)
	switch f[2] {
	case "unknown":
		if !errors.Is(err, ErrOwnerUnknown) || !strings.Contains(err.Error(), "not proven") {
			return fmt.Errorf("a holder of another user: %d, %v", got, err)
		}
	case "accepted":
		if err != nil || got != pid {
			return fmt.Errorf("a holder of the same user: %d, %v", got, err)
		}
	}
	return nil
}
