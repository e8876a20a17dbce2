package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// UserDefined is the section whose keys [[ NAME ]] references fall back to
// when the environment does not define NAME.
const UserDefined = "user_defined"

// ProjectRootVar names the reference that means the project root when it is
// not set (or blank) in the environment and [user_defined].
const ProjectRootVar = "PROJECT_ROOT"

// Limits on [[ NAME ]] resolution. Forty lines that each refer twice to the
// line above resolve to a terabyte, and a chain of references a million
// deep is easy to write: real settings come nowhere near these.
const (
	// MaxRefDepth is how deep references may nest: a value that refers
	// to a value that refers to the environment is 2 deep.
	MaxRefDepth = 64
	// MaxResolvedValue is the most bytes one value may hold once its
	// references are filled in.
	MaxResolvedValue = 1 << 20
	// MaxResolvedTotal is the most bytes that filling references in may
	// produce over all values together.
	MaxResolvedTotal = 16 << 20
	// MaxReferences is the most [[ ]] references resolved over all
	// values: each one is remembered (Value.Refs), and a file of nothing
	// but references would cost far more memory than its size.
	MaxReferences = 1 << 16
)

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
//
// Resolution is bounded by MaxRefDepth, MaxResolvedValue, MaxResolvedTotal
// and MaxReferences, checked before any text is added, and needs no more
// stack however deep references go. A value that would cross a cap is one
// problem at the value holding the reference that crossed it; the value
// keeps its text as written, and values that refer to it fail with it
// without another problem. Past MaxResolvedTotal or MaxReferences nothing
// more is resolved. At most MaxProblems undefined references and MaxProblems other problems
// are returned, each list closed by a Problem whose Omitted counts the rest.
//
// Secretness flows both ways. A value whose key is secret-like or that
// holds a private key is secret, and so is every [user_defined] value it
// refers to (they are parts of the secret); a value that refers to a secret
// one, or to a secret-like name, is secret too. Secret gets set on all of
// them, and SecretValues lists their text and the environment's fragments
// that filled secrets in.
func (s *Settings) Resolve(env Environment, root string) Problems {
	r := resolver{s: s, env: env, root: root, ud: s.byName[UserDefined], undefined: collector{undefined: true}}
	n := 0
	s.All(func(_ *Section, v *Value) {
		n++
		v.state, v.depth, v.whole = unresolved, 0, false
		v.Text, v.Refs = v.Raw, v.Refs[:0]
		v.Secret = IsSecretKey(v.Key) || IsKeyMaterial(v.Raw)
	})
	r.order = make([]*Value, 0, n)
	s.fragments = s.fragments[:0]
	s.All(func(sec *Section, v *Value) {
		if !r.stopped {
			r.resolve(sec.Name, v)
		}
	})
	r.markSecrets()
	r.plainKeyFilePaths() // secret.go: a key file's path is no secret
	r.reportUndefined()
	return append(r.problems.result(), r.undefined.result()...)
}

// Resolution states of a Value.
const (
	unresolved = iota
	resolving
	resolved
	failed // a cap was crossed: the text stays as written
)

type resolver struct {
	s    *Settings
	env  Environment
	root string
	ud   *Section // [user_defined], nil when there is none
	// stack holds the values being resolved, innermost last: each waits
	// for the one above it. It replaces recursion, so depth costs heap,
	// and at most MaxRefDepth+1 frames of it.
	stack []*frame
	free  []*frame // frames to reuse
	total int      // bytes produced so far, against MaxResolvedTotal
	refs  int      // references so far, against MaxReferences
	// stopped is set once MaxResolvedTotal or MaxReferences is crossed.
	stopped bool
	// quiet holds values whose chain went too deep already: a chain
	// found again from further down is the same problem.
	quiet map[*Value]bool
	// order lists values as they finished, each after what it refers to.
	order     []*Value
	problems  collector
	undefined collector
	// texts and refSlab hold the resolved texts and the Refs of all
	// values in a few large blocks instead of one allocation each.
	texts   textArena
	refSlab []Ref
	// unresolved is set once a reference was not found: reportUndefined
	// then has something to report.
	unresolved bool
}

// lookupUD is s.Lookup(UserDefined, name) and the section the value was
// found in ([DEFAULT] when [user_defined] does not have it itself).
func (r *resolver) lookupUD(name string) (*Value, string) {
	if r.ud == nil {
		return nil, ""
	}
	if v := r.ud.Get(name); v != nil {
		return v, UserDefined
	}
	return r.s.defaults.Get(name), DefaultSection
}

// refsFor returns an empty slice with room for n references, carved from
// a shared block; a value that gets more (none does: n is counted from its
// text) grows its own by append.
func (r *resolver) refsFor(n int) []Ref {
	const block = 1024
	if n > block/4 {
		return make([]Ref, 0, n)
	}
	if len(r.refSlab)+n > cap(r.refSlab) {
		r.refSlab = make([]Ref, 0, block)
	}
	i := len(r.refSlab)
	r.refSlab = r.refSlab[:i+n]
	return r.refSlab[i : i : i+n]
}

// textArena copies texts back to back into large blocks. A block is never
// written again where a string points into it, so strings can share it.
type textArena struct{ block []byte }

const textBlock = 64 << 10

func (a *textArena) string(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case len(b) > textBlock/8:
		return string(b)
	case len(b) > cap(a.block)-len(a.block):
		a.block = make([]byte, 0, textBlock)
	}
	i := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[i], len(b))
}

// frame is one value being resolved.
type frame struct {
	v       *Value
	section string
	pos     int  // where to look for the next reference in v.Raw
	last    int  // how much of v.Raw is in b
	built   bool // b holds the text: a reference was found
	b       []byte
	depth   int // how deep its references go so far
}

func (r *resolver) push(section string, v *Value) {
	var f *frame
	if n := len(r.free); n > 0 {
		f, r.free = r.free[n-1], r.free[:n-1]
	} else {
		f = new(frame)
	}
	f.v, f.section, f.pos, f.last, f.built, f.depth = v, section, 0, 0, false, 0
	f.b = f.b[:0]
	v.state = resolving
	r.stack = append(r.stack, f)
}

func (r *resolver) pop() {
	n := len(r.stack) - 1
	f := r.stack[n]
	f.v = nil
	if cap(f.b) > textBlock {
		f.b = nil // do not keep a large buffer alive
	}
	r.stack = r.stack[:n]
	r.free = append(r.free, f)
}

// resolve resolves v and everything it refers to, one reference at a time.
func (r *resolver) resolve(section string, v *Value) {
	if v.state != unresolved {
		return
	}
	r.push(section, v)
	for len(r.stack) > 0 {
		f := r.stack[len(r.stack)-1]
		raw := f.v.Raw
		start, end, ok := nextRef(raw, f.pos)
		if !ok {
			r.finish(f)
			continue
		}
		name := pyStrip(raw[start+2 : end-2])
		ref := Ref{Name: name, Secret: IsSecretKey(name)}
		var text string
		found, depth := false, 1
		if t, ok := r.env(name); ok && (t != "" || name != ProjectRootVar) {
			ref.Source, text, found = FromEnvironment, t, true
		} else if u, section := r.lookupUD(name); u != nil && (name != ProjectRootVar || pyStrip(u.Raw) != "") {
			ref.Source, ref.Origin = FromUserDefined, u.Origin
			switch u.state {
			case unresolved:
				if len(r.stack) > MaxRefDepth {
					r.tooDeep(f, name, u, 0)
					continue
				}
				// Resolve u first; this reference is looked at again
				// when u is done.
				r.push(section, u)
				continue
			case resolving:
				r.cycle(name, u)
				ref.Source = InCycle
			case failed:
				r.fail() // reported where it failed
				continue
			default:
				text, found, depth = u.Text, true, int(u.depth)+1
			}
		} else if name == ProjectRootVar {
			ref.Source, text, found = FromProjectRoot, r.root, true
		} else {
			ref.Source = Unresolved
			r.unresolved = true
		}
		if depth > MaxRefDepth {
			r.tooDeep(f, name, nil, depth-1)
			continue
		}
		f.depth = max(f.depth, depth)
		shown := name
		if !found {
			text = raw[start:end] // kept as written
			shown = ""            // it may be part of a secret
		}
		if r.refs++; r.refs > MaxReferences {
			r.problems.add(f.v.Origin, "[%s] %s: the settings hold more than %d [[ ]] references, the most niod resolves; nothing after this one is resolved",
				short(f.section), short(f.v.Key), MaxReferences)
			r.stopped = true
			r.fail()
			continue
		}
		if cap(f.v.Refs) == 0 {
			f.v.Refs = r.refsFor(countRefs(raw, start))
		}
		f.v.Refs = append(f.v.Refs, ref)
		if !r.write(f, raw[f.last:start], shown) || !r.write(f, text, shown) {
			continue
		}
		f.built, f.last, f.pos = true, end, end
	}
}

// write adds text to the value f builds, unless that crosses a cap; name
// is the reference being filled in, for the message ("" for none).
func (r *resolver) write(f *frame, text, name string) bool {
	switch {
	case len(f.b)+len(text) > MaxResolvedValue:
		r.problems.add(f.v.Origin, "[%s] %s: %s, the value is larger than %s, the most a value may hold "+
			"(do references repeat each other?)", short(f.section), short(f.v.Key), filledIn(name), sizeText(MaxResolvedValue))
		r.fail()
		return false
	case r.total+len(text) > MaxResolvedTotal:
		r.problems.add(f.v.Origin, "[%s] %s: %s, the values add up to more than %s, the most niod resolves "+
			"(do references repeat each other?); nothing after it is resolved", short(f.section), short(f.v.Key), filledIn(name), sizeText(MaxResolvedTotal))
		r.stopped = true
		r.fail()
		return false
	}
	f.b = append(f.b, text...)
	r.total += len(text)
	return true
}

// filledIn says which reference was being filled in, when it may be named.
func filledIn(name string) string {
	if name == "" {
		return "with its references filled in"
	}
	return "with [[" + short(name) + "]] filled in"
}

// finish ends the innermost value: it has no reference left.
func (r *resolver) finish(f *frame) {
	v := f.v
	if f.built {
		if !r.write(f, v.Raw[f.last:], "") {
			return
		}
		v.Text = r.texts.string(f.b)
	}
	if len(v.Refs) > 0 && !Representable(v.Text) {
		r.problems.add(v.Origin, "[%s] %s: the value it refers to cannot be written back as INI "+
			"(it has leading or trailing whitespace, a carriage return, a NUL, or a line that starts with # or ;)",
			short(f.section), short(v.Key))
	}
	v.depth = uint8(f.depth)
	v.state = resolved
	r.order = append(r.order, v)
	r.pop()
}

// fail gives up on every value being resolved: each waits for the one
// above it, which crossed a cap. They keep their text as written.
func (r *resolver) fail() {
	for len(r.stack) > 0 {
		v := r.stack[len(r.stack)-1].v
		v.Text, v.state = v.Raw, failed
		r.order = append(r.order, v)
		r.pop()
	}
}

// tooDeep reports that the reference to name in f makes a chain deeper
// than MaxRefDepth: next, when set, is the value it would have resolved
// next; below is how deep name goes itself when it is resolved already.
func (r *resolver) tooDeep(f *frame, name string, next *Value, below int) {
	quiet := false
	for _, g := range r.stack {
		quiet = quiet || r.quiet[g.v]
	}
	if next != nil {
		// next stays unresolved; found again from further down, its
		// chain is the one reported here.
		if r.quiet == nil {
			r.quiet = map[*Value]bool{}
		}
		r.quiet[next] = true
	}
	if !quiet {
		chain := make([]string, 0, len(r.stack)+1)
		for _, g := range r.stack {
			chain = append(chain, g.v.Key)
		}
		chain = append(chain, name)
		desc := describeChain(chain)
		if below > 0 {
			desc += ", itself " + strconv.Itoa(below) + " deep"
		}
		r.problems.add(f.v.Origin, "[%s] %s: [[%s]] makes a chain of references more than %d deep (%s; shorten it)",
			short(f.section), short(f.v.Key), short(name), MaxRefDepth, desc)
	}
	r.fail()
}

// cycle reports a reference back to target, a value still being resolved,
// at the value that holds the reference, naming the whole chain.
func (r *resolver) cycle(name string, target *Value) {
	start := 0
	for i, f := range r.stack {
		if f.v == target {
			start = i
			break
		}
	}
	var chain []string
	for _, f := range r.stack[start:] {
		chain = append(chain, f.v.Key)
	}
	chain = append(chain, name)
	at := r.stack[len(r.stack)-1].v
	r.problems.add(at.Origin, "%s: [[%s]] refers back to itself (%s; break the cycle)", short(at.Key), short(name), describeChain(chain))
}

// describeChain joins keys with arrows, the middle of a long chain left out.
func describeChain(keys []string) string {
	const ends = 3
	if len(keys) > 2*ends+1 {
		n := len(keys) - 2*ends
		keys = append(append(append([]string(nil), keys[:ends]...), "... "+strconv.Itoa(n)+" more ..."), keys[len(keys)-ends:]...)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = short(k)
	}
	return strings.Join(out, " -> ")
}

// sizeText writes a size in bytes as KiB or MiB when it is a whole number
// of them.
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// short keeps a key or name in a message to one short line: keys may be
// as long as a line.
func short(s string) string {
	const n = 60
	if len(s) <= n && !strings.ContainsAny(s, "\n\r") {
		return s
	}
	return strconv.Quote(truncate(s, n))
}

// reachUserDefined visits, once each, the [user_defined] values that the
// values of from refer to, directly or through others (iteratively: a
// chain may be long). visit says whether to go on below u, and whether to
// stop altogether.
func (s *Settings) reachUserDefined(from []*Value, visit func(u *Value) (descend, stop bool)) {
	seen := make(map[*Value]bool, len(from))
	for _, v := range from {
		seen[v] = true
	}
	work := append([]*Value(nil), from...)
	for len(work) > 0 {
		w := work[len(work)-1]
		work = work[:len(work)-1]
		for _, r := range w.Refs {
			if r.Source != FromUserDefined {
				continue
			}
			u := s.Lookup(UserDefined, r.Name)
			if u == nil || seen[u] {
				continue
			}
			seen[u] = true
			descend, stop := visit(u)
			if stop {
				return
			}
			if descend {
				work = append(work, u)
			}
		}
	}
}

// markSecrets lets secretness flow through references once every value is
// resolved: from a wholly secret value to the [user_defined] values it
// refers to, then from every secret value to the values that refer to it.
func (r *resolver) markSecrets() {
	var sources []*Value
	r.s.All(func(_ *Section, v *Value) {
		if secretSource(v) {
			v.whole, v.Secret = true, true
			sources = append(sources, v)
		}
	})
	r.s.reachUserDefined(sources, func(u *Value) (descend, stop bool) {
		u.whole, u.Secret = true, true
		return true, false
	})
	// Each value finished after the values it refers to: one pass
	// carries secretness to every value that holds a secret's text.
	for _, v := range r.order {
		for i := range v.Refs {
			ref := &v.Refs[i]
			if ref.Source == FromUserDefined {
				if u, _ := r.lookupUD(ref.Name); u != nil && u.Secret {
					ref.Secret = true
				}
			}
			v.Secret = v.Secret || ref.Secret
			// What the environment filled into a secret is secret
			// wherever else it shows (the runtime's argv, say).
			// [user_defined] fragments are secret values themselves.
			if ref.Source == FromEnvironment && (ref.Secret || v.whole) {
				if text, _ := r.env(ref.Name); text != "" {
					r.s.fragments = append(r.s.fragments, text)
				}
			}
		}
	}
}

// secretSource reports whether a value is secret as a whole by itself:
// its key's name says so (unless it names a key file by its path), or it
// holds a private key. It runs before secretness flows, while Secret says
// only what the key's name and the text as written say.
func secretSource(v *Value) bool {
	if v.Text != v.Raw && IsKeyMaterial(v.Text) {
		return true
	}
	if !v.Secret {
		return false
	}
	return IsKeyMaterial(v.Raw) || !(isKeyFileKey(v.Key) && looksLikePath(pyStrip(v.Text)))
}

// reportUndefined reports every undefined reference. Inside a value that is
// secret as a whole and holds text of its own, the name between the
// brackets may be part of the secret (a password with "[[" in it), so it is
// not shown.
func (r *resolver) reportUndefined() {
	if !r.unresolved {
		return // nothing to report: no need to look at every value
	}
	r.s.All(func(sec *Section, v *Value) {
		hidden := v.whole && literalText(v.Raw) != ""
		for _, ref := range v.Refs {
			if ref.Source != Unresolved {
				continue
			}
			if r.undefined.full() {
				r.undefined.more++
				continue
			}
			shown := "[[" + short(ref.Name) + "]]"
			what := shown + " is not defined"
			if hidden {
				shown, what = "", "a [[ ]] reference in this secret value is not defined (its name is not shown: it may be part of the secret)"
			}
			r.undefined.addProblem(Problem{Origin: v.Origin, Undefined: true, ref: shown,
				Msg: "[" + short(sec.Name) + "] " + short(v.Key) + ": " + what +
					" (set it in the environment or in [user_defined]; [niod] allow_undefined = true keeps it as text)"})
		}
	})
}

// literalText is what a value says besides its references, stripped.
func literalText(raw string) string {
	if !strings.Contains(raw, "[[") {
		return pyStrip(raw)
	}
	return pyStrip(replaceRefs(raw, func(string) string { return "" }))
}

// nextRef finds the first reference in s at or after from, matching the
// runtime's own pattern, `\[\[([^\[\]]*)\]\]`, leftmost first, without the
// cost of a regexp. s[start:end] is the reference, brackets included.
func nextRef(s string, from int) (start, end int, ok bool) {
	for i := from; i+4 <= len(s); {
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
		return start, end + 2, true
	}
	return 0, 0, false
}

// countRefs counts the references in s at or after from.
func countRefs(s string, from int) int {
	n := 0
	for {
		_, end, ok := nextRef(s, from)
		if !ok {
			return n
		}
		n, from = n+1, end
	}
}

// replaceRefs replaces every reference in s with what fn returns for it.
func replaceRefs(s string, fn func(match string) string) string {
	var b strings.Builder
	last := 0
	for {
		start, end, ok := nextRef(s, last)
		if !ok {
			break
		}
		b.WriteString(s[last:start])
		b.WriteString(fn(s[start:end]))
		last = end
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
	if strings.IndexByte(text, '\r') >= 0 || strings.IndexByte(text, 0) >= 0 || len(text) != len(pyTrimRight(text)) || !utf8.ValidString(text) {
		return false
	}
	for i := 0; ; i++ {
		line, rest, more := strings.Cut(text, "\n")
		if len(line) != len(pyStrip(line)) {
			return false
		}
		if i > 0 && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			return false
		}
		if !more {
			return true
		}
		text = rest
	}
}
