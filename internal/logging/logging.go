// Package logging builds niod's logger on zap's core (zapcore): the
// encoders, levels and output of zap without the zap package itself, whose
// HTTP level handler would link net/http and its TLS stack into niod and
// cost start-up time and memory.
//
// Three output formats are supported: a compact console format for people at
// a terminal, JSON lines for log collectors (Docker, Kubernetes), and a
// journal format carrying sd-daemon priority prefixes for services whose
// stderr is connected to systemd-journald. FormatAuto picks between them by
// looking at the output file descriptor.
//
// Every format writes exactly one line per entry, never includes caller
// information or stack traces, and can pass its output through a Redactor so
// that known secrets do not reach the log.
//
// By default a log call writes its line before returning. With
// Options.Async, lines go through a bounded queue to a background writer
// instead, so that a slow reader of niod's stderr, or one that went away,
// can neither stall the supervisor nor make it spin; the price is that lines
// are dropped (and counted) when the output cannot keep up.
package logging

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// Format selects how log lines are written.
type Format string

const (
	// FormatAuto resolves to FormatJournal when JOURNAL_STREAM names the
	// output, to FormatConsole when the output is a terminal and to
	// FormatJSON otherwise. See Resolve.
	FormatAuto Format = "auto"
	// FormatConsole writes short human-readable lines:
	// "15:04:05.000 info  message key=value".
	FormatConsole Format = "console"
	// FormatJSON writes one JSON object per line with the keys ts, level and
	// msg followed by the entry's fields.
	FormatJSON Format = "json"
	// FormatJournal writes "<N>message key=value" lines, where <N> is the
	// sd-daemon syslog priority, so journald records the right priority.
	FormatJournal Format = "journal"
)

// ParseFormat parses a format name (auto, console, json or journal), ignoring
// case and surrounding white space.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatAuto, FormatConsole, FormatJSON, FormatJournal:
		return f, nil
	}
	return "", fmt.Errorf("unknown log format %q (use auto, console, json or journal)", s)
}

// ParseLevel parses a level name: debug, info, warn (or warning) or error,
// ignoring case and surrounding white space. The panic and fatal levels are
// deliberately not accepted: hiding everything below them is never what an
// operator wants.
func ParseLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info":
		return zapcore.InfoLevel, nil
	case "warn", "warning":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return zapcore.InfoLevel, fmt.Errorf("unknown log level %q (use debug, info, warn or error)", s)
}

// Resolve turns auto into the concrete format for out: journal when
// env("JOURNAL_STREAM") is "DEV:INO" equal to out's fstat dev and inode;
// console when out is a terminal; json otherwise. A non-auto format is
// returned unchanged; the empty format counts as auto. A nil out means
// os.Stderr and a nil env means os.Getenv.
func Resolve(f Format, out *os.File, env func(string) string) Format {
	if f != FormatAuto && f != "" {
		return f
	}
	if out == nil {
		out = os.Stderr
	}
	if env == nil {
		env = os.Getenv
	}
	// JOURNAL_STREAM is the most specific signal: it only matches when out
	// is the very stream journald reads, so it is checked first.
	if journalStreamMatches(out, env("JOURNAL_STREAM")) {
		return FormatJournal
	}
	if isTerminal(out) {
		return FormatConsole
	}
	return FormatJSON
}

// Options configures New.
type Options struct {
	// Format is the output format; auto if empty.
	Format Format
	// Level is the minimum level written; the zero value is info.
	Level zapcore.Level
	// Output receives the log lines; os.Stderr if nil.
	Output *os.File
	// Redactor, if not nil, scrubs its secrets from every line written.
	Redactor *Redactor
	// Env looks up environment variables (JOURNAL_STREAM, NO_COLOR, TERM);
	// os.Getenv if nil.
	Env func(string) string
	// Async queues lines for a background writer instead of writing them
	// in the log call, so a slow or stuck output cannot hold up the caller.
	// The queue is bounded (1024 lines, 1 MiB); lines that find it full
	// are dropped and counted, and the writer later logs a warning saying
	// how many. After a failed write (EPIPE, say) the output is abandoned
	// and further lines are discarded. Call Logger.Flush before exiting.
	Async bool
}

// New builds a logger from o. It never records callers or stack traces.
func New(o Options) (*Logger, error) {
	out := o.Output
	if out == nil {
		out = os.Stderr
	}
	enc, err := newEncoder(o, out, o.Redactor)
	if err != nil {
		return nil, err
	}
	l := &Logger{out: out, redactor: o.Redactor}
	l.level.set(o.Level)
	if o.Async {
		l.async = newAsyncSink(fileSink{out})
		l.sink = l.async
	} else {
		// Lock serialises writers so concurrent entries never interleave;
		// each entry is a single Write call.
		l.sink = zapcore.Lock(fileSink{out})
	}
	l.setEncoder(enc)
	return l, nil
}

// NewCore builds the zap core behind New: the encoder of the format, the
// redactor and the output. With o.Async, the core's Sync waits (up to a
// second) for the queue to drain before syncing the output.
func NewCore(o Options) (zapcore.Core, error) {
	l, err := New(o)
	if err != nil {
		return nil, err
	}
	return *l.core.Load(), nil
}

// newEncoder checks o's format and level and builds the encoder of the
// format for out, scrubbing r's secrets when r is not nil.
func newEncoder(o Options, out *os.File, r *Redactor) (zapcore.Encoder, error) {
	env := o.Env
	if env == nil {
		env = os.Getenv
	}
	format := o.Format
	if format == "" {
		format = FormatAuto
	}
	switch format {
	case FormatAuto, FormatConsole, FormatJSON, FormatJournal:
	default:
		return nil, fmt.Errorf("unknown log format %q (use auto, console, json or journal)", string(o.Format))
	}
	if o.Level < zapcore.DebugLevel || o.Level > zapcore.FatalLevel {
		return nil, fmt.Errorf("invalid log level %d", int8(o.Level))
	}

	var enc zapcore.Encoder
	switch Resolve(format, out, env) {
	case FormatConsole:
		color := isTerminal(out) && env("NO_COLOR") == "" && env("TERM") != "dumb"
		enc = newTextEncoder(false, color)
	case FormatJournal:
		enc = newTextEncoder(true, false)
	default:
		enc = newJSONEncoder()
	}
	if r != nil {
		enc = redactingEncoder{Encoder: enc, r: r}
	}
	return enc, nil
}

// jsonEncoder writes "ts" and "level" ahead of everything else, which zap's
// JSON encoder cannot do (it always puts the level first), so that lines
// start with their timestamp and sort as text.
type jsonEncoder struct{ zapcore.Encoder }

func newJSONEncoder() jsonEncoder {
	// CallerKey and StacktraceKey stay empty, so even a logger later given
	// zap.AddCaller or zap.AddStacktrace cannot emit them. TimeKey and
	// LevelKey are empty because EncodeEntry writes them itself.
	return jsonEncoder{zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		NameKey:        "logger",
		MessageKey:     "msg",
		LineEnding:     "\n",
		EncodeTime:     utcMillisTimeEncoder, // for time-valued fields
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	})}
}

// Clone implements zapcore.Encoder.
func (e jsonEncoder) Clone() zapcore.Encoder { return jsonEncoder{e.Encoder.Clone()} }

// EncodeEntry implements zapcore.Encoder.
func (e jsonEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	inner, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return inner, err
	}
	defer inner.Free()
	out := bufferPool.Get()
	out.AppendString(`{"ts":"`)
	out.AppendTime(ent.Time.UTC(), fieldTimeLayout)
	out.AppendString(`","level":"`)
	out.AppendString(ent.Level.String()) // lowercase ASCII, nothing to escape
	out.AppendByte('"')
	rest := inner.Bytes()[1:] // drop the inner object's opening brace
	if len(rest) > 0 && rest[0] != '}' {
		out.AppendByte(',')
	}
	out.AppendBytes(rest)
	return out, nil
}

// fieldTimeLayout is RFC 3339 with milliseconds: precise enough for a
// supervisor and still sortable as text.
const fieldTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func utcMillisTimeEncoder(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.UTC().Format(fieldTimeLayout))
}

// fileSink adapts an *os.File to zapcore.WriteSyncer. Sync on a pipe,
// socket or terminal fails with EINVAL (or similar); that only means there
// is nothing to flush, so it is not reported as an error.
type fileSink struct{ f *os.File }

func (s fileSink) Write(p []byte) (int, error) { return s.f.Write(p) }

func (s fileSink) Sync() error {
	err := s.f.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOTTY) {
		return nil
	}
	return err
}

// withFd runs fn on f's descriptor. It goes through SyscallConn rather than
// f.Fd because Fd switches the descriptor to blocking mode, a visible side
// effect on a shared stderr.
func withFd(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// isTerminal reports whether f is a terminal (TCGETS succeeds on it).
func isTerminal(f *os.File) bool {
	var ioctlErr error
	if err := withFd(f, func(fd int) { _, ioctlErr = unix.IoctlGetTermios(fd, unix.TCGETS) }); err != nil {
		return false
	}
	return ioctlErr == nil
}

var bufferPool = buffer.NewPool()

// textEncoder writes an entry as one line: a header, the message and then
// the fields as key=value pairs. It backs both the console format (header
// "15:04:05.000 level ") and the journal format (header "<N>").
//
// String values are quoted with Go syntax when they are empty or contain
// spaces, '=', '"', control or non-printable characters; structured values
// (arrays, objects, reflected values) are written as compact JSON. Either
// way no value can contain a raw newline, which journald would otherwise
// turn into a second entry without a priority.
type textEncoder struct {
	journal bool
	color   bool
	ns      string         // key prefix added by OpenNamespace, e.g. "http."
	fields  *buffer.Buffer // encoded context fields, each preceded by a space
}

func newTextEncoder(journal, color bool) *textEncoder {
	return &textEncoder{journal: journal, color: color, fields: bufferPool.Get()}
}

func (e *textEncoder) clone() *textEncoder {
	c := &textEncoder{journal: e.journal, color: e.color, ns: e.ns, fields: bufferPool.Get()}
	c.fields.AppendBytes(e.fields.Bytes())
	return c
}

// Clone implements zapcore.Encoder.
func (e *textEncoder) Clone() zapcore.Encoder { return e.clone() }

// EncodeEntry implements zapcore.Encoder. Caller and stack information in
// ent is ignored on purpose.
func (e *textEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	c := e.clone()
	defer c.fields.Free()
	for _, f := range fields {
		f.AddTo(c)
	}

	line := bufferPool.Get()
	if e.journal {
		line.AppendByte('<')
		line.AppendInt(int64(journalPriority(ent.Level)))
		line.AppendByte('>')
	} else {
		line.AppendTime(ent.Time, "15:04:05.000")
		line.AppendByte(' ')
		e.appendLevel(line, ent.Level)
		line.AppendByte(' ')
	}
	start := line.Len()
	if ent.LoggerName != "" {
		appendMessage(line, ent.LoggerName)
		line.AppendString(": ")
	}
	appendMessage(line, ent.Message)
	kv := c.fields.Bytes()
	if line.Len() == start && len(kv) > 0 {
		kv = kv[1:] // no separator needed before the first field
	}
	line.AppendBytes(kv)
	line.AppendByte('\n')
	return line, nil
}

// appendLevel writes the lowercase level padded to five columns so messages
// line up; the padding sits outside the colour codes to keep alignment.
func (e *textEncoder) appendLevel(b *buffer.Buffer, l zapcore.Level) {
	s := l.String()
	if e.color {
		b.AppendString("\x1b[")
		b.AppendInt(int64(levelColor(l)))
		b.AppendByte('m')
		b.AppendString(s)
		b.AppendString("\x1b[0m")
	} else {
		b.AppendString(s)
	}
	for i := len(s); i < 5; i++ {
		b.AppendByte(' ')
	}
}

func levelColor(l zapcore.Level) int {
	switch {
	case l <= zapcore.DebugLevel:
		return 35 // magenta
	case l == zapcore.InfoLevel:
		return 34 // blue
	case l == zapcore.WarnLevel:
		return 33 // yellow
	default:
		return 31 // red
	}
}

// key writes " key=" with the current namespace prefix.
func (e *textEncoder) key(k string) {
	e.fields.AppendByte(' ')
	appendKey(e.fields, e.ns)
	appendKey(e.fields, k)
	e.fields.AppendByte('=')
}

// appendJSON writes v as compact JSON. The key is only written once
// encoding succeeded, so that zap's fallback "<key>Error" field is the only
// trace of a failed value.
func (e *textEncoder) appendJSON(k string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	e.key(k)
	e.fields.AppendBytes(bytes.TrimRight(b.Bytes(), "\n"))
	return nil
}

// AddArray implements zapcore.ObjectEncoder.
func (e *textEncoder) AddArray(k string, v zapcore.ArrayMarshaler) error {
	m := zapcore.NewMapObjectEncoder()
	if err := m.AddArray(k, v); err != nil {
		return err
	}
	return e.appendJSON(k, m.Fields[k])
}

// AddObject implements zapcore.ObjectEncoder.
func (e *textEncoder) AddObject(k string, v zapcore.ObjectMarshaler) error {
	m := zapcore.NewMapObjectEncoder()
	if err := m.AddObject(k, v); err != nil {
		return err
	}
	return e.appendJSON(k, m.Fields[k])
}

// AddReflected implements zapcore.ObjectEncoder.
func (e *textEncoder) AddReflected(k string, v any) error { return e.appendJSON(k, v) }

// OpenNamespace implements zapcore.ObjectEncoder by prefixing later keys.
func (e *textEncoder) OpenNamespace(k string) { e.ns += k + "." }

// AddBinary implements zapcore.ObjectEncoder.
func (e *textEncoder) AddBinary(k string, v []byte) {
	e.key(k)
	e.fields.AppendString(base64.StdEncoding.EncodeToString(v))
}

// AddByteString implements zapcore.ObjectEncoder.
func (e *textEncoder) AddByteString(k string, v []byte) { e.AddString(k, string(v)) }

// AddBool implements zapcore.ObjectEncoder.
func (e *textEncoder) AddBool(k string, v bool) { e.key(k); e.fields.AppendBool(v) }

// AddComplex128 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddComplex128(k string, v complex128) {
	e.key(k)
	e.fields.AppendString(strconv.FormatComplex(v, 'g', -1, 128))
}

// AddComplex64 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddComplex64(k string, v complex64) {
	e.key(k)
	e.fields.AppendString(strconv.FormatComplex(complex128(v), 'g', -1, 64))
}

// AddDuration implements zapcore.ObjectEncoder.
func (e *textEncoder) AddDuration(k string, v time.Duration) {
	e.key(k)
	e.fields.AppendString(v.String())
}

// AddFloat64 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddFloat64(k string, v float64) { e.key(k); e.fields.AppendFloat(v, 64) }

// AddFloat32 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddFloat32(k string, v float32) { e.key(k); e.fields.AppendFloat(float64(v), 32) }

// AddInt implements zapcore.ObjectEncoder.
func (e *textEncoder) AddInt(k string, v int) { e.AddInt64(k, int64(v)) }

// AddInt64 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddInt64(k string, v int64) { e.key(k); e.fields.AppendInt(v) }

// AddInt32 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddInt32(k string, v int32) { e.AddInt64(k, int64(v)) }

// AddInt16 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddInt16(k string, v int16) { e.AddInt64(k, int64(v)) }

// AddInt8 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddInt8(k string, v int8) { e.AddInt64(k, int64(v)) }

// AddString implements zapcore.ObjectEncoder.
func (e *textEncoder) AddString(k, v string) {
	e.key(k)
	if needsQuote(v) {
		e.fields.AppendString(strconv.Quote(v))
	} else {
		e.fields.AppendString(v)
	}
}

// AddTime implements zapcore.ObjectEncoder.
func (e *textEncoder) AddTime(k string, v time.Time) {
	e.key(k)
	e.fields.AppendTime(v, fieldTimeLayout)
}

// AddUint implements zapcore.ObjectEncoder.
func (e *textEncoder) AddUint(k string, v uint) { e.AddUint64(k, uint64(v)) }

// AddUint64 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddUint64(k string, v uint64) { e.key(k); e.fields.AppendUint(v) }

// AddUint32 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddUint32(k string, v uint32) { e.AddUint64(k, uint64(v)) }

// AddUint16 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddUint16(k string, v uint16) { e.AddUint64(k, uint64(v)) }

// AddUint8 implements zapcore.ObjectEncoder.
func (e *textEncoder) AddUint8(k string, v uint8) { e.AddUint64(k, uint64(v)) }

// AddUintptr implements zapcore.ObjectEncoder.
func (e *textEncoder) AddUintptr(k string, v uintptr) { e.AddUint64(k, uint64(v)) }

// literalRune reports whether r (of encoded size n) may be written as is in
// free text. Everything else is escaped: line breaks would split a journal
// entry, other control and format characters (ANSI escapes, bidi overrides)
// can disguise what a terminal shows, and invalid UTF-8 makes journald store
// the whole message as a binary blob.
func literalRune(r rune, n int) bool {
	if r == utf8.RuneError && n == 1 {
		return false
	}
	return r == ' ' || r == '\t' || unicode.IsPrint(r)
}

// needsQuote reports whether a field value must be quoted to stay a single,
// unambiguous key=value token.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == ' ' || r == '\t' || r == '=' || r == '"' || !literalRune(r, n) {
			return true
		}
		i += n
	}
	return false
}

// appendKey writes a key, replacing characters that would break key=value
// parsing with '_'.
func appendKey(b *buffer.Buffer, k string) {
	for i := 0; i < len(k); {
		r, n := utf8.DecodeRuneInString(k[i:])
		if r == ' ' || r == '\t' || r == '=' || r == '"' || !literalRune(r, n) {
			b.AppendByte('_')
		} else {
			b.AppendString(k[i : i+n])
		}
		i += n
	}
}

// appendMessage writes free text unquoted, escaping only what literalRune
// rejects.
func appendMessage(b *buffer.Buffer, s string) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !literalRune(r, n) {
			// Rare path: escape the remainder rune by rune.
			b.AppendString(s[:i])
			b.AppendString(escapeMessage(s[i:]))
			return
		}
		i += n
	}
	b.AppendString(s)
}

// escapeMessage returns s with every rune rejected by literalRune written as
// a Go-style escape (\n, \r, \xHH, \uHHHH, \UHHHHHHHH).
func escapeMessage(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case literalRune(r, n):
			sb.WriteString(s[i : i+n])
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case r < utf8.RuneSelf:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			fmt.Fprintf(&sb, `\U%08x`, r)
		}
		i += n
	}
	return sb.String()
}
