package logging

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// redactionMask replaces every run of secret bytes.
const redactionMask = "********"

// minSecretLen is the shortest secret Add accepts. Masking shorter strings
// would mangle ordinary words, numbers and keys in every line.
const minSecretLen = 4

// Redactor is a concurrency-safe set of secret strings that are replaced by
// "********" in every encoded log line (message and fields), as a last line
// of defence: code should still avoid logging secrets in the first place.
// The zero value is an empty set ready for use.
//
// A secret is replaced where it stands as a whole token, as regexp's \b
// would put it: where it begins with a word character (an ASCII letter,
// digit or underscore), the character before it must not be one, and
// where it ends with one, the character after it must not be one. So the
// secret "hunter22" is masked in "pw=hunter22," but not in "hunter222".
// A secret that begins or ends with another character has no such
// requirement on that side. The line is the encoded one, in which a
// character such as a tab may be written as an escape sequence ("\t",
// "\u0009"); the last letter or digit of such a sequence counts as a
// boundary, so a secret after a tab is masked in JSON too.
//
// The secrets are compiled into one Aho–Corasick automaton, so scrubbing a
// line costs time proportional to the line, whatever the number of secrets,
// and Add costs time proportional to the total size of all secrets.
type Redactor struct {
	mu       sync.Mutex              // serialises Add and guards patterns
	patterns []string                // every distinct pattern, in the order added
	matcher  atomic.Pointer[matcher] // immutable; read lock-free while logging
}

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{} }

// Add registers secrets. Secrets shorter than 4 bytes are ignored because
// masking them would mangle ordinary text. Add may be called at any time,
// including while other goroutines are logging; lines encoded after Add
// returns are scrubbed.
//
// Besides the secret itself, Add registers the escaped forms in which the
// encoders would write it (JSON string escaping, Go quoting and message
// escaping), so a secret containing quotes, backslashes or control
// characters is still found in the encoded line.
//
// Each call that registers something new rebuilds the automaton from all
// patterns, so pass many secrets in one call rather than one per call.
// Lines being scrubbed meanwhile use the previous automaton; they never wait.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	// The current automaton tells which patterns are known already, so no
	// set of them is kept besides it; batch only spans this call.
	cur := r.matcher.Load()
	batch := make(map[string]struct{})
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		for _, form := range encodedForms(s) {
			if _, dup := batch[form]; dup || cur.has(form) {
				continue
			}
			batch[form] = struct{}{}
			r.patterns = append(r.patterns, form)
		}
	}
	if len(batch) > 0 {
		r.matcher.Store(newMatcher(r.patterns))
	}
}

// Scrub returns s with every occurrence of a registered secret that stands
// as a whole token replaced by "********". Overlapping or adjacent
// occurrences collapse into one mask.
// A nil Redactor returns s unchanged.
func (r *Redactor) Scrub(s string) string {
	m := r.load()
	if m == nil {
		return s
	}
	spans := findSpans(m, s)
	if spans == nil {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + len(spans)*len(redactionMask))
	prev := 0
	for _, sp := range spans {
		sb.WriteString(s[prev:sp.start])
		sb.WriteString(redactionMask)
		prev = sp.end
	}
	sb.WriteString(s[prev:])
	return sb.String()
}

// load returns the current automaton, or nil when there is nothing to mask.
func (r *Redactor) load() *matcher {
	if r == nil {
		return nil
	}
	return r.matcher.Load()
}

// scrubBuffer redacts an encoded entry in place. The final line ending is
// kept out of the scan so a secret can never swallow it and merge two
// entries into one line.
func (r *Redactor) scrubBuffer(buf *buffer.Buffer) {
	m := r.load()
	if m == nil {
		return
	}
	b := buf.Bytes()
	body, nl := b, false
	if n := len(b); n > 0 && b[n-1] == '\n' {
		body, nl = b[:n-1], true
	}
	spans := findSpans(m, body)
	if spans == nil {
		return
	}
	// The buffer's bytes are about to be overwritten, so the unmasked parts
	// are copied out first.
	out := make([]byte, 0, len(body)+len(spans)*len(redactionMask)+1)
	prev := 0
	for _, sp := range spans {
		out = append(out, body[prev:sp.start]...)
		out = append(out, redactionMask...)
		prev = sp.end
	}
	out = append(out, body[prev:]...)
	if nl {
		out = append(out, '\n')
	}
	buf.Reset()
	buf.AppendBytes(out)
}

// span is the half-open byte range [start, end) of a line to be masked.
type span struct{ start, end int }

// findSpans returns, in order, the maximal ranges of b covered by
// occurrences of m's patterns that stand as whole tokens (see Redactor);
// occurrences that overlap or touch share one range, so masking range by
// range cannot leave a fragment of a secret behind. It returns nil,
// without allocating, when nothing matched.
//
// At each end position only the longest pattern ending there that stands
// as a token matters: any shorter one ending there lies inside it.
// tokenLen finds it in constant time, so the scan is linear in len(b).
func findSpans[T string | []byte](m *matcher, b T) []span {
	var spans []span
	state := int32(0)
	for i := 0; i < len(b); i++ {
		state = m.next(state, b[i])
		if m.match.small[state] == 0 {
			continue // no pattern ends here: the common case
		}
		n := tokenLen(m, state, b, i+1)
		if n == 0 {
			continue
		}
		sp := span{i + 1 - n, i + 1}
		// A long match may reach back over earlier ranges; absorb them.
		// Each range is absorbed once, so this is amortised constant time.
		for len(spans) > 0 && sp.start <= spans[len(spans)-1].end {
			sp.start = min(sp.start, spans[len(spans)-1].start)
			spans = spans[:len(spans)-1]
		}
		spans = append(spans, sp)
	}
	return spans
}

// boundaryWindow is how many bytes before an occurrence startsToken reads:
// as many as the longest escape sequence, "\UHHHHHHHH", holds.
const boundaryWindow = 10

// tokenLen returns the length of the longest pattern that ends at b[:end]
// in state v and stands there as a whole token, 0 if none. Which patterns
// end there does not depend on b, only on v, and whether one stands as a
// token depends on b only at its edges.
//
// The edge after is the same for all of them. The edge before is judged by
// the boundaryWindow bytes in front of a pattern. For a pattern that
// starts at least that far into v's string, those bytes are v's own, so
// the answer is computed once per state when the automaton is built
// (matcher.inner). The other patterns ending in v, those that start in the
// first boundaryWindow bytes of its string, are v itself and the next
// states along its failure links: at most boundaryWindow of them, each
// shorter by a byte at least, checked against b here.
func tokenLen[T string | []byte](m *matcher, v int32, b T, end int) int {
	if !endsToken(b, end) {
		return 0
	}
	for u, k := v, 0; u != 0 && k < boundaryWindow; u, k = m.fail[u], k+1 {
		// A state is itself a pattern when its longest match is longer
		// than its failure state's, which lies inside it.
		if n := m.match.get(u); n > m.match.get(m.fail[u]) && startsToken(b, end-n) {
			return n
		}
	}
	return m.inner.get(v)
}

// isWordByte reports whether c is a word character: an ASCII letter or
// digit, or '_'.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// startsToken reports whether an occurrence at b[start:] has a token
// boundary before it: it is at the start, it does not begin with a word
// character, or the character before it is not one.
func startsToken[T string | []byte](b T, start int) bool {
	return start == 0 || !isWordByte(b[start]) || !isWordByte(b[start-1]) || escapeTail(b, start-1)
}

// endsToken reports whether an occurrence ending at b[:end] has a token
// boundary after it. An escape sequence after it begins with a backslash,
// which is no word character; one that the occurrence ends with makes its
// last character stand for one that is not a word character.
func endsToken[T string | []byte](b T, end int) bool {
	return end == len(b) || !isWordByte(b[end-1]) || !isWordByte(b[end]) || escapeTail(b, end-1)
}

// escapeTail reports whether b[k], a word character, may be the end of an
// escape sequence as the encoders write a character that is not a word
// character: "\t", "\n", "\x01", "\u00e9", "\U0001f600". It reads only
// b[k-9:k+1], and it does not tell an escaped backslash followed by a
// letter from an escape sequence: such a letter counts as a boundary too,
// which can only mask more.
func escapeTail[T string | []byte](b T, k int) bool {
	if k >= 1 && b[k-1] == '\\' {
		switch b[k] {
		case 'a', 'b', 'f', 'n', 'r', 't', 'v', 'x', 'u', 'U':
			return true
		}
	}
	// b[k-m+1:k+1] are the m hex digits read so far, after "\\" and the
	// letter that says how many may follow.
	for m := 1; m <= 8 && k-m-1 >= 0 && isHexByte(b[k-m+1]); m++ {
		if b[k-m-1] != '\\' {
			continue
		}
		switch c := b[k-m]; {
		case c == 'x' && m <= 2, c == 'u' && m <= 4, c == 'U':
			return true
		}
	}
	return false
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// matcher is an Aho–Corasick automaton over bytes. Nodes are trie nodes
// numbered breadth first, node 0 being the root; breadth-first numbering
// makes the children of a node consecutive, in label order, and places
// every node after its parent and its failure node, which both the compact
// layout and the construction rely on.
//
// Transitions are stored sparsely, since a 256-way table per node would
// take a kilobyte per node, gigabytes for 100,000 secrets. Only the first
// nodes, the shallowest, get a full table of resolved transitions (failures
// included): a scan spends most of its time near the root, and those nodes
// have the most children. They are the root, its children, and as many
// more as a budget of one table per 512 nodes allows, which keeps the
// tables to a fifth of the automaton's memory at most.
type matcher struct {
	dense [][256]int32 // next state from node v < len(dense) for each byte
	first []int32      // children of node v are nodes first[v] to first[v+1]-1
	label []byte       // the byte on the edge into node v
	fail  []int32      // node of the longest proper suffix of v's string that is in the trie
	// match is the length of the longest pattern that is a suffix of v's
	// string, 0 if none.
	match lengths
	// inner is the length of the longest pattern that is a suffix of v's
	// string, starts at least boundaryWindow bytes into it and stands
	// there as a token by the bytes before it, all v's own; empty when
	// that is 0 for every node.
	inner lengths
}

// lengths holds a match length per node in a byte, or longMatch with the
// length in long: a byte per node instead of four saves a quarter of the
// automaton's memory, and secrets that long are rare.
type lengths struct {
	small []uint8
	long  map[int32]int32
}

// longMatch marks a length kept in lengths.long.
const longMatch = 255

// get returns the length of node v; 0 for a node of an empty table.
func (l *lengths) get(v int32) int {
	if l.small == nil {
		return 0
	}
	if n := l.small[v]; n != longMatch {
		return int(n)
	}
	return int(l.long[v])
}

// set records length n for node v.
func (l *lengths) set(v int32, n int) {
	if n < longMatch {
		l.small[v] = uint8(n)
		return
	}
	l.small[v] = longMatch
	if l.long == nil {
		l.long = make(map[int32]int32)
	}
	l.long[v] = int32(n)
}

// has reports whether p is one of m's patterns; a nil m has none.
func (m *matcher) has(p string) bool {
	if m == nil {
		return false
	}
	v := int32(0)
	for i := 0; i < len(p); i++ {
		if v = m.child(v, p[i]); v == 0 {
			return false
		}
	}
	// A match inherited through failure links is shorter than the node's
	// depth, len(p); only the node's own pattern has that length.
	return m.match.get(v) == len(p)
}

// child returns v's child along c, or 0 if there is none.
func (m *matcher) child(v int32, c byte) int32 {
	lo, n := m.first[v], m.first[v+1]-m.first[v]
	if n == 0 {
		return 0
	}
	// Binary search for the last label <= c, at most 8 steps for 256
	// labels; most nodes have a single child and skip the loop.
	label := m.label
	for n > 1 {
		half := n >> 1
		mid := lo + half
		if label[mid] <= c {
			lo = mid
		}
		n -= half
	}
	if label[lo] == c {
		return lo
	}
	return 0
}

// next returns the state after reading c in state v. Each failure step
// shortens the matched suffix, which grows by at most one per byte read, so
// a scan takes amortised constant time per byte. Failure links lead to
// shallower nodes, hence to smaller numbers, and end at a dense node.
func (m *matcher) next(v int32, c byte) int32 {
	for int(v) >= len(m.dense) {
		if w := m.child(v, c); w != 0 {
			return w
		}
		v = m.fail[v]
	}
	return m.dense[v][c]
}

// newMatcher builds the automaton for patterns, which must be non-empty, in
// time linear in their total size.
//
// The trie is built one depth at a time: the patterns reaching a node at
// depth d are sorted by their byte at d within that node, and each run of
// equal bytes becomes one child. Sorting within a node, rather than
// inserting pattern by pattern, yields the breadth-first numbering directly.
func newMatcher(patterns []string) *matcher {
	total := 0
	for _, p := range patterns {
		total += len(p)
	}
	m := &matcher{
		label: make([]byte, 1, total+1),
		match: lengths{small: make([]uint8, 1, total+1)},
	}
	parent := make([]int32, 1, total+1) // only needed while building
	// levels[d] is the first node of depth d, nodes being numbered breadth
	// first; only needed while building too.
	levels := []int32{0}

	// The patterns are copied into one arena, so that reading the byte at
	// depth d of each is not a pointer chase to a string of its own.
	arena := make([]byte, 0, total)
	spare := make([]byte, 0, total)
	// cur holds the patterns still longer than the depth, grouped by the
	// node they have reached, in node order. arena[pos:end] is the rest of
	// the pattern, its byte at the current depth first.
	type reach struct{ node, pos, end int32 }
	cur := make([]reach, len(patterns))
	for i, p := range patterns {
		cur[i] = reach{0, int32(len(arena)), int32(len(arena) + len(p))}
		arena = append(arena, p...)
	}
	nextLevel := make([]reach, 0, len(patterns))
	var scratch []reach
	byteAt := func(e reach) byte { return arena[e.pos] }
	for d := 1; len(cur) > 0; d++ {
		levels = append(levels, int32(len(m.label)))
		nextLevel = nextLevel[:0]
		for g := 0; g < len(cur); {
			h := g + 1
			for h < len(cur) && cur[h].node == cur[g].node {
				h++
			}
			group := cur[g:h]
			scratch = sortByByte(group, scratch, byteAt)
			for i := 0; i < len(group); {
				c := byteAt(group[i])
				w := int32(len(m.label))
				m.label = append(m.label, c)
				m.match.small = append(m.match.small, 0)
				parent = append(parent, group[i].node)
				for ; i < len(group) && byteAt(group[i]) == c; i++ {
					if e := group[i]; e.pos+1 == e.end {
						m.match.set(w, d)
					} else {
						nextLevel = append(nextLevel, reach{w, e.pos + 1, e.end})
					}
				}
			}
			g = h
		}
		cur, nextLevel = nextLevel, cur
		// cur is in trie order, unrelated to the arena's, so each level
		// would read the arena at random, a cache miss per byte. Copying
		// the rests into a fresh arena in trie order makes the reads of the
		// following levels almost sequential: later levels only reorder
		// patterns within their node's group, which stays contiguous.
		// Doing it at depths 1, 2, 4, 8 and 16, where the groups split the
		// most, costs at most five more passes over the patterns.
		if d <= 16 && d&(d-1) == 0 {
			spare = spare[:0]
			for i, e := range cur {
				cur[i] = reach{e.node, int32(len(spare)), int32(len(spare)) + e.end - e.pos}
				spare = append(spare, arena[e.pos:e.end]...)
			}
			arena, spare = spare, arena
		}
	}

	n := int32(len(m.label))
	// In breadth-first numbering the children of node v come right after
	// those of node v-1, so first is a running count of children.
	m.first = make([]int32, n+1)
	for w := int32(1); w < n; w++ {
		m.first[parent[w]+1]++
	}
	m.first[0] = 1
	for v := int32(1); v <= n; v++ {
		m.first[v] += m.first[v-1]
	}

	// A node's table is its failure node's with its own children put in.
	// The failure node is shallower, so its table is complete by then.
	m.dense = make([][256]int32, min(n, m.first[1]+n/512))
	fill := func(v, f int32) {
		if int(v) < len(m.dense) {
			m.dense[v] = m.dense[f]
			for w := m.first[v]; w < m.first[v+1]; w++ {
				m.dense[v][m.label[w]] = w
			}
		}
	}
	// The root's children fail to the root.
	for v := int32(0); v < m.first[1]; v++ {
		fill(v, 0)
	}

	// Failure links in breadth-first order: a node's failure node is
	// shallower, so it is complete when the node is reached. Along one
	// pattern the failure depth grows by at most one per byte, which keeps
	// this linear in total as well.
	m.fail = make([]int32, n)
	for w := m.first[1]; w < n; w++ {
		f := m.next(m.fail[parent[w]], m.label[w])
		m.fail[w] = f
		if m.match.small[w] == 0 {
			m.match.set(w, m.match.get(f))
		}
		fill(w, f)
	}
	m.setInners(append(levels, n))
	return m
}

// setInners fills in matcher.inner, in time linear in the size of the
// trie: boundaryWindow steps at most per node. levels[d] is the first node
// whose string is d bytes long, and the last entry is the number of nodes.
//
// The patterns that are suffixes of v's string and shorter than it are
// those of its failure state f, a suffix of it. Those that start at least
// boundaryWindow bytes into f's string are judged by f's bytes, the same
// in v's string: that is inner of f. The others, at most boundaryWindow of
// them, f and the states along its failure links, are judged here by v's
// bytes. They are the longer ones, so the first that stands as a token
// wins over inner of f.
//
// A depth-first walk of the trie keeps the string of the node it is at in
// path, so that the bytes before a suffix can be read; inner of f is added
// afterwards, in breadth-first order, in which f comes before v. When no
// pattern lies that deep inside another, as with most sets of secrets,
// inner is 0 everywhere and left nil.
func (m *matcher) setInners(levels []int32) {
	n := int32(len(m.label))
	maxDepth := int32(len(levels) - 2)
	if maxDepth <= boundaryWindow {
		return
	}
	need := false
	for v := levels[boundaryWindow+1]; v < n && !need; v++ {
		need = m.match.get(m.fail[v]) > 0
	}
	if !need {
		return
	}
	m.inner.small = make([]uint8, n)
	path := make([]byte, maxDepth)
	type node struct{ v, depth int32 }
	stack := make([]node, 0, 64)
	for w := m.first[1] - 1; w >= 1; w-- {
		stack = append(stack, node{w, 1})
	}
	for len(stack) > 0 {
		v, d := stack[len(stack)-1].v, stack[len(stack)-1].depth
		stack = stack[:len(stack)-1]
		path[d-1] = m.label[v]
		for w := m.first[v+1] - 1; w >= m.first[v]; w-- {
			stack = append(stack, node{w, d + 1})
		}
		if d <= boundaryWindow {
			continue
		}
		str := path[:d]
		for u, k := m.fail[v], 0; u != 0 && k < boundaryWindow; u, k = m.fail[u], k+1 {
			l := m.match.get(u)
			if l == 0 {
				break // no pattern ends in u, nor along its failure links
			}
			if start := int(d) - l; l > m.match.get(m.fail[u]) && start >= boundaryWindow && startsToken(str, start) {
				m.inner.set(v, l)
				break
			}
		}
	}
	for v := m.first[1]; v < n; v++ {
		if m.inner.small[v] == 0 {
			if l := m.inner.get(m.fail[v]); l > 0 {
				m.inner.set(v, l)
			}
		}
	}
}

// sortByByte sorts group stably by key, using scratch (returned, possibly
// grown) as the buffer of a counting sort. Small groups, by far the most
// common as the trie thins out, use insertion sort instead, which keeps the
// cost per group proportional to its size rather than to the alphabet.
func sortByByte[E any](group, scratch []E, key func(E) byte) []E {
	if len(group) <= 32 {
		for i := 1; i < len(group); i++ {
			for j := i; j > 0 && key(group[j]) < key(group[j-1]); j-- {
				group[j], group[j-1] = group[j-1], group[j]
			}
		}
		return scratch
	}
	var count [257]int
	for _, e := range group {
		count[int(key(e))+1]++
	}
	for c := 1; c < len(count); c++ {
		count[c] += count[c-1]
	}
	scratch = append(scratch[:0], group...)
	for _, e := range scratch {
		k := key(e)
		group[count[k]] = e
		count[k]++
	}
	return scratch
}

// encodedForms returns s and the distinct forms the encoders may write it
// in: inside a JSON string, inside a Go-quoted field value, and as escaped
// message text.
func encodedForms(s string) []string {
	forms := []string{s}
	if plainText(s) {
		return forms
	}
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	if q := strconv.Quote(s); len(q) >= 2 {
		add(q[1 : len(q)-1])
	}
	add(escapeMessage(s))
	add(jsonEscaped(s))
	return forms
}

// plainText reports whether s is printable ASCII without quotes or
// backslashes, which every encoder writes unchanged. Most secrets are, and
// skipping the escapers for them makes Add several times cheaper.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// jsonEscaped returns s as zap's JSON encoder writes it inside a string,
// without the quotes. Using the encoder itself guarantees the same escaping.
func jsonEscaped(s string) string {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{LineEnding: "\n"})
	buf, err := enc.EncodeEntry(zapcore.Entry{}, []zapcore.Field{{Key: "s", Type: zapcore.StringType, String: s}})
	if err != nil {
		return ""
	}
	defer buf.Free()
	const prefix, suffix = `{"s":"`, "\"}\n"
	out := buf.String()
	if !strings.HasPrefix(out, prefix) || !strings.HasSuffix(out, suffix) {
		return ""
	}
	return out[len(prefix) : len(out)-len(suffix)]
}

// redactingEncoder wraps an encoder and scrubs secrets from each encoded
// entry. Working on the final bytes covers the message, the fields given at
// the call site and the context fields added through With, whatever their
// type, and picks up secrets added after the logger was built.
type redactingEncoder struct {
	zapcore.Encoder
	r *Redactor
}

// Clone implements zapcore.Encoder; the clone keeps redacting, which matters
// because Logger.With clones the encoder.
func (e redactingEncoder) Clone() zapcore.Encoder {
	return redactingEncoder{Encoder: e.Encoder.Clone(), r: e.r}
}

// EncodeEntry implements zapcore.Encoder.
func (e redactingEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	buf, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return buf, err
	}
	e.r.scrubBuffer(buf)
	return buf, nil
}
