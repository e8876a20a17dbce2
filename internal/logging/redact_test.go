package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestRedactorScrub(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "password hunter2", "password hunter2"},
		{"single", []string{"hunter2"}, "password hunter2!", "password ********!"},
		{"repeated", []string{"hunter2"}, "hunter2 and hunter2", "******** and ********"},
		{"adjacent collapse", []string{"hunter2"}, "hunter2hunter2", "********"},
		{"overlapping secrets", []string{"abcdef", "defghi"}, "xxabcdefghiyy", "xx********yy"},
		{"nested secrets", []string{"secret", "supersecretvalue"}, "a supersecretvalue b secret", "a ******** b ********"},
		{"overlapping occurrences", []string{"abab"}, "xababab", "x********"},
		{"exactly four bytes", []string{"abcd"}, "xabcdx", "x********x"},
		{"short ignored", []string{"abc", "", "x"}, "abc x", "abc x"},
		{"quoted form", []string{`pa"ss`}, `k="pa\"ss"`, `k="********"`},
		{"escaped newline form", []string{"line\nbreak"}, `msg line\nbreak`, `msg ********`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRedactor()
			r.Add(tt.secrets...)
			if got := r.Scrub(tt.in); got != tt.want {
				t.Fatalf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactorNilAndZero(t *testing.T) {
	var nilR *Redactor
	if got := nilR.Scrub("secret"); got != "secret" {
		t.Fatalf("nil Redactor changed input: %q", got)
	}
	var zero Redactor
	zero.Add("secret")
	if got := zero.Scrub("my secret"); got != "my ********" {
		t.Fatalf("zero Redactor: %q", got)
	}
}

func TestRedactorPatternsLongestFirst(t *testing.T) {
	r := NewRedactor()
	r.Add("abcd", "abcdefgh", "abcdef")
	r.Add("abcdef") // duplicates are not added twice
	p := r.load()
	if len(p) != 3 {
		t.Fatalf("got %d patterns, want 3: %q", len(p), p)
	}
	for i := 1; i < len(p); i++ {
		if len(p[i]) > len(p[i-1]) {
			t.Fatalf("patterns not longest first: %q", p)
		}
	}
}

// leakForms lists the ways a secret could appear in an encoded line,
// computed independently of the code under test.
func leakForms(s string) []string {
	q := strconv.Quote(s)
	j, _ := json.Marshal(s)
	msg := strings.NewReplacer("\n", `\n`, "\x01", `\x01`).Replace(s)
	return []string{s, q[1 : len(q)-1], string(j[1 : len(j)-1]), msg}
}

func TestRedactionInEveryFormat(t *testing.T) {
	const early = "s3cr3t-T0ken-early"
	// special needs escaping, and differently in each encoding: Go quoting
	// writes \x01 and \", JSON writes \u0001 and \", message text keeps ".
	const special = "pa\"ss\\wo\nrd\x01x"
	const late = "added-after-New-9f8e"
	secrets := []string{early, special, late}

	logs := []struct {
		name string
		log  func(l *zap.Logger, r *Redactor)
	}{
		{"message", func(l *zap.Logger, _ *Redactor) { l.Debug("token is " + early) }},
		{"message special", func(l *zap.Logger, _ *Redactor) { l.Debug("pw " + special + " end") }},
		{"string field", func(l *zap.Logger, _ *Redactor) { l.Debug("x", zap.String("tok", early)) }},
		{"string field special", func(l *zap.Logger, _ *Redactor) { l.Debug("x", zap.String("pw", special)) }},
		{"error field", func(l *zap.Logger, _ *Redactor) {
			l.Error("failed", zap.Error(fmt.Errorf("auth: %w", errors.New("bad token "+early))))
		}},
		{"error field special", func(l *zap.Logger, _ *Redactor) {
			l.Error("failed", zap.Error(errors.New("bad password "+special)))
		}},
		{"context field", func(l *zap.Logger, _ *Redactor) { l.With(zap.String("ctx", early)).Debug("ctx") }},
		{"array field", func(l *zap.Logger, _ *Redactor) { l.Info("arr", zap.Strings("list", []string{"a", early, special})) }},
		{"reflected field", func(l *zap.Logger, _ *Redactor) { l.Warn("any", zap.Any("m", map[string]string{"k": special})) }},
		{"logger name", func(l *zap.Logger, _ *Redactor) { l.Named(early).Info("named") }},
		{"added after New", func(l *zap.Logger, r *Redactor) {
			r.Add(late)
			l.Debug("late "+late, zap.String("k", "pre"+late+"post"), zap.Error(errors.New(late)))
		}},
	}

	for _, f := range []Format{FormatConsole, FormatJSON, FormatJournal} {
		for _, tc := range logs {
			t.Run(string(f)+"/"+tc.name, func(t *testing.T) {
				r := NewRedactor()
				r.Add(early, special)
				l, read := newFileLogger(t, Options{Format: f, Level: zapcore.DebugLevel, Redactor: r})
				tc.log(l, r)
				out := read()
				if !strings.Contains(out, redactionMask) {
					t.Errorf("no mask in output: %q", out)
				}
				for _, s := range secrets {
					for _, form := range leakForms(s) {
						if strings.Contains(out, form) {
							t.Errorf("secret %q leaked as %q in: %q", s, form, out)
						}
					}
				}
				if n := strings.Count(out, "\n"); n != 1 {
					t.Errorf("got %d lines, want 1: %q", n, out)
				}
				if f == FormatJSON {
					var v any
					if err := json.Unmarshal([]byte(out), &v); err != nil {
						t.Fatalf("redacted line is not JSON: %v: %q", err, out)
					}
					assertNoSecret(t, v, secrets)
				}
			})
		}
	}
}

// assertNoSecret walks decoded JSON so escaping cannot hide a secret.
func assertNoSecret(t *testing.T, v any, secrets []string) {
	t.Helper()
	switch v := v.(type) {
	case string:
		for _, s := range secrets {
			if strings.Contains(v, s) {
				t.Errorf("decoded value %q contains secret %q", v, s)
			}
		}
	case []any:
		for _, e := range v {
			assertNoSecret(t, e, secrets)
		}
	case map[string]any:
		for k, e := range v {
			assertNoSecret(t, k, secrets)
			assertNoSecret(t, e, secrets)
		}
	}
}

func TestRedactionLeavesShortStrings(t *testing.T) {
	for _, f := range []Format{FormatConsole, FormatJSON, FormatJournal} {
		t.Run(string(f), func(t *testing.T) {
			r := NewRedactor()
			r.Add("abc", "ok", "")
			l, read := newFileLogger(t, Options{Format: f, Redactor: r})
			l.Info("abc is ok", zap.String("k", "abc"))
			out := read()
			if strings.Contains(out, redactionMask) || strings.Count(out, "abc") != 2 || !strings.Contains(out, "ok") {
				t.Fatalf("short strings were altered: %q", out)
			}
		})
	}
}

func TestRedactingEncoderCloneKeepsRedaction(t *testing.T) {
	r := NewRedactor()
	r.Add("hunter2")
	var enc zapcore.Encoder = redactingEncoder{Encoder: newJSONEncoder(), r: r}
	clone := enc.Clone()
	clone.AddString("pw", "hunter2")
	buf, err := clone.EncodeEntry(zapcore.Entry{Message: "hunter2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "hunter2") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("clone output = %q", out)
	}
}

// TestRedactorConcurrentAdd logs from several goroutines while secrets are
// being added; run with -race. Afterwards every secret must be scrubbed.
func TestRedactorConcurrentAdd(t *testing.T) {
	const workers, perWorker, nSecrets = 4, 200, 50
	secrets := make([]string, nSecrets)
	for i := range secrets {
		secrets[i] = fmt.Sprintf("concurrent-secret-%03d", i)
	}
	r := NewRedactor()
	l, read := newFileLogger(t, Options{Format: FormatJSON, Redactor: r})

	var wg sync.WaitGroup
	wg.Add(workers + 1)
	go func() {
		defer wg.Done()
		for _, s := range secrets {
			r.Add(s)
		}
	}()
	for w := range workers {
		go func() {
			defer wg.Done()
			for i := range perWorker {
				s := secrets[(w*perWorker+i)%nSecrets]
				l.Info("msg "+s, zap.String("k", s))
				_ = r.Scrub(s)
			}
		}()
	}
	wg.Wait()

	before := len(lines(read()))
	for _, s := range secrets {
		l.Info("final "+s, zap.String("k", s))
	}
	all := lines(read())
	if len(all) != workers*perWorker+nSecrets || before != workers*perWorker {
		t.Fatalf("got %d lines (%d before), want %d", len(all), before, workers*perWorker+nSecrets)
	}
	for _, line := range all {
		if !json.Valid([]byte(line)) {
			t.Fatalf("invalid JSON line: %q", line)
		}
	}
	for _, line := range all[before:] {
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Fatalf("secret %q present after Add returned: %q", s, line)
			}
		}
	}
}
