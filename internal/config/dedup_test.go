package config

import (
	"strings"
	"testing"
)

func TestCollectorKeepsOneLinePerProblem(t *testing.T) {
	t.Parallel()
	at := func(line int) Origin { return Origin{File: "a.conf", Line: line} }
	var c collector
	c.add(at(2), "[s] k: [[%s]] is not defined", "X")
	c.addProblem(Problem{Origin: at(2), Msg: "[s] k: [[X]] is not defined", Undefined: true}) // the same line again
	c.add(at(3), "[s] k: [[%s]] is not defined", "X")                                         // another line: another problem
	c.add(at(2), "[s] k: [[%s]] is not defined", "Y")                                         // another message
	c.add(Origin{File: "b.conf", Line: 2}, "[s] k: [[X]] is not defined")                     // another file
	c.addAll(Problems{{Origin: at(3), Msg: "[s] k: [[X]] is not defined"}, {Omitted: 5, Msg: "... and 5 more"}})
	got := c.result()
	want := []string{
		"a.conf:2: [s] k: [[X]] is not defined",
		"a.conf:3: [s] k: [[X]] is not defined",
		"a.conf:2: [s] k: [[Y]] is not defined",
		"b.conf:2: [s] k: [[X]] is not defined",
		"... and 5 more problems (fix these first)",
	}
	if got.Error() != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// A repeat does not take a place under the cap.
	var d collector
	for range MaxProblems + 10 {
		d.add(at(1), "same")
	}
	if ps := d.result(); len(ps) != 1 || d.more != 0 {
		t.Errorf("a repeated problem: %d kept, %d counted", len(ps), d.more)
	}
}

func TestResolveOneProblemPerLine(t *testing.T) {
	t.Parallel()
	s := mustParse(t, "[s]\nboth = [[X]] and [[ X ]]\nother = [[X]]\nmore = [[X]][[Y]][[X]]\n")
	ps := s.Resolve(envOf(nil), "/r")
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.Origin.String()+" "+p.ref)
	}
	if got, want := strings.Join(lines, ", "), "a.conf:2 [[X]], a.conf:3 [[X]], a.conf:4 [[X]], a.conf:4 [[Y]]"; got != want {
		t.Errorf("problems at %s, want %s", got, want)
	}
}

func TestLoadNoRepeatedProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "nio.conf", "[s]\na = [[X]] [[X]]\nb = [[X]]\n[niod]\nrestart = sometimes\n", 0o600)
	writeFile(t, dir, "b.conf", "[s]\nc = [[X]][[X]]\n", 0o600)
	req := Request{Root: dir, Files: []string{"nio.conf", "b.conf"}, Flags: []OptionSource{
		{Key: "restart", Text: "often", Origin: Origin{File: "--restart"}},
		{Key: "restart", Text: "often", Origin: Origin{File: "--restart"}},
	}}
	ps := loadProblems(t, req)
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Error()] {
			t.Errorf("%q is reported twice:\n%s", p.Error(), ps)
		}
		seen[p.Error()] = true
	}
	if len(ps) != 5 {
		t.Errorf("%d problems, want 5 (3 lines with [[X]], [niod] restart, --restart):\n%s", len(ps), ps)
	}
	req.Environ = []string{"NIOD_ALLOW_UNDEFINED=true"}
	req.Flags = nil
	writeFile(t, dir, "nio.conf", "[s]\na = [[X]] [[X]]\nb = [[X]]\n", 0o600)
	if l := mustLoad(t, req); len(l.Warnings) != 3 {
		t.Errorf("warnings:\n%s\nwant one for each of 3 lines", l.Warnings)
	}
}

func TestDescribeOriginNamesEachReferenceOnce(t *testing.T) {
	t.Parallel()
	s := mustParse(t, "[user_defined]\nH = h\n[s]\nk = [[H]] [[X]] [[H]] [[X]]\n")
	s.Resolve(envOf(nil), "/r")
	want := "a.conf:4, [[H]] from [user_defined] at a.conf:2, [[X]] is undefined"
	if got := describeOrigin(s.Lookup("s", "k")); got != want {
		t.Errorf("describeOrigin = %q, want %q", got, want)
	}
}
