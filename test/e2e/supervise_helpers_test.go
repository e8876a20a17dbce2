package e2e

// Helpers for the tests that let niod supervise real processes: start niod
// in the background, read its JSON log and the runtime's output, talk to the
// reference runtime's REST API, inspect /proc, and make sure that every
// process a test started is gone when it ends, even when it fails.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// markEnv is set in niod's environment to a value unique to one test. The
// runtime and everything below it inherit it (niod passes it on), so a
// process that escaped every other bookkeeping is still found by it.
const markEnv = "E2E_SUPERVISE_MARK"

// apiUser and apiPassword are the runtime's REST credentials in the tests
// that do not care about them.
const (
	apiUser     = "admin"
	apiPassword = "e2e-api-password"
)

// waitLong is the generous limit for anything the tests wait for. It is
// never an assertion about speed: it only keeps a broken niod from hanging
// the suite.
const waitLong = 20 * time.Second

// requireTool returns the path of an external program a test needs. A
// missing tool fails the test when CI=true (CI must run everything) and
// skips it otherwise.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed by this test and missing (CI=true: install it)", name)
		}
		t.Skipf("%s is missing: %v", name, err)
	}
	return p
}

// requireRoot (fail under CI=true, skip otherwise) is in privs_test.go.

// runtimeScript is the reference runtime.
func runtimeScript() string {
	return filepath.Join(moduleRoot, "examples", "runtime", "nio_runtime.py")
}

// shellQuote quotes s for [niod] command (split like a shell would) and for
// sh scripts.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runtimeCommand is the command line that runs the reference runtime.
func runtimeCommand(t *testing.T) string {
	return shellQuote(pythonPath(t)) + " " + shellQuote(runtimeScript())
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// conf is the settings of one test run of the reference runtime.
type conf struct {
	port     int    // [rest] port; 0 means no HTTP API
	instance string // [instance] name
	// test and niod are raw lines of [runtime_test] and [niod]. A niod
	// without a command = line gets the reference runtime.
	test, niod string
	extra      string // raw text appended at the end
}

// text renders c as a settings file. With a port it holds the API password
// as a literal: write it with mode 0600.
func (c conf) text(t *testing.T) string {
	var b strings.Builder
	if c.port != 0 {
		fmt.Fprintf(&b, "[rest]\nhost = 127.0.0.1\nport = %d\n\n", c.port)
		fmt.Fprintf(&b, "[security]\nusers = %s\n%s_password = %s\n\n", apiUser, apiUser, apiPassword)
	}
	if c.instance != "" {
		fmt.Fprintf(&b, "[instance]\nname = %s\n\n", c.instance)
	}
	fmt.Fprintf(&b, "[runtime_test]\n%s\n\n", strings.TrimSpace(c.test))
	niod := strings.TrimSpace(c.niod)
	if !strings.Contains("\n"+niod, "\ncommand") {
		niod = "command = " + runtimeCommand(t) + "\n" + niod
	}
	fmt.Fprintf(&b, "[niod]\n%s\n", niod)
	if c.extra != "" {
		b.WriteString("\n" + c.extra + "\n")
	}
	return b.String()
}

// writeConf writes c to ROOT/nio.conf with mode 0600.
func writeConf(t *testing.T, root string, c conf) {
	t.Helper()
	mustWrite(t, filepath.Join(root, "nio.conf"), c.text(t), 0o600)
}

func mustWrite(t *testing.T, path, text string, perm os.FileMode) {
	t.Helper()
	if err := writeFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------- output

// lineBuf collects what a pipe delivers.
type lineBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lineBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the complete lines so far.
func (b *lineBuf) lines() []string {
	s := b.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	} else {
		return nil
	}
	return strings.Split(s, "\n")
}

// logLine is one JSON line of niod's log.
type logLine map[string]any

func (l logLine) msg() string { s, _ := l["msg"].(string); return s }

func (l logLine) str(key string) string {
	switch v := l[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func (l logLine) int(key string) (int, bool) {
	f, ok := l[key].(float64)
	return int(f), ok
}

// ---------------------------------------------------------------- niod

// niodProc is niod (or a wrapper such as unshare around it) running in the
// background.
type niodProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	pid    int
	root   string
	env    map[string]string // niod's environment
	mark   string
	stdout *lineBuf
	stderr *lineBuf
	done   chan struct{} // closed when the process has been waited for
	outEOF chan struct{} // closed when stdout and stderr are at EOF
	state  *os.ProcessState
	// atExit is every process in /proc, and markedAtExit the living ones
	// with the test's mark, right after niod was reaped: niod exits only
	// once its whole tree is gone, so none of the tree may be in them.
	atExit       []procInfo
	markedAtExit []int
}

var markSeq atomic.Int64

// startOpts says how to start niod.
type startOpts struct {
	root string
	// settings are the -s files; none means -s nio.conf.
	settings []string
	env      map[string]string // added to baseEnv
	args     []string          // more niod arguments (after the settings)
	// wrap runs niod under another program: wrap..., niod, args...
	wrap []string
	// extraFiles are inherited by niod as descriptors 3, 4, ...
	extraFiles []*os.File
}

// startNiod starts niod with -r ROOT, the settings, --log-format json and
// --allow-root (the tests run as root in CI; root refusal is not what they
// test). Cleanup kills whatever is left of it and its tree.
func startNiod(t *testing.T, o startOpts) *niodProc {
	t.Helper()
	mark := fmt.Sprintf("%s-%d-%d-%d", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid(), time.Now().UnixNano(), markSeq.Add(1))
	args := []string{"-r", o.root}
	settings := o.settings
	if len(settings) == 0 {
		settings = []string{"nio.conf"}
	}
	for _, s := range settings {
		args = append(args, "-s", s)
	}
	args = append(args, "--log-format", "json", "--allow-root")
	args = append(args, o.args...)
	argv := append(append(append([]string(nil), o.wrap...), niodBin), args...)

	env := baseEnv(o.env)
	env[markEnv] = mark
	if env["RUNTIME_DIRECTORY"] == "" && env["XDG_RUNTIME_DIR"] == "" {
		// niod's private directories (notify socket, file handoff) go
		// here, so that a test that SIGKILLs niod leaves nothing behind.
		env["XDG_RUNTIME_DIR"] = t.TempDir()
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = o.root
	cmd.Env = envList(env)
	cmd.ExtraFiles = o.extraFiles
	// A group of its own, so that cleanup can kill it without touching the
	// test; and killed should the test binary die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	n := &niodProc{t: t, cmd: cmd, mark: mark, root: o.root, env: env, stdout: &lineBuf{}, stderr: &lineBuf{},
		done: make(chan struct{}), outEOF: make(chan struct{})}
	// Own pipes, read by own goroutines: Wait must not wait for runtime
	// processes that outlive niod and still hold the pipes.
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %v: %v", argv, err)
	}
	outW.Close()
	errW.Close()
	n.pid = cmd.Process.Pid
	t.Cleanup(n.cleanup)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(n.stdout, outR); outR.Close() }()
	go func() { defer wg.Done(); _, _ = io.Copy(n.stderr, errR); errR.Close() }()
	go func() { wg.Wait(); close(n.outEOF) }()
	go n.awaitExit()
	return n
}

// awaitExit waits for niod and records, right after it was reaped, what is
// left in /proc; it closes n.done.
func (n *niodProc) awaitExit() {
	_ = n.cmd.Wait()
	n.atExit = allProcs()
	n.markedAtExit = markedProcs(n.mark)
	n.state = n.cmd.ProcessState
	close(n.done)
}

// startQuiet starts niod on a new root with the reference runtime without
// workers and waits for it: the start of the reload tests.
func startQuiet(t *testing.T) (n *niodProc, root string, c conf, first int) {
	t.Helper()
	root = t.TempDir()
	c = conf{test: "workers = 0"}
	writeConf(t, root, c)
	n = startNiod(t, startOpts{root: root})
	return n, root, c, n.waitRuntime(1)
}

// exited reports whether niod has ended.
func (n *niodProc) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// signal sends sig to niod (the process the test started).
func (n *niodProc) signal(sig syscall.Signal) {
	n.t.Helper()
	if n.exited() {
		n.t.Fatalf("cannot send %v: niod has already exited (%v)\n%s", sig, n.state, n.dump())
	}
	if err := syscall.Kill(n.pid, sig); err != nil {
		n.t.Fatalf("kill %d %v: %v", n.pid, sig, err)
	}
}

// waitExit waits for niod to end and returns its wait status.
func (n *niodProc) waitExit(timeout time.Duration) syscall.WaitStatus {
	n.t.Helper()
	select {
	case <-n.done:
	case <-time.After(timeout):
		n.t.Fatalf("niod still running after %v\n%s", timeout, n.dump())
	}
	// What niod wrote last is in the pipes: read it before any check.
	select {
	case <-n.outEOF:
	case <-time.After(5 * time.Second):
	}
	return n.state.Sys().(syscall.WaitStatus)
}

// expectExit waits for niod to end and fails unless it exited (not died of
// a signal) with code.
func (n *niodProc) expectExit(code int, timeout time.Duration) {
	n.t.Helper()
	ws := n.waitExit(timeout)
	switch {
	case ws.Signaled():
		n.t.Errorf("niod died of signal %v; want it to exit with %d\n%s", ws.Signal(), code, n.dump())
	case ws.ExitStatus() != code:
		n.t.Errorf("niod exited with %d; want %d\n%s", ws.ExitStatus(), code, n.dump())
	}
	assertNoCrash(n.t, n.stderr.String())
}

// logs returns niod's JSON log lines so far (other stderr lines, such as
// the runtime's request log, are left out).
func (n *niodProc) logs() []logLine {
	var out []logLine
	for _, line := range n.stderr.lines() {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var l logLine
		if json.Unmarshal([]byte(line), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// logsWith returns the log lines whose message is msg.
func (n *niodProc) logsWith(msg string) []logLine {
	var out []logLine
	for _, l := range n.logs() {
		if l.msg() == msg {
			out = append(out, l)
		}
	}
	return out
}

// waitLog waits until niod has logged msg at least count times and returns
// those lines.
func (n *niodProc) waitLog(msg string, count int) []logLine {
	n.t.Helper()
	var got []logLine
	n.waitFor(fmt.Sprintf("%d log lines %q", count, msg), func() bool {
		got = n.logsWith(msg)
		return len(got) >= count
	})
	return got
}

// stdoutLines returns the lines of niod's stdout (the runtime's output)
// that start with prefix.
func (n *niodProc) stdoutLines(prefix string) []string {
	var out []string
	for _, l := range n.stdout.lines() {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// waitStdout waits until count lines of stdout start with prefix.
func (n *niodProc) waitStdout(prefix string, count int) []string {
	n.t.Helper()
	var got []string
	n.waitFor(fmt.Sprintf("%d lines %q on stdout", count, prefix), func() bool {
		got = n.stdoutLines(prefix)
		return len(got) >= count
	})
	return got
}

// waitFor polls cond until it holds; it fails when waitLong passes or niod
// ends first.
func (n *niodProc) waitFor(what string, cond func() bool) {
	n.t.Helper()
	n.waitForFn(func() string { return what }, cond)
}

// waitForFn is waitFor with a description made when it fails.
func (n *niodProc) waitForFn(what func() string, cond func() bool) {
	n.t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		if cond() {
			return
		}
		if n.exited() {
			// One last look: the output may have been read just now.
			select {
			case <-n.outEOF:
			case <-time.After(2 * time.Second):
			}
			if cond() {
				return
			}
			n.t.Fatalf("niod ended (%v) while waiting for %s\n%s", n.state, what(), n.dump())
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("no %s after %v\n%s", what(), waitLong, n.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runtimePIDs returns the pids of every "runtime started" line, in order.
func (n *niodProc) runtimePIDs() []int {
	var out []int
	for _, l := range n.logsWith("runtime started") {
		if pid, ok := l.int("pid"); ok {
			out = append(out, pid)
		}
	}
	return out
}

// waitRuntime waits for the count-th "runtime started" and returns its pid.
func (n *niodProc) waitRuntime(count int) int {
	n.t.Helper()
	n.waitLog("runtime started", count)
	pids := n.runtimePIDs()
	if len(pids) < count {
		n.t.Fatalf("\"runtime started\" lines without a pid field\n%s", n.dump())
	}
	return pids[count-1]
}

// dump is niod's output, for failure messages.
func (n *niodProc) dump() string {
	return "--- stdout:\n" + n.stdout.String() + "--- stderr:\n" + n.stderr.String()
}

// cleanup kills niod, its tree and every process carrying the test's mark,
// by pid, until none is left.
func (n *niodProc) cleanup() {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := markedProcs(n.mark)
		if !n.exited() {
			for _, p := range descendants(n.pid) {
				pids = append(pids, p.pid)
			}
		}
		if len(pids) == 0 && n.exited() {
			break
		}
		if time.Now().After(deadline) {
			n.t.Errorf("cleanup: processes of the test survive SIGKILL: %v", pids)
			break
		}
		for _, pid := range pids {
			if pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if !n.exited() {
			_ = syscall.Kill(-n.pid, syscall.SIGKILL)
			_ = syscall.Kill(n.pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		n.t.Errorf("cleanup: niod (pid %d) was not reaped", n.pid)
	}
}

// ---------------------------------------------------------------- /proc

// procInfo is what /proc/PID/stat says about a process.
type procInfo struct {
	pid, ppid, pgid, sid int
	state                byte
	start                uint64 // start time, to tell a reused pid apart
}

func readProc(pid int) (procInfo, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return procInfo{}, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 20 {
		return procInfo{}, false
	}
	p := procInfo{pid: pid, state: f[0][0]}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgid, _ = strconv.Atoi(f[2])
	p.sid, _ = strconv.Atoi(f[3])
	p.start, _ = strconv.ParseUint(f[19], 10, 64)
	return p, true
}

// allProcs reads every process in /proc.
func allProcs() []procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// descendants returns the processes below root, following ppid links.
func descendants(root int) []procInfo {
	all := allProcs()
	children := map[int][]procInfo{}
	for _, p := range all {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var out []procInfo
	queue := []int{root}
	seen := map[int]bool{root: true}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if !seen[c.pid] {
				seen[c.pid] = true
				out = append(out, c)
				queue = append(queue, c.pid)
			}
		}
	}
	return out
}

// environ returns a process's environment, nil when it cannot be read
// (gone, or a zombie).
func environ(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// markedProcs returns the living processes whose environment holds the
// test's mark.
func markedProcs(mark string) []int {
	want := markEnv + "=" + mark
	var out []int
	for _, p := range allProcs() {
		if p.state == 'Z' || p.pid == os.Getpid() {
			continue
		}
		for _, kv := range environ(p.pid) {
			if kv == want {
				out = append(out, p.pid)
				break
			}
		}
	}
	sort.Ints(out)
	return out
}

// procRef is a process seen once: pid and start time.
type procRef struct {
	pid   int
	start uint64
	what  string
}

// track records a process the test saw, failing when it is already gone.
func track(t *testing.T, pid int, what string) procRef {
	t.Helper()
	p, ok := readProc(pid)
	if !ok {
		t.Fatalf("%s (pid %d) does not exist", what, pid)
	}
	return procRef{pid: pid, start: p.start, what: what}
}

// exists reports whether the process is still there, a zombie included.
func (r procRef) exists() (procInfo, bool) {
	p, ok := readProc(r.pid)
	if !ok || p.start != r.start {
		return procInfo{}, false
	}
	return p, true
}

// assertGone fails unless every process in refs has left /proc (a zombie
// is not gone: someone still has to reap it). It waits a little, since the
// check may race with the last reaping.
func assertGone(t *testing.T, refs []procRef) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for _, r := range refs {
			if p, ok := r.exists(); ok {
				left = append(left, fmt.Sprintf("%s pid %d (state %c, ppid %d)", r.what, r.pid, p.state, p.ppid))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes survive: %s", strings.Join(left, "; "))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertGoneAtExit fails when a process of refs was still there (alive or
// a zombie) when niod exited, or when a living process carried the test's
// mark then; then it checks that they are gone now.
func (n *niodProc) assertGoneAtExit(refs []procRef) {
	n.t.Helper()
	if !n.exited() {
		n.t.Fatalf("niod has not exited")
	}
	for _, r := range refs {
		for _, p := range n.atExit {
			if p.pid == r.pid && p.start == r.start {
				n.t.Errorf("%s pid %d was still there (state %c, ppid %d) when niod exited", r.what, r.pid, p.state, p.ppid)
			}
		}
	}
	if len(n.markedAtExit) > 0 {
		n.t.Errorf("processes of the test still ran when niod exited: %v", n.markedAtExit)
	}
	assertGone(n.t, refs)
	assertNoMarked(n.t, n)
}

// assertNoMarked fails when a living process still carries the test's mark.
func assertNoMarked(t *testing.T, n *niodProc) {
	t.Helper()
	if pids := markedProcs(n.mark); len(pids) > 0 {
		var desc []string
		for _, pid := range pids {
			cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			desc = append(desc, fmt.Sprintf("%d %q", pid, strings.ReplaceAll(string(cmd), "\x00", " ")))
		}
		t.Errorf("processes of the test still run: %s", strings.Join(desc, "; "))
	}
}

// ignores reports whether process pid ignores sig (SigIgn in
// /proc/PID/status).
func ignores(pid int, sig syscall.Signal) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// pidsOf parses "workers 1 2 3" (or "orphans ...") into pids.
func pidsOf(t *testing.T, line string) []int {
	t.Helper()
	f := strings.Fields(line)
	var out []int
	for _, s := range f[1:] {
		pid, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("bad pid list %q", line)
		}
		out = append(out, pid)
	}
	return out
}

// ---------------------------------------------------------------- REST API

// api talks to the reference runtime.
type api struct {
	port           int
	user, password string
}

func newAPI(port int) api { return api{port: port, user: apiUser, password: apiPassword} }

var httpClient = &http.Client{Timeout: 3 * time.Second}

func (a api) get(path string) (int, []byte, error) {
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", a.port, path), nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.password)))
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// nioStatus is GET /nio.
type nioStatus struct {
	Status   string         `json:"status"`
	Instance string         `json:"instance"`
	PID      int            `json:"pid"`
	Workers  []int          `json:"workers"`
	Signals  map[string]int `json:"signals"`
}

// status returns GET /nio, or an error when the runtime does not answer
// with 200.
func (a api) status() (nioStatus, error) {
	var st nioStatus
	code, body, err := a.get("/nio")
	if err != nil {
		return st, err
	}
	if code != 200 {
		return st, fmt.Errorf("GET /nio: %d %s", code, body)
	}
	return st, json.Unmarshal(body, &st)
}

// settings returns GET /settings: section -> key -> value.
func (a api) settings(t *testing.T) map[string]map[string]string {
	t.Helper()
	code, body, err := a.get("/settings")
	if err != nil || code != 200 {
		t.Fatalf("GET /settings: %d %s %v", code, body, err)
	}
	var out map[string]map[string]string
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET /settings: %v: %s", err, body)
	}
	return out
}

// waitAPI waits until the runtime answers /nio and ok accepts the answer.
func (n *niodProc) waitAPI(a api, ok func(nioStatus) bool) nioStatus {
	n.t.Helper()
	var st nioStatus
	var last error
	n.waitForFn(func() string {
		return fmt.Sprintf("expected answer from the runtime on port %d (last: %+v, error: %v)", a.port, st, last)
	}, func() bool {
		var err error
		st, err = a.status()
		last = err
		if err != nil {
			return false
		}
		return ok == nil || ok(st)
	})
	return st
}
