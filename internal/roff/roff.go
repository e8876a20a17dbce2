// Package roff writes man pages: requests, escaped text lines and
// paragraphs, for man(7) as groff and mandoc read it.
package roff

import (
	"fmt"
	"strings"
)

// A Page is a man page being written: requests and text lines.
type Page struct{ b strings.Builder }

// String is the page so far.
func (p *Page) String() string { return p.b.String() }

// Req writes a request (".TP") as it is.
func (p *Page) Req(format string, args ...any) {
	fmt.Fprintf(&p.b, format+"\n", args...)
}

// Text writes a text line of escaped text (see Escape), kept from being
// read as a request.
func (p *Page) Text(line string) {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
		line = `\&` + line
	}
	p.b.WriteString(line + "\n")
}

// Paragraphs writes plain text: paragraphs apart by blank lines, and the
// paragraphs whose lines are all indented as they are (commands to type).
func (p *Page) Paragraphs(text string) {
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(para, "\n")
		indented := true
		for _, l := range lines {
			indented = indented && strings.HasPrefix(l, "  ")
		}
		p.Req(".PP")
		if !indented {
			p.Text(Escape(strings.Join(lines, " ")))
			continue
		}
		p.Req(".RS 4")
		p.Req(".nf")
		for _, l := range lines {
			p.Text(Escape(l))
		}
		p.Req(".fi")
		p.Req(".RE")
	}
}

// Escape escapes text for a text line: a backslash prints as \e, a hyphen
// as \-, which copies as the ASCII hyphen a flag needs, and what is not
// ASCII as its code point.
func Escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e || r < ' ':
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ItalicCaps puts the words in capitals (ROOT, FILE), the ones to
// replace, in italics. A word is a run of letters, digits and _. (No
// regexp: its package's start-up would be paid by every niod run.)
func ItalicCaps(s string) string {
	isWord := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !isWord(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isWord(s[j]) {
			j++
		}
		if w := s[i:j]; strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
			b.WriteString(`\fI` + w + `\fR`)
		} else {
			b.WriteString(w)
		}
		i = j
	}
	return b.String()
}
