package health

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	okHead := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"
	for _, c := range []struct {
		name string
		in   string
		code int
		n    int    // 0: len of the head in in, when code != 0
		err  string // "" for success; "incomplete" for ErrIncomplete
	}{
		{name: "ok with body", in: okHead + "ok", code: 200, n: len(okHead)},
		{name: "bare LF", in: "HTTP/1.0 401 Unauthorized\nWWW-Authenticate: Basic\n\n", code: 401},
		{name: "no reason", in: "HTTP/1.1 403\r\n\r\n", code: 403},
		{name: "empty reason", in: "HTTP/1.1 204 \r\n\r\n", code: 204},
		{name: "reason with obs-text", in: "HTTP/1.1 200 \xc3\xa9t\xc3\xa9\tok\r\n\r\n", code: 200},
		{name: "no headers", in: "HTTP/1.1 500 Internal Server Error\r\n\r\n", code: 500},
		{name: "empty header value", in: "HTTP/1.1 200 OK\r\nX-Empty:\r\n\r\n", code: 200},

		{name: "nothing yet", in: "", err: "incomplete"},
		{name: "part of the version", in: "HTT", err: "incomplete"},
		{name: "part of the code", in: "HTTP/1.1 2", err: "incomplete"},
		{name: "status line only", in: "HTTP/1.1 200 OK\r\n", err: "incomplete"},
		{name: "CR waiting for LF", in: "HTTP/1.1 200 OK\r", err: "incomplete"},
		{name: "headers not ended", in: "HTTP/1.1 200 OK\r\nServer: x\r\n", err: "incomplete"},
		{name: "header line in part", in: "HTTP/1.1 200 OK\r\nServ", err: "incomplete"},

		{name: "not HTTP", in: "SSH-2.0-OpenSSH_9.6\r\n", err: `not an HTTP answer: "SSH-2.0-OpenSSH_9.6\x0d"`},
		{name: "garbage without a newline", in: "aaaa", err: `not an HTTP answer: "aaaa"`},
		{name: "binary", in: "\x16\x03\x01\x00", err: `not an HTTP answer: "\x16\x03\x01\x00"`},
		{name: "lower case", in: "http/1.1 200 OK\r\n\r\n", err: "not an HTTP answer"},
		{name: "HTTP/2", in: "HTTP/2 200\r\n\r\n", err: "not an HTTP answer"},
		{name: "HTTP/0.9 version", in: "HTTP/0.9 200 OK\r\n\r\n", err: "not an HTTP answer"},
		{name: "two-digit code", in: "HTTP/1.1 20 OK\r\n\r\n", err: "not an HTTP answer"},
		{name: "four-digit code", in: "HTTP/1.1 2000 OK\r\n\r\n", err: "not an HTTP answer"},
		{name: "code 099", in: "HTTP/1.1 099 Low\r\n\r\n", err: "not an HTTP answer"},
		{name: "code 600", in: "HTTP/1.1 600 High\r\n\r\n", err: "not an HTTP answer"},
		{name: "letters in code", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: "not an HTTP answer"},
		{name: "two spaces", in: "HTTP/1.1  200 OK\r\n\r\n", err: "not an HTTP answer"},
		{name: "CR inside", in: "HTTP/1.1 200 O\rK\r\n\r\n", err: "not an HTTP answer"},
		{name: "CR in the code", in: "HTTP/1.1 20\r\n\r\n", err: "not an HTTP answer"},
		{name: "NUL in reason", in: "HTTP/1.1 200 O\x00K\r\n\r\n", err: "not an HTTP answer"},
		{name: "escape in reason", in: "HTTP/1.1 200 \x1b[2J\r\n\r\n", err: `not an HTTP answer: "HTTP/1.1 200 \x1b[2J\x0d"`},
		{name: "header without colon", in: "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", err: "malformed header line"},
		{name: "header with empty name", in: "HTTP/1.1 200 OK\r\n: x\r\n\r\n", err: "malformed header line"},
		{name: "folded header", in: "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", err: "malformed header"},
		{name: "space in header name", in: "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", err: "malformed header name"},
		{name: "NUL in header value", in: "HTTP/1.1 200 OK\r\nA: \x00\r\n\r\n", err: "control character in header line"},

		{name: "status line at the cap", in: "HTTP/1.1 200 " + strings.Repeat("a", MaxStatusLine-len("HTTP/1.1 200 ")-2) + "\r\n\r\n", code: 200},
		{name: "status line over the cap", in: "HTTP/1.1 200 " + strings.Repeat("a", MaxStatusLine-len("HTTP/1.1 200 ")-1) + "\r\n\r\n", err: "status line longer than 512 bytes"},
		{name: "endless status line", in: "HTTP/1.1 200 " + strings.Repeat("a", 3*MaxStatusLine), err: "status line longer than 512 bytes"},
		{name: "headers at the cap", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("b", MaxHeaderBytes-len("X: \r\n\r\n")) + "\r\n\r\n", code: 200},
		{name: "headers over the cap", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("b", MaxHeaderBytes-len("X: \r\n\r\n")+1) + "\r\n\r\n", err: "header block longer than 8192 bytes"},
		{name: "endless header line", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("b", 2*MaxHeaderBytes), err: "header block longer than 8192 bytes"},
		{name: "endless header lines", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", MaxHeaderBytes), err: "header block longer than 8192 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, n, err := ParseResponse([]byte(c.in))
			switch {
			case c.err == "incomplete":
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("got %d, %d, %v; want ErrIncomplete", code, n, err)
				}
			case c.err != "":
				if err == nil || errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %d, %d, %v; want an error with %q", code, n, err, c.err)
				}
				if len(err.Error()) > 200 {
					t.Errorf("error of %d bytes: %s", len(err.Error()), err)
				}
			default:
				want := c.n
				if want == 0 {
					want = len(c.in)
				}
				if err != nil || code != c.code || n != want {
					t.Fatalf("got %d, %d, %v; want %d, %d", code, n, err, c.code, want)
				}
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	for in, want := range map[string]string{
		"":                         `""`,
		"HTTP/1.1":                 `"HTTP/1.1"`,
		"a\"b\\c":                  `"a\"b\\c"`,
		"\x1b[31mred\r\n\x00\xff":  `"\x1b[31mred\x0d\x0a\x00\xff"`,
		strings.Repeat("z", 100):   `"` + strings.Repeat("z", 64) + `"...`,
		strings.Repeat("\x00", 20): `"` + strings.Repeat(`\x00`, 16) + `"...`,
	} {
		if got := excerpt([]byte(in)); got != want {
			t.Errorf("excerpt(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzParseResponse: ParseResponse never panics, never claims a head longer
// than the caps or than its input, never asks for more once the caps are
// reached, and ignores every byte past MaxHead.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 401 Unauthorized\nA: b\n\n",
		"HTTP/1.1 403\r\n\r\n",
		"HTTP/1.1 200 OK\r",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("b", MaxHeaderBytes),
		strings.Repeat("a", MaxStatusLine+1),
		"\x16\x03\x01\x02\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, n, err := ParseResponse(b)
		if n < 0 || n > len(b) || n > MaxHead {
			t.Fatalf("head length %d of %d bytes", n, len(b))
		}
		if err == nil {
			if code < 100 || code > 599 || n == 0 {
				t.Fatalf("code %d, head %d", code, n)
			}
			if _, _, err := ParseResponse(b[:n]); err != nil {
				t.Fatalf("the head alone does not parse: %v", err)
			}
			if end := bytes.IndexByte(b, '\n'); end < 0 || end >= MaxStatusLine || n-end-1 > MaxHeaderBytes {
				t.Fatalf("a head of %d bytes, status line end at %d, is over the caps", n, end)
			}
		} else if code != 0 || n != 0 {
			t.Fatalf("error %v with code %d, head %d", err, code, n)
		}
		if errors.Is(err, ErrIncomplete) && len(b) >= MaxHead {
			t.Fatalf("asks for more after %d bytes", len(b))
		}
		if err != nil && !errors.Is(err, ErrIncomplete) && len(err.Error()) > 300 {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		// Bytes past the cap change nothing.
		if len(b) > MaxHead {
			c2, n2, err2 := ParseResponse(b[:MaxHead])
			if c2 != code || n2 != n || errText(err2) != errText(err) {
				t.Fatalf("past the cap: %d %d %v, at the cap: %d %d %v", code, n, err, c2, n2, err2)
			}
		}
		// Nor do the bytes after a status line that is over its cap.
		if bytes.IndexByte(b[:min(len(b), MaxStatusLine)], '\n') < 0 && len(b) > MaxStatusLine {
			c2, n2, err2 := ParseResponse(b[:MaxStatusLine])
			if c2 != code || n2 != n || errText(err2) != errText(err) {
				t.Fatalf("past the status line cap: %d %d %v, at it: %d %d %v", code, n, err, c2, n2, err2)
			}
		}
		// A valid beginning stays valid or final when it grows: an
		// error never depends on bytes yet to come, except being
		// incomplete.
		if err != nil && !errors.Is(err, ErrIncomplete) && len(b) < MaxHead {
			if _, _, err2 := ParseResponse(append(bytes.Clone(b), "\r\n\r\n"...)); err2 == nil {
				t.Fatalf("%q fails with %v but parses with more bytes", b, err)
			}
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
