package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// bashCompletionScript is where Debian's bash-completion package keeps the
// script that loads every other.
const bashCompletionScript = "/usr/share/bash-completion/bash_completion"

// completionScript writes niod completion SHELL's output to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	out, stderr, code := runNiod(t, runOpts{}, "completion", shell)
	if code != 0 || stderr != "" || out == "" {
		t.Fatalf("niod completion %s: exit %d, stderr %q", shell, code, stderr)
	}
	path := filepath.Join(t.TempDir(), "niod."+shell)
	mustWrite(t, path, out, 0o644)
	return path
}

// runShell runs script with the shell's own arguments and returns stdout;
// anything on stderr fails the test.
func runShell(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(envList(baseEnv(map[string]string{"PATH": filepath.Dir(niodBin) + ":" + os.Getenv("PATH")})), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil || errOut.Len() > 0 {
			t.Fatalf("%s %s: %v\nstderr:\n%s\nstdout:\n%s", name, strings.Join(args, " "), err, errOut.String(), out.String())
		}
	case <-time.After(waitLong):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s: still running after %v", name, waitLong)
	}
	return out.String()
}

// bashCompletionCases are command lines, as COMP_WORDS with the cursor in
// the last word, and the replies bash should offer. {{dir}} is a directory
// holding nio.conf, notes.txt and the directory sub.
var bashCompletionCases = []struct {
	words []string
	want  string
}{
	{[]string{"niod", "ru"}, "run"},
	{[]string{"niod", "st"}, "status stop start"},
	{[]string{"niod", "--log-format", ""}, "auto console json journal"},
	{[]string{"niod", "--log-format", "=", "j"}, "json journal"}, // --log-format=j
	{[]string{"niod", "--log-format", "="}, "auto console json journal"},
	{[]string{"niod", "run", "--restart", ""}, "on-failure always never"},
	{[]string{"niod", "check", "--allow-root", "--ready", ""}, "auto exec notify probe"},
	{[]string{"niod", "run", "--handoff", ""}, "memfd file"},
	{[]string{"niod", "doctor", "--only", "sw"}, "swap.encrypted"},
	{[]string{"niod", "doctor", "--skip", "clock.sync,sw"}, "clock.sync,swap.encrypted"},
	{[]string{"niod", "cert", "--key-type", "rsa"}, "rsa-2048 rsa-3072"},
	{[]string{"niod", "signal", "US"}, "USR1 USR2"},
	{[]string{"niod", "completion", ""}, "bash zsh"},
	{[]string{"niod", "help", "comp"}, "completion"},
	{[]string{"niod", "status", "--l"}, "--live"},
	{[]string{"niod", "version", "-"}, "-v --verbose -h --help"},
	{[]string{"niod", "run", "-s", "{{dir}}/n"}, "{{dir}}/nio.conf {{dir}}/notes.txt"},
	{[]string{"niod", "config", "-r", "{{dir}}/"}, "{{dir}}/sub"},
	{[]string{"niod", "run", "--", "niod", "--"}, ""}, // the runtime's command line is not niod's
}

// TestCompletionBash sources niod completion bash in a bash without any
// start-up file, and with bash-completion loaded, and completes command
// lines as bash would.
func TestCompletionBash(t *testing.T) {
	t.Parallel()
	bash := requireTool(t, "bash")
	script := completionScript(t, "bash")
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "nio.conf"), "", 0o644)
	mustWrite(t, filepath.Join(dir, "notes.txt"), "", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}

	var h strings.Builder
	// comp WORD... runs _niod as complete -F would, with the cursor at the
	// end of the last word, and prints the replies on one line.
	h.WriteString(`comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(( $# - 1 ))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_niod niod "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	printf '%s\n' "${COMPREPLY[*]}"
}
`)
	h.WriteString("source " + shellQuote(script) + "\nsource " + shellQuote(script) + "\ncomplete -p niod\n")
	for _, c := range bashCompletionCases {
		h.WriteString("comp")
		for _, w := range c.words {
			h.WriteString(" " + shellQuote(strings.ReplaceAll(w, "{{dir}}", dir)))
		}
		h.WriteString("\n")
	}
	check := func(t *testing.T, out string) {
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(bashCompletionCases)+1 {
			t.Fatalf("bash printed %d lines, want %d:\n%s", len(lines), len(bashCompletionCases)+1, out)
		}
		if lines[0] != "complete -F _niod niod" {
			t.Errorf("complete -p niod: %q", lines[0])
		}
		for i, c := range bashCompletionCases {
			// compgen -f and -d list files in the directory's order.
			want := sortedWords(strings.ReplaceAll(c.want, "{{dir}}", dir))
			if got := sortedWords(lines[i+1]); got != want {
				t.Errorf("%s<TAB>: %q, want %q", strings.Join(c.words, " "), got, want)
			}
		}
	}

	t.Run("plain", func(t *testing.T) {
		check(t, runShell(t, dir, nil, bash, "--norc", "--noprofile", "-c", h.String()))
	})
	t.Run("bash-completion", func(t *testing.T) {
		requireBashCompletion(t)
		check(t, runShell(t, dir, nil, bash, "--norc", "--noprofile", "-c", "source "+bashCompletionScript+"\n"+h.String()))
	})
	t.Run("bash-completion loads it on demand", func(t *testing.T) {
		// Installed as completions/niod, it is found when niod is
		// completed first.
		requireBashCompletion(t)
		user := t.TempDir()
		if err := os.Mkdir(filepath.Join(user, "completions"), 0o755); err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(user, "completions", "niod"), string(body), 0o644)
		out := runShell(t, dir, []string{"BASH_COMPLETION_USER_DIR=" + user}, bash, "--norc", "--noprofile", "-c",
			"source "+bashCompletionScript+"\ncomplete -p niod 2>/dev/null || echo not yet\n_completion_loader niod\ncomplete -p niod\n")
		if out != "not yet\ncomplete -F _niod niod\n" {
			t.Errorf("bash-completion did not load completions/niod:\n%s", out)
		}
	})
}

func sortedWords(s string) string {
	w := strings.Fields(s)
	sort.Strings(w)
	return strings.Join(w, " ")
}

// requireBashCompletion skips a test without the bash-completion package,
// or fails it under CI=true, as requireTool does for a program.
func requireBashCompletion(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(bashCompletionScript); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bash-completion is needed by this test and missing (CI=true: install it): %v", err)
		}
		t.Skipf("bash-completion is missing: %v", err)
	}
}

// zshCapture types a command line and TAB into an interactive zsh on a
// pseudo-terminal (zsh/zpty), with compadd wrapped to write every match it
// is given to a file, one a line; then it clears the line and types one
// that writes a second file, so the test knows the completion is over.
const zshCapture = `
zmodload zsh/zpty || exit 2
script=$1 hits=$2 done=$3 line=$4
zpty z zsh -f -i
zpty -w z "PROMPT='Z''LE> '; RPROMPT=''; setopt no_beep no_auto_list no_auto_menu; autoload -U compinit; compinit -u -D; source ${(q)script}"
zpty -w z "compadd() { if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd \"\$@\"; return; fi; local -a m; builtin compadd -A m \"\$@\"; (( \$#m )) && print -rl -- \$m >> ${(q)hits}; builtin compadd \"\$@\"; }"
zpty -w z "bindkey -e; bindkey '^I' complete-word; print -r -- RE''ADY"
# Type the line once zle reads the terminal: after READY, at the prompt.
zpty -r z out '*READY*ZLE> *'
zpty -n -w z "$line"$'\t'$'\C-e\C-u'"print -r ok > ${(q)done}"$'\n'
repeat 200; do [[ -s $done ]] && break; sleep 0.05; done
zpty -d z
[[ -s $done ]]
`

// TestCompletionZsh loads niod completion zsh after compinit, as a file on
// $fpath, and completes command lines in an interactive zsh.
func TestCompletionZsh(t *testing.T) {
	t.Parallel()
	zsh := requireTool(t, "zsh")
	script := completionScript(t, "zsh")
	dir := t.TempDir()
	env := []string{"ZDOTDIR=" + dir, "HOME=" + dir}

	// Loaded twice after compinit, with nothing on stderr.
	out := runShell(t, dir, env, zsh, "-f", "-c", `autoload -U compinit; compinit; source <(niod completion zsh); source <(niod completion zsh); print -r -- $_comps[niod]`)
	if out != "_niod\n" {
		t.Errorf("after source, niod completes with %q, want _niod", out)
	}
	// Installed as _niod in a directory of $fpath.
	fpath := filepath.Join(dir, "site-functions")
	if err := os.Mkdir(fpath, 0o755); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(fpath, "_niod"), string(body), 0o644)
	out = runShell(t, dir, env, zsh, "-f", "-c", `fpath=(`+shellQuote(fpath)+` $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[niod]`)
	if out != "_niod\n" {
		t.Errorf("from $fpath, niod completes with %q, want _niod", out)
	}

	capture := filepath.Join(dir, "capture.zsh")
	mustWrite(t, capture, zshCapture, 0o644)
	for _, c := range []struct{ line, want string }{
		{"niod ru", "run"},
		{"niod --log-format ", "auto console json journal"},
		{"niod run --restart ", "on-failure always never"},
		{"niod doctor --only sw", "swap.encrypted"},
		{"niod signal US", "USR1 USR2"},
		{"niod completion ", "bash zsh"},
	} {
		hits, done := filepath.Join(t.TempDir(), "hits"), filepath.Join(t.TempDir(), "done")
		runShell(t, dir, env, zsh, "-f", capture, script, hits, done, c.line)
		got, _ := os.ReadFile(hits)
		if s := strings.Join(strings.Fields(string(got)), " "); s != c.want {
			t.Errorf("zsh: %s<TAB>: %q, want %q", c.line, s, c.want)
		}
	}
}

func TestCompletionUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"completion", "fish"}, {"completion"}} {
		stdout, stderr, code := runNiod(t, runOpts{}, args...)
		if code != 64 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "bash or zsh") {
			t.Errorf("niod %s: exit %d (want 64), stdout %q, stderr %q (want one line naming bash or zsh)", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	stdout, _, code := runNiod(t, runOpts{}, "completion", "--help")
	if code != 0 || !strings.HasPrefix(stdout, "Usage: niod completion bash|zsh\n") {
		t.Errorf("niod completion --help: exit %d\n%s", code, stdout)
	}
	stdout, _, _ = runNiod(t, runOpts{}, "--help")
	if !strings.Contains(stdout, "\n  niod completion bash|zsh ") {
		t.Errorf("niod --help does not list completion:\n%s", stdout)
	}
}

// TestHelpManPageRenders renders niod help --man with groff and man, every
// warning on: they must print nothing.
func TestHelpManPageRenders(t *testing.T) {
	t.Parallel()
	page, stderr, code := runNiod(t, runOpts{}, "help", "--man")
	if code != 0 || stderr != "" || !strings.HasPrefix(page, `.\" niod(1)`) {
		t.Fatalf("niod help --man: exit %d, stderr %q", code, stderr)
	}
	path := filepath.Join(t.TempDir(), "niod.1")
	mustWrite(t, path, page, 0o644)
	groff := requireTool(t, "groff")
	if out := runShell(t, "", nil, groff, "-man", "-ww", "-z", path); out != "" {
		t.Errorf("groff -man -ww -z: %s", out)
	}
	text := runShell(t, "", []string{"MANWIDTH=80"}, requireTool(t, "man"), "--warnings", "-l", path)
	for _, want := range []string{"NIOD(1)", "SYNOPSIS", "niod completion bash|zsh", "--log-format format", "NIOD_LOG_FORMAT", "EXIT STATUS", "sd_notify(3)"} {
		if !strings.Contains(text, want) {
			t.Errorf("man -l shows no %q", want)
		}
	}
	if _, _, code := runNiod(t, runOpts{}, "help", "--man", "x"); code != 64 {
		t.Errorf("niod help --man x: exit %d, want 64", code)
	}
}

// TestVersionVerbose: niod version -v shows what go version -m shows.
func TestVersionVerbose(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runNiod(t, runOpts{}, "version", "-v")
	first, rest, _ := strings.Cut(stdout, "\n")
	if code != 0 || stderr != "" || !strings.HasPrefix(first, "niod ") {
		t.Fatalf("niod version -v: exit %d, stderr %q\n%s", code, stderr, stdout)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	m, err := exec.Command(goTool, "version", "-m", niodBin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	_, want, _ := strings.Cut(string(m), "\n")
	goVersion, _, _ := strings.Cut(string(m), "\n")
	want = "\tgo\t" + goVersion[strings.LastIndex(goVersion, " ")+1:] + "\n" + want
	if rest != want {
		t.Errorf("niod version -v:\n%s\ngo version -m (with its Go version first):\n%s", rest, want)
	}
	for _, setting := range []string{"\tbuild\tCGO_ENABLED=0\n", "\tbuild\tGOOS=", "\tbuild\tGOARCH=", "\tbuild\t-trimpath=true\n", "\tdep\tgithub.com/spf13/pflag\t"} {
		if !strings.Contains(rest, setting) {
			t.Errorf("niod version -v has no %q", strings.TrimSpace(setting))
		}
	}
}
