package config

import (
	"fmt"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// entry is one value as Settings.All yields it.
type entry struct{ section, key, value string }

func entries(s *Settings) []entry {
	var out []entry
	s.All(func(sec *Section, v *Value) { out = append(out, entry{sec.Name, v.Key, v.Text}) })
	return out
}

func sectionNames(s *Settings) []string {
	var out []string
	for _, sec := range s.Sections() {
		out = append(out, sec.Name)
	}
	return out
}

// wantProblem matches a problem by line and a part of its message.
type wantProblem struct {
	line int
	msg  string
}

func checkProblems(t *testing.T, file string, got Problems, want []wantProblem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), got)
	}
	for i, w := range want {
		p := got[i]
		if p.Origin.File != file || p.Origin.Line != w.line || !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d = %q at %s, want %q at %s:%d", i, p.Msg, p.Origin, w.msg, file, w.line)
		}
	}
}

func TestParse(t *testing.T) {
	long := strings.Repeat("x", MaxLineLength)
	tests := []struct {
		name     string
		in       string
		want     []entry
		sections []string // checked when not nil
		problems []wantProblem
	}{
		{name: "empty file", in: "", sections: []string{}},
		{name: "only comments", in: "# a\n; b\n  # indented\n\n", sections: []string{}},
		{
			name: "basic",
			in:   "[s]\na = 1\nb=2\n",
			want: []entry{{"s", "a", "1"}, {"s", "b", "2"}},
		},
		{
			name: "continuation lines",
			in:   "[s]\nk = one\n  two\n\tthree\nnext = x\n",
			want: []entry{{"s", "k", "one\ntwo\nthree"}, {"s", "next", "x"}},
		},
		{
			name: "value starting on the next line",
			in:   "[s]\nk =\n  a\n  b\n",
			want: []entry{{"s", "k", "\na\nb"}},
		},
		{
			name: "blank lines inside values, trailing ones trimmed",
			in:   "[s]\nk = a\n\n  b\n\n\nnext = 1\n\n\n",
			want: []entry{{"s", "k", "a\n\nb"}, {"s", "next", "1"}},
		},
		{
			name: "comment lines inside values are skipped",
			in:   "[s]\nk = a\n# comment\n  ; indented comment\n  b\n  #c\n",
			want: []entry{{"s", "k", "a\nb"}},
		},
		{
			name: "comment between blank lines adds no line",
			in:   "[s]\nk = a\n\n# c\n\n  b\n",
			want: []entry{{"s", "k", "a\n\n\nb"}},
		},
		{
			name: "inline comment prefix is part of the value",
			in:   "[s]\nk = a # b ; c\nj = #x\n",
			want: []entry{{"s", "k", "a # b ; c"}, {"s", "j", "#x"}},
		},
		{
			name: "first delimiter wins",
			in:   "[s]\nurl = http://h:80/?a=b\ntime: 12:30 = noon\nk : v\nempty =\nempty2:\n",
			want: []entry{
				{"s", "url", "http://h:80/?a=b"}, {"s", "time", "12:30 = noon"}, {"s", "k", "v"},
				{"s", "empty", ""}, {"s", "empty2", ""},
			},
		},
		{
			name: "key with inner spaces, case kept",
			in:   "[S]\nmy key  =  v  \nKey = V\nkey = v\n",
			want: []entry{{"S", "my key", "v"}, {"S", "Key", "V"}, {"S", "key", "v"}},
		},
		{
			name: "DEFAULT may open twice",
			in:   "[DEFAULT]\nd = 1\n[s]\nk = 2\n[DEFAULT]\ne = 3\n",
			want: []entry{{"DEFAULT", "d", "1"}, {"DEFAULT", "e", "3"}, {"s", "k", "2"}},
			// [DEFAULT] is not one of Sections().
			sections: []string{"s"},
		},
		{
			name:     "header text after the last bracket is ignored",
			in:       "[a] trailing\nk = v\n[b]c]\n[ spaced ]\n",
			want:     []entry{{"a", "k", "v"}},
			sections: []string{"a", "b]c", " spaced "},
		},
		{
			name:     "empty sections are kept in order",
			in:       "[empty]\n[s]\nk = v\n[last]\n",
			want:     []entry{{"s", "k", "v"}},
			sections: []string{"empty", "s", "last"},
		},
		{
			name: "indentation decides continuation",
			in:   "[s]\n  k = a\n  j = b\n   deeper = c\n[t]\nx = 1\n  [u]\n",
			want: []entry{{"s", "k", "a"}, {"s", "j", "b\ndeeper = c"}, {"t", "x", "1\n[u]"}},
		},
		{
			name:     "duplicate section",
			in:       "[s]\na = 1\n[t]\n[s]\nb = 2\n",
			want:     []entry{{"s", "a", "1"}, {"s", "b", "2"}},
			problems: []wantProblem{{4, "section [s] appears twice in this file (first at line 1; merge them)"}},
		},
		{
			name:     "duplicate key",
			in:       "[s]\na = 1\nb = 2\na = 1\n",
			want:     []entry{{"s", "a", "1"}, {"s", "b", "2"}},
			problems: []wantProblem{{4, `key "a" appears twice in [s] (first at line 2; keep one)`}},
		},
		{
			name:     "duplicate key across two DEFAULT headers",
			in:       "[DEFAULT]\na = 1\n[s]\n[DEFAULT]\na = 1\n",
			want:     []entry{{"DEFAULT", "a", "1"}},
			problems: []wantProblem{{5, `key "a" appears twice in [DEFAULT] (first at line 2`}},
		},
		{
			name: "same key in two sections",
			in:   "[s]\na = 1\n[t]\na = 2\n",
			want: []entry{{"s", "a", "1"}, {"t", "a", "2"}},
		},
		{
			name:     "keys outside any section are reported once",
			in:       "a = 1\nb = 2\n# c\n\nc = 3\n[s]\nk = v\n",
			want:     []entry{{"s", "k", "v"}},
			problems: []wantProblem{{1, "key outside any section (add a [section] header above it)"}},
		},
		{
			name:     "header not closed",
			in:       "[s]\n[broken\nk = v\n[]\n",
			want:     []entry{{"s", "k", "v"}},
			problems: []wantProblem{{2, "section header is not closed"}, {4, "section header is not closed"}},
		},
		{
			name:     "line that is nothing",
			in:       "[s]\njust text\n",
			problems: []wantProblem{{2, "line is neither a [section], a key = value nor a comment"}},
		},
		{
			name: "empty key ends the value",
			in:   "[s]\n = v\n  cont\n",
			problems: []wantProblem{
				{2, "key name is empty (write name = value)"},
				{3, "line is neither"},
			},
		},
		{
			name:     "NUL byte",
			in:       "[s]\na = x\x00y\nb = 2\n",
			want:     []entry{{"s", "b", "2"}},
			problems: []wantProblem{{2, "contains a NUL byte"}},
		},
		{
			name:     "invalid UTF-8",
			in:       "[s]\na = \xff\xfe\nb = ok\n",
			want:     []entry{{"s", "b", "ok"}},
			problems: []wantProblem{{2, "is not valid UTF-8"}},
		},
		{
			name:     "over-long line",
			in:       "[s]\na = " + long + "\nb = 1\n",
			want:     []entry{{"s", "b", "1"}},
			problems: []wantProblem{{2, "line is longer than 64 KiB"}},
		},
		{
			name: "line of exactly the limit",
			in:   "[s]\na = " + long[:MaxLineLength-4] + "\n",
			want: []entry{{"s", "a", long[:MaxLineLength-4]}},
		},
		{
			name:     "CRLF line numbers",
			in:       "[s]\r\na = 1\r\n  2\r\nb\r\nc = 3\r\n",
			want:     []entry{{"s", "a", "1\n2"}, {"s", "c", "3"}},
			problems: []wantProblem{{4, "line is neither"}},
		},
		{
			name:     "CR line numbers",
			in:       "[s]\ra = 1\r  2\rb\rc = 3\r",
			want:     []entry{{"s", "a", "1\n2"}, {"s", "c", "3"}},
			problems: []wantProblem{{4, "line is neither"}},
		},
		{
			name:     "mixed line endings",
			in:       "[s]\na = 1\r\n\rb = x\x00\n\r\nc = 2",
			want:     []entry{{"s", "a", "1"}, {"s", "c", "2"}},
			problems: []wantProblem{{4, "NUL"}},
		},
		{
			name: "CRLF continuation has no carriage return",
			in:   "[s]\r\na = 1\r\n  2\r\n\r\n",
			want: []entry{{"s", "a", "1\n2"}},
		},
		{
			name: "byte-order mark at the start",
			in:   "\ufeff[s]\na = 1\n",
			want: []entry{{"s", "a", "1"}},
		},
		{
			name:     "byte-order mark elsewhere is text",
			in:       "[s]\na = 1\n\ufeff[t]\n",
			want:     []entry{{"s", "a", "1"}},
			problems: []wantProblem{{3, "line is neither"}},
		},
		{
			name: "ideographic space indents",
			in:   "[s]\nk = a\n\u3000b\n",
			want: []entry{{"s", "k", "a\nb"}},
		},
		{
			name: "ASCII separators are whitespace",
			in:   "[s]\nk = a\x1f\x1e\n\x1cb\x1d\n",
			want: []entry{{"s", "k", "a\nb"}},
		},
		{
			name: "NEL and no-break space are whitespace",
			in:   "[s]\nk\u00a0=\u00a0v\u00a0\n\u0085w\n",
			want: []entry{{"s", "k", "v\nw"}},
		},
		{
			name: "indentation is counted in characters, deeper",
			in:   "[s]\n  k = a\n\u3000\u3000\u3000b\n",
			want: []entry{{"s", "k", "a\nb"}},
		},
		{
			name:     "indentation is counted in characters, same",
			in:       "[s]\n  k = a\n\u3000\u3000b\n",
			want:     []entry{{"s", "k", "a"}},
			problems: []wantProblem{{3, "line is neither"}},
		},
		{
			name: "zero-width space is not whitespace",
			in:   "[s]\nk = a\n\u200bb = 2\n",
			want: []entry{{"s", "k", "a"}, {"s", "\u200bb", "2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ps := Parse("f.conf", []byte(tt.in))
			checkProblems(t, "f.conf", ps, tt.problems)
			if got := entries(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("values:\n got %q\nwant %q", got, tt.want)
			}
			if tt.sections != nil {
				got := sectionNames(s)
				if got == nil {
					got = []string{}
				}
				if !reflect.DeepEqual(got, tt.sections) {
					t.Errorf("sections = %q, want %q", got, tt.sections)
				}
			}
			// Until Resolve runs, Text is Raw.
			s.All(func(_ *Section, v *Value) {
				if v.Raw != v.Text {
					t.Errorf("%s: Raw %q != Text %q", v.Key, v.Raw, v.Text)
				}
			})
		})
	}
}

func TestParseOrigins(t *testing.T) {
	s, ps := Parse("nio.conf", []byte("# top\n[s]\na = 1\n\nb = 2\n  more\n[DEFAULT]\nd = 3\n"))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	for _, c := range []struct {
		section, key string
		line         int
	}{{"s", "a", 3}, {"s", "b", 5}, {"DEFAULT", "d", 8}} {
		v := s.Section(c.section).Get(c.key)
		if v == nil || v.Origin != (Origin{File: "nio.conf", Line: c.line}) {
			t.Errorf("[%s] %s: origin %+v, want nio.conf:%d", c.section, c.key, v, c.line)
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	_, ps := Parse("big.conf", make([]byte, MaxFileSize+1))
	if len(ps) != 1 || ps[0].Origin != (Origin{File: "big.conf"}) || !strings.Contains(ps[0].Msg, "larger than 16 MiB") {
		t.Fatalf("problems = %v", ps)
	}
}

func TestReadMerge(t *testing.T) {
	s := New()
	if ps := s.Read("a.conf", []byte("[DEFAULT]\nd = a\n[s]\nx = 1\ny = 2\n  two\n[t]\nk = a\n")); len(ps) > 0 {
		t.Fatal(ps)
	}
	// Sections repeat across files without a problem; only the repeat of
	// [s] inside b.conf is one.
	ps := s.Read("b.conf", []byte("[u]\nz = 3\n[s]\ny = 20\nw = 4\n[DEFAULT]\nd = b\n[s]\nv = 5\n"))
	checkProblems(t, "b.conf", ps, []wantProblem{{8, "section [s] appears twice in this file (first at line 3"}})

	want := []entry{
		{"DEFAULT", "d", "b"},
		{"s", "x", "1"}, {"s", "y", "20"}, {"s", "w", "4"}, {"s", "v", "5"},
		{"t", "k", "a"},
		{"u", "z", "3"},
	}
	if got := entries(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("merged:\n got %q\nwant %q", got, want)
	}
	if got := s.Lookup("s", "y").Origin; got != (Origin{File: "b.conf", Line: 4}) {
		t.Errorf("y origin = %v, want b.conf:4", got)
	}
	if got := s.Lookup("s", "x").Origin; got != (Origin{File: "a.conf", Line: 4}) {
		t.Errorf("x origin = %v, want a.conf:4", got)
	}
	// Lookup falls back to [DEFAULT] only for sections that exist.
	if v := s.Lookup("t", "d"); v == nil || v.Text != "b" {
		t.Errorf("Lookup(t, d) = %+v, want the [DEFAULT] value", v)
	}
	if v := s.Lookup("nope", "d"); v != nil {
		t.Errorf("Lookup(nope, d) = %+v, want nil", v)
	}
	if v := s.Section("t").Get("d"); v != nil {
		t.Errorf("Get does not fall back to [DEFAULT], got %+v", v)
	}
	if s.Section("DEFAULT") != s.Defaults() || s.Section("nope") != nil {
		t.Error("Section lookup is wrong")
	}
}

func TestReadKeyOutsideSectionPerFile(t *testing.T) {
	s := New()
	for _, name := range []string{"a.conf", "b.conf"} {
		ps := s.Read(name, []byte("k = 1\nj = 2\n[s]\nx = 1\n"))
		checkProblems(t, name, ps, []wantProblem{{1, "key outside any section"}})
	}
	// A later file's stray key does not go into the last file's section.
	if got := entries(s); !reflect.DeepEqual(got, []entry{{"s", "x", "1"}}) {
		t.Fatalf("values = %q", got)
	}
}

func TestProblemError(t *testing.T) {
	ps := Problems{
		{Origin: Origin{File: "a.conf", Line: 3}, Msg: "bad"},
		{Origin: Origin{File: "NIOD_X"}, Msg: "worse"},
		{Msg: "bare"},
	}
	if got, want := ps.Error(), "a.conf:3: bad\nNIOD_X: worse\nbare"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// TestIsPySpaceMatchesPython compares isPySpace with str.isspace() of the
// python3 on PATH for every rune up to U+3000.
func TestIsPySpaceMatchesPython(t *testing.T) {
	const last = 0x3000
	out, err := exec.Command("python3", "-c",
		fmt.Sprintf(`import sys; sys.stdout.write(" ".join(str(i) for i in range(%d) if chr(i).isspace()))`, last+1)).Output()
	if err != nil {
		t.Fatalf("python3 is needed to check isPySpace: %v", err)
	}
	want := map[rune]bool{}
	for _, f := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("python3 printed %q", out)
		}
		want[rune(n)] = true
	}
	// A sanity check on the oracle itself.
	for _, r := range []rune{' ', 0x1c, 0x85, 0xa0, 0x2028, 0x3000} {
		if !want[r] {
			t.Fatalf("python3 says %U is not whitespace; output %q", r, out)
		}
	}
	for r := rune(0); r <= last; r++ {
		if got := isPySpace(r); got != want[r] {
			t.Errorf("isPySpace(%U) = %v, python3 says %v", r, got, want[r])
		}
	}
}

func TestLeadingSpaceChars(t *testing.T) {
	for in, want := range map[string]int{
		"":              0,
		"x":             0,
		"  x":           2,
		"\t\u3000x":     2,
		"\u00a0\x1c x ": 3,
		"   ":           3,
	} {
		if got := leadingSpaceChars(in); got != want {
			t.Errorf("leadingSpaceChars(%q) = %d, want %d", in, got, want)
		}
	}
}
