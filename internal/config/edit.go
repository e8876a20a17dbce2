package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"niod/internal/securefile"
)

// Setting is one key of [user_defined] and the value it gets.
type Setting struct{ Key, Value string }

// EditKind classifies an EditError, so that a command can choose its exit
// code.
type EditKind int

// Kinds of EditError.
const (
	// EditInvalid: the file, or a value to set in it, cannot be used as
	// it is; the message says how to fix it.
	EditInvalid EditKind = iota
	// EditPermission: the system refused to read the file or to reach its
	// directory.
	EditPermission
	// EditBug: the edit came out wrong and was not made.
	EditBug
)

// EditError is why a settings file cannot be edited, as one line that
// names the file.
type EditError struct {
	Kind EditKind
	Msg  string
	// Err is the cause: a system error, the file's Problems, or what the
	// check of the edit found.
	Err error
}

// errorf makes an EditError of kind k.
func (k EditKind) errorf(err error, format string, args ...any) *EditError {
	return &EditError{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

func (e *EditError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *EditError) Unwrap() error { return e.Err }

// fileEditError describes a failure to read name or to reach its
// directory: "NAME: REASON" for what securefile refused, "NAME: cannot
// WHAT: REASON" for a failed system call.
func fileEditError(name, what string, err error) *EditError {
	kind := EditInvalid
	if errors.Is(err, os.ErrPermission) {
		kind = EditPermission
	}
	var se *securefile.Error
	if errors.As(err, &se) {
		return kind.errorf(err, "%s: %s", name, se.Reason)
	}
	reason := err
	var pe *os.PathError
	if errors.As(err, &pe) {
		reason = pe.Err
	}
	return kind.errorf(err, "%s: cannot %s: %v", name, what, reason)
}

// SettingsFile is a settings file read to be edited.
type SettingsFile struct {
	Path, Name string
	// Exists is false when the file is to be created.
	Exists bool
	Data   []byte
	Mode   os.FileMode
	UID    uint32
	GID    uint32
}

// ReadSettingsFile reads the settings file at path to be edited, refusing
// what niod would refuse to read (a link, a FIFO, a file with errors). A
// missing file is not an error: it is to be created, mode 0600. name is
// what messages call it.
func ReadSettingsFile(path, name string) (*SettingsFile, error) {
	sf := &SettingsFile{Path: path, Name: name, Mode: 0o600}
	f, err := securefile.ReadFile(path, MaxFileSize)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(filepath.Dir(path)); err != nil {
			return nil, fileEditError(name, "create", err)
		}
		return sf, nil
	}
	if err != nil {
		return nil, fileEditError(name, "read", err)
	}
	sf.Exists, sf.Data, sf.Mode, sf.UID, sf.GID = true, []byte(f.Text), f.Mode, f.UID, f.GID
	if _, ps := Parse(name, sf.Data); len(ps) > 0 {
		return nil, EditInvalid.errorf(ps, "%s (fix the file first; niod would not read it)", ps[0].Error())
	}
	return sf, nil
}

// CheckSecrets refuses to put a value niod counts as a secret in a file
// that group or others can read: niod would refuse the whole file at its
// next start. Paths of key files are not secrets themselves.
func (sf *SettingsFile) CheckSecrets(set []Setting) error {
	if sf.Mode&0o044 == 0 {
		return nil
	}
	for _, s := range set {
		if HoldsSecret(s.Key, s.Value) {
			return EditInvalid.errorf(nil, "%s is readable by group or others (mode %04o), and niod refuses a file like that once it holds %s, a secret; run: chmod 600 %s, or update another file (--update-settings secrets.conf)",
				sf.Name, sf.Mode, s.Key, sf.Name)
		}
	}
	return nil
}

// Edit is EditSettings on the file as it was read.
func (sf *SettingsFile) Edit(set []Setting) ([]byte, error) {
	return EditSettings(sf.Name, sf.Data, set)
}

// EditSettings sets each key of set in the [user_defined] section of a
// settings file and changes nothing else: every other byte stays as it was
// (comments, order, blank lines, line ends, continuation lines of other
// keys). A key that is there keeps its spelling, indentation and delimiter
// and gets the new value; its own continuation lines go. Missing keys are
// added after the last key of the section, a missing section at the end.
// The file is read as configparser reads it; name is what messages call it.
func EditSettings(name string, data []byte, set []Setting) ([]byte, error) {
	for _, s := range set {
		if err := checkSetting(s); err != nil {
			return nil, EditInvalid.errorf(err, "%s: cannot set %s: %v", name, s.Key, err)
		}
	}
	before, spans, ps := layout(name, data)
	if len(ps) > 0 {
		return nil, EditInvalid.errorf(ps, "%s (fix the file first; niod would not read it)", ps[0].Error())
	}
	f := scan(string(data), spans)
	var b strings.Builder
	b.Grow(len(data) + 256)
	var missing []Setting
	for _, s := range set {
		if _, ok := f.keys[s.Key]; !ok {
			missing = append(missing, s)
		}
	}
	// What happens to each line: replaced, dropped, or followed by the
	// missing keys.
	replace := map[int]string{}
	drop := map[int]bool{}
	for _, s := range set {
		k, ok := f.keys[s.Key]
		if !ok {
			continue
		}
		replace[k.line] = valueLine(f.lines[k.line].text, s.Value)
		for i := k.line + 1; i <= k.end; i++ {
			if t := f.lines[i].text; pyStrip(t) == "" || !isComment(t) {
				drop[i] = true // continuation lines and the blank lines between them
			}
		}
	}
	after := -1
	var added string
	if len(missing) > 0 && f.header >= 0 {
		after = f.header
		indent, sep := "", " = "
		if f.last != nil {
			after = f.last.end
			t := f.lines[f.last.line].text
			indent = t[:len(t)-len(strings.TrimLeftFunc(t, isPySpace))]
			if s, ok := separator(t); ok {
				sep = s
			}
		}
		for _, s := range missing {
			added += indent + s.Key + sep + s.Value + f.newline
		}
	}
	for i, l := range f.lines {
		switch {
		case drop[i]:
		case replace[i] != "":
			b.WriteString(replace[i])
			b.WriteString(l.eol)
		default:
			b.WriteString(l.raw)
		}
		if i == after {
			if l.eol == "" && !drop[i] {
				b.WriteString(f.newline)
			}
			b.WriteString(added)
		}
	}
	if f.header < 0 {
		if len(f.lines) > 0 {
			last := f.lines[len(f.lines)-1]
			if last.eol == "" {
				b.WriteString(f.newline)
			}
			if pyStrip(last.text) != "" {
				b.WriteString(f.newline)
			}
		}
		b.WriteString("[" + UserDefined + "]" + f.newline)
		for _, s := range set {
			b.WriteString(s.Key + " = " + s.Value + f.newline)
		}
	}
	out := []byte(b.String())
	if err := verifyEdit(name, before, out, set); err != nil {
		return nil, EditBug.errorf(err, "%s: the edit went wrong, the file is left as it was (a bug in niod cert): %v", name, err)
	}
	return out, nil
}

// checkSetting refuses a value configparser would not give back as it is.
func checkSetting(s Setting) error {
	switch {
	case s.Key == "" || strings.ContainsAny(s.Key, "=:[]\r\n") || pyStrip(s.Key) != s.Key:
		return fmt.Errorf("%q is not a key name", s.Key)
	case strings.ContainsAny(s.Value, "\r\n\x00"):
		return errors.New("the value holds a line break")
	case pyStrip(s.Value) != s.Value:
		return errors.New("the value starts or ends with a space, which the settings cannot keep")
	case strings.Contains(s.Value, "[["):
		return errors.New("the value holds [[, which the settings would read as a reference")
	case !utf8.ValidString(s.Value):
		return errors.New("the value is not UTF-8")
	}
	return nil
}

// verifyEdit checks the edit the way niod reads it: the keys of set have
// their values, and every other value of every section is what it was.
func verifyEdit(name string, before *Settings, out []byte, set []Setting) error {
	after, ps := Parse(name, out)
	if len(ps) > 0 {
		return ps
	}
	want := map[string]string{}
	for _, s := range set {
		want[s.Key] = s.Value
	}
	sections := func(s *Settings) []*Section {
		return append([]*Section{s.Defaults()}, s.Sections()...)
	}
	if len(sections(after)) != len(sections(before))+boolInt(before.Section(UserDefined) == nil) {
		return errors.New("sections changed")
	}
	for _, sec := range sections(after) {
		old := before.Section(sec.Name)
		for _, v := range sec.Values() {
			if sec.Name == UserDefined {
				if w, ok := want[v.Key]; ok {
					if v.Raw != w {
						return fmt.Errorf("%s = %q, not %q", v.Key, v.Raw, w)
					}
					delete(want, v.Key)
					continue
				}
			}
			if old == nil || old.Get(v.Key) == nil || old.Get(v.Key).Raw != v.Raw {
				return fmt.Errorf("[%s] %s changed", sec.Name, v.Key)
			}
		}
		if old != nil {
			for _, v := range old.Values() {
				if sec.Get(v.Key) == nil {
					return fmt.Errorf("[%s] %s went missing", sec.Name, v.Key)
				}
			}
		}
	}
	for k := range want {
		return fmt.Errorf("%s is not in [%s]", k, UserDefined)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A settings file, split into lines, with where [user_defined] and its keys
// are.
type scanned struct {
	lines   []fileLine
	newline string // the file's line end, for added lines
	header  int    // line of the [user_defined] header, -1 when none
	keys    map[string]*keyLines
	last    *keyLines // the section's last key
}

type fileLine struct {
	raw  string // with its line end
	text string // without it (and without a leading byte-order mark)
	eol  string
}

// keyLines are where a key of [user_defined] is: its line and the last
// line that continues its value (0-based).
type keyLines struct {
	line, end int
}

// scan splits a file into lines as the parser does (they end with \n,
// \r\n or \r) and finds [user_defined] and its keys from where the parser
// saw them.
func scan(text string, spans []span) *scanned {
	f := &scanned{header: -1, keys: map[string]*keyLines{}}
	for pos := 0; pos < len(text); {
		end := strings.IndexAny(text[pos:], "\r\n")
		l := fileLine{}
		if end < 0 {
			l.raw, l.text = text[pos:], text[pos:]
		} else {
			end += pos
			eol := 1
			if text[end] == '\r' && end+1 < len(text) && text[end+1] == '\n' {
				eol = 2
			}
			l.raw, l.text, l.eol = text[pos:end+eol], text[pos:end], text[end:end+eol]
			if f.newline == "" {
				f.newline = l.eol
			}
		}
		pos += len(l.raw)
		f.lines = append(f.lines, l)
	}
	if f.newline == "" {
		f.newline = "\n"
	}
	if len(f.lines) > 0 {
		f.lines[0].text = strings.TrimPrefix(f.lines[0].text, "\ufeff")
	}
	for _, sp := range spans {
		switch {
		case sp.Section != UserDefined:
		case sp.Key == "":
			f.header = sp.Line - 1
		default:
			k := &keyLines{line: sp.Line - 1, end: sp.End - 1}
			f.keys[sp.Key] = k
			f.last = k
		}
	}
	return f
}

// valueLine is a key's line with value in place of its value: the key, its
// indentation, the delimiter and the spaces around it are kept.
func valueLine(text, value string) string {
	j := strings.IndexAny(text, "=:")
	start := j + 1
	for start < len(text) && (text[start] == ' ' || text[start] == '\t') {
		start++
	}
	prefix := text[:start]
	if start == j+1 && pyStrip(text[start:]) == "" && (text[j] == ':' || j > 0 && (text[j-1] == ' ' || text[j-1] == '\t')) {
		// "KEY =" or "KEY:" with no value: "KEY = value", "KEY: value".
		prefix += " "
	}
	return prefix + value
}

// separator is what stands between the key and the value on a key's line,
// such as " = " or ": ", when the line has a value to tell.
func separator(text string) (string, bool) {
	t := strings.TrimLeftFunc(text, unicode.IsSpace)
	j := strings.IndexAny(t, "=:")
	if j < 0 {
		return "", false
	}
	k := strings.TrimRightFunc(t[:j], isPySpace)
	rest := t[j+1:]
	v := strings.TrimLeft(rest, " \t")
	if pyStrip(v) == "" {
		return "", false
	}
	return t[len(k) : j+1+len(rest)-len(v)], true
}

func isComment(text string) bool {
	v := pyStrip(text)
	return strings.HasPrefix(v, "#") || strings.HasPrefix(v, ";")
}
