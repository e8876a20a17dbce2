package config

import (
	"bufio"
	"io"
	"strings"
)

// RenderOptions says how Render shows values.
type RenderOptions struct {
	// Reveal prints secret values instead of Redacted (an empty secret
	// shows as empty either way: there is nothing to hide).
	Reveal bool
	// ShowOrigin adds a comment line before each key naming where its value
	// was set and where its references were resolved from.
	ShowOrigin bool
}

// Render writes the settings as INI exactly as Python's
// RawConfigParser.write() does: [DEFAULT] first when it has keys, then every
// section in order, "key = value" with continuation lines indented by a tab,
// and a blank line after each section. configparser reads the output back to
// the same sections, keys and values.
func (s *Settings) Render(w io.Writer, o RenderOptions) error {
	// A buffer as large as the output, up to 64 KiB: a small handoff
	// should not fault in 16 fresh pages.
	bw := bufio.NewWriterSize(w, min(max(s.renderedSize(), 512), 64<<10))
	if len(s.defaults.keys) > 0 {
		renderSection(bw, s.defaults, o)
	}
	for _, sec := range s.sections {
		renderSection(bw, sec, o)
	}
	return bw.Flush()
}

// renderedSize is about how long Render's output is without origins.
func (s *Settings) renderedSize() int {
	n := 0
	for _, sec := range append([]*Section{s.defaults}, s.sections...) {
		n += len(sec.Name) + 4
		for _, v := range sec.keys {
			n += len(v.Key) + len(v.Text) + 4
		}
		if n > 64<<10 {
			break
		}
	}
	return n
}

func renderSection(w *bufio.Writer, sec *Section, o RenderOptions) {
	w.WriteByte('[')
	w.WriteString(sec.Name)
	w.WriteString("]\n")
	for _, v := range sec.keys {
		if o.ShowOrigin {
			w.WriteString("# " + describeOrigin(v) + "\n")
		}
		text := v.Text
		if v.Secret && !o.Reveal && text != "" {
			text = Redacted
		}
		w.WriteString(v.Key)
		w.WriteString(" = ")
		// Continuation lines are indented by a tab, written piece by
		// piece rather than through a replaced copy.
		for {
			line, rest, more := strings.Cut(text, "\n")
			w.WriteString(line)
			if !more {
				break
			}
			w.WriteString("\n\t")
			text = rest
		}
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

// describeOrigin says where a value and its references came from, e.g.
// "nio.conf:12, [[PK_TOKEN]] from the environment"; a reference the value
// holds more than once is named once.
func describeOrigin(v *Value) string {
	var b strings.Builder
	b.WriteString(v.Origin.String())
	var seen map[Ref]bool
	if len(v.Refs) > 1 {
		seen = make(map[Ref]bool, len(v.Refs))
	}
	for _, r := range v.Refs {
		if seen != nil {
			if seen[r] {
				continue
			}
			seen[r] = true
		}
		b.WriteString(", [[" + r.Name + "]] ")
		switch r.Source {
		case FromEnvironment:
			b.WriteString("from the environment")
		case FromUserDefined:
			b.WriteString("from [user_defined] at " + r.Origin.String())
		case FromProjectRoot:
			b.WriteString("is the project root")
		case InCycle:
			b.WriteString("is part of a cycle")
		default:
			b.WriteString("is undefined")
		}
	}
	if v.Secret {
		b.WriteString(" (secret)")
	}
	return b.String()
}
