package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// requireRoot skips a test that needs root, except in CI, where a skip is a
// failure: CI runs as root and must run these tests.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root, and CI must run it")
	}
	t.Skip("needs root")
}

// testAccount is a user created for one test, in extra groups.
type testAccount struct {
	name   string
	uid    int
	gid    int
	groups []int // supplementary, the primary one included, sorted
}

// makeAccount creates a system user in n new groups with useradd and
// groupadd, and removes them all when the test ends.
func makeAccount(t *testing.T, extraGroups int) testAccount {
	t.Helper()
	requireRoot(t)
	var b [4]byte
	io.ReadFull(rand.Reader, b[:])
	suffix := hex.EncodeToString(b[:])
	name := "niodt" + suffix
	var groupNames []string
	for i := 0; i < extraGroups; i++ {
		g := fmt.Sprintf("niodg%d%s", i, suffix)
		run(t, "groupadd", g)
		t.Cleanup(func() { exec.Command("groupdel", g).Run() })
		groupNames = append(groupNames, g)
	}
	args := []string{"--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group"}
	if len(groupNames) > 0 {
		args = append(args, "--groups", strings.Join(groupNames, ","))
	}
	run(t, "useradd", append(args, name)...)
	t.Cleanup(func() {
		exec.Command("userdel", name).Run()
		exec.Command("groupdel", name).Run()
	})
	a := testAccount{name: name}
	a.uid = atoiT(t, strings.TrimSpace(run(t, "id", "-u", name)))
	a.gid = atoiT(t, strings.TrimSpace(run(t, "id", "-g", name)))
	for _, f := range strings.Fields(run(t, "id", "-G", name)) {
		a.groups = append(a.groups, atoiT(t, f))
	}
	slices.Sort(a.groups)
	if len(a.groups) != extraGroups+1 {
		t.Fatalf("account %s has groups %v, want %d", name, a.groups, extraGroups+1)
	}
	return a
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// publicDir makes a directory any user can enter, removed when the test
// ends (t.TempDir's parent is private to root).
func publicDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// publicRoot makes a project root any user can read, with a nio.conf.
func publicRoot(t *testing.T, conf string) string {
	t.Helper()
	dir := publicDir(t, "niod-e2e-privs-")
	if err := writeFile(filepath.Join(dir, "nio.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// statusFields parses the lines of a /proc/PID/status dump that follow a
// marker line.
func statusFields(t *testing.T, out, marker string) map[string]string {
	t.Helper()
	_, rest, ok := strings.Cut(out, marker+"\n")
	if !ok {
		t.Fatalf("no %q in output:\n%s", marker, out)
	}
	rest, _, _ = strings.Cut(rest, "=== end\n")
	m := map[string]string{}
	for _, line := range strings.Split(rest, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

func TestPrivsDropProvedInRuntimeAndNiod(t *testing.T) {
	a := makeAccount(t, 2)
	root := publicRoot(t, "[niod]\nrestart = never\n[s]\nk = v\n")
	// A root-only file, and a setuid-root copy of id.
	secret := filepath.Join(root, "root-only")
	if err := writeFile(secret, []byte("top secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	suid := filepath.Join(root, "id-suid")
	data, err := os.ReadFile("/usr/bin/id")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(suid, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(suid, 0o4755); err != nil {
		t.Fatal(err)
	}
	script := `echo "=== runtime"; cat /proc/self/status; echo "=== end"
echo "=== niod"; cat /proc/$PPID/status; echo "=== end"
echo "suid: $(` + suid + ` -u)"
if cat ` + secret + ` >/dev/null 2>&1; then echo "root-only: readable"; else echo "root-only: refused"; fi
echo "home=$HOME user=$USER logname=$LOGNAME"`
	env := map[string]string{"NIOD_ALLOW_ROOT": ""}
	stdout, stderr, code := runNiod(t, runOpts{Dir: root, Env: env},
		"-r", root, "--user", a.name, "--log-format", "json", "--", "sh", "-c", script)
	assertNoCrash(t, stdout, stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	groups := strings.Trim(fmt.Sprint(a.groups), "[]")
	for _, who := range []string{"=== runtime", "=== niod"} {
		st := statusFields(t, stdout, who)
		wantIDs := map[string]string{
			"Uid": strings.Repeat(strconv.Itoa(a.uid)+" ", 4),
			"Gid": strings.Repeat(strconv.Itoa(a.gid)+" ", 4),
		}
		for k, w := range wantIDs {
			if st[k] != strings.TrimSpace(w) {
				t.Errorf("%s %s = %q, want %q", who, k, st[k], strings.TrimSpace(w))
			}
		}
		gs := strings.Fields(st["Groups"])
		slices.Sort(gs)
		var ws []string
		for _, g := range a.groups {
			ws = append(ws, strconv.Itoa(g))
		}
		slices.Sort(ws)
		if !slices.Equal(gs, ws) {
			t.Errorf("%s Groups = %v, want exactly %s", who, gs, groups)
		}
		for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			if st[c] != "0000000000000000" {
				t.Errorf("%s %s = %q, want empty", who, c, st[c])
			}
		}
		if st["NoNewPrivs"] != "1" {
			t.Errorf("%s NoNewPrivs = %q", who, st["NoNewPrivs"])
		}
	}
	if !strings.Contains(stdout, "suid: "+strconv.Itoa(a.uid)+"\n") {
		t.Errorf("the setuid-root id did not stay the user:\n%s", stdout)
	}
	if !strings.Contains(stdout, "root-only: refused") {
		t.Errorf("the runtime read a root-only file:\n%s", stdout)
	}
	if !strings.Contains(stdout, "home=/nonexistent user="+a.name+" logname="+a.name) {
		t.Errorf("HOME/USER/LOGNAME not set for the user:\n%s", stdout)
	}
	if !strings.Contains(stderr, `"dropped privileges"`) {
		t.Errorf("no log line about the drop:\n%s", stderr)
	}
}

func TestPrivsRefusals(t *testing.T) {
	requireRoot(t)
	a := makeAccount(t, 0)
	pub := publicRoot(t, "[s]\nk = v\n")
	private := filepath.Join(publicRoot(t, ""), "private") // 0700, owned by root
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(private, "nio.conf"), []byte("[s]\nk = v\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noAllow := map[string]string{"NIOD_ALLOW_ROOT": ""}
	for _, c := range []struct {
		name     string
		root     string
		args     []string
		env      map[string]string
		exit     int
		keywords []string
	}{
		{"root without a user", pub, nil, noAllow, 77, []string{"--user nio", "User=nio", "USER nio", "--allow-root"}},
		{"unknown user", pub, []string{"--user", "no-such-user-xyz"}, noAllow, 78, []string{"no-such-user-xyz", "not found"}},
		{"unknown user from NIOD_USER", pub, nil, map[string]string{"NIOD_ALLOW_ROOT": "", "NIOD_USER": "no-such-user-xyz"}, 78, []string{"not found"}},
		{"unknown group", pub, []string{"--user", a.name + ":no-such-group-xyz"}, noAllow, 78, []string{"no-such-group-xyz"}},
		{"unreadable project root", private, []string{"--user", a.name}, noAllow, 77, []string{private, "cannot read", "chmod"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-r", c.root, "--restart", "never", "--log-format", "json"}, c.args...)
			args = append(args, "--", "/bin/true")
			stdout, stderr, code := runNiod(t, runOpts{Dir: c.root, Env: c.env}, args...)
			assertNoCrash(t, stdout, stderr)
			if code != c.exit {
				t.Fatalf("exit %d, want %d\n%s", code, c.exit, stderr)
			}
			for _, k := range c.keywords {
				if !strings.Contains(stderr, k) {
					t.Errorf("stderr lacks %q:\n%s", k, stderr)
				}
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("want one line, got %d:\n%s", n+1, stderr)
			}
		})
	}
	// check says what the drop would do, and fails on what would stop it.
	stdout, stderr, code := runNiod(t, runOpts{Dir: pub, Env: noAllow}, "check", "-r", pub, "--user", a.name, "--command", "/bin/true")
	if code != 0 || !regexp.MustCompile(`would drop to user `+a.name+` \(uid \d+`).MatchString(stderr) {
		t.Errorf("check: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stderr, code = runNiod(t, runOpts{Dir: private, Env: noAllow}, "check", "-r", private, "--user", a.name, "--command", "/bin/true")
	if code != 77 || !strings.Contains(stderr, private) {
		t.Errorf("check on an unreadable root: exit %d\n%s", code, stderr)
	}
	_, stderr, code = runNiod(t, runOpts{Dir: pub, Env: noAllow}, "check", "-r", pub)
	if code != 77 || !strings.Contains(stderr, "--user nio") {
		t.Errorf("check as root without a user: exit %d\n%s", code, stderr)
	}
}

// After the drop niod cannot become anyone else: a reload that names
// another user is refused with that reason, and the runtime keeps running
// as the first user.
func TestPrivsReloadRefusesANewUser(t *testing.T) {
	t.Parallel()
	a, b := makeAccount(t, 0), makeAccount(t, 0)
	conf := func(user string) string {
		return "[niod]\nuser = " + user + "\ncommand = sleep 1000\n[s]\nk = v\n"
	}
	root := publicRoot(t, conf(a.name))
	n := startNiod(t, startOpts{root: root})
	first := n.waitRuntime(1)
	mustWrite(t, filepath.Join(root, "nio.conf"), conf(b.name), 0o644)
	n.signal(syscall.SIGHUP)
	refused := n.waitLog("settings not reloaded: only a new niod can apply this change (restart niod); the runtime keeps running with the old settings", 1)
	if changed := refused[0].str("changed"); !strings.Contains(changed, a.name) || !strings.Contains(changed, b.name) {
		t.Errorf("the refusal does not name the users: %q", changed)
	}
	if pids := n.runtimePIDs(); len(pids) != 1 || !alive(first) {
		t.Errorf("runtime pids %v after a refused reload; want %d still running", pids, first)
	}
	st := statusFields(t, "=== s\n"+readProcStatus(t, first)+"=== end\n", "=== s")
	if uid := strings.Fields(st["Uid"]); len(uid) == 0 || uid[0] != strconv.Itoa(a.uid) {
		t.Errorf("runtime uid %v, want %d", uid, a.uid)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

func readProcStatus(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
