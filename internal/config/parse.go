package config

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a settings file may hold. Real settings are a few KiB; the
// limits keep a wrong -s (a log, a disk image) from eating memory.
const (
	MaxFileSize   = 16 << 20
	MaxLineLength = 64 << 10
)

// Parse reads one settings file into new Settings.
func Parse(name string, data []byte) (*Settings, Problems) {
	s := New()
	return s, s.Read(name, data)
}

// Read parses one more settings file into s, as configparser's read() does
// for each file of a list: sections and keys merge, a later value replaces an
// earlier one, and strict mode refuses a section or key repeated inside the
// same file. Unlike configparser it does not stop at the first fatal error:
// every problem of the file is returned, one per line, up to MaxProblems
// (then the last, at the file, says how many more there were).
func (s *Settings) Read(name string, data []byte) Problems {
	c := &collector{at: Origin{File: name}}
	s.read(name, string(data), c)
	return c.result()
}

// span is where a section header or a key sits in one file: its line and,
// for a key, the last line that continues its value. Lines count from 1.
type span struct {
	Section string
	Key     string // "" for the section's header
	Line    int
	End     int
}

// layout parses one file as Parse does and also returns its section
// headers and keys in file order, with their lines: what EditSettings needs
// to change one value and leave every other byte of the file alone.
func layout(name string, data []byte) (*Settings, []span, Problems) {
	s := New()
	s.reads++
	var spans []span
	c := &collector{at: Origin{File: name}}
	p := parser{s: s, file: name, gen: s.reads, sections: map[string]int{}, spans: &spans, problems: c}
	p.run(string(data))
	return s, spans, c.result()
}

// read is Read that adds the problems to c and returns the values the file
// set.
func (s *Settings) read(name string, text string, c *collector) fileValues {
	s.reads++
	p := parser{s: s, file: name, gen: s.reads, sections: map[string]int{}, problems: c}
	p.run(text)
	return p.slabs
}

// fileValues are the values one file set, in file order: the blocks the
// parser allocated them in. A key repeated in the same file (a problem in
// strict mode) has a Value there too, with gen 0: it set nothing.
type fileValues [][]Value

// each calls fn for every value the file set.
func (fv fileValues) each(fn func(v *Value) (stop bool)) {
	for _, block := range fv {
		for i := range block {
			if v := &block[i]; v.gen != 0 && fn(v) {
				return
			}
		}
	}
}

type parser struct {
	s        *Settings
	file     string
	problems *collector

	cur      *Section // section being filled, nil before the first header
	curName  string   // its header text ("DEFAULT" too)
	opt      *Value   // option that continuation lines extend, nil when none
	indent   int      // indent level of the last header or option line, in characters
	orphaned bool     // a line outside any section was reported already
	// lines holds the lines of a continued value; blanks counts the blank
	// lines after its last line, kept only if more text follows.
	lines     []string
	continued bool
	blanks    int
	// gen marks the values this file sets, for strict mode; sections maps
	// the sections it opened to their lines.
	gen      uint32
	sections map[string]int
	spans    *[]span // where headers and keys are, for layout only
	// Values are allocated in blocks of up to maxSlab, each no larger than
	// the lines left to read (every key takes a line of its own): a few
	// allocations per file instead of one per key. slabs holds every
	// block; the last is being filled.
	slabs     fileValues
	lineCount int // lines in the file (an estimate when line ends mix)
	lineNo    int // the line being read
}

// maxSlab is the most values one block holds (about 400 KiB).
const maxSlab = 4096

func (p *parser) at(line int) Origin { return Origin{File: p.file, Line: line} }

func (p *parser) run(text string) {
	if len(text) > MaxFileSize {
		p.problems.add(Origin{File: p.file}, "is larger than %d MiB (is it really a settings file?)", MaxFileSize>>20)
		return
	}
	text = strings.TrimPrefix(text, "\ufeff") // editors on Windows add a byte-order mark
	// Lines split at ASCII bytes, so in a text that is valid UTF-8 and
	// holds no NUL every line is too: checked once for the whole text,
	// line by line only when it fails, to report the lines.
	clean := strings.IndexByte(text, 0) < 0 && utf8.ValidString(text)
	p.lineCount = strings.Count(text, "\n") + 1
	if p.lineCount == 1 {
		p.lineCount += strings.Count(text, "\r") // old Mac line ends
	}
	lineNo := 0
	// Offsets of the next \n and \r, found once each: a file with only \r
	// line ends must not be rescanned to its end for every line.
	nl, cr := -1, -1
	for pos := 0; pos < len(text); {
		// Universal newlines, as Python's text mode reads: \n, \r\n and \r.
		if nl < pos {
			nl = nextByte(text, pos, '\n')
		}
		if cr < pos {
			cr = nextByte(text, pos, '\r')
		}
		end := min(nl, cr)
		next := min(end+1, len(text))
		if end == cr && end+1 == nl {
			next++
		}
		line := text[pos:end]
		pos = next
		lineNo++
		p.lineNo = lineNo
		switch {
		case len(line) > MaxLineLength:
			p.problems.add(p.at(lineNo), "line is longer than %d KiB (is it really a settings file?)", MaxLineLength>>10)
			continue
		case clean: // no NUL, valid UTF-8: checked above
		case strings.IndexByte(line, 0) >= 0:
			p.problems.add(p.at(lineNo), "contains a NUL byte (settings files are text)")
			continue
		case !utf8.ValidString(line):
			p.problems.add(p.at(lineNo), "is not valid UTF-8 (save the file as UTF-8)")
			continue
		}
		p.line(lineNo, line)
	}
	p.endValue()
}

// endValue finishes the value being read: its lines joined, trailing
// whitespace and blank lines stripped.
func (p *parser) endValue() {
	v := p.opt
	if v == nil {
		return
	}
	if p.continued {
		// A single line was stripped by splitOption already.
		v.Raw = pyTrimRight(strings.Join(p.lines, "\n"))
		p.lines, p.continued = p.lines[:0], false
	}
	v.Text = v.Raw
	p.blanks = 0
	p.opt = nil
}

func (p *parser) newValue() *Value {
	n := len(p.slabs) - 1
	if n < 0 || len(p.slabs[n]) == cap(p.slabs[n]) {
		size := min(max(p.lineCount-p.lineNo+1, 16), maxSlab)
		p.slabs = append(p.slabs, make([]Value, 0, size))
		n++
	}
	p.slabs[n] = p.slabs[n][:len(p.slabs[n])+1]
	return &p.slabs[n][len(p.slabs[n])-1]
}

// line handles one line exactly as configparser's _read loop does with its
// defaults: full-line comments only, empty lines kept inside values, values
// continued by lines indented deeper than their key.
func (p *parser) line(n int, line string) {
	value := pyStrip(line)
	comment := strings.HasPrefix(value, "#") || strings.HasPrefix(value, ";")
	if value == "" || comment {
		// An empty line belongs to the value being read (counted only:
		// trailing ones are stripped); a comment line is skipped without
		// ending it.
		if !comment && p.opt != nil {
			p.blanks++
		}
		return
	}
	indent := leadingSpaceChars(line)
	if v := p.opt; v != nil && indent > p.indent {
		if !p.continued {
			p.lines, p.continued = append(p.lines, v.Raw), true
		}
		for ; p.blanks > 0; p.blanks-- {
			p.lines = append(p.lines, "")
		}
		p.lines = append(p.lines, value)
		if p.spans != nil && len(*p.spans) > 0 {
			(*p.spans)[len(*p.spans)-1].End = n
		}
		return
	}
	p.indent = indent
	if name, ok := sectionHeader(value); ok {
		p.header(n, name)
		return
	}
	if p.cur == nil {
		if !p.orphaned {
			p.problems.add(p.at(n), "key outside any section (add a [section] header above it)")
			p.orphaned = true
		}
		return
	}
	key, val, ok := splitOption(value)
	switch {
	case !ok && strings.HasPrefix(value, "["):
		p.problems.add(p.at(n), "section header is not closed (write it as [name])")
		return
	case !ok:
		p.problems.add(p.at(n), "line is neither a [section], a key = value nor a comment (indent it to continue the value above)")
		return
	case key == "":
		// configparser ends the value above, and lines indented below
		// continue nothing.
		p.problems.add(p.at(n), "key name is empty (write name = value)")
		p.endValue()
		return
	}
	p.endValue()
	if p.spans != nil {
		*p.spans = append(*p.spans, span{Section: p.curName, Key: key, Line: n, End: n})
	}
	// The block is zeroed already: set the fields, no Value literal to copy.
	v := p.newValue()
	v.Key, v.Raw, v.Origin, v.gen = key, val, p.at(n), p.gen
	sec := p.cur
	switch i := sec.index.find(sec.keys, key); {
	case i < 0:
		sec.add(v)
	case sec.keys[i].gen == p.gen:
		// Strict mode: the first stays; v only collects continuation
		// lines, and gen 0 says it set nothing.
		v.gen = 0
		p.problems.add(p.at(n), "key %q appears twice in [%s] (first at line %d; keep one)", truncate(key, 60), short(p.curName), sec.keys[i].Origin.Line)
	default:
		sec.keys[i] = v // a later file wins; the key keeps its place
	}
	p.opt = v
}

func (p *parser) header(n int, name string) {
	p.endValue()
	if p.spans != nil {
		*p.spans = append(*p.spans, span{Section: name, Line: n, End: n})
	}
	p.curName = name
	p.orphaned = false
	switch existing := p.s.byName[name]; {
	case existing != nil:
		if first, dup := p.sections[name]; dup {
			p.problems.add(p.at(n), "section [%s] appears twice in this file (first at line %d; merge them)", short(name), first)
		} else {
			p.sections[name] = n
		}
		p.cur = existing
	case name == DefaultSection:
		// configparser allows [DEFAULT] to open more than once per file.
		p.cur = p.s.defaults
	default:
		p.cur = newSection(name)
		p.s.sections = append(p.s.sections, p.cur)
		p.s.byName[name] = p.cur
		p.sections[name] = n
	}
}

// nextByte returns the offset of the first c in text at or after from, or
// len(text).
func nextByte(text string, from int, c byte) int {
	if i := strings.IndexByte(text[from:], c); i >= 0 {
		return from + i
	}
	return len(text)
}

// sectionHeader matches configparser's SECTCRE, `\[(?P<header>.+)\]`, applied
// with match(): the header runs to the last ']' and text after it is ignored.
func sectionHeader(value string) (string, bool) {
	if !strings.HasPrefix(value, "[") {
		return "", false
	}
	end := strings.LastIndexByte(value, ']')
	if end < 2 {
		return "", false
	}
	return value[1:end], true
}

// splitOption matches configparser's OPTCRE: the key runs to the first '='
// or ':', and both sides are stripped.
func splitOption(value string) (key, val string, ok bool) {
	i := 0
	for i < len(value) && value[i] != '=' && value[i] != ':' {
		i++
	}
	if i == len(value) {
		return "", "", false
	}
	return pyTrimRight(value[:i]), pyStrip(value[i+1:]), true
}

// pyTrimRight is Python's str.rstrip() with no arguments.
func pyTrimRight(s string) string {
	for len(s) > 0 {
		c := s[len(s)-1]
		if c >= utf8.RuneSelf {
			return strings.TrimRightFunc(s, isPySpace)
		}
		if !asciiSpace[c] {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// isPySpace reports whether Python's str.isspace() holds for r. It is Go's
// unicode.IsSpace plus the ASCII separators 0x1c-0x1f, which Python counts as
// whitespace.
func isPySpace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiSpace[r]
	}
	return unicode.IsSpace(r)
}

// asciiSpace is isPySpace for the ASCII bytes, as a table: every line is
// stripped, so this is looked up for most bytes of a file.
var asciiSpace = [256]bool{' ': true, '\t': true, '\n': true, '\v': true, '\f': true, '\r': true, 0x1c: true, 0x1d: true, 0x1e: true, 0x1f: true}

// pyStrip is Python's str.strip() with no arguments.
func pyStrip(s string) string {
	// Most lines are ASCII: trim bytes, and leave anything else to TrimFunc.
	for len(s) > 0 && asciiSpace[s[0]] {
		s = s[1:]
	}
	for len(s) > 0 && asciiSpace[s[len(s)-1]] {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && (s[0] >= utf8.RuneSelf || s[len(s)-1] >= utf8.RuneSelf) {
		return strings.TrimFunc(s, isPySpace)
	}
	return s
}

// leadingSpaceChars counts the whitespace characters (not bytes) before the
// first other character: configparser compares indentation in characters.
func leadingSpaceChars(line string) int {
	n := 0
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	for _, r := range line[n:] {
		if !isPySpace(r) {
			break
		}
		n++
	}
	return n
}
