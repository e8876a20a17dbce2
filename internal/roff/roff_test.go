package roff

import (
	"regexp"
	"testing"
)

func TestRoffEscapes(t *testing.T) {
	for in, want := range map[string]string{
		`--root`:         `\-\-root`,
		`a\b`:            `a\eb`,
		`µs`:             `\[u00B5]s`,
		`[[ NAME ]] 'x'`: `[[ NAME ]] 'x'`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	p := &Page{}
	p.Text(".hidden request")
	p.Text("'another")
	p.Text(`\fBniod\fR`)
	if got, want := p.String(), "\\&.hidden request\n\\&'another\n\\fBniod\\fR\n"; got != want {
		t.Errorf("text lines = %q, want %q", got, want)
	}
}

// ItalicCaps italicises what the pattern \b[A-Z]+\b matches.
func TestItalicCaps(t *testing.T) {
	re := regexp.MustCompile(`\b[A-Z]+\b`)
	lines := []string{"", "ROOT", "-r ROOT", "a_B C_d E", "[-s FILE]... [--json|--live]", "X1 Y é Z", `\-\-only IDS`}
	for _, s := range lines {
		if got, want := ItalicCaps(s), re.ReplaceAllString(s, `\fI$0\fR`); got != want {
			t.Errorf("ItalicCaps(%q) = %q, want %q", s, got, want)
		}
	}
}
