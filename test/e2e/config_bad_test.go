package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secretMark is planted in bad settings files; niod must never echo it in
// an error message.
const secretMark = "s3cr3t-VALUE-123"

// A badFile is one entry created in the case's root.
type badFile struct {
	name    string
	content string
	mode    os.FileMode // 0 means 0600
	kind    string      // "" (regular file), "dir", "symlink" (to content), "fifo"
}

// wantProblem is one problem niod must report on stderr.
type wantProblem struct {
	file string
	// line is the expected line: > 0 that line, noLine for a file-level
	// problem, anyLine when the line may be given or not.
	line int
}

const (
	noLine  = -1
	anyLine = 0
)

type badCase struct {
	name  string
	files []badFile
	cmd   string   // subcommand, "config" by default
	args  []string // after the subcommand; -r ROOT is added first
	env   map[string]string
	// credsDir, when set, is a directory under the root exported as
	// CREDENTIALS_DIRECTORY.
	credsDir string
	// unprivileged runs niod as nobody (when the tests run as root).
	unprivileged bool
	timeout      time.Duration

	exit     int
	keywords []string // each must appear in stderr, case-insensitively
	problems []wantProblem
	// count is the exact number of stderr lines; 0 means len(problems),
	// atLeastOne means one or more.
	count int
	// loose skips the FILE:LINE format check (for problems that are not
	// about a settings file).
	loose bool
	// stdoutHas lists text the output must hold (for accepted cases).
	stdoutHas []string
}

const atLeastOne = -1

func sflags(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "-s", n)
	}
	return out
}

const pemKey = "-----BEGIN RSA PRIVATE KEY-----\n" +
	"  MIIBOgIBAAJBAK" + secretMark + "b3JkCg\n" +
	"  -----END RSA PRIVATE KEY-----\n"

func badCases() []badCase {
	tokenFile := "[service]\napi_token = " + secretMark + "\n"
	return []badCase{
		{
			name:     "section header not closed",
			files:    []badFile{{name: "a.conf", content: "[ok]\npassword = " + secretMark + "\n[broken\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"not closed"},
			problems: []wantProblem{{"a.conf", 3}},
		},
		{
			name:     "key outside any section",
			files:    []badFile{{name: "a.conf", content: "password = " + secretMark + "\n[s]\na = 1\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"outside any section"},
			problems: []wantProblem{{"a.conf", 1}},
		},
		{
			name:     "duplicate key in one file",
			files:    []badFile{{name: "a.conf", content: "[s]\npassword = " + secretMark + "\nx = 1\npassword = " + secretMark + "\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"twice"},
			problems: []wantProblem{{"a.conf", 4}},
		},
		{
			name:     "duplicate section in one file",
			files:    []badFile{{name: "a.conf", content: "[s]\na = 1\n[t]\nb = 2\n[s]\nc = 3\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"twice"},
			problems: []wantProblem{{"a.conf", 5}},
		},
		{
			name:     "NUL byte",
			files:    []badFile{{name: "a.conf", content: "[s]\npassword = " + secretMark + "\x00\nb = 1\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"NUL"},
			problems: []wantProblem{{"a.conf", 2}},
		},
		{
			name:     "line over 64 KiB",
			files:    []badFile{{name: "a.conf", content: "[s]\npassword = " + secretMark + strings.Repeat("x", 10<<20) + "\nb = 1\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"longer than"},
			problems: []wantProblem{{"a.conf", 2}},
		},
		{
			name:     "file over 16 MiB",
			files:    []badFile{{name: "big.conf", content: "[s]\n" + bigBody(17<<20)}},
			args:     sflags("big.conf"),
			exit:     78,
			keywords: []string{"larger than"},
			problems: []wantProblem{{"big.conf", noLine}},
		},
		{
			name:     "invalid UTF-8",
			files:    []badFile{{name: "a.conf", content: "[s]\na = 1\npassword = " + secretMark + "\xff\xfe\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"not valid UTF-8"},
			problems: []wantProblem{{"a.conf", 3}},
		},
		{
			name:         "unreadable file",
			files:        []badFile{{name: "a.conf", content: "[s]\npassword = " + secretMark + "\n"}},
			args:         sflags("a.conf"),
			unprivileged: true,
			exit:         78,
			keywords:     []string{"permission denied"},
			problems:     []wantProblem{{"a.conf", noLine}},
		},
		{
			name:     "directory",
			files:    []badFile{{name: "conf.d", kind: "dir"}},
			args:     sflags("conf.d"),
			exit:     78,
			keywords: []string{"directory"},
			problems: []wantProblem{{"conf.d", noLine}},
		},
		{
			name: "symbolic link",
			files: []badFile{
				{name: "real.conf", content: "[s]\na = 1\n"},
				{name: "link.conf", content: "real.conf", kind: "symlink"},
			},
			args:     sflags("link.conf"),
			exit:     78,
			keywords: []string{"symbolic link"},
			problems: []wantProblem{{"link.conf", noLine}},
		},
		{
			name:     "symbolic link loop",
			files:    []badFile{{name: "loop.conf", content: "loop.conf", kind: "symlink"}},
			args:     sflags("loop.conf"),
			exit:     78,
			keywords: []string{"symbolic link"},
			problems: []wantProblem{{"loop.conf", noLine}},
		},
		{
			name:     "missing file",
			args:     sflags("missing.conf"),
			exit:     78,
			keywords: []string{"no such file"},
			problems: []wantProblem{{"missing.conf", noLine}},
		},
		{
			name:     "missing default nio.conf",
			exit:     78,
			keywords: []string{"no such file"},
			problems: []wantProblem{{"nio.conf", noLine}},
		},
		{
			name:     "FIFO",
			files:    []badFile{{name: "pipe.conf", kind: "fifo"}},
			args:     sflags("pipe.conf"),
			timeout:  10 * time.Second,
			exit:     78,
			keywords: []string{"not a regular file"},
			problems: []wantProblem{{"pipe.conf", noLine}},
		},
		{
			name:     "undefined reference",
			files:    []badFile{{name: "a.conf", content: "[s]\npassword = " + secretMark + "\nb = [[NOPE_NOT_SET]]\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"not defined", "NOPE_NOT_SET"},
			problems: []wantProblem{{"a.conf", 3}},
		},
		{
			name:     "two undefined references",
			files:    []badFile{{name: "a.conf", content: "[s]\na = [[NOPE_ONE]]\nb = [[NOPE_TWO]]\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"not defined"},
			problems: []wantProblem{{"a.conf", 2}, {"a.conf", 3}},
		},
		{
			name:     "reference cycle",
			files:    []badFile{{name: "a.conf", content: "[user_defined]\na = [[b]]\nb = [[a]]\n[s]\nx = [[a]]\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"refers back"},
			problems: []wantProblem{{"a.conf", anyLine}},
			count:    atLeastOne,
		},
		{
			name:     "world-readable file holding a token",
			files:    []badFile{{name: "secrets.conf", content: tokenFile, mode: 0o644}},
			args:     sflags("secrets.conf"),
			exit:     78,
			keywords: []string{"chmod 600 secrets.conf"},
			problems: []wantProblem{{"secrets.conf", anyLine}},
		},
		{
			name:     "group-readable file holding a password",
			files:    []badFile{{name: "secrets.conf", content: "[db]\npassword = " + secretMark + "\n", mode: 0o640}},
			args:     sflags("secrets.conf"),
			exit:     78,
			keywords: []string{"chmod 600 secrets.conf"},
			problems: []wantProblem{{"secrets.conf", anyLine}},
		},
		{
			name:     "world-readable private key under a plain name",
			files:    []badFile{{name: "tls.conf", content: "[tls]\ncert = " + pemKey, mode: 0o644}},
			args:     sflags("tls.conf"),
			exit:     78,
			keywords: []string{"chmod 600 tls.conf"},
			problems: []wantProblem{{"tls.conf", anyLine}},
		},
		{
			name:      "world-readable file with secret references only",
			files:     []badFile{{name: "nio.conf", content: "[service]\napi_token = [[API_TOKEN]]\nplain = x\n", mode: 0o644}},
			env:       map[string]string{"API_TOKEN": secretMark},
			exit:      0,
			stdoutHas: []string{"api_token = ********\n", "plain = x\n"},
		},
		{
			name: "world-readable file with a secret mixing text and a reference",
			files: []badFile{{name: "nio.conf", mode: 0o644,
				content: "[service]\nauth_token = Bearer-" + secretMark + "-[[API_TOKEN]]\n"}},
			env:      map[string]string{"API_TOKEN": "x"},
			exit:     78,
			keywords: []string{"chmod 600 nio.conf"},
			problems: []wantProblem{{"nio.conf", anyLine}},
		},
		{
			name:      "world-readable file with an empty password",
			files:     []badFile{{name: "nio.conf", content: "[db]\npassword =\nuser = app\n", mode: 0o644}},
			exit:      0,
			stdoutHas: []string{"user = app\n"},
		},
		{
			name:     "group-readable token outside CREDENTIALS_DIRECTORY",
			files:    []badFile{{name: "creds/secrets.conf", content: tokenFile, mode: 0o440}},
			args:     sflags("creds/secrets.conf"),
			exit:     78,
			keywords: []string{"chmod 600"},
			problems: []wantProblem{{"creds/secrets.conf", anyLine}},
		},
		{
			name:      "CREDENTIALS_DIRECTORY file 0400",
			files:     []badFile{{name: "creds/secrets.conf", content: tokenFile, mode: 0o400}},
			args:      sflags("creds/secrets.conf"),
			credsDir:  "creds",
			exit:      0,
			stdoutHas: []string{"api_token = ********\n"},
		},
		{
			name:      "CREDENTIALS_DIRECTORY file 0440",
			files:     []badFile{{name: "creds/secrets.conf", content: tokenFile, mode: 0o440}},
			args:      sflags("creds/secrets.conf"),
			credsDir:  "creds",
			exit:      0,
			stdoutHas: []string{"api_token = ********\n"},
		},
		{
			name:     "CREDENTIALS_DIRECTORY file 0444",
			files:    []badFile{{name: "creds/secrets.conf", content: tokenFile, mode: 0o444}},
			args:     sflags("creds/secrets.conf"),
			credsDir: "creds",
			exit:     78,
			keywords: []string{"chmod 600"},
			problems: []wantProblem{{"creds/secrets.conf", anyLine}},
		},
		{
			name:     "unknown [niod] option",
			files:    []badFile{{name: "nio.conf", content: "[niod]\nrestat = always\n"}},
			exit:     78,
			keywords: []string{"not a known option"},
			problems: []wantProblem{{"nio.conf", 2}},
		},
		{
			name:     "unknown [niod] option suggests the close one",
			files:    []badFile{{name: "nio.conf", content: "[niod]\nlog_level = info\nrestat = always\n"}},
			exit:     78,
			keywords: []string{"did you mean", "restart"},
			problems: []wantProblem{{"nio.conf", 3}},
		},
		{
			name:     "bad restart value",
			files:    []badFile{{name: "nio.conf", content: "[niod]\nrestart = sometimes\n"}},
			exit:     78,
			keywords: []string{"must be"},
			problems: []wantProblem{{"nio.conf", 2}},
		},
		{
			name:     "bad stop_timeout value",
			files:    []badFile{{name: "nio.conf", content: "[niod]\nrestart = always\nstop_timeout = fast\n"}},
			exit:     78,
			keywords: []string{"must be"},
			problems: []wantProblem{{"nio.conf", 3}},
		},
		{
			name:     "bad allow_undefined value",
			files:    []badFile{{name: "nio.conf", content: "[niod]\nallow_undefined = maybe\n"}},
			exit:     78,
			keywords: []string{"must be"},
			problems: []wantProblem{{"nio.conf", 2}},
		},
		{
			name:     "line without a delimiter",
			files:    []badFile{{name: "a.conf", content: "[s]\npassword = " + secretMark + "\njust words\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"neither"},
			problems: []wantProblem{{"a.conf", 3}},
		},
		{
			name:     "empty key name",
			files:    []badFile{{name: "a.conf", content: "[s]\n= " + secretMark + "\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"empty"},
			problems: []wantProblem{{"a.conf", 2}},
		},
		{
			name:     "CRLF line numbers",
			files:    []badFile{{name: "a.conf", content: "[s]\r\na = 1\r\n\r\njust words\r\nb = 2\r\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"neither"},
			problems: []wantProblem{{"a.conf", 4}},
		},
		{
			name:     "lone CR line numbers",
			files:    []badFile{{name: "a.conf", content: "[s]\ra = 1\r\rjust words\rb = 2\r"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"neither"},
			problems: []wantProblem{{"a.conf", 4}},
		},
		{
			name:     "environment value that cannot be written back",
			files:    []badFile{{name: "a.conf", content: "[s]\nx = [[NAME]]\n"}},
			args:     sflags("a.conf"),
			env:      map[string]string{"NAME": "a\n#b"},
			exit:     78,
			keywords: []string{"cannot"},
			problems: []wantProblem{{"a.conf", 2}},
		},
		{
			name:     "several problems in one file",
			files:    []badFile{{name: "a.conf", content: "[s]\na = 1\njust words\n= " + secretMark + "\nb = 1\nb = 2\n[open\n"}},
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"neither"},
			problems: []wantProblem{{"a.conf", 3}, {"a.conf", 4}, {"a.conf", 6}, {"a.conf", 7}},
		},
		{
			name: "problems in two files",
			files: []badFile{
				{name: "a.conf", content: "[s]\njust words\n"},
				{name: "b.conf", content: "password = " + secretMark + "\n[t]\n"},
			},
			args:     sflags("a.conf", "b.conf"),
			exit:     78,
			keywords: []string{"outside any section"},
			problems: []wantProblem{{"a.conf", 2}, {"b.conf", 1}},
		},
		{
			name:     "missing file and a bad file",
			files:    []badFile{{name: "b.conf", content: "[s]\na = 1\na = 2\n"}},
			args:     sflags("missing.conf", "b.conf"),
			exit:     78,
			keywords: []string{"no such file"},
			problems: []wantProblem{{"missing.conf", noLine}, {"b.conf", 3}},
		},
		{
			name:     "check reports the same problems",
			files:    []badFile{{name: "a.conf", content: "[s]\npassword = " + secretMark + "\npassword = x\n"}},
			cmd:      "check",
			args:     sflags("a.conf"),
			exit:     78,
			keywords: []string{"twice"},
			problems: []wantProblem{{"a.conf", 3}},
		},
		{
			name:     "bad NIOD_LOG_LEVEL",
			files:    []badFile{{name: "nio.conf", content: "[s]\na = 1\n"}},
			env:      map[string]string{"NIOD_LOG_LEVEL": "loud"},
			exit:     78,
			keywords: []string{"NIOD_LOG_LEVEL"},
			count:    atLeastOne,
			loose:    true,
		},
		{
			name:     "bad --log-level flag",
			files:    []badFile{{name: "nio.conf", content: "[s]\na = 1\n"}},
			args:     []string{"--log-level", "loud"},
			exit:     64,
			keywords: []string{"log-level"},
			count:    atLeastOne,
			loose:    true,
		},
		{
			name:  "unknown flag",
			files: []badFile{{name: "nio.conf", content: "[s]\na = 1\n"}},
			args:  []string{"--no-such-flag"},
			exit:  64,
			count: atLeastOne,
			loose: true,
		},
	}
}

// bigBody returns key lines adding up to at least size bytes.
func bigBody(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "key%d = value %s\n", i, secretMark)
	}
	return b.String()
}

// problemLine splits "FILE:LINE: message" or "FILE: message".
var problemLine = regexp.MustCompile(`^(.+?)(?::([0-9]+))?: \S`)

func TestConfigBad(t *testing.T) {
	cases := badCases()
	if len(cases) < 25 {
		t.Fatalf("%d cases, want at least 25", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, opts := makeBadRoot(t, c)
			sub := c.cmd
			if sub == "" {
				sub = "config"
			}
			args := append([]string{sub, "-r", root}, c.args...)
			stdout, stderr, code := runNiod(t, opts, args...)
			assertNoCrash(t, stdout, stderr)

			if strings.Contains(stderr, secretMark) {
				t.Errorf("stderr holds the secret value:\n%s", stderr)
			}
			if strings.Contains(stdout, secretMark) {
				t.Errorf("stdout holds the secret value:\n%s", stdout)
			}
			if code != c.exit {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.exit, stdout, stderr)
			}
			for _, k := range c.keywords {
				if !strings.Contains(strings.ToLower(stderr), strings.ToLower(k)) {
					t.Errorf("stderr does not mention %q:\n%s", k, stderr)
				}
			}
			for _, s := range c.stdoutHas {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if c.exit == 0 {
				return
			}
			checkProblemLines(t, c, stderr)
		})
	}
}

func checkProblemLines(t *testing.T, c badCase, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if stderr == "" {
		lines = nil
	}
	switch want := c.count; {
	case want == atLeastOne:
		if len(lines) == 0 {
			t.Errorf("nothing on stderr")
		}
	case want == 0 && len(lines) != len(c.problems):
		t.Errorf("%d lines on stderr, want %d (one per problem):\n%s", len(lines), len(c.problems), stderr)
	case want > 0 && len(lines) != want:
		t.Errorf("%d lines on stderr, want %d:\n%s", len(lines), want, stderr)
	}
	if c.loose {
		return
	}
	found := make([]bool, len(c.problems))
	for _, l := range lines {
		m := problemLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("stderr line is not FILE[:LINE]: message: %q", l)
			continue
		}
		file, lineNo := m[1], 0
		if m[2] != "" {
			lineNo, _ = strconv.Atoi(m[2])
		}
		ok := false
		for i, p := range c.problems {
			if p.file != file {
				continue
			}
			switch {
			case p.line == anyLine,
				p.line == noLine && lineNo == 0,
				p.line > 0 && p.line == lineNo:
				ok, found[i] = true, true
			}
		}
		if !ok {
			t.Errorf("unexpected problem line %q (want one of %s)", l, describeProblems(c.problems))
		}
	}
	for i, p := range c.problems {
		if !found[i] {
			t.Errorf("no stderr line for %s\nstderr:\n%s", describeProblems([]wantProblem{p}), stderr)
		}
	}
}

func describeProblems(ps []wantProblem) string {
	var parts []string
	for _, p := range ps {
		switch p.line {
		case noLine:
			parts = append(parts, p.file+": (no line)")
		case anyLine:
			parts = append(parts, p.file+"[:LINE]:")
		default:
			parts = append(parts, fmt.Sprintf("%s:%d:", p.file, p.line))
		}
	}
	return strings.Join(parts, ", ")
}

// nobody is the user an unprivileged run uses.
var nobody = uint32(65534)

// makeBadRoot creates the case's files in a new root and returns it with
// the options to run niod there.
func makeBadRoot(t *testing.T, c badCase) (string, runOpts) {
	t.Helper()
	opts := runOpts{Env: map[string]string{}, Timeout: c.timeout}
	for k, v := range c.env {
		opts.Env[k] = v
	}
	var root string
	asNobody := c.unprivileged && os.Geteuid() == 0
	if asNobody {
		// nobody must reach the root and run niod there, yet not read the
		// settings file.
		dir, err := os.MkdirTemp("", "niod-e2e-perm-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		root = dir
		opts.UID = &nobody
	} else {
		root = t.TempDir()
	}
	opts.Dir = root
	for _, f := range c.files {
		path := filepath.Join(root, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch f.kind {
		case "dir":
			err = os.Mkdir(path, 0o755)
		case "symlink":
			err = os.Symlink(f.content, path)
		case "fifo":
			err = syscall.Mkfifo(path, 0o600)
		default:
			mode := f.mode
			if mode == 0 {
				mode = 0o600
			}
			if c.unprivileged && !asNobody {
				mode = 0 // not root: a mode-000 file is unreadable
			}
			err = writeFile(path, []byte(f.content), mode)
		}
		if err != nil {
			t.Fatalf("create %s: %v", f.name, err)
		}
	}
	if c.credsDir != "" {
		opts.Env["CREDENTIALS_DIRECTORY"] = filepath.Join(root, c.credsDir)
	}
	return root, opts
}

// TestShowOrigin checks the "# FILE:LINE" comment niod writes above each key.
func TestShowOrigin(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"a.conf": "[DEFAULT]\n" + // 1
			"d = 1\n" + // 2
			"[s]\n" + // 3
			"x = 1\n" + // 4
			"y = 2\n" + // 5
			"  more\n" + // 6
			"z = [[ENV_Z]]\n", // 7
		"conf.d/b.conf": "# override\n" + // 1
			"[s]\n" + // 2
			"\n" + // 3
			"y = 3\n" + // 4
			"  multi\n" + // 5
			"[t]\n" + // 6
			"w = [[u]]\n" + // 7
			"[user_defined]\n" + // 8
			"u = from user_defined\n", // 9
	}
	for name, content := range files {
		if err := writeFile(filepath.Join(root, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts := runOpts{Dir: root, Env: map[string]string{"ENV_Z": "zed"}}
	args := []string{"config", "-r", root, "-s", "a.conf", "-s", "conf.d/b.conf"}

	plain, stderr, code := runNiod(t, opts, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	out, stderr, code := runNiod(t, opts, append(args, "--show-origin")...)
	assertNoCrash(t, out, stderr)
	if code != 0 {
		t.Fatalf("--show-origin: exit %d\n%s", code, stderr)
	}

	want := map[string]string{
		"DEFAULT/d":      "a.conf:2",
		"s/x":            "a.conf:4",
		"s/y":            "conf.d/b.conf:4",
		"s/z":            "a.conf:7",
		"t/w":            "conf.d/b.conf:7",
		"user_defined/u": "conf.d/b.conf:9",
	}
	origin := regexp.MustCompile(`^# (.+?):([0-9]+)(?:[^0-9].*)?$`)
	got := map[string]string{}
	section := ""
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		switch {
		case l == "" || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "#"):
			continue
		case strings.HasPrefix(l, "["):
			section = strings.TrimSuffix(strings.TrimPrefix(l, "["), "]")
			continue
		}
		key, _, ok := strings.Cut(l, " = ")
		if !ok {
			t.Errorf("line %d is not key = value: %q", i+1, l)
			continue
		}
		if i == 0 {
			t.Errorf("key line %q has no origin comment above it", l)
			continue
		}
		m := origin.FindStringSubmatch(lines[i-1])
		if m == nil {
			t.Errorf("line above %q is %q, want # FILE:LINE", l, lines[i-1])
			continue
		}
		got[section+"/"+key] = m[1] + ":" + m[2]
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("origin of %s = %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("origins for %v, want exactly %v\noutput:\n%s", got, want, out)
	}

	// The comments change nothing for configparser.
	pythonPath(t)
	a, rejected := runOracle(t, []byte(plain), "readback", "-")
	if rejected {
		t.Fatalf("plain output unreadable: %s", a.Error)
	}
	b, rejected := runOracle(t, []byte(out), "readback", "-")
	if rejected {
		t.Fatalf("--show-origin output unreadable: %s", b.Error)
	}
	compareRaw(t, "defaults", a.Defaults, b.Defaults)
	compareRaw(t, "sections", a.Sections, b.Sections)
	compareRaw(t, "section order", a.Order, b.Order)
	if b.Written != plain {
		t.Errorf("--show-origin output reads back to something else:\n%s", lineDiff(plain, b.Written))
	}
}

// TestRevealAndRedaction checks which values are shown as ******** and that
// --reveal shows them all.
func TestRevealAndRedaction(t *testing.T) {
	pythonPath(t)
	root := t.TempDir()
	content := "[user_defined]\n" +
		"db_password = " + secretMark + "\n" +
		"plain_user = app\n" +
		"[app]\n" +
		"user = [[plain_user]]\n" +
		"dsn = postgres://app:[[db_password]]@db/app\n" +
		"auth = Bearer [[SERVICE_TOKEN]]\n" +
		"tls = -----BEGIN PRIVATE KEY-----\n" +
		"  MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAw\n" +
		"  -----END PRIVATE KEY-----\n" +
		"client_secret = plain-secret-777\n" +
		"My_Api_Key = mixed-case-888\n" +
		"CREDENTIALS = upper-999\n" +
		"note = nothing secret here\n"
	if err := writeFile(filepath.Join(root, "nio.conf"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SERVICE_TOKEN": "tok-ENV-456"}
	opts := runOpts{Dir: root, Env: env}
	secrets := []string{secretMark, "tok-ENV-456", "MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAw",
		"plain-secret-777", "mixed-case-888", "upper-999"}

	redacted, stderr, code := runNiod(t, opts, "config", "-r", root)
	assertNoCrash(t, redacted, stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, s := range secrets {
		if strings.Contains(redacted, s) || strings.Contains(stderr, s) {
			t.Errorf("without --reveal the output shows %q:\n%s%s", s, redacted, stderr)
		}
	}
	back, rejected := runOracle(t, []byte(redacted), "readback", "-")
	if rejected {
		t.Fatalf("redacted output unreadable: %s", back.Error)
	}
	var sections map[string]map[string]string
	if err := json.Unmarshal(back.Sections, &sections); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"user_defined": {"db_password": "********", "plain_user": "app"},
		"app": {
			"user": "app", "dsn": "********", "auth": "********", "tls": "********",
			"client_secret": "********", "My_Api_Key": "********", "CREDENTIALS": "********",
			"note": "nothing secret here",
		},
	}
	for sec, keys := range want {
		for k, v := range keys {
			if got := sections[sec][k]; got != v {
				t.Errorf("[%s] %s = %q, want %q", sec, k, got, v)
			}
		}
	}

	revealed, stderr, code := runNiod(t, opts, "config", "--reveal", "-r", root)
	assertNoCrash(t, revealed, stderr)
	if code != 0 {
		t.Fatalf("--reveal: exit %d\n%s", code, stderr)
	}
	for _, s := range secrets {
		if strings.Contains(stderr, s) {
			t.Errorf("stderr shows %q:\n%s", s, stderr)
		}
	}
	c := diffCase{name: "reveal", env: env}
	wantOut, rejected := oracleRead(t, c, root)
	if rejected {
		t.Fatalf("oracle: %s", wantOut.Error)
	}
	if revealed != wantOut.Written {
		t.Errorf("--reveal output differs from RawConfigParser.write()\n%s", lineDiff(wantOut.Written, revealed))
	}

	out, stderr, code := runNiod(t, opts, "check", "-r", root)
	if code != 0 || out != "" {
		t.Errorf("check: exit %d, stdout %q\n%s", code, out, stderr)
	}
}
