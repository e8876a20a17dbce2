package health

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Caps on what a probe reads. Whatever answers on the probed port may be
// hostile (another user's process that took the port while the runtime
// restarts) or broken; past these caps an answer is a failure, never a
// reason to read on.
const (
	// MaxStatusLine is the longest status line a probe accepts, its line
	// end included.
	MaxStatusLine = 512
	// MaxHeaderBytes caps the header block after the status line, the
	// empty line that ends it included.
	MaxHeaderBytes = 8 << 10
	// MaxHead is the most a probe reads of one answer.
	MaxHead = MaxStatusLine + MaxHeaderBytes
	// maxExcerpt is the most characters of the peer's bytes, quoted, that
	// an error repeats.
	maxExcerpt = 64
)

// ErrIncomplete is ParseResponse's answer for bytes that are, so far, the
// valid beginning of an answer within the caps: read more.
var ErrIncomplete = errors.New("incomplete answer")

// ParseResponse parses the head of an HTTP/1.x answer: a status line
// ("HTTP/1.1 200 OK", CRLF or LF), header lines and the empty line that ends
// them. It returns the status code and the length of the head. It looks at
// no byte past MaxHead, and none past MaxStatusLine before the first line
// end: its result for b is its result for b[:MaxHead]. ErrIncomplete means
// b is shorter than the caps and may still become a valid head; any other
// error (not HTTP, malformed, too long) is final. Only the status line
// decides; header lines are checked for shape (a token name, a colon, no
// control characters) and otherwise ignored.
func ParseResponse(b []byte) (code, n int, err error) {
	if len(b) > MaxHead {
		b = b[:MaxHead]
	}
	status := b
	if len(status) > MaxStatusLine {
		status = status[:MaxStatusLine]
	}
	end := bytes.IndexByte(status, '\n')
	if end < 0 {
		if _, err := statusLine(status, false); !errors.Is(err, ErrIncomplete) {
			return 0, 0, err
		}
		if len(status) == MaxStatusLine {
			return 0, 0, fmt.Errorf("status line longer than %d bytes: %s", MaxStatusLine, excerpt(status))
		}
		return 0, 0, ErrIncomplete
	}
	code, err = statusLine(status[:end], true)
	if err != nil {
		return 0, 0, err
	}
	head := b[end+1:]
	if len(head) > MaxHeaderBytes {
		head = head[:MaxHeaderBytes]
	}
	for off := 0; ; {
		i := bytes.IndexByte(head[off:], '\n')
		if i < 0 {
			if len(head) == MaxHeaderBytes {
				return 0, 0, fmt.Errorf("header block longer than %d bytes", MaxHeaderBytes)
			}
			return 0, 0, ErrIncomplete
		}
		line := head[off : off+i]
		off += i + 1
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			return code, end + 1 + off, nil
		}
		if err := headerLine(line); err != nil {
			return 0, 0, err
		}
	}
}

// statusLine checks "HTTP/1.x DDD[ reason]" (without its LF) and returns
// the code. With complete false, line is what has arrived of it so far: an
// error means no continuation can make it valid, and a valid beginning
// gives ErrIncomplete.
func statusLine(line []byte, complete bool) (int, error) {
	bad := func() (int, error) { return 0, fmt.Errorf("not an HTTP answer: %s", excerpt(line)) }
	const shape = "HTTP/1.? ???"
	for i, c := range line {
		if c == '\r' {
			// Only as the last byte, before the LF (or, when more is
			// to come, the LF must come next), after the code.
			if i != len(line)-1 || i < len(shape) {
				return bad()
			}
			if !complete {
				break
			}
			continue
		}
		switch {
		case i >= len(shape):
			if i == len(shape) && c != ' ' || !reasonByte(c) {
				return bad()
			}
		case shape[i] == '?':
			if c < '0' || c > '9' || i == len("HTTP/1.? ") && (c < '1' || c > '5') {
				return bad()
			}
		case c != shape[i]:
			return bad()
		}
	}
	body := bytes.TrimSuffix(line, []byte{'\r'})
	if !complete {
		return 0, ErrIncomplete
	}
	if len(body) < len(shape) {
		return bad()
	}
	code, _ := strconv.Atoi(string(body[9:12]))
	return code, nil
}

// reasonByte reports whether c may stand in a reason phrase: HTAB, SP,
// visible ASCII and bytes of 0x80 and above (RFC 9112 obs-text).
func reasonByte(c byte) bool {
	return c == '\t' || c >= ' ' && c != 0x7f
}

// headerLine checks "Name: value" (without its line end).
func headerLine(line []byte) error {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return fmt.Errorf("malformed header line: %s", excerpt(line))
	}
	for _, c := range line[:colon] {
		if !tokenByte(c) {
			return fmt.Errorf("malformed header name: %s", excerpt(line))
		}
	}
	for _, c := range line[colon+1:] {
		if !reasonByte(c) {
			return fmt.Errorf("control character in header line: %s", excerpt(line))
		}
	}
	return nil
}

// tokenByte reports whether c may stand in a header name (RFC 9110 tchar).
func tokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c < utf8.RuneSelf && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// excerpt quotes the beginning of what a peer sent, fit for a log line
// whatever it holds: every byte that is not printable ASCII is escaped
// (\xNN), and the quoted text is cut to at most 64 characters, with "..."
// when there was more.
func excerpt(b []byte) string {
	out := make([]byte, 0, maxExcerpt+8)
	out = append(out, '"')
	for _, c := range b {
		var piece []byte
		switch {
		case c == '"' || c == '\\':
			piece = []byte{'\\', c}
		case c >= ' ' && c < 0x7f:
			piece = []byte{c}
		default:
			piece = fmt.Appendf(nil, `\x%02x`, c)
		}
		if len(out)-1+len(piece) > maxExcerpt {
			return string(out) + `"...`
		}
		out = append(out, piece...)
	}
	return string(append(out, '"'))
}
