package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileLimit is the address space niod gets in these tests: far more
// than a Go binary needs, far less than what an unbounded expansion takes,
// so that a regression fails the test instead of eating the host's memory.
const hostileLimit = 8 << 30

// hostileRun is what one run of niod under hostileLimit did.
type hostileRun struct {
	stdout, stderr string // the first MiB of each
	stderrBytes    int64  // all it wrote on stderr
	code           int
	maxRSS         int64 // bytes, from wait4's rusage
}

// hostileHelperEnv, set, makes the test binary (TestMain) run niod as the
// JSON-encoded hostileJob it holds, and nothing else.
const hostileHelperEnv = "NIOD_E2E_HOSTILE_JOB"

// hostileJob is one run of niod by runHostileJob.
type hostileJob struct {
	Dir    string
	Env    []string
	Args   []string
	Stdout string // files for niod's output
	Stderr string
	Usage  string // file for "EXITCODE MAXRSS_KIB"
}

// runHostile runs niod in dir with args under hostileLimit (through
// prlimit, which execs it) and reports its peak memory and output.
//
// niod is started by a fresh copy of the test binary, not by this process:
// Go starts a child with vfork, and the kernel counts the parent's peak
// memory at exec into the child's rusage, so a child of a test process
// that has grown would seem as large as it.
func runHostile(t *testing.T, dir string, env map[string]string, args ...string) hostileRun {
	t.Helper()
	tmp := t.TempDir()
	job := hostileJob{Dir: dir, Env: envList(baseEnv(env)), Args: args,
		Stdout: filepath.Join(tmp, "stdout"), Stderr: filepath.Join(tmp, "stderr"), Usage: filepath.Join(tmp, "usage")}
	spec, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), hostileHelperEnv+"="+string(spec), "E2E_NIOD_BIN="+niodBin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("niod %s: still running after 2 minutes (killed)", strings.Join(args, " "))
	}
	if err != nil {
		t.Fatalf("niod %s: helper: %v\n%s", strings.Join(args, " "), err, out)
	}
	usage, err := os.ReadFile(job.Usage)
	if err != nil {
		t.Fatal(err)
	}
	var r hostileRun
	if _, err := fmt.Sscan(string(usage), &r.code, &r.maxRSS); err != nil {
		t.Fatalf("usage %q: %v", usage, err)
	}
	r.maxRSS <<= 10 // KiB on Linux
	r.stdout, _ = readHead(t, job.Stdout)
	r.stderr, r.stderrBytes = readHead(t, job.Stderr)
	return r
}

// readHead returns the first MiB of a file and its size.
func readHead(t *testing.T, path string) (string, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, min(st.Size(), 1<<20))
	n, _ := io.ReadFull(f, buf)
	return string(buf[:n]), st.Size()
}

// runHostileJob runs niod as job says, in the copy of the test binary that
// runHostile starts, and writes its exit code and peak memory.
func runHostileJob(spec string) error {
	var job hostileJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		return err
	}
	name, argv := niodBin, job.Args
	if p, err := exec.LookPath("prlimit"); err == nil {
		name, argv = p, append([]string{"--as=" + strconv.Itoa(hostileLimit), "--", niodBin}, job.Args...)
	}
	cmd := exec.Command(name, argv...)
	cmd.Dir, cmd.Env = job.Dir, job.Env
	for _, f := range []struct {
		path string
		w    *io.Writer
	}{{job.Stdout, &cmd.Stdout}, {job.Stderr, &cmd.Stderr}} {
		out, err := os.Create(f.path)
		if err != nil {
			return err
		}
		defer out.Close()
		*f.w = out
	}
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return err
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no rusage")
	}
	usage := fmt.Sprintf("%d %d\n", cmd.ProcessState.ExitCode(), ru.Maxrss)
	return os.WriteFile(job.Usage, []byte(usage), 0o600)
}

// writeHostile writes a settings file built by fill into a new root.
func writeHostile(t *testing.T, name string, mode os.FileMode, fill func(b *strings.Builder)) string {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	fill(&b)
	if err := writeFile(filepath.Join(root, name), []byte(b.String()), mode); err != nil {
		t.Fatal(err)
	}
	return root
}

// shortName is the n-th of a million short [user_defined] names.
func shortName(n int) string { return "v" + strconv.FormatInt(int64(n), 36) }

func TestHostileConfigBounds(t *testing.T) {
	tests := []struct {
		name    string
		fill    func(b *strings.Builder)
		maxRSS  int64
		stderr  []string // each in stderr
		lines   int      // stderr lines, exactly
		maxErrB int64    // bytes on stderr, at most
		last    *regexp.Regexp
	}{
		{
			name: "forty lines that double",
			fill: func(b *strings.Builder) {
				b.WriteString("[user_defined]\nL0 = x\n")
				for i := 1; i < 40; i++ {
					fmt.Fprintf(b, "L%d = [[L%d]][[L%d]]\n", i, i-1, i-1)
				}
			},
			maxRSS:  64 << 20,
			stderr:  []string{"hostile.conf:23: [user_defined] L21: with [[L20]] filled in, the value is larger than 1 MiB"},
			lines:   1,
			maxErrB: 1 << 10,
		},
		{
			name: "a chain a million deep",
			fill: func(b *strings.Builder) {
				b.WriteString("[s]\ntop = [[" + shortName(999999) + "]]\n[user_defined]\n")
				for i := 999999; i > 0; i-- {
					b.WriteString(shortName(i) + "=[[" + shortName(i-1) + "]]\n")
				}
				b.WriteString(shortName(0) + "=end\n")
			},
			maxRSS:  512 << 20, // a million values to parse
			stderr:  []string{"makes a chain of references more than 64 deep"},
			lines:   1,
			maxErrB: 1 << 10,
		},
		{
			name: "sixteen megabytes of bad lines",
			fill: func(b *strings.Builder) {
				b.WriteString("[s]\n")
				for b.Len() < 16<<20-16 {
					b.WriteString("x\n")
				}
			},
			maxRSS:  128 << 20,
			stderr:  []string{"hostile.conf:2: line is neither", "hostile.conf:101: line is neither"},
			last:    regexp.MustCompile(`^\.\.\. and [0-9]+ more problems \(fix these first\)$`),
			lines:   101,
			maxErrB: 64 << 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeHostile(t, "hostile.conf", 0o600, tt.fill)
			for _, cmd := range []string{"config", "check"} {
				r := runHostile(t, root, nil, cmd, "-r", root, "-s", "hostile.conf")
				assertNoCrash(t, r.stdout, r.stderr)
				if r.code != 78 {
					t.Fatalf("niod %s: exit %d, want 78\nstderr (%d bytes):\n%.2000s", cmd, r.code, r.stderrBytes, r.stderr)
				}
				if r.maxRSS > tt.maxRSS {
					t.Errorf("niod %s: peak memory %d MiB, want at most %d MiB", cmd, r.maxRSS>>20, tt.maxRSS>>20)
				}
				if r.stderrBytes > tt.maxErrB {
					t.Errorf("niod %s: %d bytes on stderr, want at most %d", cmd, r.stderrBytes, tt.maxErrB)
				}
				if n := strings.Count(r.stderr, "\n"); n != tt.lines {
					t.Errorf("niod %s: %d lines on stderr, want %d:\n%.3000s", cmd, n, tt.lines, r.stderr)
				}
				lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
				if tt.last != nil && !tt.last.MatchString(lines[len(lines)-1]) {
					t.Errorf("niod %s: last line %q", cmd, lines[len(lines)-1])
				}
				for _, want := range tt.stderr {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("niod %s: stderr lacks %q:\n%.3000s", cmd, want, r.stderr)
					}
				}
				t.Logf("niod %s: peak memory %d MiB, %d bytes on stderr", cmd, r.maxRSS>>20, r.stderrBytes)
			}
		})
	}
}

func TestHostileConfigReferencedSecret(t *testing.T) {
	const conf = "[user_defined]\n" + // 1
		"raw = " + secretMark + "\n" + // 2
		"host = db.example\n" + // 3
		"[x]\n" + // 4
		"password = [[raw]]\n" + // 5
		"url = pg://app:[[raw]]@[[host]]/app\n" // 6

	t.Run("masked", func(t *testing.T) {
		root := t.TempDir()
		if err := writeFile(filepath.Join(root, "nio.conf"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := runNiod(t, runOpts{Dir: root}, "config", "-r", root)
		assertNoCrash(t, stdout, stderr)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if strings.Contains(stdout+stderr, secretMark) {
			t.Errorf("the secret shows:\n%s%s", stdout, stderr)
		}
		for _, want := range []string{"raw = ********\n", "host = db.example\n", "password = ********\n", "url = ********\n"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		stdout, _, code = runNiod(t, runOpts{Dir: root}, "config", "-r", root, "--reveal")
		if code != 0 || !strings.Contains(stdout, "raw = "+secretMark+"\n") {
			t.Errorf("--reveal: exit %d\n%s", code, stdout)
		}
	})

	for _, c := range []struct{ name, nio, secrets string }{
		{"refused in a file others can read", conf, ""},
		{"refused when the secret refers to it from another file", conf[:strings.Index(conf, "[x]")], conf[strings.Index(conf, "[x]"):]},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if err := writeFile(filepath.Join(root, "nio.conf"), []byte(c.nio), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := writeFile(filepath.Join(root, "secrets.conf"), []byte("[s]\n"+c.secrets), 0o600); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := runNiod(t, runOpts{Dir: root}, "config", "-r", root, "-s", "nio.conf", "-s", "secrets.conf")
			assertNoCrash(t, stdout, stderr)
			if code != 78 || stderr != "nio.conf:2: raw holds a secret but the file is readable by group or others (mode 0644); run: chmod 600 nio.conf\n" {
				t.Errorf("exit %d, stderr:\n%s", code, stderr)
			}
			if strings.Contains(stdout+stderr, secretMark) {
				t.Errorf("the secret shows:\n%s%s", stdout, stderr)
			}
		})
	}

	t.Run("a secret in [niod] command", func(t *testing.T) {
		root := t.TempDir()
		content := "[niod]\ncommand = /bin/true --password [[DB_PASSWORD]]\n[s]\nk = v\n"
		if err := writeFile(filepath.Join(root, "nio.conf"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := runOpts{Dir: root, Env: map[string]string{"DB_PASSWORD": secretMark}}
		stdout, stderr, code := runNiod(t, opts, "config", "-r", root)
		assertNoCrash(t, stdout, stderr)
		if code != 0 || !strings.Contains(stdout, "command = ********\n") || !strings.Contains(stderr, "nio.conf:2: [niod] command holds a secret") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, secretMark) {
			t.Errorf("the secret shows:\n%s%s", stdout, stderr)
		}

		// A quote left open: the message does not show the command.
		content = "[niod]\ncommand = /bin/true \"--password [[DB_PASSWORD]]\n"
		if err := writeFile(filepath.Join(root, "nio.conf"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code = runNiod(t, opts, "check", "-r", root)
		if code != 78 || stderr != "nio.conf:2: [niod] command = ********: has a quote that is never closed\n" {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// TestHostileConfigRootTakesNoOptionsFromUsers checks that niod run as root
// refuses [niod] options that another user could have written, and still
// takes the runtime's own settings from such a file.
func TestHostileConfigRootTakesNoOptionsFromUsers(t *testing.T) {
	a := makeAccount(t, 0)
	root := publicDir(t, "niod-e2e-strict-")
	write := func(name, content string, uid int) {
		t.Helper()
		path := filepath.Join(root, name)
		if err := writeFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, uid, -1); err != nil {
			t.Fatal(err)
		}
	}
	// Without NIOD_ALLOW_ROOT, only the file could allow root.
	env := map[string]string{"NIOD_ALLOW_ROOT": ""}
	write("nio.conf", "[niod]\nallow_root = true\ncommand = /bin/true\n[s]\nk = v\n", a.uid)

	_, stderr, code := runNiod(t, runOpts{Dir: root, Env: env}, "check", "-r", root)
	assertNoCrash(t, stderr)
	owner := fmt.Sprintf("nio.conf is writable by uid %d (its owner) and niod runs as root", a.uid)
	want := []string{
		"nio.conf:2: [niod] allow_root: " + owner + ": it takes no [niod] options from a file another user can change (chown root nio.conf)",
		"nio.conf:3: [niod] command: " + owner + ": it takes no [niod] options from a file another user can change (chown root nio.conf)",
	}
	if code != 78 || stderr != strings.Join(want, "\n")+"\n" {
		t.Errorf("a file of uid %d: exit %d, stderr:\n%s\nwant exit 78 and\n%s\n(cmd/niod must set config.Request.Strict when it runs as root)",
			a.uid, code, stderr, strings.Join(want, "\n"))
	}

	// The same options from root's file, the runtime's settings from the
	// user's: accepted.
	write("nio.conf", "[niod]\nallow_root = true\ncommand = /bin/true\n", 0)
	write("app.conf", "[s]\nk = v\n", a.uid)
	stdout, stderr, code := runNiod(t, runOpts{Dir: root, Env: env}, "check", "-r", root, "-s", "nio.conf", "-s", "app.conf")
	assertNoCrash(t, stdout, stderr)
	if code != 0 {
		t.Errorf("root's options, the user's sections: exit %d, stderr:\n%s", code, stderr)
	}

	// A directory above that the user owns is as bad as the file.
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(sub, a.uid, -1); err != nil {
		t.Fatal(err)
	}
	write("sub/nio.conf", "[niod]\nallow_root = true\n", 0)
	_, stderr, code = runNiod(t, runOpts{Dir: root, Env: env}, "check", "-r", root, "-s", "sub/nio.conf")
	wantLine := fmt.Sprintf("sub/nio.conf:2: [niod] allow_root: sub/nio.conf is in %s, which is writable by uid %d (its owner) and niod runs as root: "+
		"it takes no [niod] options from a file another user can change (chown root %s)\n", sub, a.uid, sub)
	if code != 78 || stderr != wantLine {
		t.Errorf("a directory of uid %d: exit %d, stderr:\n%s\nwant\n%s", a.uid, code, stderr, wantLine)
	}
}
