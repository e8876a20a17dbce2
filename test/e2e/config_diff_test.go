package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The differential corpus lives in testdata/diff/<case>/. A case holds its
// settings files plus, optionally:
//
//	files  the -s arguments, one per line, in order; without it the files
//	       whose names start with a digit are given in numeric order, and
//	       when there are none niod runs with its default (nio.conf)
//	env    NAME=VALUE lines added to niod's environment; a VALUE starting
//	       with a double quote is a JSON string (for newlines and the like)
//	flags  options for the run, one per line: "no-root-flag" runs niod in
//	       the copied root without -r; "unclean-root" gives -r as ROOT/./
//	       with a trailing slash; "relative-root" runs niod in the root's
//	       parent with -r ./NAME/../NAME
//
// Cases named reject-* hold input that configparser refuses (or whose
// references cannot be resolved); niod must refuse them with exit 78.
const diffDir = "testdata/diff"

var caseMeta = map[string]bool{"files": true, "env": true, "flags": true, "README": true}

type diffCase struct {
	name   string
	dir    string
	files  []string // -s arguments; nil means niod's default
	env    map[string]string
	flags  map[string]bool
	reject bool
}

func loadDiffCases(t *testing.T) []diffCase {
	t.Helper()
	entries, err := os.ReadDir(diffDir)
	if err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	var cases []diffCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := diffCase{
			name:   e.Name(),
			dir:    filepath.Join(diffDir, e.Name()),
			env:    map[string]string{},
			flags:  map[string]bool{},
			reject: strings.HasPrefix(e.Name(), "reject-"),
		}
		if data, err := os.ReadFile(filepath.Join(c.dir, "files")); err == nil {
			c.files = nonEmptyLines(string(data))
		} else {
			c.files = numberedFiles(t, c.dir)
		}
		if data, err := os.ReadFile(filepath.Join(c.dir, "env")); err == nil {
			for _, line := range nonEmptyLines(string(data)) {
				name, value, ok := strings.Cut(line, "=")
				if !ok {
					t.Fatalf("%s/env: %q is not NAME=VALUE", c.name, line)
				}
				if strings.HasPrefix(value, `"`) {
					if err := json.Unmarshal([]byte(value), &value); err != nil {
						t.Fatalf("%s/env: %s: %v", c.name, name, err)
					}
				}
				c.env[name] = value
			}
		}
		if data, err := os.ReadFile(filepath.Join(c.dir, "flags")); err == nil {
			for _, f := range nonEmptyLines(string(data)) {
				c.flags[f] = true
			}
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatal("the corpus is empty")
	}
	return cases
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var leadingNumber = regexp.MustCompile(`^[0-9]+`)

func numberedFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && leadingNumber.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	num := func(s string) int {
		n, _ := strconv.Atoi(leadingNumber.FindString(s))
		return n
	}
	sort.Slice(names, func(i, j int) bool { return num(names[i]) < num(names[j]) })
	return names
}

// oracleResult is what configparser_oracle.py prints.
type oracleResult struct {
	Defaults json.RawMessage `json:"defaults"`
	Sections json.RawMessage `json:"sections"`
	Order    json.RawMessage `json:"order"`
	Written  string          `json:"written"`
	Error    string          `json:"error"`
	Type     string          `json:"type"`
}

// runOracle runs the oracle with args; rejected reports exit 1 (configparser
// or the resolution refused the input).
func runOracle(t *testing.T, stdin []byte, args ...string) (res oracleResult, rejected bool) {
	t.Helper()
	py := pythonPath(t)
	script := filepath.Join(moduleRoot, "test", "e2e", "testdata", "configparser_oracle.py")
	cmd := exec.Command(py, append([]string{script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("oracle: %v", err)
		}
		code = ee.ExitCode()
	}
	if code != 0 && code != 1 {
		t.Fatalf("oracle %v failed (exit %d):\n%s%s", args, code, out.String(), errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("oracle output is not JSON: %v\n%s", err, out.String())
	}
	return res, code == 1
}

// prepareCase copies a case into a fresh root and returns the root, the
// directory to run niod in and the niod arguments that select the files.
func prepareCase(t *testing.T, c diffCase) (root, dir string, args []string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "project")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	copyTree(t, c.dir, root, caseMeta)
	dir = root
	switch {
	case c.flags["no-root-flag"]:
	case c.flags["unclean-root"]:
		args = append(args, "-r", root+"/./")
	case c.flags["relative-root"]:
		dir = filepath.Dir(root)
		args = append(args, "-r", "./project/../project")
	default:
		args = append(args, "-r", root)
	}
	for _, f := range c.files {
		args = append(args, "-s", f)
	}
	return root, dir, args
}

func oracleRead(t *testing.T, c diffCase, root string) (oracleResult, bool) {
	t.Helper()
	envJSON, err := json.Marshal(baseEnv(c.env))
	if err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(envFile, envJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	files := c.files
	if len(files) == 0 {
		files = []string{"nio.conf"}
	}
	args := append([]string{"read", "--root", root, "--env", envFile}, files...)
	return runOracle(t, nil, args...)
}

func TestConfigDiff(t *testing.T) {
	pythonPath(t)
	n := 0
	for _, c := range loadDiffCases(t) {
		if c.reject {
			continue
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root, dir, args := prepareCase(t, c)
			want, rejected := oracleRead(t, c, root)
			if rejected {
				t.Fatalf("configparser refuses this case (%s: %s); name it reject-* or fix it", want.Type, want.Error)
			}

			stdout, stderr, code := runNiod(t, runOpts{Dir: dir, Env: c.env},
				append([]string{"config", "--reveal"}, args...)...)
			assertNoCrash(t, stdout, stderr)
			if code != 0 {
				t.Fatalf("niod config exit %d, want 0\nstderr:\n%s", code, stderr)
			}
			if stdout != want.Written {
				t.Errorf("niod output differs from RawConfigParser.write()\n%s", lineDiff(want.Written, stdout))
			}

			back, rejected := runOracle(t, []byte(stdout), "readback", "-")
			if rejected {
				t.Fatalf("configparser cannot read niod's output back: %s: %s", back.Type, back.Error)
			}
			compareRaw(t, "defaults", want.Defaults, back.Defaults)
			compareRaw(t, "sections", want.Sections, back.Sections)
			compareRaw(t, "section order", want.Order, back.Order)

			// check accepts what config accepts, and prints nothing.
			stdout, stderr, code = runNiod(t, runOpts{Dir: dir, Env: c.env},
				append([]string{"check"}, args...)...)
			assertNoCrash(t, stdout, stderr)
			if code != 0 || stdout != "" {
				t.Errorf("niod check: exit %d, stdout %q, want 0 and nothing\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
	if n < 25 {
		t.Errorf("the corpus has %d accepted cases, want at least 25", n)
	}
}

func TestConfigRejectedLikeConfigparser(t *testing.T) {
	pythonPath(t)
	n := 0
	for _, c := range loadDiffCases(t) {
		if !c.reject {
			continue
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root, dir, args := prepareCase(t, c)
			res, rejected := oracleRead(t, c, root)
			if !rejected {
				t.Fatalf("configparser accepts this case; it is named reject-*:\n%s", res.Written)
			}
			for _, sub := range []string{"config", "check"} {
				stdout, stderr, code := runNiod(t, runOpts{Dir: dir, Env: c.env},
					append([]string{sub}, args...)...)
				assertNoCrash(t, stdout, stderr)
				if code != 78 {
					t.Errorf("niod %s: exit %d, want 78 (configparser: %s: %s)\nstdout:\n%s\nstderr:\n%s",
						sub, code, res.Type, res.Error, stdout, stderr)
				}
				if strings.TrimSpace(stderr) == "" {
					t.Errorf("niod %s: exit %d with nothing on stderr", sub, code)
				}
			}
		})
	}
	if n < 5 {
		t.Errorf("the corpus has %d reject-* cases, want at least 5", n)
	}
}

// compareRaw compares two JSON values printed by the oracle (same encoder,
// so equal data means equal bytes, key order included).
func compareRaw(t *testing.T, what string, want, got json.RawMessage) {
	t.Helper()
	if !bytes.Equal(want, got) {
		t.Errorf("read back from niod's output, %s differ:\nfrom the inputs: %s\nfrom niod:       %s", what, want, got)
	}
}

// lineDiff shows the first differing line of two texts, with the lines
// around it quoted so that invisible characters show.
func lineDiff(want, got string) string {
	wl := strings.SplitAfter(want, "\n")
	gl := strings.SplitAfter(got, "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	var b strings.Builder
	from := max(i-2, 0)
	b.WriteString("first difference at output line " + strconv.Itoa(i+1) + "\n")
	for j := from; j < i+3; j++ {
		if j < len(wl) {
			b.WriteString("  want " + strconv.Quote(wl[j]) + "\n")
		}
		if j < len(gl) {
			b.WriteString("  got  " + strconv.Quote(gl[j]) + "\n")
		}
	}
	return b.String()
}
