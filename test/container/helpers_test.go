package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// secretsTarget is where the image's NIOD_SETTINGS expects secrets.conf.
	secretsTarget = "/run/secrets/secrets.conf"
	// testConfTarget is where a test's extra settings file is mounted.
	testConfTarget = "/nio/test.conf"
	// nioUID is the image's nio user and group.
	nioUID = 999
	// startTimeout bounds how long a container may take to be healthy and
	// ready, exitTimeout how long one may take to end: generous, they are
	// deadlines for a hung test, not measurements.
	startTimeout = 90 * time.Second
	exitTimeout  = 90 * time.Second
)

// ctr is a container of one test, removed when the test ends.
type ctr struct {
	t    *testing.T
	name string
}

// runOpts says how to run the image.
type runOpts struct {
	// podman are options of podman run, before the image.
	podman []string
	// cmd replaces the image's CMD when set.
	cmd []string
	// network leaves the network to the podman options (a published
	// port); otherwise the container gets --network none.
	network bool
}

var nameChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// run starts the image detached, named after the test (unique: a random
// suffix), labelled for the sweep, and removes it in t.Cleanup, printing
// its log when the test failed.
func run(t *testing.T, o runOpts) *ctr {
	t.Helper()
	c := &ctr{t: t, name: uniqueName(t)}
	args := []string{"run", "-d", "--name", c.name, "--label", label + "=1",
		// No systemd to run the healthcheck's timer: the tests run
		// `podman healthcheck run` themselves.
		"--health-interval", "disable"}
	if !o.network {
		args = append(args, "--network", "none")
	}
	args = append(args, o.podman...)
	args = append(args, image)
	args = append(args, o.cmd...)
	started := false
	t.Cleanup(func() {
		if t.Failed() && started {
			t.Logf("log of %s:\n%s", c.name, c.logs())
		}
		if _, err := podmanOK(time.Minute, "rm", "--force", "--ignore", "-t", "0", c.name); err != nil {
			t.Errorf("remove %s: %v", c.name, err)
		}
	})
	if _, err := podmanOK(time.Minute, args...); err != nil {
		t.Fatal(err)
	}
	started = true
	return c
}

func uniqueName(t *testing.T) string {
	b := make([]byte, 3)
	rand.Read(b)
	name := strings.ToLower(nameChars.ReplaceAllString(t.Name(), "-"))
	if len(name) > 40 {
		name = name[:40]
	}
	return label + "-" + strings.Trim(name, "-") + "-" + hex.EncodeToString(b)
}

// logs is the container's output, stdout and stderr as they came.
func (c *ctr) logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := podmanCmd(ctx, "logs", c.name).CombinedOutput()
	if err != nil {
		return "(no log: " + err.Error() + ")\n" + string(out)
	}
	return string(out)
}

// streams is the container's stdout (the reference runtime's lines) and
// stderr (niod's log): the order within each is certain, not between them.
func (c *ctr) streams() (stdout, stderr string) {
	c.t.Helper()
	out, errOut, _, err := podman(time.Minute, "logs", c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	return out, errOut
}

// waitLog waits until niod's log (stderr) holds each of want, in that
// order, and returns it.
func (c *ctr) waitLog(timeout time.Duration, want ...string) string {
	c.t.Helper()
	return c.waitStream(timeout, false, want...)
}

// waitRuntime is waitLog for the runtime's stdout.
func (c *ctr) waitRuntime(timeout time.Duration, want ...string) string {
	c.t.Helper()
	return c.waitStream(timeout, true, want...)
}

func (c *ctr) waitStream(timeout time.Duration, stdout bool, want ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, errOut := c.streams()
		log := errOut
		if stdout {
			log = out
		}
		if inOrder(log, want...) {
			return log
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: the log does not hold %q (in that order) after %s:\n%s", c.name, want, timeout, c.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// inOrder reports whether text holds each of want, one after the other.
func inOrder(text string, want ...string) bool {
	for _, w := range want {
		i := strings.Index(text, w)
		if i < 0 {
			return false
		}
		text = text[i+len(w):]
	}
	return true
}

// linesInOrder reports whether text has each of want as a whole line, one
// after the other.
func linesInOrder(text string, want ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		if len(want) > 0 && line == want[0] {
			want = want[1:]
		}
	}
	return len(want) == 0
}

// inspect returns podman inspect's --format of the container.
func (c *ctr) inspect(format string) string {
	c.t.Helper()
	out, err := podmanOK(time.Minute, "inspect", "--format", format, c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// running reports whether the container runs.
func (c *ctr) running() bool {
	return c.inspect("{{.State.Running}}") == "true"
}

// exitCode waits for the container to end and returns its exit code.
func (c *ctr) exitCode() int {
	c.t.Helper()
	out, err := podmanOK(exitTimeout, "wait", c.name)
	if err != nil {
		c.t.Fatalf("%s did not end: %v\n%s", c.name, err, c.logs())
	}
	code, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		c.t.Fatalf("podman wait %s: %q", c.name, out)
	}
	return code
}

// exec runs a command in the container as its user, with its environment.
func (c *ctr) exec(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	out, errOut, code, err := podman(time.Minute, append([]string{"exec", c.name}, args...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out, engineNoise(errOut), code
}

// waitHealthy waits until `podman healthcheck run` passes (the image's
// HEALTHCHECK, niod status --live) and niod says the runtime is ready, and
// returns `niod status`.
func (c *ctr) waitHealthy() string {
	c.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		_, errOut, code, err := podman(time.Minute, "healthcheck", "run", c.name)
		if err != nil {
			c.t.Fatal(err)
		}
		if code == 0 {
			break
		}
		if !c.running() {
			c.t.Fatalf("%s ended before it was healthy (exit code %s):\n%s", c.name, c.inspect("{{.State.ExitCode}}"), c.logs())
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s is not healthy after %s: %s\n%s", c.name, startTimeout, engineNoise(errOut), c.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if h := c.inspect("{{.State.Health.Status}}"); h != "healthy" {
		c.t.Fatalf("%s: healthcheck passed, but podman says %q", c.name, h)
	}
	if out, errOut, code := c.exec("niod", "wait", "--ready", "--timeout", startTimeout.String()); code != 0 {
		c.t.Fatalf("%s: niod wait --ready: exit %d: %s%s\n%s", c.name, code, out, errOut, c.logs())
	}
	status, errOut, code := c.exec("niod", "status")
	if code != 0 || !regexp.MustCompile(`(?m)^state\s+ready$`).MatchString(status) {
		c.t.Fatalf("%s: niod status: exit %d, not ready:\n%s%s", c.name, code, status, errOut)
	}
	if _, _, code := c.exec("niod", "status", "--ready"); code != 0 {
		c.t.Fatalf("%s: niod status --ready: exit %d after niod status said ready", c.name, code)
	}
	return status
}

// statusJSON is `niod status --json` in the container.
func (c *ctr) statusJSON() map[string]any {
	c.t.Helper()
	out, errOut, code := c.exec("niod", "status", "--json")
	if code != 0 {
		c.t.Fatalf("niod status --json: exit %d: %s", code, errOut)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		c.t.Fatalf("niod status --json: %v: %s", err, out)
	}
	return st
}

// proc is a process of the container, seen from the host.
type proc struct {
	hostPID, pid int // pid on the host and in the container
	state        byte
	comm         string
	uid          int
}

// procs lists the container's processes from the host's /proc: those in
// the pid namespace of its first process.
func (c *ctr) procs() []proc {
	c.t.Helper()
	pid1 := c.inspect("{{.State.Pid}}")
	ns, err := os.Readlink("/proc/" + pid1 + "/ns/pid")
	if err != nil {
		c.t.Fatalf("%s: pid namespace: %v", c.name, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		c.t.Fatal(err)
	}
	var out []proc
	for _, e := range entries {
		hp, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns/pid")); err != nil || l != ns {
			continue
		}
		p, ok := readProc(hp)
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// readProc reads a process's state, name, uid and innermost pid.
func readProc(hostPID int) (proc, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(hostPID))
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return proc{}, false
	}
	p := proc{hostPID: hostPID, pid: hostPID}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "Name":
			p.comm = f[0]
		case "State":
			p.state = f[0][0]
		case "Uid":
			p.uid, _ = strconv.Atoi(f[0])
		case "NSpid":
			p.pid, _ = strconv.Atoi(f[len(f)-1])
		}
	}
	return p, true
}

// describe lists processes for a failure message.
func describe(ps []proc) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  pid %d (host %d) %c %s uid %d\n", p.pid, p.hostPID, p.state, p.comm, p.uid)
	}
	return b.String()
}

// tempDir is a directory for one test in the run's work directory (a
// killed run's are removed by the next), removed when the test ends.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(work, "test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// randomSecret is a password long enough to be scrubbed and found.
func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "pw-" + hex.EncodeToString(b)
}

// secretsFile writes a secrets.conf in dir with a fresh password for the
// runtime's admin, mode 0400 owned by uid:gid, and returns its path and
// the password.
func secretsFile(t *testing.T, dir string, uid, gid int, mode os.FileMode) (path, password string) {
	t.Helper()
	password = randomSecret()
	path = filepath.Join(dir, "secrets.conf")
	text := fmt.Sprintf("[user_defined]\nADMIN_PASSWORD = %s\nPK_TOKEN = %s\n", password, randomSecret())
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path, password
}

// withSecrets mounts a secrets.conf for the image's default NIOD_SETTINGS
// (root's, 0600: niod reads it before it drops) and returns the podman
// options and the password.
func withSecrets(t *testing.T) ([]string, string) {
	t.Helper()
	path, pw := secretsFile(t, tempDir(t), 0, 0, 0o600)
	return []string{"-v", path + ":" + secretsTarget + ":ro"}, pw
}

// withTestConf mounts a settings file holding text after the image's
// settings, and returns the podman options and the host path (a test may
// rewrite it in place: the bind mount shows the change).
func withTestConf(t *testing.T, text string) ([]string, string) {
	t.Helper()
	path := filepath.Join(tempDir(t), "test.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-v", path + ":" + testConfTarget + ":ro",
		"-e", "NIOD_SETTINGS=nio.conf," + secretsTarget + "," + testConfTarget}, path
}

// with joins podman options.
func with(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// waitNoOrphans waits until none of pids (container pids) is left, as a
// process or a zombie, and the container holds no zombie at all.
func (c *ctr) waitNoOrphans(pids []int) {
	c.t.Helper()
	want := map[int]bool{}
	for _, p := range pids {
		want[p] = true
	}
	deadline := time.Now().Add(exitTimeout)
	for {
		ps := c.procs()
		var left []proc
		for _, p := range ps {
			if want[p.pid] || p.state == 'Z' {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: %d orphans or zombies left after %s:\n%s", c.name, len(left), exitTimeout, describe(left))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// orphanPIDs reads the pids the runtime logged as `orphans P...`.
func orphanPIDs(t *testing.T, log string, n int) []int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^orphans ([0-9 ]+)$`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no orphans line in the log:\n%s", log)
	}
	var pids []int
	for _, f := range strings.Fields(m[1]) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) != n {
		t.Fatalf("the runtime made %d orphans, not %d", len(pids), n)
	}
	return pids
}
