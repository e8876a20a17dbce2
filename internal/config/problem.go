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
}

// Error implements the error interface.
func (p Problem) Error() string {
	if p.Origin.File == "" {
		return p.Msg
	}
	return p.Origin.String() + ": " + p.Msg
}

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
