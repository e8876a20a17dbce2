package logging

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// redactionMask replaces every run of secret bytes.
const redactionMask = "********"

// minSecretLen is the shortest secret Add accepts. Masking shorter strings
// would mangle ordinary words, numbers and keys in every line.
const minSecretLen = 4

// Redactor is a concurrency-safe set of secret strings that are replaced by
// "********" in every encoded log line (message and fields), as a last line
// of defence: code should still avoid logging secrets in the first place.
// The zero value is an empty set ready for use.
type Redactor struct {
	mu       sync.Mutex               // serialises Add
	patterns atomic.Pointer[[][]byte] // immutable, longest first; read lock-free while logging
}

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{} }

// Add registers secrets. Secrets shorter than 4 bytes are ignored because
// masking them would mangle ordinary text. Add may be called at any time,
// including while other goroutines are logging; lines encoded after Add
// returns are scrubbed.
//
// Besides the secret itself, Add registers the escaped forms in which the
// encoders would write it (JSON string escaping, Go quoting and message
// escaping), so a secret containing quotes, backslashes or control
// characters is still found in the encoded line.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	var old [][]byte
	if p := r.patterns.Load(); p != nil {
		old = *p
	}
	next := slices.Clone(old)
	added := false
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		for _, form := range encodedForms(s) {
			if !slices.ContainsFunc(next, func(p []byte) bool { return string(p) == form }) {
				next = append(next, []byte(form))
				added = true
			}
		}
	}
	if !added {
		return
	}
	// Longest first, ties bytewise, for a deterministic order. The result of
	// redact does not depend on the order, since it merges all matches.
	slices.SortFunc(next, func(a, b []byte) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return bytes.Compare(a, b)
	})
	r.patterns.Store(&next)
}

// Scrub returns s with every occurrence of a registered secret replaced by
// "********". Overlapping or adjacent occurrences collapse into one mask.
// A nil Redactor returns s unchanged.
func (r *Redactor) Scrub(s string) string {
	p := r.load()
	if len(p) == 0 {
		return s
	}
	out, ok := redact([]byte(s), p)
	if !ok {
		return s
	}
	return string(out)
}

func (r *Redactor) load() [][]byte {
	if r == nil {
		return nil
	}
	if p := r.patterns.Load(); p != nil {
		return *p
	}
	return nil
}

// scrubBuffer redacts an encoded entry in place. The final line ending is
// kept out of the scan so a secret can never swallow it and merge two
// entries into one line.
func (r *Redactor) scrubBuffer(buf *buffer.Buffer) {
	p := r.load()
	if len(p) == 0 {
		return
	}
	b := buf.Bytes()
	body, nl := b, false
	if n := len(b); n > 0 && b[n-1] == '\n' {
		body, nl = b[:n-1], true
	}
	out, ok := redact(body, p)
	if !ok {
		return
	}
	buf.Reset()
	buf.AppendBytes(out)
	if nl {
		buf.AppendByte('\n')
	}
}

// redact masks every byte covered by any occurrence of any pattern. Marking
// bytes first and then collapsing runs (rather than replacing pattern by
// pattern) means overlapping secrets cannot leave a fragment of one of them
// behind. It reports false, without allocating, when nothing matched.
func redact(b []byte, patterns [][]byte) ([]byte, bool) {
	var mask []bool
	for _, p := range patterns {
		for off := 0; off < len(b); {
			i := bytes.Index(b[off:], p)
			if i < 0 {
				break
			}
			if mask == nil {
				mask = make([]bool, len(b))
			}
			start := off + i
			for j := start; j < start+len(p); j++ {
				mask[j] = true
			}
			off = start + 1 // also find overlapping occurrences
		}
	}
	if mask == nil {
		return b, false
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if !mask[i] {
			out = append(out, b[i])
			i++
			continue
		}
		out = append(out, redactionMask...)
		for i < len(b) && mask[i] {
			i++
		}
	}
	return out, true
}

// encodedForms returns s and the distinct forms the encoders may write it
// in: inside a JSON string, inside a Go-quoted field value, and as escaped
// message text.
func encodedForms(s string) []string {
	forms := []string{s}
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	if q := strconv.Quote(s); len(q) >= 2 {
		add(q[1 : len(q)-1])
	}
	add(escapeMessage(s))
	add(jsonEscaped(s))
	return forms
}

// jsonEscaped returns s as zap's JSON encoder writes it inside a string,
// without the quotes. Using the encoder itself guarantees the same escaping.
func jsonEscaped(s string) string {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{LineEnding: "\n"})
	buf, err := enc.EncodeEntry(zapcore.Entry{}, []zapcore.Field{{Key: "s", Type: zapcore.StringType, String: s}})
	if err != nil {
		return ""
	}
	defer buf.Free()
	const prefix, suffix = `{"s":"`, "\"}\n"
	out := buf.String()
	if !strings.HasPrefix(out, prefix) || !strings.HasSuffix(out, suffix) {
		return ""
	}
	return out[len(prefix) : len(out)-len(suffix)]
}

// redactingEncoder wraps an encoder and scrubs secrets from each encoded
// entry. Working on the final bytes covers the message, the fields given at
// the call site and the context fields added through With, whatever their
// type, and picks up secrets added after the logger was built.
type redactingEncoder struct {
	zapcore.Encoder
	r *Redactor
}

// Clone implements zapcore.Encoder; the clone keeps redacting, which matters
// because Logger.With clones the encoder.
func (e redactingEncoder) Clone() zapcore.Encoder {
	return redactingEncoder{Encoder: e.Encoder.Clone(), r: e.r}
}

// EncodeEntry implements zapcore.Encoder.
func (e redactingEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	buf, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return buf, err
	}
	e.r.scrubBuffer(buf)
	return buf, nil
}
