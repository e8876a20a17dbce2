package config

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// doubling is the file of n lines that resolves to 2^n bytes: each line
// refers twice to the one above.
func doubling(n int) string {
	var b strings.Builder
	b.WriteString("[user_defined]\nL0 = x\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "L%d = [[L%d]][[L%d]]\n", i, i-1, i-1)
	}
	return b.String()
}

// chain is a file of n [user_defined] values, each referring to the next,
// listed from the top of the chain down (down) or from its bottom up; the
// chain starts at line 2. Value i is named c(i), short for a million of
// them to fit in a file.
func chain(n int, down bool) string {
	var b strings.Builder
	b.WriteString("[user_defined]\n")
	for j := 0; j < n; j++ {
		i := j
		if down {
			i = n - 1 - j
		}
		if i == 0 {
			b.WriteString(c(0) + "=end\n")
		} else {
			b.WriteString(c(i) + "=[[" + c(i-1) + "]]\n")
		}
	}
	return b.String()
}

func c(i int) string { return "c" + strconv.FormatInt(int64(i), 36) }

// repeated is a [s] section of keys, each holding per references to a.
func repeated(keys, per int) string {
	var b strings.Builder
	b.WriteString("[user_defined]\na = y\n[s]\n")
	for k := 0; k < keys; k++ {
		fmt.Fprintf(&b, "k%d = %s\n", k, strings.Repeat("[[a]]", per))
	}
	return b.String()
}

func TestResolveBounds(t *testing.T) {
	big := strings.Repeat("b", MaxResolvedValue)
	tests := []struct {
		name string
		file string
		env  map[string]string
		line int    // where the one problem is
		msg  string // what it says
	}{
		{
			name: "40 lines doubling",
			file: doubling(40),
			line: 23, // L21, the first past 1 MiB
			msg:  "[user_defined] L21: with [[L20]] filled in, the value is larger than 1 MiB, the most a value may hold",
		},
		{
			name: "a variable larger than a value may be",
			file: "[s]\nok = [[BIG]]\nk = x[[BIG]]\n",
			env:  map[string]string{"BIG": big},
			line: 3,
			msg:  "[s] k: with [[BIG]] filled in, the value is larger than 1 MiB",
		},
		{
			name: "literal text after a large reference",
			file: "[s]\nk = [[BIG]]\n  tail\n",
			env:  map[string]string{"BIG": big},
			line: 2,
			msg:  "[s] k: with its references filled in, the value is larger than 1 MiB",
		},
		{
			name: "values adding up past the total",
			file: doubling(20) + "[s]\nt = [[L20]]\n" +
				func() string {
					var b strings.Builder
					for i := 0; i < 20; i++ {
						fmt.Fprintf(&b, "t%d = [[L20]]\n", i)
					}
					return b.String()
				}(),
			line: 25 + 13, // L1..L20, t and t0..t12 make 16 MiB less 2 bytes; t13 crosses
			msg:  "[s] t13: with [[L20]] filled in, the values add up to more than 16 MiB, the most niod resolves",
		},
		{
			name: "a chain a million deep, top first",
			file: "[s]\ntop = [[" + c(999999) + "]]\n" + chain(1000000, true),
			line: 2 + 1 + 64,
			msg: "[user_defined] " + c(999936) + ": [[" + c(999935) + "]] makes a chain of references more than 64 deep (top -> " +
				c(999999) + " -> " + c(999998) + " -> ... 60 more ... -> " + c(999937) + " -> " + c(999936) + " -> " + c(999935) + "; shorten it)",
		},
		{
			name: "a chain a million deep, bottom first",
			file: chain(1000000, false),
			line: 2 + 65,
			msg:  "[user_defined] " + c(65) + ": [[" + c(64) + "]] makes a chain of references more than 64 deep (" + c(65) + " -> " + c(64) + ", itself 64 deep; shorten it)",
		},
		{
			name: "65 deep, found resolving the top",
			file: "[s]\ntop = [[" + c(64) + "]]\n" + chain(65, true),
			line: 4 + 63, // c1, which would make top 65 deep
			msg: "[user_defined] c1: [[c0]] makes a chain of references more than 64 deep (top -> " + c(64) + " -> " + c(63) +
				" -> ... 60 more ... -> c2 -> c1 -> c0; shorten it)",
		},
		{
			name: "65 deep, found at the top",
			file: chain(65, false) + "[s]\ntop = [[" + c(64) + "]]\n",
			line: 68,
			msg:  "[s] top: [[" + c(64) + "]] makes a chain of references more than 64 deep (top -> " + c(64) + ", itself 64 deep; shorten it)",
		},
		{
			name: "more references than resolved in all",
			file: repeated(6, 12000),
			line: 9, // k5 holds the 65537th
			msg:  "[s] k5: the settings hold more than 65536 [[ ]] references, the most niod resolves",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.file)
			ps := s.Resolve(envOf(tt.env), "/r")
			if len(ps) != 1 {
				if len(ps) > 5 {
					ps = ps[:5]
				}
				t.Fatalf("want one problem, got %d: %v", len(ps), ps)
			}
			if p := ps[0]; p.Origin != (Origin{File: "a.conf", Line: tt.line}) || !strings.HasPrefix(p.Msg, tt.msg) || p.Undefined {
				t.Errorf("problem = %v\nwant a.conf:%d: %s", p, tt.line, tt.msg)
			}
			total := 0
			s.All(func(sec *Section, v *Value) {
				if len(v.Refs) == 0 {
					return
				}
				if len(v.Text) > MaxResolvedValue {
					t.Errorf("[%s] %s holds %d bytes, more than MaxResolvedValue", sec.Name, v.Key, len(v.Text))
				}
				if v.Text != v.Raw {
					total += len(v.Text)
				}
			})
			if total > MaxResolvedTotal {
				t.Errorf("resolved values hold %d bytes, more than MaxResolvedTotal", total)
			}
		})
	}
}

func TestResolveBoundsKeepGoodValues(t *testing.T) {
	// Exactly at the caps is fine; what crossed keeps its text as written,
	// and so do the values that refer to it.
	file := doubling(22) + "[s]\nfine = [[L20]]\nbad = [[L21]]\nworse = [[L22]]\n"
	s := mustParse(t, file, "[user_defined]\nd0 = x\n"+deepChain(64))
	ps := s.Resolve(envOf(nil), "/r")
	if len(ps) != 1 || ps[0].Origin.Line != 23 {
		t.Fatalf("want one problem at a.conf:23 (L21), got %v", ps)
	}
	if got := len(text(t, s, "s", "fine")); got != MaxResolvedValue {
		t.Errorf("fine holds %d bytes, want %d", got, MaxResolvedValue)
	}
	for _, key := range []string{"bad", "worse"} {
		if v := s.Section("s").Get(key); v.Text != v.Raw {
			t.Errorf("%s = %.40q..., want its text as written", key, v.Text)
		}
	}
	if got := text(t, s, UserDefined, "d64"); got != "x" {
		t.Errorf("d64 = %q: a chain 64 deep resolves", got)
	}
}

// deepChain is [user_defined] values d1 .. dn, each referring to the one
// before: dn is n deep.
func deepChain(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "d%d = [[d%d]]\n", i, i-1)
	}
	return b.String()
}

func TestResolveCycleLongerThanDepth(t *testing.T) {
	// A cycle longer than MaxRefDepth is still refused.
	var b strings.Builder
	b.WriteString("[user_defined]\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "c%d = [[c%d]]\n", i, (i+1)%100)
	}
	ps := mustParse(t, b.String()).Resolve(envOf(nil), "/r")
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "more than 64 deep") {
		t.Fatalf("problems = %v", ps)
	}
}

func TestProblemCap(t *testing.T) {
	bad := func(n int) string { return "[s]\n" + strings.Repeat("not a setting\n", n) }
	t.Run("one file", func(t *testing.T) {
		_, ps := Parse("big.conf", []byte(bad(10000)))
		if len(ps) != MaxProblems+1 {
			t.Fatalf("%d problems, want %d", len(ps), MaxProblems+1)
		}
		last := ps[MaxProblems]
		if last.Omitted != 10000-MaxProblems || last.Error() != "big.conf: ... and 9900 more problems (fix these first)" {
			t.Errorf("last = %+v, %q", last, last.Error())
		}
		if ps[MaxProblems-1].Origin.Line != MaxProblems+1 || ps[MaxProblems-1].Omitted != 0 {
			t.Errorf("problem %d = %+v, want the one of line %d", MaxProblems-1, ps[MaxProblems-1], MaxProblems+1)
		}
	})
	t.Run("a few are all kept", func(t *testing.T) {
		if _, ps := Parse("a.conf", []byte(bad(MaxProblems))); len(ps) != MaxProblems || ps[MaxProblems-1].Omitted != 0 {
			t.Fatalf("%d problems, want %d and no summary", len(ps), MaxProblems)
		}
	})
	t.Run("across a whole Load", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "a.conf", bad(80), 0o600)
		writeFile(t, dir, "b.conf", bad(70)+"k = [[NOPE]]\n", 0o600)
		ps := loadProblems(t, Request{Root: dir, Files: []string{"a.conf", "b.conf"}})
		if len(ps) != MaxProblems+1 {
			t.Fatalf("%d problems, want %d", len(ps), MaxProblems+1)
		}
		if ps[79].Origin.File != "a.conf" || ps[80].Origin.File != "b.conf" {
			t.Errorf("problems 79, 80 = %v, %v: want a.conf's first", ps[79], ps[80])
		}
		if last := ps[MaxProblems]; last.Error() != "... and 51 more problems (fix these first)" || last.Omitted != 51 {
			t.Errorf("last = %q", last.Error())
		}
	})
	t.Run("undefined names under allow_undefined", func(t *testing.T) {
		dir := t.TempDir()
		// 150 names: one name twice in a value is one problem.
		var refs strings.Builder
		for i := range 150 {
			refs.WriteString("[[NOPE" + strconv.Itoa(i) + "]]")
		}
		writeFile(t, dir, "nio.conf", "[niod]\nallow_undefined = true\n[s]\nk = "+refs.String()+"\n", 0o600)
		l := mustLoad(t, Request{Root: dir})
		if len(l.Warnings) != MaxProblems+1 || l.Warnings[MaxProblems].Omitted != 50 || !l.Warnings[MaxProblems].Undefined {
			t.Fatalf("%d warnings, last %+v", len(l.Warnings), l.Warnings[len(l.Warnings)-1])
		}
	})
	t.Run("memory", func(t *testing.T) {
		// Bad lines past the cap are counted, not kept: a million of
		// them cost little more than the file itself.
		data := []byte(bad(1 << 20))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, ps := Parse("big.conf", data)
		runtime.ReadMemStats(&after)
		if n := ps[len(ps)-1].Omitted; n != 1<<20-MaxProblems {
			t.Fatalf("omitted %d", n)
		}
		// Parse copies the file into a string; past that, next to nothing.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(data))+1<<20 {
			t.Errorf("parsing allocated %d bytes for %d bad lines in %d bytes", alloc, 1<<20, len(data))
		}
	})
}

func TestResolveProblemCap(t *testing.T) {
	// Undefined names and other problems are capped apart: warnings must not
	// crowd out errors.
	var b strings.Builder
	b.WriteString("[user_defined]\nself = [[self]]\n[s]\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "k%d = [[NOPE]][[PADDED]]\n", i)
	}
	ps := mustParse(t, b.String()).Resolve(envOf(map[string]string{"PADDED": "x "}), "/r")
	var undefined, other int
	var omittedUndefined, omittedOther int
	for _, p := range ps {
		switch {
		case p.Omitted > 0 && p.Undefined:
			omittedUndefined = p.Omitted
		case p.Omitted > 0:
			omittedOther = p.Omitted
		case p.Undefined:
			undefined++
		default:
			other++
		}
	}
	if undefined != MaxProblems || other != MaxProblems || omittedUndefined != 200 || omittedOther != 201 {
		t.Errorf("undefined %d (+%d), other %d (+%d)", undefined, omittedUndefined, other, omittedOther)
	}
}
