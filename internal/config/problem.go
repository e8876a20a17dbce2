package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Origin says where a setting came from: a file and line, or another source
// such as an environment variable or a command-line flag (File holds its name
// and Line is 0).
type Origin struct {
	File string
	Line int
}

// String renders the origin as FILE:LINE, or FILE alone when there is no line.
func (o Origin) String() string {
	if o.Line <= 0 {
		return o.File
	}
	return o.File + ":" + strconv.Itoa(o.Line)
}

// Problem is one thing wrong with the settings, reported as a single line
// "ORIGIN: what is wrong (what to do)". The message never holds a secret value.
type Problem struct {
	Origin Origin
	Msg    string
	// Undefined marks an unresolved [[ NAME ]] reference, which
	// [niod] allow_undefined turns from an error into a warning.
	Undefined bool
	// Omitted, when above 0, makes this the last problem of a list cut at
	// MaxProblems: it stands for that many more, and Msg says so.
	Omitted int
	// ref is the reference an Undefined problem is about as a message may
	// show it, "[[NAME]]", or "" when its name may be part of a secret.
	ref string
}

// Error implements the error interface.
func (p Problem) Error() string {
	if p.Origin.File == "" {
		return p.Msg
	}
	return p.Origin.String() + ": " + p.Msg
}

// MaxProblems is how many problems Load, Parse and Resolve keep. A file that
// is not settings at all (a log, a disk image given to -s) has millions of
// bad lines: past the cap they are only counted, and the list ends with one
// Problem whose Omitted says how many were left out.
const MaxProblems = 100

// Problems is every problem found in one pass; Load reports them all at once
// so a user fixes a file in one round instead of one error per run.
type Problems []Problem

// Error joins the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(o Origin, format string, args ...any) {
	*ps = append(*ps, Problem{Origin: o, Msg: fmt.Sprintf(format, args...)})
}

// collector gathers problems up to MaxProblems and counts the rest without
// formatting or keeping them, so memory stays bounded however bad the input.
// Every problem list that Load, Parse and Resolve return is gathered by one,
// and it keeps one line per problem: a problem with the origin and message
// of one kept already ([[X]] twice in one value) is dropped. Past the cap
// problems are only counted, so the closing count may include such repeats.
type collector struct {
	list Problems
	more int
	// at is the origin of the closing "and N more" line: the file for one
	// file's problems, none for a whole Load.
	at Origin
	// undefined marks the closing line as standing for undefined references.
	undefined bool
}

// full reports whether a further problem would only be counted.
func (c *collector) full() bool { return len(c.list) >= MaxProblems }

func (c *collector) add(o Origin, format string, args ...any) {
	if c.full() {
		c.more++
		return
	}
	c.addProblem(Problem{Origin: o, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) addProblem(p Problem) {
	if p.Omitted > 0 {
		c.more += p.Omitted
		return
	}
	if c.full() {
		c.more++
		return
	}
	if !c.has(p) {
		c.list = append(c.list, p)
	}
}

// has reports whether a problem with p's origin and message is kept
// already. The list holds at most MaxProblems, so a scan is cheap and needs
// no index.
func (c *collector) has(p Problem) bool {
	for i := range c.list {
		if q := &c.list[i]; q.Origin == p.Origin && q.Msg == p.Msg {
			return true
		}
	}
	return false
}

// addAll adds a list that may itself have been cut.
func (c *collector) addAll(ps Problems) {
	for _, p := range ps {
		c.addProblem(p)
	}
}

// result is the problems kept, closed by one line for those left out.
func (c *collector) result() Problems {
	if c.more == 0 {
		return c.list
	}
	noun := "problems"
	if c.more == 1 {
		noun = "problem"
	}
	return append(c.list, Problem{Origin: c.at, Undefined: c.undefined, Omitted: c.more,
		Msg: fmt.Sprintf("... and %d more %s (fix these first)", c.more, noun)})
}
