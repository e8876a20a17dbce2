package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// hangGuard is how long a test waits for something that should happen at
// once. It only catches hangs; it is not a speed requirement.
const hangGuard = 10 * time.Second

// returns fails the test if f has not returned within hangGuard.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("%s did not return within %v", what, hangGuard)
	}
}

// smallPipe returns a pipe whose buffer is as small as Linux allows, so a
// few lines fill it, whatever the system's default pipe size.
func smallPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	var fcntlErr error
	if err := withFd(w, func(fd int) { _, fcntlErr = unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, 4096) }); err != nil || fcntlErr != nil {
		t.Logf("cannot shrink the pipe (%v, %v); using its default size", err, fcntlErr)
	}
	return r, w
}

func newAsync(t *testing.T, o Options) *Logger {
	t.Helper()
	o.Async = true
	if o.Env == nil {
		o.Env = envMap(nil)
	}
	l, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

// padding makes each line about 200 bytes.
var padding = strings.Repeat("x", 150)

// TestAsyncUnreadPipeDoesNotBlock logs far more than a pipe holds to a pipe
// nobody reads: every call must return. A synchronous logger blocks here.
func TestAsyncUnreadPipeDoesNotBlock(t *testing.T) {
	r, w := smallPipe(t)
	l := newAsync(t, Options{Format: FormatJSON, Output: w})
	const n = 3000 // ~600 KB: more than the pipe and the queue together
	returns(t, "logging to an unread pipe", func() {
		for i := range n {
			l.Info("line", Int("i", i), String("pad", padding))
		}
	})
	if l.Dropped() == 0 {
		t.Fatalf("no line dropped although %d lines could not fit", n)
	}
	// Releases the writer, which gets EPIPE, rather than leaving it blocked.
	r.Close()
}

// TestAsyncReportsDroppedLines fills the queue while nobody reads, then
// drains the pipe: the lines written plus the count reported must account
// for every line logged, reported by warnings in the logger's format.
func TestAsyncReportsDroppedLines(t *testing.T) {
	r, w := smallPipe(t)
	l := newAsync(t, Options{Format: FormatJSON, Output: w})
	const n = 3000
	returns(t, "logging to an unread pipe", func() {
		for i := range n {
			l.Info("line", Int("i", i), String("pad", padding))
		}
	})
	dropped := l.Dropped()
	if dropped == 0 {
		t.Fatal("no line dropped")
	}

	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		read <- b
	}()
	if err := l.Flush(hangGuard); err != nil {
		t.Fatalf("Flush after the reader caught up: %v", err)
	}
	w.Close()
	out := <-read

	var written, reported, warnings uint64
	last := -1
	for _, line := range lines(string(out)) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %v: %q", err, line)
		}
		if m["msg"] == droppedMessage {
			if m["level"] != "warn" {
				t.Errorf("warning has level %v: %q", m["level"], line)
			}
			warnings++
			reported += uint64(m["dropped"].(float64))
			continue
		}
		i := int(m["i"].(float64))
		if i <= last {
			t.Fatalf("line %d after line %d: out of order", i, last)
		}
		last = i
		written++
	}
	if written+reported != n || reported != dropped || l.Dropped() != dropped {
		t.Fatalf("%d lines written, %d reported dropped (Dropped() = %d, then %d), want %d in all",
			written, reported, dropped, l.Dropped(), n)
	}
	if warnings == 0 {
		t.Fatal("no dropped-lines warning")
	}
}

// TestAsyncBrokenPipe logs to a pipe whose reader has gone: no panic, every
// call returns, the lines are counted as dropped and Flush reports EPIPE.
// The pipe is not fd 1 or 2, so Go returns EPIPE instead of dying of
// SIGPIPE.
func TestAsyncBrokenPipe(t *testing.T) {
	r, w := smallPipe(t)
	r.Close()
	l := newAsync(t, Options{Format: FormatConsole, Output: w})
	returns(t, "logging to a broken pipe", func() {
		for i := range 100 {
			l.Info("line", Int("i", i))
		}
		if err := l.Flush(hangGuard); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("Flush = %v, want EPIPE", err)
		}
		for i := range 10 {
			l.Error("after the failure", Int("i", i))
		}
	})
	if got := l.Dropped(); got != 110 {
		t.Fatalf("Dropped() = %d, want 110", got)
	}
}

// TestSyncBrokenPipe checks the synchronous logger on a broken pipe too:
// the write fails, but the call returns without panicking.
func TestSyncBrokenPipe(t *testing.T) {
	r, w := smallPipe(t)
	r.Close()
	l, err := New(Options{Format: FormatJSON, Output: w, Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	returns(t, "logging to a broken pipe", func() {
		for range 10 {
			l.Warn("nobody listens")
		}
	})
}

// TestFlushTimeoutOnStuckOutput: Flush must give up after its timeout when
// the output never drains.
func TestFlushTimeoutOnStuckOutput(t *testing.T) {
	r, w := smallPipe(t)
	l := newAsync(t, Options{Format: FormatJSON, Output: w})
	for i := range 500 { // ~100 KB, more than any default pipe buffer
		l.Info("line", Int("i", i), String("pad", padding))
	}
	const timeout = 50 * time.Millisecond
	var err error
	returns(t, "Flush on a stuck output", func() { err = l.Flush(timeout) })
	if err == nil || !strings.Contains(err.Error(), "still queued") {
		t.Fatalf("Flush on a stuck output = %v, want a timeout error", err)
	}
	r.Close()
}

// gatedOutput is a zapcore.WriteSyncer whose writes wait for the gate to
// open, so a test controls when the writer goroutine makes progress.
type gatedOutput struct {
	gate    chan struct{} // closed to let writes through
	entered chan struct{} // receives once per Write call
	err     error         // returned by every Write when set

	mu     sync.Mutex
	writes []string
}

func newGatedOutput() *gatedOutput {
	return &gatedOutput{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
}

func (g *gatedOutput) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes = append(g.writes, string(p))
	if g.err != nil {
		return 0, g.err
	}
	return len(p), nil
}

func (g *gatedOutput) Sync() error { return nil }

func (g *gatedOutput) written() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.writes...)
}

// TestAsyncQueueBounds checks both bounds, counting the line being written,
// and that the drops are reported after the lines queued when they
// happened.
func TestAsyncQueueBounds(t *testing.T) {
	tests := []struct {
		name               string
		maxLines, maxBytes int
		lines              []string // after "first\n", which blocks the writer
		want               []string // written after "first\n"
	}{
		{"lines", 3, 1000, []string{"a\n", "b\n", "c\n"}, []string{"a\n", "b\n"}},
		// first (6) + aaaaaaaaa (10) + bbbbbbbbb (10) = 26; 11 more is too
		// much, 2 more fits.
		{"bytes", 100, 30, []string{"aaaaaaaaa\n", "bbbbbbbbb\n", "cccccccccc\n", "d\n"}, []string{"aaaaaaaaa\n", "bbbbbbbbb\n", "d\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newGatedOutput()
			s := newAsyncSink(out)
			s.setEncoder(newJSONEncoder())
			s.maxLines, s.maxBytes = tt.maxLines, tt.maxBytes
			s.Write([]byte("first\n"))
			<-out.entered // the writer holds "first" now
			for _, line := range tt.lines {
				if n, err := s.Write([]byte(line)); n != len(line) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", line, n, err, len(line))
				}
			}
			if got := s.droppedLines(); got != 1 {
				t.Fatalf("dropped %d lines, want 1", got)
			}
			close(out.gate)
			if err := s.flush(hangGuard); err != nil {
				t.Fatal(err)
			}
			got := out.written()
			want := append([]string{"first\n"}, tt.want...)
			if len(got) != len(want)+1 || strings.Join(got[:len(want)], "") != strings.Join(want, "") {
				t.Fatalf("written %q, want %q and a warning", got, want)
			}
			warning := got[len(want)]
			if !regexp.MustCompile(`^\{"ts":"[^"]+","level":"warn","msg":"log lines dropped \(output too slow\)","dropped":1\}\n$`).MatchString(warning) {
				t.Fatalf("warning = %q", warning)
			}
		})
	}
}

// TestAsyncOversizedLine drops a line bigger than the whole queue while the
// writer is idle; the drop must still be reported.
func TestAsyncOversizedLine(t *testing.T) {
	out := newGatedOutput()
	close(out.gate)
	s := newAsyncSink(out)
	s.maxBytes = 10
	s.Write([]byte(strings.Repeat("y", 20) + "\n"))
	if err := s.flush(hangGuard); err != nil {
		t.Fatal(err)
	}
	// No encoder was set, so the warning is the plain-text fallback.
	got := out.written()
	if len(got) != 1 || got[0] != "niod: 1 log lines dropped (output too slow)\n" {
		t.Fatalf("written %q, want one warning", got)
	}
}

// TestAsyncStopsAfterWriteError: after one failed write the sink never
// touches the output again, and discards what was queued.
func TestAsyncStopsAfterWriteError(t *testing.T) {
	out := newGatedOutput()
	out.err = errors.New("boom")
	s := newAsyncSink(out)
	s.Write([]byte("first\n"))
	<-out.entered
	for range 5 {
		s.Write([]byte("queued\n"))
	}
	close(out.gate)
	if err := s.flush(hangGuard); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("flush = %v, want the write error", err)
	}
	for range 1000 {
		s.Write([]byte("after\n"))
	}
	if err := s.flush(hangGuard); err == nil {
		t.Fatal("flush after the failure = nil, want the write error")
	}
	if n := len(out.written()); n != 1 {
		t.Fatalf("%d writes to a failed output, want 1", n)
	}
	if got := s.droppedLines(); got != 1006 {
		t.Fatalf("dropped %d lines, want 1006", got)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || s.lines != 0 || s.bytes != 0 || len(s.queue) != 0 {
		t.Fatalf("sink not idle after the failure: running=%v lines=%d bytes=%d queue=%d", s.running, s.lines, s.bytes, len(s.queue))
	}
}

// TestAsyncConcurrentLinesWhole logs from several goroutines (run with
// -race): each line arrives whole and none is lost to a fast output.
func TestAsyncConcurrentLinesWhole(t *testing.T) {
	f := tempFile(t)
	l := newAsync(t, Options{Format: FormatJSON, Output: f})
	const workers, perWorker = 4, 200 // fewer than the queue holds
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				l.Info("msg", Int("w", w), Int("i", i), String("pad", padding))
			}
		})
	}
	wg.Wait()
	if err := l.Flush(hangGuard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	got := lines(string(data))
	if len(got) != workers*perWorker || l.Dropped() != 0 {
		t.Fatalf("%d lines, %d dropped; want %d, 0", len(got), l.Dropped(), workers*perWorker)
	}
	for _, line := range got {
		if !json.Valid([]byte(line)) {
			t.Fatalf("invalid line %q", line)
		}
	}
}

func TestSetLevel(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) {
			f := tempFile(t)
			l, err := New(Options{Format: FormatJSON, Output: f, Async: async, Env: envMap(nil)})
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("hidden 1")
			l.SetLevel(zapcore.DebugLevel)
			l.Debug("shown 1")
			l.SetLevel(zapcore.ErrorLevel)
			l.Warn("hidden 2")
			l.Error("shown 2")
			if lvl := zapcore.LevelOf(*l.core.Load()); lvl != zapcore.ErrorLevel {
				t.Errorf("core level = %v, want error", lvl)
			}
			if err := l.Flush(hangGuard); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(f.Name())
			out := string(data)
			if strings.Contains(out, "hidden") || !strings.Contains(out, "shown 1") || !strings.Contains(out, "shown 2") {
				t.Fatalf("output:\n%s", out)
			}
		})
	}
}

// TestReconfigure switches an asynchronous console logger to JSON: lines
// logged before keep their format and order, the redactor stays, and bad
// options change nothing.
func TestReconfigure(t *testing.T) {
	f := tempFile(t)
	r := NewRedactor()
	r.Add("hunter22")
	l := newAsync(t, Options{Format: FormatConsole, Output: f, Redactor: r})
	l.Info("before", String("pw", "hunter22"))
	l.Debug("hidden")
	if err := l.Reconfigure(Options{Format: FormatJSON, Level: zapcore.DebugLevel}); err != nil {
		t.Fatal(err)
	}
	l.Debug("after", String("pw", "hunter22"))
	if err := l.Reconfigure(Options{Format: "xml"}); err == nil {
		t.Fatal("Reconfigure with an unknown format succeeded")
	}
	if err := l.Reconfigure(Options{Format: FormatConsole, Level: zapcore.FatalLevel + 1}); err == nil {
		t.Fatal("Reconfigure with an invalid level succeeded")
	}
	l.Debug("still json")
	if err := l.Flush(hangGuard); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f.Name())
	got := lines(string(data))
	if len(got) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(got), data)
	}
	if !regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} info  before pw=\*{8}$`).MatchString(got[0]) {
		t.Errorf("line 0 = %q, want console", got[0])
	}
	for i, msg := range []string{"after", "still json"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(got[i+1]), &m); err != nil || m["msg"] != msg || m["level"] != "debug" {
			t.Errorf("line %d = %q (%v), want JSON debug %q", i+1, got[i+1], err, msg)
		}
	}
	if bytes.Contains(data, []byte("hunter22")) {
		t.Errorf("secret leaked after Reconfigure:\n%s", data)
	}
}

// TestReconfigureConcurrent logs while the format and level change; run
// with -race.
func TestReconfigureConcurrent(t *testing.T) {
	l := newAsync(t, Options{Format: FormatJSON, Output: tempFile(t)})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					l.Info("msg", Int("n", 1))
				}
			}
		})
	}
	for i := range 50 {
		f := []Format{FormatJSON, FormatConsole, FormatJournal}[i%3]
		if err := l.Reconfigure(Options{Format: f, Level: zapcore.Level(i%3) - 1}); err != nil {
			t.Fatal(err)
		}
		l.SetLevel(zapcore.InfoLevel)
	}
	close(stop)
	wg.Wait()
	if err := l.Flush(hangGuard); err != nil {
		t.Fatal(err)
	}
}

// TestNewCoreAsyncSync: with a core from NewCore, zap's Sync flushes the
// queue.
func TestNewCoreAsyncSync(t *testing.T) {
	f := tempFile(t)
	core, err := NewCore(Options{Format: FormatJSON, Output: f, Async: true, Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	z := zap.New(core)
	for i := range 100 {
		z.Info("line", zap.Int("i", i))
	}
	if err := z.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	data, _ := os.ReadFile(f.Name())
	if n := len(lines(string(data))); n != 100 {
		t.Fatalf("%d lines after Sync, want 100", n)
	}
}
