package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// longSecret is a secret of more than 255 bytes, whose tail is another
// secret in TestRedactorScrub.
var longSecret = strings.Repeat("abcd-", 59) + "tail-secret"

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
		{"adjacent collapse", []string{"[hunter2]"}, "x[hunter2][hunter2]y", "x********y"},
		{"overlapping secrets in a word", []string{"abcdef", "defghi"}, "xx abcdefghi yy", "xx abcdefghi yy"},
		{"overlapping tokens", []string{"abc-def", "def-ghi"}, "xx abc-def-ghi yy", "xx ******** yy"},
		{"nested secrets", []string{"secret", "supersecretvalue"}, "a supersecretvalue b secret", "a ******** b ********"},
		{"overlapping occurrences", []string{"ab-ab"}, "x ab-ab-ab y", "x ******** y"},
		{"exactly four bytes", []string{"abcd"}, "x abcd x", "x ******** x"},
		{"short ignored", []string{"abc", "", "x"}, "abc x", "abc x"},
		{"quoted form", []string{`pa"ss`}, `k="pa\"ss"`, `k="********"`},
		{"escaped newline form", []string{"line\nbreak"}, `msg line\nbreak`, `msg ********`},
		// Longer than 255 bytes: the automaton stores such lengths apart.
		{"long secret", []string{longSecret, "tail-secret"}, "x" + longSecret[:300] + " tail-secret " + longSecret + "!", "x" + longSecret[:300] + " ******** ********!"},

		// Whole tokens only: a secret inside a longer word is not masked.
		{"inside words", []string{"runtime"}, "runtime started: xruntime runtimes runtime_1 runtime.", "******** started: xruntime runtimes runtime_1 ********."},
		{"digits and underscore are word characters", []string{"s3cr3t"}, "1s3cr3t s3cr3t9 _s3cr3t s3cr3t_ (s3cr3t)", "1s3cr3t s3cr3t9 _s3cr3t s3cr3t_ (********)"},
		{"edges of the line", []string{"s3cr3t"}, "s3cr3t", "********"},
		{"punctuation at the edges", []string{"-tok-", "/key"}, "a-tok-b x/key/y", "a********b x********/y"},
		{"punctuation at one edge", []string{"tok-"}, "atok-b tok-b", "atok-b ********b"},
		{"non-ASCII is no word character", []string{"s3cr3t"}, "és3cr3té", "é********é"},
		// The longest secret ending somewhere is not a token there, a
		// shorter one is.
		{"shorter token inside a longer secret", []string{"my-secret-token", "secret-token"}, "xmy-secret-token x-secret-token", "xmy-******** x-********"},
		{"shorter token deep inside a longer secret", []string{"0123456789-abcdefghij-zz", "abcdefghij"}, "0123456789-abcdefghij-z", "0123456789-********-z"},
		{"shorter non-token inside a longer secret", []string{"0123456789-abcdefghij-zz", "bcdefghij"}, "0123456789-abcdefghij-z", "0123456789-abcdefghij-z"},

		// Escape sequences stand for the characters before and after.
		{"after an escaped tab", []string{"hunter22"}, `"a\thunter22" "\nhunter22" \rhunter22`, `"a\t********" "\n********" \r********`},
		{"after a hex escape", []string{"hunter22"}, `\x01hunter22 \u0007hunter22 \U0001f600hunter22 \ufffdhunter22`, `\x01******** \u0007******** \U0001f600******** \ufffd********`},
		{"ending in an escape", []string{"pass\x01"}, `k="pass\x01word" k="pass\u0001word"`, `k="********word" k="********word"`},
		{"not an escape", []string{"hunter22"}, `\qhunter22 \x012hunter22 \u00071hunter22 x1hunter22`, `\qhunter22 \x012hunter22 \u00071hunter22 x1hunter22`},
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

// TestRedactorAddDeduplicates checks that a secret added twice is stored
// once and that an Add with nothing new keeps the automaton it has instead
// of rebuilding it (niod re-adds every secret on each reload).
func TestRedactorAddDeduplicates(t *testing.T) {
	r := NewRedactor()
	r.Add("abcd", "abcdefgh", "abcdef")
	m := r.load()
	r.Add("abcdef", "abc", "") // a duplicate and secrets too short to add
	if got := r.load(); got != m {
		t.Fatal("Add without new secrets rebuilt the automaton")
	}
	r.Add(longSecret, "abcde", longSecret, "abcde") // duplicates within one call
	m = r.load()
	r.Add(longSecret, "abcde")
	if got := r.load(); got != m {
		t.Fatal("Add without new secrets rebuilt the automaton")
	}
	if len(r.patterns) != 5 {
		t.Fatalf("got %d patterns, want 5: %q", len(r.patterns), r.patterns)
	}
	if got, want := r.Scrub("abcdefgh abcdef abcd abc"), "******** ******** ******** abc"; got != want {
		t.Fatalf("Scrub = %q, want %q", got, want)
	}

	// Being a prefix of a known secret, or ending in one, does not make a
	// secret known.
	r = NewRedactor()
	r.Add("bcde", "abcdefgh")
	r.Add("abcde", "abcdef")
	if got, want := r.Scrub("abcde abcdef!"), "******** ********!"; got != want {
		t.Fatalf("Scrub = %q, want %q", got, want)
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
			l.Debug("late "+late, zap.String("k", "pre-"+late+"-post"), zap.Error(errors.New(late)))
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

// referenceScrub is the obvious implementation Scrub must agree with: mark
// every byte covered by an occurrence of any pattern that stands as a token,
// trying every pattern at every position, then write one mask per run of
// marked bytes. (Replacing matches one after another would not do as a
// reference: masking one of two overlapping secrets destroys the other's
// occurrence and leaves its tail.)
func referenceScrub(patterns []string, s string) string {
	marked := make([]bool, len(s))
	for i := 0; i < len(s); i++ { // bytes, not runes: secrets need not be UTF-8
		for _, p := range patterns {
			if strings.HasPrefix(s[i:], p) && referenceToken(s, i, i+len(p)) {
				for j := i; j < i+len(p); j++ {
					marked[j] = true
				}
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !marked[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(redactionMask)
		for i < len(s) && marked[i] {
			i++
		}
	}
	return b.String()
}

var (
	wordByte = regexp.MustCompile(`^\w$`) // ASCII only, as in Go
	// escapeEnd matches text that ends with an escape sequence, or the
	// start of one, whose last character is a word character.
	escapeEnd = regexp.MustCompile(`\\([abfnrtv]|x[0-9a-fA-F]{0,2}|u[0-9a-fA-F]{0,4}|U[0-9a-fA-F]{0,8})$`)
)

// referenceToken reports whether s[start:end] stands as a token: at each
// edge where it has a word character, the character beyond the edge is
// none, or is the end of an escape sequence (s[start-1] or s[end-1]).
func referenceToken(s string, start, end int) bool {
	word := func(i int) bool { return wordByte.MatchString(s[i : i+1]) }
	escaped := func(i int) bool { return escapeEnd.MatchString(s[max(0, i-9) : i+1]) }
	before := start == 0 || !word(start) || !word(start-1) || escaped(start-1)
	after := end == len(s) || !word(end-1) || !word(end) || escaped(end-1)
	return before && after
}

// referencePatterns lists what Add registers for secrets.
func referencePatterns(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			out = append(out, encodedForms(s)...)
		}
	}
	return out
}

// randomString returns a string of n bytes drawn from alphabet.
func randomString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// TestRedactorMatchesReference compares Scrub and scrubBuffer with
// referenceScrub on random lines and secrets. Small alphabets make secrets
// overlap, nest and repeat all the time; some secrets are cut from the line
// so that most lines contain several. The second alphabet has bytes each
// encoder escapes differently, so the escaped forms are exercised too.
func TestRedactorMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, alphabet := range []string{"ab", "abc", "ab-", "a b_", "ab\\xu1-", "ab\"\\\n\x01\xffé"} {
		for round := range 3000 {
			line := randomString(rng, alphabet, rng.IntN(60))
			var secrets []string
			for range 1 + rng.IntN(8) {
				if len(line) > 0 && rng.IntN(2) == 0 {
					i := rng.IntN(len(line))
					secrets = append(secrets, line[i:min(len(line), i+1+rng.IntN(10))])
				} else {
					secrets = append(secrets, randomString(rng, alphabet, 1+rng.IntN(9)))
				}
			}
			// Several Add calls, so the rebuilt automaton must also include
			// what was added before.
			r := NewRedactor()
			for rest := secrets; len(rest) > 0; {
				k := 1 + rng.IntN(len(rest))
				r.Add(rest[:k]...)
				rest = rest[k:]
			}

			patterns := referencePatterns(secrets)
			want := referenceScrub(patterns, line)
			if got := r.Scrub(line); got != want {
				t.Fatalf("alphabet %q round %d: secrets %q: Scrub(%q) = %q, want %q", alphabet, round, secrets, line, got, want)
			}
			buf := bufferPool.Get()
			buf.AppendString(line + "\n")
			r.scrubBuffer(buf)
			if got := buf.String(); got != want+"\n" {
				t.Fatalf("alphabet %q round %d: secrets %q: scrubBuffer(%q) = %q, want %q", alphabet, round, secrets, line, got, want+"\n")
			}
			buf.Free()
		}
	}
}

// TestMatcherMatchesReference checks the automaton itself on patterns of
// any length over alphabets up to all 256 bytes, so that nodes with many
// children (binary search, counting sort while building) and long chains
// (arena compaction at power-of-two depths) are covered.
func TestMatcherMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	for _, alphabet := range []string{"ab", "ab-", "ab-\\x1", "0123456789abcdef", all.String()} {
		for round := range 200 {
			seen := map[string]bool{}
			var patterns []string
			for range 1 + rng.IntN(400) {
				n := 1 + rng.IntN(6)
				if rng.IntN(20) == 0 {
					n = 1 + rng.IntN(300)
				}
				if p := randomString(rng, alphabet, n); !seen[p] {
					seen[p] = true
					patterns = append(patterns, p)
				}
			}
			// Plant some patterns in a random text so that there are
			// matches even over the large alphabet.
			var text strings.Builder
			for text.Len() < 500 {
				switch p := patterns[rng.IntN(len(patterns))]; rng.IntN(8) {
				case 0, 1:
					text.WriteString(p)
				case 2: // a state deep in a pattern, then a way out
					text.WriteString(p[:rng.IntN(len(p)+1)])
				default:
					text.WriteString(randomString(rng, alphabet, 1+rng.IntN(8)))
				}
			}
			s := text.String()

			m := newMatcher(patterns)
			var got strings.Builder
			prev := 0
			for _, sp := range findSpans(m, []byte(s)) {
				got.WriteString(s[prev:sp.start] + redactionMask)
				prev = sp.end
			}
			got.WriteString(s[prev:])
			if want := referenceScrub(patterns, s); got.String() != want {
				t.Fatalf("alphabet size %d round %d: %d patterns: got %q, want %q", len(alphabet), round, len(patterns), got.String(), want)
			}
		}
	}
}

// TestMatcherNestedMatchesReference checks the automaton on secrets cut
// from one string, found in lines cut from it too: secrets lie deep inside
// others, and the longest secret ending somewhere often does not stand as a
// token where a shorter one does, far into the longer one's string
// (matcher.inner) or near its start (tokenLen's walk). Backslashes and
// letters make escape sequences at the edges.
func TestMatcherNestedMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 5))
	for _, alphabet := range []string{"a-", "ab-", "ab-\\x1", "a\\bu0"} {
		for round := range 300 {
			base := randomString(rng, alphabet, 20+rng.IntN(300))
			cut := func() string {
				i := rng.IntN(len(base))
				return base[i : i+1+rng.IntN(len(base)-i)]
			}
			seen := map[string]bool{}
			var patterns []string
			for range 1 + rng.IntN(30) {
				if p := cut(); !seen[p] {
					seen[p] = true
					patterns = append(patterns, p)
				}
			}
			var text strings.Builder
			for text.Len() < 1000 {
				text.WriteString(cut())
				if rng.IntN(2) == 0 {
					text.WriteString(randomString(rng, alphabet, 1+rng.IntN(3)))
				}
			}
			s := text.String()
			m := newMatcher(patterns)
			var got strings.Builder
			prev := 0
			for _, sp := range findSpans(m, s) {
				got.WriteString(s[prev:sp.start] + redactionMask)
				prev = sp.end
			}
			got.WriteString(s[prev:])
			if want := referenceScrub(patterns, s); got.String() != want {
				t.Fatalf("alphabet %q round %d: patterns %q:\n%q\ngot  %q\nwant %q", alphabet, round, patterns, s, got.String(), want)
			}
		}
	}
}

// TestEncodedFormsPlainText checks the shortcut of encodedForms against the
// escapers it skips, on every printable ASCII byte and its neighbours.
func TestEncodedFormsPlainText(t *testing.T) {
	for c := range 256 {
		s := "ab" + string(rune(c)) + "cd"
		if c >= 0x80 {
			s = "ab" + string([]byte{byte(c)}) + "cd"
		}
		if !plainText(s) {
			continue
		}
		q := strconv.Quote(s)
		for _, form := range []string{q[1 : len(q)-1], escapeMessage(s), jsonEscaped(s)} {
			if form != s {
				t.Errorf("plainText(%q) but an encoder writes it as %q", s, form)
			}
		}
	}
	for _, s := range []string{"ab\"cd", "ab\\cd", "ab\x7fcd", "ab\tcd", "abécd"} {
		if plainText(s) {
			t.Errorf("plainText(%q) = true", s)
		}
	}
}

// TestRedactorManySecrets adds 100,000 secrets, the case that used to take
// many seconds, then scrubs with them and adds one more to the large set.
// There is no timing assertion, only a guard against hanging.
func TestRedactorManySecrets(t *testing.T) {
	const n = 100_000
	secrets := benchSecrets(n)
	extra := "one-more-secret-after-the-rest"
	type result struct{ hit, clean, later string }
	done := make(chan result, 1)
	hit := "a " + secrets[0] + " b " + secrets[n/2] + " c " + secrets[n-1] + " d"
	clean := "nothing secret in this line, status=200 path=/api/v1"
	go func() {
		r := NewRedactor()
		r.Add(secrets...)
		var res result
		res.hit, res.clean = r.Scrub(hit), r.Scrub(clean)
		r.Add(extra)
		res.later = r.Scrub(secrets[1] + " " + extra)
		done <- res
	}()
	select {
	case res := <-done:
		if want := "a ******** b ******** c ******** d"; res.hit != want {
			t.Errorf("Scrub(%q) = %q, want %q", hit, res.hit, want)
		}
		if res.clean != clean {
			t.Errorf("Scrub(%q) = %q, want it unchanged", clean, res.clean)
		}
		if want := "******** ********"; res.later != want {
			t.Errorf("after another Add: %q, want %q", res.later, want)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("Add of %d secrets and Scrub did not finish within 60s", n)
	}
}

// TestRedactorScrubDuringAdd scrubs while large batches are being added: a
// secret added before is always masked, and a secret being added is either
// not masked yet or masked from then on, never masked and then not again,
// because each scrub sees one complete set.
func TestRedactorScrubDuringAdd(t *testing.T) {
	r := NewRedactor()
	r.Add("old-secret-value")
	line := "x old-secret-value y new-secret-value z"
	before, after := "x ******** y new-secret-value z", "x ******** y ******** z"

	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for i := range 10 {
			batch := benchSecrets(2000 + i)
			if i == 5 {
				batch = append(batch, "new-secret-value")
			}
			r.Add(batch...)
		}
	}()
	masked := false
	for running := true; running; {
		select {
		case <-stop:
			running = false
		default:
		}
		switch got := r.Scrub(line); {
		case got == after:
			masked = true
		case got == before && !masked:
		default:
			t.Fatalf("Scrub = %q (new secret masked before: %v)", got, masked)
		}
	}
	if got := r.Scrub(line); got != after {
		t.Fatalf("after all Adds: %q, want %q", got, after)
	}
}
