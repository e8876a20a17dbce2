package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"niod/internal/handoff"
	"niod/internal/logging"
	"niod/internal/proctree"
	"niod/internal/spec"
)

// fakeOS stands for the operating system under the loop: spawns give pids,
// kills are recorded, and the reaper reports what the test let end.
type fakeOS struct {
	mu      sync.Mutex
	nextPID int
	spawns  int
	failN   int // the first failN spawns fail
	kills   []string
	exits   []ChildExit
	live    map[int]bool
}

func (o *fakeOS) Spawn(*spec.Spec, []string) (int, func(), int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.spawns++
	if o.spawns <= o.failN {
		return 0, nil, 127, errors.New("cannot start /x: it does not exist (ENOENT)")
	}
	o.nextPID++
	o.live[o.nextPID] = true
	return o.nextPID, nil, 0, nil
}

func (o *fakeOS) SpawnStep(s *spec.Spec, _ spec.Step) (int, int, error) {
	pid, _, code, err := o.Spawn(s, nil)
	return pid, code, err
}

// Kill makes every signal but a forwarded one end the group's process.
func (o *fakeOS) Kill(pgid int, sig syscall.Signal, tree bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.kills = append(o.kills, syscall.Signal(sig).String())
	if tree && o.live[pgid] {
		delete(o.live, pgid)
		o.exits = append(o.exits, ChildExit{pgid, 128 + int(sig)})
	}
}

func (o *fakeOS) Reap() ([]ChildExit, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	exits := o.exits
	o.exits = nil
	return exits, len(o.live) == 0
}

type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.msgs = append(r.msgs, s); r.mu.Unlock() }
func (r *recorder) all() string  { r.mu.Lock(); defer r.mu.Unlock(); return strings.Join(r.msgs, "\n") }

func (r *recorder) Ready()                        { r.add("READY=1") }
func (r *recorder) Reloading()                    { r.add("RELOADING=1") }
func (r *recorder) Status(s string)               { r.add("STATUS=" + s) }
func (r *recorder) Stopping()                     { r.add("STOPPING=1") }
func (r *recorder) ExtendTimeout(d time.Duration) { r.add("EXTEND_TIMEOUT_USEC") }
func (r *recorder) Errno(c int)                   { r.add("ERRNO") }
func (r *recorder) Watchdog()                     { r.add("WATCHDOG=1") }

func testLogger(t *testing.T) *logging.Logger {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	log, err := logging.New(logging.Options{Format: logging.FormatJSON, Output: f})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func runLoop(t *testing.T, o *fakeOS, s *spec.Spec, sigs chan os.Signal, reload func() (*spec.Spec, []string)) (chan int, *recorder) {
	t.Helper()
	rec := &recorder{}
	done := make(chan int, 1)
	go func() {
		done <- Run(Config{Spec: s, Reload: reload, Log: testLogger(t), Notify: rec, Signals: sigs,
			Spawner: o, Killer: o, Reap: o.Reap})
	}()
	return done, rec
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// wantExit waits for Run to return code; the wait only guards a hang.
func wantExit(t *testing.T, done <-chan int, code int) {
	t.Helper()
	select {
	case got := <-done:
		if got != code {
			t.Errorf("exit %d, want %d", got, code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func execSpec() *spec.Spec {
	s := testSpec()
	s.Options.Ready, s.Options.HealthURL = spec.ReadyExec, ""
	return s
}

func TestLoopStopsOnTerm(t *testing.T) {
	o := &fakeOS{nextPID: 99, live: map[int]bool{}}
	sigs := make(chan os.Signal, 4)
	done, rec := runLoop(t, o, execSpec(), sigs, nil)
	waitFor(t, "READY=1", func() bool { return strings.Contains(rec.all(), "READY=1") })
	sigs <- syscall.SIGTERM
	wantExit(t, done, 143)
	if got := strings.Join(o.kills, ","); got != "terminated" {
		t.Errorf("kills %s, want one TERM to the group and tree", got)
	}
	if !strings.Contains(rec.all(), "STOPPING=1") {
		t.Errorf("no STOPPING=1: %s", rec.all())
	}
}

func TestLoopFailedStartsBackOffAndStopOnTerm(t *testing.T) {
	o := &fakeOS{nextPID: 99, live: map[int]bool{}, failN: 1 << 30}
	sigs := make(chan os.Signal, 4)
	done, _ := runLoop(t, o, execSpec(), sigs, nil)
	waitFor(t, "a back-off", func() bool { o.mu.Lock(); defer o.mu.Unlock(); return o.spawns >= 3 })
	sigs <- syscall.SIGTERM
	wantExit(t, done, 143)
	// 100ms then 200ms of back-off cannot hold more than a few tries in
	// the time it took; a hot loop makes thousands.
	if o.spawns > 10 {
		t.Errorf("%d spawns: no back-off", o.spawns)
	}
}

func TestLoopReloadGoesThroughTheLoop(t *testing.T) {
	o := &fakeOS{nextPID: 99, live: map[int]bool{}}
	sigs := make(chan os.Signal, 4)
	s := execSpec()
	changed := *s
	changed.Args = []string{"runtime", "--new"}
	done, rec := runLoop(t, o, s, sigs, func() (*spec.Spec, []string) { return &changed, nil })
	waitFor(t, "READY=1", func() bool { return strings.Contains(rec.all(), "READY=1") })
	sigs <- syscall.SIGHUP
	waitFor(t, "the new runtime", func() bool { o.mu.Lock(); defer o.mu.Unlock(); return o.spawns == 2 })
	waitFor(t, "READY=1 after RELOADING=1", func() bool {
		_, after, ok := strings.Cut(rec.all(), "RELOADING=1")
		return ok && strings.Contains(after, "READY=1")
	})
	sigs <- syscall.SIGINT
	wantExit(t, done, 130)
}

func TestDescribeStartError(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{write("moved-venv", "#!/nonexistent/venv/bin/python3\nprint(1)\n", 0o755), 127, "interpreter /nonexistent/venv/bin/python3"},
		{filepath.Join(dir, "missing"), 127, "does not exist (ENOENT)"},
		{write("no-shebang", "echo hi\n", 0o755), 126, "ENOEXEC"},
		{write("not-exec", "#!/bin/sh\n", 0o644), 126, "EACCES"},
	} {
		h, err := handoff.NewMemfd([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = forkExec(&spec.Spec{Path: c.path, Args: []string{c.path}, Dir: dir}, h, nil)
		h.Close()
		if err == nil {
			t.Fatalf("%s started", c.path)
		}
		code, described := describeStartError(c.path, err)
		if code != c.code || !strings.Contains(described.Error(), c.want) || !strings.Contains(described.Error(), c.path) {
			t.Errorf("%s: %d %q, want %d and %q", filepath.Base(c.path), code, described, c.code, c.want)
		}
	}
	if code, err := describeStartError("/x", syscall.EMFILE); code != 126 || !strings.Contains(err.Error(), "EMFILE") {
		t.Errorf("EMFILE: %d %v", code, err)
	}
}

func TestOutsideGroup(t *testing.T) {
	procs := []proctree.Proc{{PID: 100, PGID: 100}, {PID: 101, PGID: 100}, {PID: 200, PGID: 200}, {PID: 300, PGID: 1}}
	got := outsideGroup(procs, 100)
	if len(got) != 2 || got[0].PID != 200 || got[1].PID != 300 {
		t.Errorf("outside group 100: %+v", got)
	}
	if len(outsideGroup(procs, 0)) != 4 {
		t.Errorf("with no group every process is signalled")
	}
}
