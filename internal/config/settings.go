// Package config is the settings dialect: it reads nio settings files
// exactly as Python's configparser.RawConfigParser (strict, optionxform =
// str) does, merges them with later files winning per key, resolves
// [[ NAME ]] references within bounds, classifies secrets, renders the
// result back as INI, edits a file in place keeping its layout, and parses
// niod's own [niod] section into typed, validated options.
package config

import "hash/maphash"

// DefaultSection is configparser's default section: its keys are defaults for
// every other section.
const DefaultSection = "DEFAULT"

// Value is one key of a section with the text it has and where it was set.
type Value struct {
	Key string
	// Raw is the value as the file wrote it, continuation lines joined with
	// "\n"; Text is Raw with [[ NAME ]] references resolved (equal to Raw
	// until Resolve runs).
	Raw, Text string
	Origin    Origin
	// Refs lists the references Resolve replaced in this value, in order.
	Refs []Ref
	// Secret is set when the key's name, the value's content or a
	// referenced variable marks it as a secret.
	Secret bool

	state uint8 // resolution state: unresolved, resolving, resolved, failed
	// depth is how many references deep the value's own references go
	// (0 for none), once resolved.
	depth uint8
	// whole is set when all of the text is secret (its key's name or a
	// private key says so, or a value secret that way refers to it), not
	// just the fragments that references filled in.
	whole bool
	gen   uint32 // which read of the settings set it; 0 for none
}

// Section is a named group of keys in the order they first appeared.
type Section struct {
	Name  string
	keys  []*Value
	index keyIndex
}

func newSection(name string) *Section {
	return &Section{Name: name}
}

// Values returns the section's own keys in order of first appearance.
func (s *Section) Values() []*Value { return s.keys }

// Get returns the section's own value for key, or nil.
func (s *Section) Get(key string) *Value {
	if i := s.index.find(s.keys, key); i >= 0 {
		return s.keys[i]
	}
	return nil
}

// set stores v under its key; a key set again keeps its first position, as a
// Python dict does.
func (s *Section) set(v *Value) {
	if i := s.index.find(s.keys, v.Key); i >= 0 {
		s.keys[i] = v
		return
	}
	s.add(v)
}

// add appends v, whose key the section does not have yet.
func (s *Section) add(v *Value) {
	s.keys = append(s.keys, v)
	s.index.add(s.keys, len(s.keys)-1)
}

// keyIndex finds a key's position in a section: an open-addressing table of
// positions+1 (0 is an empty slot). It is far smaller than a map[string]int,
// and memory is most of what parsing large settings costs: measured against
// a map, BenchmarkParse allocates a third less with it and runs a quarter
// faster, BenchmarkMergeResolveRender allocates a tenth less and runs 15 to
// 25% faster.
//
// hashes holds each key's hash by position, once the table exists: a probe
// compares hashes and reads a Value (most likely out of cache) only when
// they match, and growing the table hashes no key again.
type keyIndex struct {
	slots  []int32
	hashes []uint32
}

var indexSeed = maphash.MakeSeed()

// find returns the position of key in keys, or -1.
func (x *keyIndex) find(keys []*Value, key string) int {
	if len(x.slots) == 0 {
		// Small sections are searched directly.
		for i, v := range keys {
			if v.Key == key {
				return i
			}
		}
		return -1
	}
	full := uint32(maphash.String(indexSeed, key))
	mask := uint32(len(x.slots) - 1)
	for h := full & mask; ; h = (h + 1) & mask {
		p := x.slots[h]
		if p == 0 {
			return -1
		}
		if x.hashes[p-1] == full && keys[p-1].Key == key {
			return int(p - 1)
		}
	}
}

// add records that keys[pos] is new; the table is built once a section
// has more than a few keys and kept at most half full.
func (x *keyIndex) add(keys []*Value, pos int) {
	const direct = 8
	switch {
	case len(keys) <= direct:
		return
	case 2*len(keys) > len(x.slots):
		size := 64
		for size < 4*len(keys) {
			size *= 2
		}
		x.slots = make([]int32, size)
		// Room for every key until the table grows again.
		hashes := make([]uint32, len(x.hashes), size/2)
		copy(hashes, x.hashes)
		for i := len(hashes); i < len(keys); i++ {
			hashes = append(hashes, uint32(maphash.String(indexSeed, keys[i].Key)))
		}
		x.hashes = hashes
		for i := range keys {
			x.put(i)
		}
	default:
		x.hashes = append(x.hashes, uint32(maphash.String(indexSeed, keys[pos].Key)))
		x.put(pos)
	}
}

func (x *keyIndex) put(pos int) {
	mask := uint32(len(x.slots) - 1)
	h := x.hashes[pos] & mask
	for x.slots[h] != 0 {
		h = (h + 1) & mask
	}
	x.slots[h] = int32(pos + 1)
}

// Settings is the merge of one or more settings files.
type Settings struct {
	defaults *Section
	sections []*Section
	byName   map[string]*Section
	reads    uint32 // files read so far
	// fragments are what the environment filled into secret values, as
	// Resolve found them: SecretValues lists them.
	fragments []string
}

// New returns empty settings.
func New() *Settings {
	return &Settings{defaults: newSection(DefaultSection), byName: map[string]*Section{}}
}

// Defaults returns the [DEFAULT] section (possibly empty).
func (s *Settings) Defaults() *Section { return s.defaults }

// Sections returns the sections other than [DEFAULT] in order of first
// appearance.
func (s *Settings) Sections() []*Section { return s.sections }

// Section returns the named section, [DEFAULT] included, or nil.
func (s *Settings) Section(name string) *Section {
	if name == DefaultSection {
		return s.defaults
	}
	return s.byName[name]
}

// Lookup finds key in section with configparser's semantics: the section's
// own keys first, then [DEFAULT]. It returns nil when the section does not
// exist or has no such key.
func (s *Settings) Lookup(section, key string) *Value {
	sec := s.byName[section]
	if sec == nil {
		return nil
	}
	if v := sec.Get(key); v != nil {
		return v
	}
	return s.defaults.Get(key)
}

// All calls fn for every value, [DEFAULT] first, in rendering order.
func (s *Settings) All(fn func(sec *Section, v *Value)) {
	for _, v := range s.defaults.keys {
		fn(s.defaults, v)
	}
	for _, sec := range s.sections {
		for _, v := range sec.keys {
			fn(sec, v)
		}
	}
}

// Remove drops a section (not [DEFAULT]); niod uses it to keep its own
// [niod] section from the runtime.
func (s *Settings) Remove(name string) {
	if _, ok := s.byName[name]; !ok || name == DefaultSection {
		return
	}
	delete(s.byName, name)
	for i, sec := range s.sections {
		if sec.Name == name {
			s.sections = append(s.sections[:i], s.sections[i+1:]...)
			break
		}
	}
}

// Set stores a resolved value in section (created when missing). It is for
// values niod adds itself, such as secrets moved out of the environment.
func (s *Settings) Set(section, key, text string, secret bool, origin Origin) {
	sec := s.Section(section)
	if sec == nil {
		sec = newSection(section)
		s.sections = append(s.sections, sec)
		s.byName[section] = sec
	}
	sec.set(&Value{Key: key, Raw: text, Text: text, Secret: secret, Origin: origin})
}

// Clone returns a copy whose sections can be changed without touching s;
// the values themselves are shared.
func (s *Settings) Clone() *Settings {
	c := New()
	c.defaults = s.defaults.clone()
	for _, sec := range s.sections {
		cs := sec.clone()
		c.sections = append(c.sections, cs)
		c.byName[cs.Name] = cs
	}
	c.reads = s.reads
	c.fragments = append([]string(nil), s.fragments...)
	return c
}

func (s *Section) clone() *Section {
	c := &Section{Name: s.Name, keys: append([]*Value(nil), s.keys...)}
	c.index.slots = append([]int32(nil), s.index.slots...)
	c.index.hashes = append([]uint32(nil), s.index.hashes...)
	return c
}
