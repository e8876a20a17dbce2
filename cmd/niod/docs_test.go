package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/roff"
)

// run runs niod with args in process and returns what it printed.
func run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = dispatch(&invocation{stdout: &out, stderr: &errOut}, args)
	return out.String(), errOut.String(), code
}

// helpFlag matches a flag line of --help: "  -r, --root string   ...".
var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-([a-zA-Z]), )?--([a-z][a-z0-9-]*)`)

// helpFlags returns the flags command name's --help lists, long name to
// short name ("" for none).
func helpFlags(t *testing.T, name string) map[string]string {
	t.Helper()
	out, errOut, code := run(name, "--help")
	if code != exitcode.OK || errOut != "" {
		t.Fatalf("niod %s --help: exit %d, stderr %q", name, code, errOut)
	}
	_, flags, _ := strings.Cut(out, "\nFlags:\n")
	got := map[string]string{}
	for _, m := range helpFlag.FindAllStringSubmatch(flags, -1) {
		got[m[2]] = m[1]
	}
	return got
}

// bashBranch returns the body of the branch of the case in function fn of
// the bash script that matches command name.
func bashBranch(t *testing.T, script, fn, name string) string {
	t.Helper()
	_, body, ok := strings.Cut(script, "\n"+fn+"() {\n")
	if !ok {
		t.Fatalf("no function %s in the bash script", fn)
	}
	body, _, _ = strings.Cut(body, "\n}\n")
	for _, branch := range strings.Split(body, ";;") {
		head, rest, ok := strings.Cut(branch, ")\n")
		if !ok {
			continue
		}
		for _, n := range strings.Split(strings.TrimSpace(head[strings.LastIndex(head, "\n")+1:]), " | ") {
			if n == name {
				return rest
			}
		}
	}
	return ""
}

// zshFunction returns the body of _niod_NAME in the zsh script, following
// a function that hands over to another.
func zshFunction(t *testing.T, script, name string) string {
	t.Helper()
	for range 3 {
		_, body, ok := strings.Cut(script, "\n_niod_"+name+"() {")
		if !ok {
			t.Fatalf("no function _niod_%s in the zsh script", name)
		}
		body, _, _ = strings.Cut(body, "}\n")
		if m := regexp.MustCompile(`^ _niod_(\w+) "\$@"; $`).FindStringSubmatch(body); m != nil {
			name = m[1]
			continue
		}
		return body
	}
	t.Fatalf("_niod_%s hands over too often", name)
	return ""
}

func TestEveryFlagInManPageAndCompletions(t *testing.T) {
	man, _, code := run("help", "--man")
	if code != exitcode.OK {
		t.Fatalf("niod help --man: exit %d", code)
	}
	bash, _, _ := run("completion", "bash")
	zsh, _, _ := run("completion", "zsh")
	commandsLine := regexp.MustCompile(`(?m)^\techo (.*)$`).FindStringSubmatch(bash)
	if commandsLine == nil {
		t.Fatal("the bash script lists no commands")
	}
	bashCommands := strings.Fields(commandsLine[1])
	for _, c := range commands() {
		if !strings.Contains(man, "\n.SS "+c.name+"\n") {
			t.Errorf("the man page has no entry for %s", c.name)
		}
		if !slices.Contains(bashCommands, c.name) {
			t.Errorf("the bash script does not complete the command %s", c.name)
		}
		if !strings.Contains(zsh, "\t\t'"+c.name+":") {
			t.Errorf("the zsh script does not complete the command %s", c.name)
		}
		flags := helpFlags(t, c.name)
		if fs := flagSetOf(c.name); fs.HasFlags() && len(flags) == 0 {
			t.Errorf("niod %s --help lists no flags", c.name)
		}
		bashFlags := strings.Fields(bashBranch(t, bash, "__niod_flags", c.name))
		zshBody := zshFunction(t, zsh, c.name)
		for long, short := range flags {
			if !strings.Contains(man, `\-\-`+strings.ReplaceAll(long, "-", `\-`)+`\fR`) {
				t.Errorf("niod %s --%s is not in the man page", c.name, long)
			}
			if short != "" && !strings.Contains(man, `\fB\-`+short+`\fR, \fB\-\-`+strings.ReplaceAll(long, "-", `\-`)+`\fR`) {
				t.Errorf("niod %s -%s is not in the man page", c.name, short)
			}
			for _, name := range []string{"--" + long, "-" + short} {
				if name == "-" {
					continue
				}
				if !slices.Contains(bashFlags, name) && !slices.Contains(bashFlags, name+"=") {
					t.Errorf("the bash script does not complete niod %s %s (has %v)", c.name, name, bashFlags)
				}
			}
			zshLong := regexp.MustCompile(`--` + regexp.QuoteMeta(long) + `[=\[},]`)
			if !zshLong.MatchString(zshBody) {
				t.Errorf("the zsh script does not complete niod %s --%s", c.name, long)
			}
			if short != "" && !strings.Contains(zshBody, "{-"+short+"+,--"+long+"=}") && !strings.Contains(zshBody, "{-"+short+",--"+long+"}") {
				t.Errorf("the zsh script does not complete niod %s -%s", c.name, short)
			}
		}
	}
}

// The values the completions offer are those niod accepts, and --help
// names them.
func TestCompletedValuesAreAccepted(t *testing.T) {
	n := 0
	for _, spec := range config.OptionSpecs() {
		choices := config.OptionChoices(spec.Key)
		if choices == nil {
			continue
		}
		n++
		for _, v := range choices {
			if ps := config.DefaultOptions().Apply([]config.OptionSource{{Key: spec.Key, Text: v}}); len(ps) > 0 {
				t.Errorf("%s = %s, a value the completions offer, is refused: %v", spec.Key, v, ps)
			}
			if !strings.Contains(spec.Help, v) {
				t.Errorf("the help of %s does not name %s", spec.Key, v)
			}
		}
		if ps := config.DefaultOptions().Apply([]config.OptionSource{{Key: spec.Key, Text: "no-such-value"}}); len(ps) == 0 {
			t.Errorf("%s takes any value, but the completions offer only %v", spec.Key, choices)
		}
	}
	if n < 6 {
		t.Errorf("%d options with a fixed set of values, want at least 6 (handoff, log_format, log_level, restart, ready, control_socket)", n)
	}
	names := config.SignalNames()
	if !slices.Contains(names, "TERM") || !slices.Contains(names, "USR1") || len(names) < 20 {
		t.Errorf("SignalNames() = %v", names)
	}
	for _, s := range names {
		if _, ok := config.ParseSignal(s); !ok {
			t.Errorf("signal %s, which the completions offer, does not parse", s)
		}
	}
}

func TestManPageIsWellFormedRoff(t *testing.T) {
	man, _, _ := run("help", "--man")
	macros := map[string]bool{`.\"`: true, ".TH": true, ".SH": true, ".SS": true, ".PP": true, ".TP": true, ".B": true, ".BR": true,
		".RS": true, ".RE": true, ".nf": true, ".fi": true, ".PD": true, ".nh": true}
	for _, want := range []string{".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH COMMANDS\n", ".SH ENVIRONMENT\n",
		".SH EXIT STATUS\n", ".SH FILES\n", ".SH SEE ALSO\n", ".BR systemd.service (5),\n", ".BR sd_notify (3)\n"} {
		if !strings.Contains(man, want) {
			t.Errorf("the man page has no %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^\.TH NIOD 1 "\d{4}-\d{2}-\d{2}" "niod [^"]+" "User Commands"$`).MatchString(man) {
		t.Errorf("the man page's .TH line is not NIOD 1 with a date and version:\n%s", strings.SplitN(man, "\n", 3)[1])
	}
	for _, env := range []string{"NIOD_ROOT", "NIOD_SETTINGS", "NOTIFY_SOCKET", "RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR", "TMPDIR"} {
		if !strings.Contains(man, "\n.TP\n\\fB"+strings.ReplaceAll(env, "-", `\-`)+"\\fR\n") {
			t.Errorf("ENVIRONMENT has no %s", env)
		}
	}
	for _, spec := range config.OptionSpecs() {
		if !strings.Contains(man, "\\fB"+spec.Env()+"\\fR\n") {
			t.Errorf("ENVIRONMENT has no %s", spec.Env())
		}
	}
	for _, e := range exitCodes {
		if !strings.Contains(man, "\n.TP\n\\fB"+e.code+"\\fR\n"+e.meaning+"\n") {
			t.Errorf("EXIT STATUS has no %s", e.code)
		}
	}
	for i, line := range strings.Split(strings.TrimSuffix(man, "\n"), "\n") {
		switch {
		case line == "":
			t.Errorf("line %d is empty (a blank line in roff)", i+1)
		case strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'"):
			if !macros[strings.Fields(line)[0]] {
				t.Errorf("line %d is not a request the page means: %q", i+1, line)
			}
		case regexp.MustCompile(`(^|[^\\])-`).MatchString(line):
			t.Errorf("line %d has a hyphen that is not \\-: %q", i+1, line)
		case strings.HasPrefix(line, " "):
			t.Errorf("line %d starts with a space: %q", i+1, line)
		}
	}
}

func TestCompletionCommand(t *testing.T) {
	out, _, code := run("--help")
	if code != exitcode.OK || !regexp.MustCompile(`(?m)^  niod completion bash\|zsh +print the shell completion script`).MatchString(out) {
		t.Errorf("niod --help does not list completion:\n%s", out)
	}
	out, errOut, code := run("completion", "--help")
	if code != exitcode.OK || errOut != "" || !strings.HasPrefix(out, "Usage: niod completion bash|zsh\n") {
		t.Errorf("niod completion --help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, args := range [][]string{{"completion", "fish"}, {"completion"}, {"completion", "bash", "zsh"}, {"completion", "--nope"}} {
		out, errOut, code := run(args...)
		if code != exitcode.Usage || out != "" || strings.Count(errOut, "\n") != 1 {
			t.Errorf("niod %s: exit %d (want 64), stdout %q, stderr %q (want one line)", strings.Join(args, " "), code, out, errOut)
		}
	}
	bash, _, _ := run("completion", "bash")
	if !strings.HasSuffix(bash, "\ncomplete -F _niod niod\n") {
		t.Errorf("the bash script does not end by registering _niod")
	}
	zsh, _, _ := run("completion", "zsh")
	if !strings.HasPrefix(zsh, "#compdef niod\n") {
		t.Errorf("the zsh script does not start with #compdef niod")
	}
}

func TestHelpKeepsItsForms(t *testing.T) {
	usage, _, _ := run("--help")
	if out, _, code := run("help"); code != exitcode.OK || out != usage {
		t.Errorf("niod help is not niod --help")
	}
	runHelp, _, _ := run("run", "--help")
	if out, _, code := run("help", "run"); code != exitcode.OK || out != runHelp {
		t.Errorf("niod help run is not niod run --help")
	}
	if _, errOut, code := run("help", "--man", "run"); code != exitcode.Usage || errOut == "" {
		t.Errorf("niod help --man run: exit %d, want 64 and a message", code)
	}
}

func TestVersionVerbose(t *testing.T) {
	short, _, _ := run("version")
	out, errOut, code := run("version", "-v")
	if code != exitcode.OK || errOut != "" || !strings.HasPrefix(out, short) {
		t.Fatalf("niod version -v: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	// A test binary has build information too: the Go version and the
	// module path at least.
	for _, want := range []string{"\tgo\tgo", "\tpath\t", "\tbuild\tGOOS="} {
		if !strings.Contains(out, want) {
			t.Errorf("niod version -v has no %q:\n%s", want, out)
		}
	}
	if _, _, code := run("version", "extra"); code != exitcode.Usage {
		t.Errorf("niod version extra: exit %d, want 64", code)
	}
}

// Every usage line's words in capitals are italicised as \b[A-Z]+\b would.
func TestSynopsisItalics(t *testing.T) {
	if got := synopsis("run", "[run] [flags] [-- COMMAND [ARG...]]"); got != `\fBniod\fR [\fBrun\fR] [flags] [\-\- \fICOMMAND\fR [\fIARG\fR...]]` {
		t.Errorf("synopsis of run = %q", got)
	}
	re := regexp.MustCompile(`\b[A-Z]+\b`)
	for _, c := range commands() {
		s := roff.Escape(c.usage)
		if got, want := roff.ItalicCaps(s), re.ReplaceAllString(s, `\fI$0\fR`); got != want {
			t.Errorf("%s: %q, want %q", c.name, got, want)
		}
	}
}
