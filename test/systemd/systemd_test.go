// Package systemd runs deploy/systemd/niod.service, unchanged, under a real
// systemd: PID 1 of a systemd-nspawn container booted by harness.sh from
// the host's own /usr. niod is built from this checkout, the runtime is the
// reference one (examples/runtime), and the tests check what the unit
// promises: start returns once the runtime is ready, niod restarts a hung
// runtime, systemd restarts a frozen niod, reload, stop, the secrets'
// path, and no restart loop on bad settings.
//
// It needs root, systemd-nspawn (systemd-container), a cgroup hierarchy and
// python3 3.11+ as /usr/bin/python3. Without them the tests skip, or fail
// when CI=true. Run: go test -count=1 ./test/systemd/ (about 80 s).
//
// The container's layout is the unit's: /usr/local/bin/niod (bound from the
// host), the project in /opt/nio/project, secrets in /etc/nio/secrets.conf,
// a user nio; so the unit needs no drop-in at all.
package systemd

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"niod/test/nspawn"
	"niod/test/testbin"
)

const (
	unit        = "niod.service"
	projectDir  = "/opt/nio/project"
	runtimePath = "/opt/nio/runtime/nio_runtime.py"
	secretsPath = "/etc/nio/secrets.conf"
	clientPath  = "/opt/niod-test/get.py"
	python      = "/usr/bin/python3"
	apiPort     = 8181
	apiUser     = "admin"
)

var (
	// setupErr says why the suite cannot run; every test reports it.
	setupErr error
	// ct is the container every test uses, one after the other.
	ct *container
	// moduleRoot holds go.mod.
	moduleRoot string
	// WatchdogSec= and RestartSec= of the shipped unit.
	watchdogSec, restartSec time.Duration
)

func inCI() bool { return os.Getenv("CI") == "true" }

// need skips the test when the suite cannot run, or fails it under CI=true.
func need(t *testing.T) {
	t.Helper()
	testbin.NeedSuite(t, "systemd", setupErr)
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if moduleRoot, err = testbin.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "systemd:", err)
		return 2
	}
	stage, err := os.MkdirTemp("", "niod-systemd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "systemd:", err)
		return 2
	}
	defer os.RemoveAll(stage)

	if err := readUnitTimes(); err != nil {
		fmt.Fprintln(os.Stderr, "systemd:", err)
		return 2
	}
	if setupErr = prerequisites(); setupErr != nil {
		return m.Run()
	}
	c := &container{
		Harness: filepath.Join(moduleRoot, "test", "systemd", "harness.sh"),
		// One fixed name: a run that was killed (go test -timeout) left
		// its container behind, and the next run's `up` removes it.
		Machine: "niod-systemd-test",
	}
	// Ctrl-C or a kill: power the container off before going.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "systemd: %v: tearing the container down\n", sig)
		c.Down()
		os.Exit(1)
	}()
	if setupErr = setUp(c, stage); setupErr != nil {
		c.Down()
		return m.Run()
	}
	ct = c
	code := m.Run()
	if err := c.Down(); err != nil {
		fmt.Fprintln(os.Stderr, "systemd: teardown:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// readUnitTimes reads WatchdogSec= and RestartSec= from the shipped unit:
// the tests wait for what it says.
func readUnitTimes() error {
	data, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "systemd", "niod.service"))
	if err != nil {
		return err
	}
	for _, v := range []struct {
		key string
		d   *time.Duration
	}{{"WatchdogSec", &watchdogSec}, {"RestartSec", &restartSec}} {
		m := regexp.MustCompile(`(?m)^` + v.key + `=(\S+)\s*$`).FindSubmatch(data)
		if m == nil {
			return fmt.Errorf("deploy/systemd/niod.service: no %s=", v.key)
		}
		text := string(m[1])
		if _, err := strconv.Atoi(text); err == nil {
			text += "s" // a bare number is seconds
		}
		d, err := time.ParseDuration(strings.Replace(text, "min", "m", 1))
		if err != nil || d <= 0 {
			return fmt.Errorf("deploy/systemd/niod.service: %s=%s: the tests need a duration like 10s", v.key, m[1])
		}
		*v.d = d
	}
	return nil
}

// prerequisites returns what is missing to run the suite. Under CI=true it
// first installs what harness.sh can install.
func prerequisites() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (systemd-nspawn boots a container)")
	}
	harness := filepath.Join(moduleRoot, "test", "systemd", "harness.sh")
	if inCI() {
		if out, err := exec.Command("bash", harness, "deps").CombinedOutput(); err != nil {
			return fmt.Errorf("harness.sh deps: %v: %s", err, out)
		}
	}
	out, err := exec.Command("bash", harness, "check").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s(install with: %s deps)", out, harness)
	}
	// The container runs the host's /usr: the runtime's interpreter must be
	// there, not only in a version manager under /root.
	v, err := exec.Command(python, "-c", "import sys; print(sys.version_info >= (3, 11))").Output()
	if err != nil || strings.TrimSpace(string(v)) != "True" {
		return fmt.Errorf("needs %s, Python 3.11 or later (the container sees only the host's /usr): %v %s", python, err, v)
	}
	return nil
}

// setUp builds niod, boots the container and lays it out as the unit
// expects.
func setUp(c *container, stage string) error {
	bin := filepath.Join(stage, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	if _, err := testbin.BuildNiod(moduleRoot, filepath.Join(bin, "niod")); err != nil {
		return err
	}
	// A container left by a run that was killed: start afresh.
	if err := c.Down(); err != nil {
		return err
	}
	// The host's /usr/local/bin is hidden in the container by the
	// directory holding niod alone.
	if err := c.Up("--bind-ro", bin+":/usr/local/bin"); err != nil {
		return err
	}
	steps := [][]string{
		{"useradd", "--system", "--user-group", "--home-dir", "/opt/nio", "--no-create-home", "--shell", "/usr/sbin/nologin", "nio"},
		{"install", "-d", "-m", "755", "/opt/nio", "/opt/nio/runtime", "/opt/niod-test"},
		{"install", "-d", "-m", "755", "-o", "nio", "-g", "nio", projectDir},
		{"install", "-d", "-m", "700", "/etc/nio"},
	}
	for _, s := range steps {
		if _, err := c.RunOK(nil, s...); err != nil {
			return err
		}
	}
	files := []struct {
		src, dst string
	}{
		{"examples/runtime/nio_runtime.py", runtimePath},
		{"deploy/systemd/niod.service", "/etc/systemd/system/niod.service"},
		{"deploy/systemd/niod@.service", "/etc/systemd/system/niod@.service"},
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(moduleRoot, f.src))
		if err != nil {
			return err
		}
		if err := c.Write(f.dst, data, "644", "root:root"); err != nil {
			return err
		}
	}
	if err := c.Write(clientPath, []byte(httpClient), "755", "root:root"); err != nil {
		return err
	}
	_, err := c.RunOK(nil, "systemctl", "daemon-reload")
	return err
}

// httpClient is GET URL with Basic auth, run in the container (its own
// network namespace): prints the status (0: no answer) and the body.
const httpClient = `#!/usr/bin/python3
import base64, sys, urllib.request, urllib.error
url, user, password, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
req = urllib.request.Request(url)
if user:
    req.add_header("Authorization", "Basic " + base64.b64encode((user + ":" + password).encode()).decode())
try:
    with urllib.request.urlopen(req, timeout=timeout) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
except Exception as e:
    print(0); print(type(e).__name__, e)
`

// ---------------------------------------------------------------- container

// container is the harness's container of this suite.
type container = nspawn.Container

// ---------------------------------------------------------------- test helpers

func must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ct.RunOK(nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func show(t *testing.T, u, prop string) string {
	t.Helper()
	return strings.TrimSpace(must(t, "systemctl", "show", "-P", prop, u))
}

func showInt(t *testing.T, u, prop string) int {
	t.Helper()
	v := show(t, u, prop)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("systemctl show %s -P %s: %q is not a number", u, prop, v)
	}
	return n
}

func waitProps(t *testing.T, u string, timeout time.Duration, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	testbin.Eventually(t, timeout, fmt.Sprintf("%s %v", u, want), func() (bool, string) {
		out := must(t, "systemctl", "show", "-p", strings.Join(keys, ","), u)
		got := nspawn.ParseProps(out)
		for k, v := range want {
			if got[k] != v {
				return false, strings.ReplaceAll(strings.TrimSpace(out), "\n", " ")
			}
		}
		return true, ""
	})
}

// cursor marks the journal's current end, for journalSince.
func cursor(t *testing.T) string {
	t.Helper()
	out := must(t, "journalctl", "-q", "-n", "0", "--show-cursor")
	_, c, ok := strings.Cut(out, "-- cursor: ")
	if !ok {
		t.Fatalf("journalctl --show-cursor: %q", out)
	}
	return strings.TrimSpace(c)
}

func journalSince(t *testing.T, cur string, args ...string) string {
	t.Helper()
	must(t, "journalctl", "--sync")
	return must(t, append([]string{"journalctl", "-q", "--no-pager", "--after-cursor", cur}, args...)...)
}

// status is what the reference runtime's GET /nio answers.
type status struct {
	Instance string `json:"instance"`
	PID      int    `json:"pid"`
	Workers  []int  `json:"workers"`
}

// get asks the runtime's API inside the container; code 0 means no answer.
func get(t *testing.T, port int, path, password string, timeout time.Duration) (int, string) {
	t.Helper()
	out := must(t, clientPath, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), apiUser, password,
		strconv.FormatFloat(timeout.Seconds(), 'f', 1, 64))
	first, body, _ := strings.Cut(out, "\n")
	code, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("GET %s: %q", path, out)
	}
	return code, strings.TrimSpace(body)
}

func nioStatus(t *testing.T, password string) (status, bool) {
	t.Helper()
	code, body := get(t, apiPort, "/nio", password, 2*time.Second)
	if code != 200 {
		return status{}, false
	}
	var s status
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("GET /nio: %v: %q", err, body)
	}
	return s, true
}

// proc is one process in the container.
type proc struct {
	pid, ppid int
	user      string
	args      string
}

func procs(t *testing.T) []proc {
	t.Helper()
	out := must(t, "ps", "-e", "-o", "pid=,ppid=,user:32=,args=")
	var ps []proc
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		ppid, _ := strconv.Atoi(f[1])
		ps = append(ps, proc{pid: pid, ppid: ppid, user: f[2], args: strings.Join(f[3:], " ")})
	}
	return ps
}

// runtimePID is the runtime started by niod (pid niodPID), 0 when none.
func runtimePID(t *testing.T, niodPID int) int {
	t.Helper()
	for _, p := range procs(t) {
		if p.ppid == niodPID && strings.Contains(p.args, "nio_runtime.py") {
			return p.pid
		}
	}
	return 0
}

// userProcs lists the processes of a user.
func userProcs(t *testing.T, user string) []proc {
	t.Helper()
	var out []proc
	for _, p := range procs(t) {
		if p.user == user {
			out = append(out, p)
		}
	}
	return out
}

func alive(t *testing.T, pid int) bool {
	t.Helper()
	_, _, code, err := ct.Run(nil, "test", "-d", fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		t.Fatal(err)
	}
	return code == 0
}

func randomSecret() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "niod-test-secret-" + hex.EncodeToString(b[:])
}

// project is the settings of one test.
type project struct {
	instance string
	niod     []string // lines of [niod] besides command
	test     []string // lines of [runtime_test]
	password string
	port     int
	root     string // default projectDir
}

func (p project) conf() string {
	port := p.port
	if port == 0 {
		port = apiPort
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[user_defined]
NIOHOST = 127.0.0.1
NIOPORT = %d

[rest]
host = [[NIOHOST]]
port = [[NIOPORT]]

[instance]
name = %s

[security]
users = %s
admin_password = [[ADMIN_PASSWORD]]

[niod]
command = %s %s
`, port, p.instance, apiUser, python, runtimePath)
	for _, l := range p.niod {
		b.WriteString(l + "\n")
	}
	if len(p.test) > 0 {
		b.WriteString("\n[runtime_test]\n")
		for _, l := range p.test {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// deploy writes nio.conf and secrets.conf for the unit and makes sure the
// unit is stopped and its state reset before and after the test.
func deploy(t *testing.T, p project) project {
	t.Helper()
	need(t)
	if p.password == "" {
		p.password = randomSecret()
	}
	reset := func() {
		ct.Run(nil, "systemctl", "stop", unit)
		ct.Run(nil, "systemctl", "reset-failed", unit)
	}
	reset()
	cur := cursor(t)
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _, _ := ct.Run(nil, "journalctl", "-q", "--no-pager", "--after-cursor", cur,
				"-u", unit, "--grep", "unit-root|mount|system call|Collecting|sd-mk|sd-userns", "--invert-grep")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) > 150 {
				lines = lines[len(lines)-150:]
			}
			t.Logf("journal of %s during the test (last %d lines):\n%s", unit, len(lines), strings.Join(lines, "\n"))
		}
		// A test that stopped niod (SIGSTOP) and failed half-way.
		if pid := show(t, unit, "MainPID"); pid != "0" {
			ct.Run(nil, "kill", "-CONT", pid)
		}
		reset()
	})
	writeConf(t, p)
	if err := ct.Write(secretsPath, []byte("[user_defined]\nADMIN_PASSWORD = "+p.password+"\n"), "600", "root:root"); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeConf(t *testing.T, p project) {
	t.Helper()
	if err := ct.Write(projectDir+"/nio.conf", []byte(p.conf()), "644", "root:root"); err != nil {
		t.Fatal(err)
	}
}

// start runs systemctl start and returns how long it took.
func start(t *testing.T) time.Duration {
	t.Helper()
	t0 := time.Now()
	out, errOut, code, err := ct.Run(nil, "systemctl", "start", unit)
	d := time.Since(t0)
	if err != nil || code != 0 {
		t.Fatalf("systemctl start %s: exit %d %v: %s%s\n%s", unit, code, err, out, errOut,
			must(t, "systemctl", "status", "--no-pager", "-n", "30", unit))
	}
	return d
}

// ---------------------------------------------------------------- the unit file

// TestUnitFile: systemd-analyze verify is clean and systemd-analyze
// security rates the exposure 2.0 or lower, for the unit and the template,
// as loaded by the container's systemd 252. The constants of the tests
// match the unit.
func TestUnitFile(t *testing.T) {
	need(t)
	// verify loads the units as systemd would and checks the binaries
	// (/usr/local/bin/niod, /bin/kill) exist.
	out, errOut, code, err := ct.Run(nil, "systemd-analyze", "verify", "--man=no", unit, "niod@demo.service")
	if err != nil || code != 0 || strings.TrimSpace(out+errOut) != "" {
		t.Errorf("systemd-analyze verify: exit %d %v:\n%s%s", code, err, out, errOut)
	}
	for _, u := range []string{unit, "niod@demo.service"} {
		out := must(t, "systemd-analyze", "security", "--no-pager", u)
		m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("systemd-analyze security %s: no exposure level in:\n%s", u, out)
		}
		level, _ := strconv.ParseFloat(m[1], 64)
		t.Logf("systemd-analyze security %s: exposure %s", u, m[1])
		if level > 2.0 {
			var bad []string
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "✗") {
					bad = append(bad, line)
				}
			}
			t.Errorf("%s: exposure %s, want 2.0 or less; open items:\n%s", u, m[1], strings.Join(bad, "\n"))
		}
	}
	t.Logf("WatchdogSec=%v RestartSec=%v", watchdogSec, restartSec)
}

// ---------------------------------------------------------------- (a) ready

// TestStartReturnsWhenReady (a): systemctl start returns only once the
// runtime is ready: with ready = notify (the runtime's READY=1) and ready =
// probe (the first answer to GET /nio), a runtime that takes 2 s to listen
// answers /nio the moment systemctl start returns. ready = exec is the
// contrast: start returns at once, before the runtime listens.
func TestStartReturnsWhenReady(t *testing.T) {
	need(t)
	const delay = 2 * time.Second
	for _, mode := range []string{"notify", "probe", "exec"} {
		t.Run(mode, func(t *testing.T) {
			p := deploy(t, project{instance: "ready-" + mode,
				niod: []string{"ready = " + mode, "health_interval = 500ms", "health_timeout = 400ms"},
				test: []string{fmt.Sprintf("ready_delay = %g", delay.Seconds())}})
			took := start(t)
			code, _ := get(t, apiPort, "/nio", p.password, 5*time.Second)
			t.Logf("ready = %s: systemctl start took %v; GET /nio right after: %d", mode, took.Round(time.Millisecond), code)
			if mode == "exec" {
				if took >= delay {
					t.Errorf("ready = exec: start took %v, want less than the runtime's ready_delay %v", took, delay)
				}
				return
			}
			if took < delay {
				t.Errorf("start returned after %v, before the runtime could be ready (ready_delay %v)", took, delay)
			}
			if code != 200 {
				t.Errorf("GET /nio right after systemctl start: %d, want 200", code)
			}
			if st := show(t, unit, "ActiveState") + "/" + show(t, unit, "SubState"); st != "active/running" {
				t.Errorf("state %s, want active/running", st)
			}
			if s := show(t, unit, "StatusText"); s == "" {
				t.Errorf("no STATUS= from niod")
			} else {
				t.Logf("StatusText=%s", s)
			}
		})
	}
}

// ---------------------------------------------------------------- (b) hung runtime

// TestHungRuntimeRestarted (b): a runtime that stops answering (probe) or
// stops its WATCHDOG=1 pings (notify, no probe) is restarted by niod after
// health_grace; niod keeps pinging systemd meanwhile, so the unit stays
// active with the same niod and no restart by systemd.
func TestHungRuntimeRestarted(t *testing.T) {
	need(t)
	cases := []struct {
		name string
		niod []string
	}{
		{"probe", []string{"ready = probe"}},
		{"notify-watchdog", []string{"ready = notify", "health_url = none"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := deploy(t, project{instance: "hang-" + tc.name,
				niod: append(tc.niod, "health_interval = 1s", "health_timeout = 500ms", "health_grace = 3s"),
				test: []string{"hang_after = 4", "watchdog_interval = 0.5"}})
			start(t)
			niodPID := showInt(t, unit, "MainPID")
			restarts := showInt(t, unit, "NRestarts")
			first := runtimePID(t, niodPID)
			if first == 0 {
				t.Fatalf("no runtime under niod (pid %d): %v", niodPID, procs(t))
			}
			t0 := time.Now()
			var second int
			testbin.Eventually(t, 30*time.Second, "a new runtime pid", func() (bool, string) {
				second = runtimePID(t, niodPID)
				return second != 0 && second != first, fmt.Sprintf("runtime pid %d", second)
			})
			t.Logf("runtime %d hung after 4 s; niod started %d after %v", first, second, time.Since(t0).Round(100*time.Millisecond))
			// The new one answers (it hangs only 4 s after its own start).
			testbin.Eventually(t, 5*time.Second, "the new runtime answers /nio", func() (bool, string) {
				s, ok := nioStatus(t, p.password)
				return ok && s.PID == second, fmt.Sprintf("%+v %v", s, ok)
			})
			if alive(t, first) {
				t.Errorf("the hung runtime %d is still running", first)
			}
			if got := showInt(t, unit, "MainPID"); got != niodPID {
				t.Errorf("niod's pid changed %d -> %d: systemd restarted niod", niodPID, got)
			}
			if got := showInt(t, unit, "NRestarts"); got != restarts {
				t.Errorf("NRestarts %d -> %d, want no restart by systemd", restarts, got)
			}
			if st := show(t, unit, "ActiveState"); st != "active" {
				t.Errorf("ActiveState=%s, want active", st)
			}
		})
	}
}

// ---------------------------------------------------------------- (c) frozen niod

// TestFrozenNiodWatchdog (c): niod stopped with SIGSTOP sends no WATCHDOG=1;
// after WatchdogSec systemd records Result=watchdog, kills it and starts it
// again (NRestarts + 1) with a fresh runtime, and nothing of the old tree is
// left.
func TestFrozenNiodWatchdog(t *testing.T) {
	p := deploy(t, project{instance: "frozen", niod: []string{"ready = notify"}})
	start(t)
	old := showInt(t, unit, "MainPID")
	restarts := showInt(t, unit, "NRestarts")
	var oldTree []int
	for _, pr := range userProcs(t, "nio") {
		oldTree = append(oldTree, pr.pid)
	}
	must(t, "kill", "-STOP", strconv.Itoa(old))
	t0 := time.Now()
	waitProps(t, unit, watchdogSec+10*time.Second, map[string]string{"Result": "watchdog"})
	t.Logf("Result=watchdog %v after SIGSTOP (WatchdogSec=%v)", time.Since(t0).Round(100*time.Millisecond), watchdogSec)
	// niod pinged last at most WatchdogSec/2 before the SIGSTOP.
	if d := time.Since(t0); d < watchdogSec/2-time.Second {
		t.Errorf("watchdog fired %v after the SIGSTOP, sooner than WatchdogSec=%v allows", d, watchdogSec)
	}
	waitProps(t, unit, restartSec+20*time.Second, map[string]string{
		"NRestarts": strconv.Itoa(restarts + 1), "ActiveState": "active", "SubState": "running"})
	t.Logf("running again %v after SIGSTOP", time.Since(t0).Round(100*time.Millisecond))
	if now := showInt(t, unit, "MainPID"); now == old || now == 0 {
		t.Errorf("MainPID %d after the restart, was %d", now, old)
	}
	for _, pid := range oldTree {
		if alive(t, pid) {
			t.Errorf("process %d of the frozen niod's tree is still there", pid)
		}
	}
	if _, ok := nioStatus(t, p.password); !ok {
		t.Errorf("the new runtime does not answer /nio")
	}
}

// ---------------------------------------------------------------- (d) reload

// TestReload (d): systemctl reload with changed settings: the runtime
// restarts with them (GET /nio shows the new instance name), niod stays;
// with broken settings: the unit stays active and the same runtime keeps
// running with the old settings.
func TestReload(t *testing.T) {
	p := deploy(t, project{instance: "before", niod: []string{"ready = notify"}})
	start(t)
	niodPID := showInt(t, unit, "MainPID")
	s1, ok := nioStatus(t, p.password)
	if !ok || s1.Instance != "before" {
		t.Fatalf("GET /nio before the reload: %+v %v", s1, ok)
	}

	cur := cursor(t)
	p.instance = "after"
	writeConf(t, p)
	must(t, "systemctl", "reload", unit)
	var s2 status
	testbin.Eventually(t, 20*time.Second, "GET /nio shows instance after", func() (bool, string) {
		s2, ok = nioStatus(t, p.password)
		return ok && s2.Instance == "after", fmt.Sprintf("%+v", s2)
	})
	waitProps(t, unit, 10*time.Second, map[string]string{"ActiveState": "active", "SubState": "running"})
	if s2.PID == s1.PID {
		t.Errorf("runtime pid %d unchanged: the new settings need a new runtime", s2.PID)
	}
	if got := showInt(t, unit, "MainPID"); got != niodPID {
		t.Errorf("niod's pid changed %d -> %d on reload", niodPID, got)
	}
	j := journalSince(t, cur, "_PID=1")
	re := regexp.MustCompile(fmt.Sprintf(`Got notification message from PID %d \(RELOADING=1, MONOTONIC_USEC=\d+`, niodPID))
	if !re.MatchString(j) {
		t.Errorf("no RELOADING=1 + MONOTONIC_USEC from niod in PID 1's log:\n%s", grepLines(j, "notification"))
	}

	// Broken settings: a line that is no INI at all.
	cur = cursor(t)
	broken := p
	broken.test = []string{"this line is not a setting"}
	writeConf(t, broken)
	must(t, "systemctl", "reload", unit)
	testbin.Eventually(t, 10*time.Second, "niod reports the broken settings", func() (bool, string) {
		j := journalSince(t, cur, "-u", unit)
		return strings.Contains(j, "settings not reloaded"), grepLines(j, "niod")
	})
	waitProps(t, unit, 10*time.Second, map[string]string{"ActiveState": "active", "SubState": "running"})
	s3, ok := nioStatus(t, p.password)
	if !ok || s3.PID != s2.PID || s3.Instance != "after" {
		t.Errorf("after a reload with broken settings GET /nio = %+v (ok %v), want the running runtime %d, instance after", s3, ok, s2.PID)
	}
	if got := showInt(t, unit, "MainPID"); got != niodPID {
		t.Errorf("niod's pid changed %d -> %d", niodPID, got)
	}
}

// scanner prints every process environment, command line and file under
// /run/niod and the service's /tmp that holds the secret read from stdin.
const scanner = `import glob, os, sys
secret = sys.stdin.read().encode()
me = str(os.getpid())
for d in glob.glob("/proc/[0-9]*"):
    pid = d[6:]
    if pid == me:
        continue
    for f in ("environ", "cmdline"):
        try:
            data = open(d + "/" + f, "rb").read()
        except OSError:
            continue
        if secret in data:
            cmd = open(d + "/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            print(pid, f, cmd)
for top in ["/run/niod"] + glob.glob("/tmp/systemd-private-*-niod.service-*"):
    for root, dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            try:
                if secret in open(path, "rb").read():
                    print(path)
            except OSError:
                pass
`

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// ---------------------------------------------------------------- (e) stop

// TestStop (e): systemctl stop: niod tells systemd STOPPING=1 (PID 1's debug
// log), stops the runtime and its workers, ends with 143 which the unit
// counts as success, and no process of the tree is left.
func TestStop(t *testing.T) {
	deploy(t, project{instance: "stop", niod: []string{"ready = exec"}, test: []string{"workers = 3"}})
	start(t)
	niodPID := showInt(t, unit, "MainPID")
	var tree []proc
	testbin.Eventually(t, 10*time.Second, "niod, the runtime and 3 workers", func() (bool, string) {
		tree = userProcs(t, "nio")
		return len(tree) == 5, fmt.Sprint(tree)
	})
	cur := cursor(t)
	must(t, "systemctl", "stop", unit)
	j := journalSince(t, cur, "_PID=1")
	re := regexp.MustCompile(fmt.Sprintf(`%s: Got notification message from PID %d \([^)]*STOPPING=1`, regexp.QuoteMeta(unit), niodPID))
	if !re.MatchString(j) {
		t.Errorf("PID 1 got no STOPPING=1 from niod (pid %d); its notifications:\n%s", niodPID, grepLines(j, "notification"))
	}
	if st := show(t, unit, "ActiveState"); st != "inactive" {
		t.Errorf("ActiveState=%s after stop, want inactive", st)
	}
	if r := show(t, unit, "Result"); r != "success" {
		t.Errorf("Result=%s, want success (exit 143 is SuccessExitStatus)", r)
	}
	for _, p := range tree {
		if alive(t, p.pid) {
			t.Errorf("still running after stop: %d %s", p.pid, p.args)
		}
	}
	if left := userProcs(t, "nio"); len(left) > 0 {
		t.Errorf("processes of user nio left: %v", left)
	}
	if _, _, code, _ := ct.Run(nil, "test", "-e", "/run/niod"); code == 0 {
		t.Errorf("RuntimeDirectory /run/niod is still there")
	}
}

// ---------------------------------------------------------------- (f) secrets

// TestSecretsThroughCredential (f): secrets.conf, root's and mode 600,
// reaches the runtime through LoadCredential= (its /settings shows the
// password) and nowhere else: not in the unit's properties, not in the
// journal, not in any process's environment or command line, not in a
// file under /run/niod or the service's /tmp.
func TestSecretsThroughCredential(t *testing.T) {
	p := deploy(t, project{instance: "secrets", niod: []string{"ready = probe"}})
	cur := cursor(t)
	start(t)
	code, body := get(t, apiPort, "/settings", p.password, 5*time.Second)
	if code != 200 {
		t.Fatalf("GET /settings: %d %s", code, body)
	}
	var settings map[string]map[string]string
	if err := json.Unmarshal([]byte(body), &settings); err != nil {
		t.Fatal(err)
	}
	if got := settings["security"]["admin_password"]; got != p.password {
		t.Errorf("the runtime's [security] admin_password is %q, want the secret from secrets.conf", got)
	}
	if out := must(t, "systemctl", "show", unit); strings.Contains(out, p.password) {
		t.Errorf("the secret is in systemctl show %s (Environment=%s)", unit, show(t, unit, "Environment"))
	}
	if j := journalSince(t, cur, "-o", "verbose"); strings.Contains(j, p.password) {
		t.Errorf("the secret is in the journal:\n%s", grepLines(j, p.password))
	}
	if j := must(t, "journalctl", "-q", "--no-pager", "-u", unit, "-o", "verbose"); strings.Contains(j, p.password) {
		t.Errorf("the secret is in the unit's journal")
	}
	// Every process in the container (niod, the runtime, its workers and
	// all else), and the files of the service's private directories. The
	// secret goes in on stdin: in an argument it would be in the
	// scanner's own command line.
	if out, err := ct.RunOK([]byte(p.password), python, "-c", scanner); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("the secret is in:\n%s%v", out, err)
	}
	// The scanner finds what is there: the runtime's NIO_SETTINGS.
	if out, err := ct.RunOK([]byte("NIO_SETTINGS=/proc/self/fd/3"), python, "-c", scanner); err != nil || !strings.Contains(out, "nio_runtime.py") {
		t.Errorf("the scanner does not find NIO_SETTINGS in the runtime's environment: %q %v", out, err)
	}
	niodPID := showInt(t, unit, "MainPID")
	rt := runtimePID(t, niodPID)
	env := must(t, "sh", "-c", `tr '\0' '\n' </proc/$1/environ`, "sh", strconv.Itoa(rt))
	t.Logf("runtime %d environment:\n%s", rt, env)
	for _, v := range []string{"NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=", "WATCHDOG_PID="} {
		if strings.Contains(env, v) {
			t.Errorf("the runtime's environment holds systemd's %s", v)
		}
	}
}

// ---------------------------------------------------------------- (g) bad settings

// TestSettingsErrorNoRestartLoop (g): niod exits 78 on a settings error and
// RestartPreventExitStatus=78 keeps systemd from starting it again: the
// unit is failed with status 78 and NRestarts stays 0, well past RestartSec.
func TestSettingsErrorNoRestartLoop(t *testing.T) {
	deploy(t, project{instance: "bad", niod: []string{"restart = sometimes"}})
	cur := cursor(t)
	_, _, code, err := ct.Run(nil, "systemctl", "start", unit)
	if err != nil {
		t.Fatal(err)
	}
	if code == 0 {
		t.Errorf("systemctl start succeeded with broken settings")
	}
	want := map[string]string{"ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "78", "NRestarts": "0"}
	waitProps(t, unit, 10*time.Second, want)
	time.Sleep(restartSec + 2*time.Second)
	got := nspawn.ParseProps(must(t, "systemctl", "show", "-p", "ActiveState,Result,ExecMainStatus,NRestarts", unit))
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%s %v after the failure, want %s", k, got[k], restartSec+2*time.Second, v)
		}
	}
	j := journalSince(t, cur, "-u", unit)
	if !strings.Contains(j, "nio.conf:") || !strings.Contains(j, "restart") {
		t.Errorf("the journal does not name the bad line:\n%s", grepLines(j, "niod"))
	}
	if n := strings.Count(j, "Started "+unit); n > 0 || strings.Count(j, "Starting ") > 1 {
		t.Errorf("unit started more than once:\n%s", grepLines(j, "Start"))
	}
}

// ---------------------------------------------------------------- template

// TestTemplateInstance: niod@demo.service runs /opt/nio/demo as user
// nio-demo, with its own credential and runtime directory.
// TestControl: niod status, restart and reload reach the niod of the unit
// through its RuntimeDirectory (/run/niod), as root from a shell that has
// no RUNTIME_DIRECTORY.
func TestControl(t *testing.T) {
	p := deploy(t, project{instance: "ctl", niod: []string{"ready = probe"}})
	start(t)
	niodPID := showInt(t, unit, "MainPID")
	out := must(t, "/usr/local/bin/niod", "status", "--json", "-r", "/opt/nio/project")
	var st struct {
		NiodPID int    `json:"niod_pid"`
		State   string `json:"state"`
		Runtime struct {
			PID int `json:"pid"`
		} `json:"runtime"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.NiodPID != niodPID || st.State != "ready" {
		t.Fatalf("niod status --json: %v %+v, want niod %d ready\n%s", err, st, niodPID, out)
	}
	before, _ := nioStatus(t, p.password)
	must(t, "/usr/local/bin/niod", "restart", "-r", "/opt/nio/project")
	must(t, "/usr/local/bin/niod", "wait", "--ready", "--timeout", "20s", "-r", "/opt/nio/project")
	after, ok := nioStatus(t, p.password)
	if !ok || after.PID == before.PID || showInt(t, unit, "MainPID") != niodPID {
		t.Errorf("niod restart: runtime %d -> %d (ok %v), niod %d -> %d", before.PID, after.PID, ok, niodPID, showInt(t, unit, "MainPID"))
	}
	if out := must(t, "/usr/local/bin/niod", "reload", "-r", "/opt/nio/project"); out != "settings unchanged\n" {
		t.Errorf("niod reload: %q", out)
	}
	// Another user of the host gets a refusal (it cannot even enter
	// RuntimeDirectory=, 0700 nio's).
	if _, errOut, code, _ := ct.Run(nil, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"/usr/local/bin/niod", "status", "-r", "/opt/nio/project"); code != 77 {
		t.Errorf("niod status as nobody: exit %d, want 77\n%s", code, errOut)
	}
}

func TestTemplateInstance(t *testing.T) {
	need(t)
	const u = "niod@demo.service"
	const port = 8282
	ct.Run(nil, "useradd", "--system", "--user-group", "--home-dir", "/opt/nio/demo", "--no-create-home", "--shell", "/usr/sbin/nologin", "nio-demo")
	must(t, "install", "-d", "-m", "755", "-o", "nio-demo", "-g", "nio-demo", "/opt/nio/demo")
	must(t, "install", "-d", "-m", "700", "/etc/nio/demo")
	p := project{instance: "demo", port: port, password: randomSecret(), niod: []string{"ready = probe"}}
	if err := ct.Write("/opt/nio/demo/nio.conf", []byte(p.conf()), "644", "root:root"); err != nil {
		t.Fatal(err)
	}
	if err := ct.Write("/etc/nio/demo/secrets.conf", []byte("[user_defined]\nADMIN_PASSWORD = "+p.password+"\n"), "600", "root:root"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _, _ := ct.Run(nil, "journalctl", "-q", "--no-pager", "-u", u, "-n", "60")
			t.Logf("journal of %s:\n%s", u, out)
		}
		ct.Run(nil, "systemctl", "stop", u)
		ct.Run(nil, "systemctl", "reset-failed", u)
	})
	if _, err := ct.RunOK(nil, "systemctl", "start", u); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, port, "/nio", p.password, 5*time.Second)
	if code != 200 || !strings.Contains(body, `"instance": "demo"`) {
		t.Errorf("GET /nio of %s: %d %s", u, code, body)
	}
	if got := userProcs(t, "nio-demo"); len(got) < 2 {
		t.Errorf("processes of nio-demo: %v, want niod and the runtime", got)
	}
	// Its control socket is in RuntimeDirectory=niod-demo.
	if out := must(t, "/usr/local/bin/niod", "status", "-r", "/opt/nio/demo"); !strings.Contains(out, "state     ready") {
		t.Errorf("niod status -r /opt/nio/demo:\n%s", out)
	}
	must(t, "systemctl", "stop", u)
	if got := userProcs(t, "nio-demo"); len(got) > 0 {
		t.Errorf("left after stop: %v", got)
	}
}
