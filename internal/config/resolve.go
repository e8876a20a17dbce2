package config

import (
	"strings"
	"unicode/utf8"
)

// UserDefined is the section whose keys [[ NAME ]] references fall back to
// when the environment does not define NAME.
const UserDefined = "user_defined"

// ProjectRootVar names the reference that means the project root when it is
// not set (or blank) in the environment and [user_defined].
const ProjectRootVar = "PROJECT_ROOT"

// RefSource says where a reference found its value.
type RefSource int

// Where a [[ NAME ]] reference was resolved from.
const (
	FromEnvironment RefSource = iota
	FromUserDefined
	FromProjectRoot
	Unresolved // not defined anywhere
	InCycle    // refers back to a value that is being resolved
)

// Ref is one [[ NAME ]] reference that Resolve replaced.
type Ref struct {
	Name   string
	Source RefSource
	// Origin is where a [user_defined] value was set; empty otherwise.
	Origin Origin
	// Secret is set when the name is secret-like or the value it stands for
	// is itself secret.
	Secret bool
}

// Environment looks a variable up in the environment niod passes on.
type Environment func(name string) (string, bool)

// Resolve replaces every [[ NAME ]] reference in every value: from env first,
// then from the merged [user_defined] (whose values may themselves refer to
// other names), and PROJECT_ROOT falls back to root. Replacement text is not
// scanned again. Every undefined name and every cycle is reported; an
// undefined reference is left as it was written, so a caller that allows
// undefined names (the original runtime's behaviour) can drop those problems.
// Values marked secret by their key, content or references get Secret set.
func (s *Settings) Resolve(env Environment, root string) Problems {
	r := resolver{s: s, env: env, root: root}
	s.All(func(_ *Section, v *Value) { v.state = unresolved })
	s.All(func(sec *Section, v *Value) { r.value(sec.Name, v) })
	return r.problems
}

type resolver struct {
	s        *Settings
	env      Environment
	root     string
	stack    []*Value // values being resolved, innermost last, for cycle messages
	problems Problems
}

// Resolution states of a Value.
const (
	unresolved = iota
	resolving
	resolved
)

// value resolves v once; a [user_defined] value reached again while it is
// being resolved is a cycle.
func (r *resolver) value(section string, v *Value) {
	if v.state == resolved {
		return
	}
	v.state = resolving
	r.stack = append(r.stack, v)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()
	v.Secret = IsSecretKey(v.Key) || IsKeyMaterial(v.Raw)
	if strings.Contains(v.Raw, "[[") {
		v.Refs = v.Refs[:0]
		v.Text = replaceRefs(v.Raw, func(match string) string {
			name := pyStrip(match[2 : len(match)-2])
			text, ref, ok := r.lookup(name)
			v.Refs = append(v.Refs, ref)
			if ref.Secret {
				v.Secret = true
			}
			if !ok {
				return match
			}
			return text
		})
		for _, ref := range v.Refs {
			if ref.Source == Unresolved {
				r.problems = append(r.problems, Problem{Origin: v.Origin, Undefined: true,
					Msg: "[" + section + "] " + v.Key + ": [[" + ref.Name + "]] is not defined " +
						"(set it in the environment or in [user_defined]; [niod] allow_undefined = true keeps it as text)"})
			}
		}
		if len(v.Refs) > 0 && !Representable(v.Text) {
			r.problems.add(v.Origin, "[%s] %s: the value it refers to cannot be written back as INI "+
				"(it has leading or trailing whitespace, a carriage return, a NUL, or a line that starts with # or ;)",
				section, v.Key)
		}
		v.Secret = v.Secret || IsKeyMaterial(v.Text)
	}
	v.state = resolved
}

func (r *resolver) lookup(name string) (string, Ref, bool) {
	ref := Ref{Name: name, Secret: IsSecretKey(name)}
	if text, ok := r.env(name); ok && (text != "" || name != ProjectRootVar) {
		ref.Source = FromEnvironment
		return text, ref, true
	}
	if v := r.s.Lookup(UserDefined, name); v != nil && (name != ProjectRootVar || pyStrip(v.Raw) != "") {
		ref.Source, ref.Origin = FromUserDefined, v.Origin
		if v.state == resolving {
			r.cycle(name, v)
			ref.Source = InCycle
			return "", ref, false
		}
		section := UserDefined
		if r.s.Section(UserDefined).Get(name) == nil {
			section = DefaultSection // found through [DEFAULT]
		}
		r.value(section, v)
		ref.Secret = ref.Secret || v.Secret
		return v.Text, ref, true
	}
	if name == ProjectRootVar {
		ref.Source = FromProjectRoot
		return r.root, ref, true
	}
	ref.Source = Unresolved
	return "", ref, false
}

// cycle reports a reference back to target, a value still being resolved,
// at the value that holds the reference, naming the whole chain.
func (r *resolver) cycle(name string, target *Value) {
	start := 0
	for i, v := range r.stack {
		if v == target {
			start = i
			break
		}
	}
	var chain []string
	for _, v := range r.stack[start:] {
		chain = append(chain, v.Key)
	}
	chain = append(chain, name)
	at := r.stack[len(r.stack)-1]
	r.problems.add(at.Origin, "%s: [[%s]] refers back to itself (%s; break the cycle)", at.Key, name, strings.Join(chain, " -> "))
}

// replaceRefs replaces every reference in s with what fn returns for it. It
// matches the runtime's own pattern, `\[\[([^\[\]]*)\]\]`, leftmost first,
// without the cost of a regexp.
func replaceRefs(s string, fn func(match string) string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+4 <= len(s); {
		j := strings.Index(s[i:], "[[")
		if j < 0 {
			break
		}
		start := i + j
		end := start + 2
		for end < len(s) && s[end] != '[' && s[end] != ']' {
			end++
		}
		if !strings.HasPrefix(s[end:], "]]") {
			i = start + 1
			continue
		}
		end += 2
		b.WriteString(s[last:start])
		b.WriteString(fn(s[start:end]))
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Representable reports whether text survives being written as an INI value
// and read back by configparser: it strips every line, drops lines that
// start with a comment prefix after the first, splits at carriage returns and
// trims trailing blank lines.
func Representable(text string) bool {
	// A leading newline survives (the first line is empty); trailing
	// whitespace does not, nor does text that is not UTF-8.
	if strings.ContainsAny(text, "\r\x00") || text != strings.TrimRightFunc(text, isPySpace) || !utf8.ValidString(text) {
		return false
	}
	for i, line := range strings.Split(text, "\n") {
		if line != pyStrip(line) {
			return false
		}
		if i > 0 && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			return false
		}
	}
	return true
}
