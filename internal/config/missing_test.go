package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestNearest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		names []string
		want  string
	}{
		{"secret.conf", []string{"nio.conf", "secrets.conf"}, "secrets.conf"},
		{"nio.cnf", []string{"nio.conf", "nio.log"}, "nio.conf"},
		{"Nio.conf", []string{"nio.conf"}, "nio.conf"},
		{"a.conf", []string{"b.conf", "c.conf"}, "b.conf"},                       // the first of equally near ones
		{"nio.conf", []string{"nio.conf.bak", "secrets.conf"}, ""},               // four edits away
		{"ab", []string{"xy"}, ""},                                               // every byte differs: not near
		{"x.conf", []string{"x.conf"}, ""},                                       // itself is not a suggestion
		{"secret.conf", nil, ""},                                                 // an empty directory
		{"s.conf", []string{strings.Repeat("s", 200) + ".conf"}, ""},             // far longer: not counted
		{"secrets.conf", []string{"secret.conf", "secrets.cong"}, "secret.conf"}, // one edit each: the first
	} {
		if got := nearest(tt.name, tt.names); got != tt.want {
			t.Errorf("nearest(%q, %q) = %q, want %q", tt.name, tt.names, got, tt.want)
		}
	}
}

func TestMissingHint(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, root, "secrets.conf", "", 0o600)
	writeFile(t, root, "nio.cfg", "", 0o600)
	writeFile(t, root, "etc/tls.conf", "", 0o600)
	writeFile(t, root, "secrets.conf.d/x", "", 0o600) // a directory is no suggestion
	p := func(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }
	give := "give another project root with -r ROOT or settings files with -s FILE"
	for _, tt := range []struct {
		name      string
		byDefault bool
		want      string
	}{
		{"secret.conf", false, " (looked for " + p("secret.conf") + "; did you mean secrets.conf?)"},
		{"./secret.conf", false, " (looked for " + p("secret.conf") + "; did you mean secrets.conf?)"},
		{"unrelated.ini", false, " (looked for " + p("unrelated.ini") + ")"},
		{"etc/tsl.conf", false, " (looked for " + p("etc", "tsl.conf") + "; did you mean etc/tls.conf?)"},
		{"conf/secrets.conf", false, " (looked for " + p("conf", "secrets.conf") + "; there is no directory " + p("conf") + ")"},
		{p("secret.conf"), false, " (did you mean " + p("secrets.conf") + "?)"},
		{p("unrelated.ini"), false, ""},
		{"nio.conf", true, " (the default settings file is " + p("nio.conf") + "; " + give + ", such as -s nio.cfg)"},
	} {
		if got := missingHint(tt.name, RootPath(root, tt.name), tt.byDefault); got != tt.want {
			t.Errorf("missingHint(%q, %v) =\n%q, want\n%q", tt.name, tt.byDefault, got, tt.want)
		}
	}
	gone := filepath.Join(root, "gone")
	if got, want := missingHint("nio.conf", filepath.Join(gone, "nio.conf"), true),
		" (the default settings file is "+filepath.Join(gone, "nio.conf")+"; there is no directory "+gone+"; "+give+")"; got != want {
		t.Errorf("missing root: %q, want %q", got, want)
	}
}

func TestFollowOn(t *testing.T) {
	t.Parallel()
	undef := func(line int, ref string) Problem {
		return Problem{Origin: Origin{File: "nio.conf", Line: line}, Undefined: true, ref: ref, Msg: "not shown"}
	}
	tail := " not defined, perhaps because secret.conf could not be read (fix that first)"
	for _, tt := range []struct {
		name      string
		undefined Problems
		unread    []string
		want      string
	}{
		{"one", Problems{undef(8, "[[PK_TOKEN]]")}, []string{"secret.conf"}, "nio.conf:8: [[PK_TOKEN]] is" + tail},
		{"two", Problems{undef(8, "[[PK_TOKEN]]"), undef(9, "[[PK_HOST]]")}, []string{"secret.conf"},
			"nio.conf:8: [[PK_TOKEN]] and 1 other reference are" + tail},
		{"cut", Problems{undef(8, "[[A]]"), undef(9, "[[B]]"), {Undefined: true, Omitted: 40, Msg: "... and 40 more"}}, []string{"secret.conf"},
			"nio.conf:8: [[A]] and 41 other references are" + tail},
		{"a name that is not shown", Problems{undef(3, "")}, []string{"secret.conf"}, "nio.conf:3: a [[ ]] reference in a secret value is" + tail},
		{"two files", Problems{undef(8, "[[A]]")}, []string{"secret.conf", "b.conf"},
			"nio.conf:8: [[A]] is not defined, perhaps because secret.conf and b.conf could not be read (fix that first)"},
		{"more files", Problems{undef(8, "[[A]]")}, []string{"secret.conf", "b.conf", "c.conf"},
			"nio.conf:8: [[A]] is not defined, perhaps because secret.conf and 2 other settings files could not be read (fix that first)"},
	} {
		p := followOn(tt.undefined, tt.unread)
		if p.Error() != tt.want || !p.Undefined || p.Omitted != 0 {
			t.Errorf("%s: %+v\n%q, want\n%q", tt.name, p, p.Error(), tt.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, root, "nio.conf", "[user_defined]\nA = [[B]]\nB = [[A]]\n[pubkeeper]\ntoken = [[PK_TOKEN]]\nhost = [[PK_HOST]]\n", 0o600)
	writeFile(t, root, "secrets.conf", "[user_defined]\nPK_TOKEN = t\nPK_HOST = h\n", 0o600)
	ps := loadProblems(t, Request{Root: root, Files: []string{"nio.conf", "secret.conf"}})
	want := []string{
		"secret.conf: no such file (looked for " + filepath.Join(root, "secret.conf") + "; did you mean secrets.conf?)",
		// A cycle is no follow-on of the missing file: it stays.
		"nio.conf:3: B: [[A]] refers back to itself (A -> B -> A; break the cycle)",
		"nio.conf:5: [[PK_TOKEN]] and 1 other reference are not defined, perhaps because secret.conf could not be read (fix that first)",
	}
	if got := strings.Split(ps.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", ps, strings.Join(want, "\n"))
	}

	// Under allow_undefined the references are warnings as ever; the
	// missing file stops Load alone.
	ps = loadProblems(t, Request{Root: root, Files: []string{"nio.conf", "secret.conf"}, Environ: []string{"NIOD_ALLOW_UNDEFINED=true"}})
	if len(ps) != 2 || !strings.HasPrefix(ps[0].Error(), "secret.conf: no such file") {
		t.Errorf("problems under allow_undefined:\n%s", ps)
	}

	// No file given: the default is named, and how to give others.
	empty := t.TempDir()
	ps = loadProblems(t, Request{Root: empty})
	if want := "nio.conf: no such file (the default settings file is " + filepath.Join(empty, "nio.conf") +
		"; give another project root with -r ROOT or settings files with -s FILE)"; len(ps) != 1 || ps[0].Error() != want {
		t.Errorf("problems = %v, want %q", ps, want)
	}
	// Given by name, nio.conf is a file like any other.
	ps = loadProblems(t, Request{Root: empty, Files: []string{"nio.conf"}})
	if want := "nio.conf: no such file (looked for " + filepath.Join(empty, "nio.conf") + ")"; len(ps) != 1 || ps[0].Error() != want {
		t.Errorf("problems = %v, want %q", ps, want)
	}
}
