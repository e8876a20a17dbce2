package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"auto", FormatAuto, false},
		{"console", FormatConsole, false},
		{"json", FormatJSON, false},
		{"journal", FormatJournal, false},
		{" JSON ", FormatJSON, false},
		{"Journal", FormatJournal, false},
		{"", "", true},
		{"text", "", true},
		{"jsonl", "", true},
		{"syslog", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if tt.wantErr {
				want := fmt.Sprintf("unknown log format %q (use auto, console, json or journal)", tt.in)
				if err == nil || err.Error() != want {
					t.Fatalf("ParseFormat(%q) error = %v, want %q", tt.in, err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFormat(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    zapcore.Level
		wantErr bool
	}{
		{"debug", zapcore.DebugLevel, false},
		{"info", zapcore.InfoLevel, false},
		{"warn", zapcore.WarnLevel, false},
		{"warning", zapcore.WarnLevel, false},
		{"error", zapcore.ErrorLevel, false},
		{"DEBUG", zapcore.DebugLevel, false},
		{" Warning\n", zapcore.WarnLevel, false},
		{"", 0, true},
		{"trace", 0, true},
		{"fatal", 0, true},
		{"panic", 0, true},
		{"err", 0, true},
		{"3", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if tt.wantErr {
				want := fmt.Sprintf("unknown log level %q (use debug, info, warn or error)", tt.in)
				if err == nil || err.Error() != want {
					t.Fatalf("ParseLevel(%q) error = %v, want %q", tt.in, err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// openPTY returns both ends of a new pseudo-terminal, the equivalent of
// posix_openpt, grantpt, unlockpt and ptsname. The master is non-blocking so
// reads can use deadlines.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		t.Skip("no /dev/ptmx on this machine")
	}
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	// grantpt is a no-op with devpts; unlockpt clears the lock.
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("ptsname: %v", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		t.Fatalf("set non-blocking: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func devIno(t *testing.T, f *os.File) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatalf("fstat %s: %v", f.Name(), err)
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pipeWriter(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return w
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolve(t *testing.T) {
	pty := func(t *testing.T) *os.File { _, s := openPTY(t); return s }
	sameStream := func(t *testing.T, out *os.File) string { return devIno(t, out) }
	otherStream := func(t *testing.T, _ *os.File) string { return devIno(t, tempFile(t)) }
	fixed := func(v string) func(*testing.T, *os.File) string {
		return func(*testing.T, *os.File) string { return v }
	}

	tests := []struct {
		name   string
		format Format
		out    func(*testing.T) *os.File
		stream func(*testing.T, *os.File) string // JOURNAL_STREAM, nil for unset
		want   Format
	}{
		{"pipe is json", FormatAuto, pipeWriter, nil, FormatJSON},
		{"empty format is auto", "", pipeWriter, nil, FormatJSON},
		{"regular file is json", FormatAuto, tempFile, nil, FormatJSON},
		{"pty is console", FormatAuto, pty, nil, FormatConsole},
		{"journal stream names file", FormatAuto, tempFile, sameStream, FormatJournal},
		{"journal stream names pipe", FormatAuto, pipeWriter, sameStream, FormatJournal},
		{"journal stream wins over terminal", FormatAuto, pty, sameStream, FormatJournal},
		{"journal stream names other file", FormatAuto, tempFile, otherStream, FormatJSON},
		{"journal stream names other file on pty", FormatAuto, pty, otherStream, FormatConsole},
		{"journal stream empty", FormatAuto, tempFile, fixed(""), FormatJSON},
		{"journal stream no colon", FormatAuto, tempFile, fixed("12345"), FormatJSON},
		{"journal stream missing inode", FormatAuto, tempFile, fixed("2049:"), FormatJSON},
		{"journal stream missing device", FormatAuto, tempFile, fixed(":1234"), FormatJSON},
		{"journal stream hex", FormatAuto, tempFile, fixed("0x801:0x1f"), FormatJSON},
		{"journal stream garbage", FormatAuto, tempFile, fixed("dev:ino"), FormatJSON},
		{"journal stream with spaces", FormatAuto, tempFile, func(t *testing.T, f *os.File) string {
			return " " + devIno(t, f) + " "
		}, FormatJSON},
		{"journal stream extra field", FormatAuto, tempFile, func(t *testing.T, f *os.File) string {
			return devIno(t, f) + ":1"
		}, FormatJSON},
		{"explicit json on pty", FormatJSON, pty, nil, FormatJSON},
		{"explicit console on pipe", FormatConsole, pipeWriter, nil, FormatConsole},
		{"explicit console despite journal", FormatConsole, tempFile, sameStream, FormatConsole},
		{"explicit journal on pipe", FormatJournal, pipeWriter, nil, FormatJournal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.out(t)
			env := map[string]string{}
			if tt.stream != nil {
				env["JOURNAL_STREAM"] = tt.stream(t, out)
			}
			if got := Resolve(tt.format, out, envMap(env)); got != tt.want {
				t.Fatalf("Resolve(%q) with JOURNAL_STREAM=%q = %q, want %q", tt.format, env["JOURNAL_STREAM"], got, tt.want)
			}
		})
	}
}

func TestResolveClosedFile(t *testing.T) {
	f := tempFile(t)
	stream := devIno(t, f)
	f.Close()
	if got := Resolve(FormatAuto, f, envMap(map[string]string{"JOURNAL_STREAM": stream})); got != FormatJSON {
		t.Fatalf("Resolve on closed file = %q, want json", got)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"unknown format", Options{Format: "xml", Output: os.Stderr}},
		{"uppercase format", Options{Format: "JSON", Output: os.Stderr}},
		{"level too high", Options{Level: zapcore.FatalLevel + 1, Output: os.Stderr}},
		{"level too low", Options{Level: zapcore.DebugLevel - 1, Output: os.Stderr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l, err := newZap(tt.opts); err == nil {
				t.Fatalf("New(%+v) = %v, want error", tt.opts, l)
			}
		})
	}
}

// newFileLogger builds a logger writing to a temporary file and returns a
// function that reads everything written so far.
func newFileLogger(t *testing.T, o Options) (*zap.Logger, func() string) {
	t.Helper()
	f := tempFile(t)
	o.Output = f
	if o.Env == nil {
		o.Env = envMap(nil)
	}
	l, err := newZap(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l, func() string {
		t.Helper()
		if err := l.Sync(); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestConsoleFormat(t *testing.T) {
	l, read := newFileLogger(t, Options{Format: FormatConsole, Level: zapcore.DebugLevel})
	l.Info("hello", zap.String("key", "value"), zap.String("key2", "v with space"))
	l.Debug("dbg")
	l.Warn("")
	l.Named("child").Error("boom", zap.Error(errors.New("bad\nthing")))

	got := lines(read())
	want := []*regexp.Regexp{
		regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} info  hello key=value key2="v with space"$`),
		regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} debug dbg$`),
		regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} warn  $`),
		regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} error child: boom error="bad\\nthing"$`),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, re := range want {
		if !re.MatchString(got[i]) {
			t.Errorf("line %d = %q, want match for %s", i, got[i], re)
		}
		if strings.Contains(got[i], "\x1b") {
			t.Errorf("line %d has colour codes although the output is not a terminal: %q", i, got[i])
		}
	}
}

func TestConsoleFieldEncoding(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := []struct {
		name  string
		field zap.Field
		want  string
	}{
		{"plain string", zap.String("k", "v"), " k=v"},
		{"empty string", zap.String("k", ""), ` k=""`},
		{"equals sign", zap.String("k", "a=b"), ` k="a=b"`},
		{"quote", zap.String("k", `say "hi"`), ` k="say \"hi\""`},
		{"newline", zap.String("k", "a\nb"), ` k="a\nb"`},
		{"escape sequence", zap.String("k", "\x1b[31mred"), ` k="\x1b[31mred"`},
		{"invalid utf8", zap.String("k", "a\xffb"), ` k="a\xffb"`},
		{"unicode", zap.String("k", "grüße"), " k=grüße"},
		{"bad key", zap.String("a b=\"c", "v"), " a_b__c=v"},
		{"int", zap.Int("n", -42), " n=-42"},
		{"uint", zap.Uint64("n", 42), " n=42"},
		{"bool", zap.Bool("ok", true), " ok=true"},
		{"float", zap.Float64("f", 1.5), " f=1.5"},
		{"duration", zap.Duration("d", 1500*time.Millisecond), " d=1.5s"},
		{"time", zap.Time("t", ts), " t=2024-05-06T07:08:09.123Z"},
		{"strings", zap.Strings("s", []string{"a", "b c"}), ` s=["a","b c"]`},
		{"ints", zap.Ints("n", []int{1, 2}), " n=[1,2]"},
		{"reflected", zap.Any("m", map[string]int{"a": 1}), ` m={"a":1}`},
		{"unmarshalable", zap.Reflect("c", make(chan int)), " cError="},
		{"binary", zap.Binary("b", []byte{0, 1, 2}), " b=AAEC"},
		{"byte string", zap.ByteString("b", []byte("x y")), ` b="x y"`},
		{"namespace", zap.Namespace("ns"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, read := newFileLogger(t, Options{Format: FormatConsole})
			l.Info("m", tt.field)
			got := strings.TrimSuffix(read(), "\n")
			_, fields, ok := strings.Cut(got, " info  m")
			if !ok {
				t.Fatalf("unexpected line %q", got)
			}
			if tt.want == "" {
				if fields != "" {
					t.Fatalf("fields = %q, want none", fields)
				}
				return
			}
			if !strings.HasPrefix(fields, tt.want) {
				t.Fatalf("fields = %q, want prefix %q", fields, tt.want)
			}
		})
	}
}

func TestConsoleNamespaceAndContext(t *testing.T) {
	l, read := newFileLogger(t, Options{Format: FormatConsole})
	l.With(zap.String("svc", "web"), zap.Namespace("http")).Info("req", zap.Int("status", 200))
	l.Info("plain")
	got := lines(read())
	if len(got) != 2 || !strings.HasSuffix(got[0], " info  req svc=web http.status=200") || !strings.HasSuffix(got[1], " info  plain") {
		t.Fatalf("unexpected output:\n%s", strings.Join(got, "\n"))
	}
}

func TestConsoleColourOnTerminal(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		wantColor bool
	}{
		{"terminal", nil, true},
		{"NO_COLOR", map[string]string{"NO_COLOR": "1"}, false},
		{"dumb terminal", map[string]string{"TERM": "dumb"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master, slave := openPTY(t)
			l, err := newZap(Options{Output: slave, Env: envMap(tt.env)})
			if err != nil {
				t.Fatal(err)
			}
			l.Info("hello")
			if err := l.Sync(); err != nil {
				t.Fatalf("Sync on a terminal: %v", err)
			}
			if err := master.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
			var got []byte
			buf := make([]byte, 4096)
			for !strings.Contains(string(got), "\n") {
				n, err := master.Read(buf)
				if err != nil {
					t.Fatalf("read pty after %q: %v", got, err)
				}
				got = append(got, buf[:n]...)
			}
			hasColor := strings.Contains(string(got), "\x1b[34minfo\x1b[0m")
			if hasColor != tt.wantColor || !strings.Contains(string(got), "hello") {
				t.Fatalf("terminal output %q: colour = %v, want %v", got, hasColor, tt.wantColor)
			}
		})
	}
}

func TestJSONFormat(t *testing.T) {
	l, read := newFileLogger(t, Options{Format: FormatJSON, Level: zapcore.DebugLevel})
	l.Debug("first", zap.String("k", "v"))
	l.Info("two\nlines", zap.Int("n", 3))
	l.Named("sub").Warn("warned")
	l.Error("failed", zap.Error(errors.New("boom")))

	want := []struct{ level, msg string }{
		{"debug", "first"}, {"info", "two\nlines"}, {"warn", "warned"}, {"error", "failed"},
	}
	got := lines(read())
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	tsRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	for i, line := range got {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %q", i, err, line)
		}
		if m["level"] != want[i].level || m["msg"] != want[i].msg {
			t.Errorf("line %d: level=%v msg=%v, want %s %q", i, m["level"], m["msg"], want[i].level, want[i].msg)
		}
		if ts, _ := m["ts"].(string); !tsRE.MatchString(ts) {
			t.Errorf("line %d: ts = %v, want RFC 3339 UTC with milliseconds", i, m["ts"])
		}
		ts, level, msg := strings.Index(line, `"ts":`), strings.Index(line, `"level":`), strings.Index(line, `"msg":`)
		if ts != 1 || level < ts || msg < level {
			t.Errorf("line %d: keys not in ts, level, msg order: %q", i, line)
		}
	}
	if !strings.Contains(got[3], `"error":"boom"`) || !strings.Contains(got[2], `"logger":"sub"`) {
		t.Errorf("missing fields:\n%s", strings.Join(got, "\n"))
	}
}

// TestNoCallerOrStacktrace checks that no format ever writes caller or stack
// information, even when the caller asks zap for it.
func TestNoCallerOrStacktrace(t *testing.T) {
	for _, f := range []Format{FormatConsole, FormatJSON, FormatJournal} {
		t.Run(string(f), func(t *testing.T) {
			l, read := newFileLogger(t, Options{Format: f})
			l.Error("plain error")
			l.WithOptions(zap.AddCaller(), zap.AddStacktrace(zapcore.DebugLevel)).Error("asked for it")
			l.DPanic("dpanic")
			out := read()
			if n := strings.Count(out, "\n"); n != 3 {
				t.Fatalf("got %d lines, want 3:\n%s", n, out)
			}
			for _, bad := range []string{"goroutine", ".go:", "stacktrace", "caller", "testing.tRunner"} {
				if strings.Contains(out, bad) {
					t.Fatalf("output contains %q:\n%s", bad, out)
				}
			}
		})
	}
}

func TestSyncOnPipe(t *testing.T) {
	l, err := newZap(Options{Output: pipeWriter(t), Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync on a pipe = %v, want nil", err)
	}
}

// newZap wraps the core in a full zap.Logger, so the tests can use zap's
// field constructors, With and Named.
func newZap(o Options) (*zap.Logger, error) {
	core, err := NewCore(o)
	if err != nil {
		return nil, err
	}
	return zap.New(core), nil
}
