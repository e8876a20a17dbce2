package e2e

// niod doctor against conditions made real on this host, as root: swap on
// a swap file, core_pattern and a sysctl set and restored, project
// directories others or the runtime's user can write, a runtime running
// now, and the container signals of new PID, mount and user namespaces.
// Whatever a test changes on the host it puts back, also when it fails.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// findingOf is the finding id of d.
func findingOf(t *testing.T, d doctorJSON, id string) (status, summary string, evidence []string, fix string) {
	t.Helper()
	for _, f := range d.Findings {
		if f.ID == id {
			return f.Status, f.Summary, f.Evidence, f.Fix
		}
	}
	t.Fatalf("no finding %s in %+v", id, d.Findings)
	return
}

// setProc writes a /proc/sys file and puts its old value back at cleanup.
func setProc(t *testing.T, path, value string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Errorf("restore %s to %q: %v", path, old, err)
		}
	})
	if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func TestDoctorSwapFile(t *testing.T) {
	requireRoot(t)
	mkswap, swapon, swapoff := requireTool(t, "mkswap"), requireTool(t, "swapon"), requireTool(t, "swapoff")
	file := filepath.Join(t.TempDir(), "swap file") // a space, as /proc/swaps escapes it
	if err := os.WriteFile(file, make([]byte, 16<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkswap, file).CombinedOutput(); err != nil {
		t.Fatalf("mkswap: %v %s", err, out)
	}
	if out, err := exec.Command(swapon, file).CombinedOutput(); err != nil {
		t.Fatalf("swapon %s: %v %s (a host that cannot swap on a file)", file, err, out)
	}
	t.Cleanup(func() { exec.Command(swapoff, file).Run() })

	d, _ := runDoctor(t, "--only", "swap")
	status, _, evidence, fix := findingOf(t, d, "swap.encrypted")
	if status != "warn" || !slices.ContainsFunc(evidence, func(e string) bool { return strings.HasPrefix(e, "/proc/swaps: "+file+" file ") }) ||
		!strings.HasPrefix(fix, "swapoff '"+file+"'") {
		t.Errorf("swap on a file: %s %q %q", status, evidence, fix)
	}

	if out, err := exec.Command(swapoff, file).CombinedOutput(); err != nil {
		t.Fatalf("swapoff: %v %s", err, out)
	}
	d, _ = runDoctor(t, "--only", "swap")
	status, summary, evidence, _ := findingOf(t, d, "swap.encrypted")
	if slices.ContainsFunc(evidence, func(e string) bool { return strings.Contains(e, file) }) {
		t.Errorf("after swapoff: %q", evidence)
	}
	if other, _ := os.ReadFile("/proc/swaps"); strings.Count(string(other), "\n") <= 1 && (status != "ok" || summary != "swap is off") {
		t.Errorf("no swap left: %s %q", status, summary)
	}
}

func TestDoctorCorePattern(t *testing.T) {
	requireRoot(t)
	// Not parallel: core_pattern is the host's; no other test of the
	// package runs while it is changed.
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[s]\nk = v\n", 0o600)
	const p = "/proc/sys/kernel/core_pattern"
	for _, c := range []struct{ pattern, status, summary string }{
		{"|/bin/false", "ok", "core dumps are discarded"},
		{"core.%p", "fail", "core dumps of the runtime would land in the project"},
		{"/var/tmp/core.%e.%p", "warn", "core dumps are written to /var/tmp"},
		{"|/usr/local/bin/collect %p", "warn", "core dumps, with the secrets in them, go to /usr/local/bin/collect"},
	} {
		setProc(t, p, c.pattern)
		d, _ := runDoctor(t, "-r", root, "--only", "core.pattern")
		status, summary, evidence, _ := findingOf(t, d, "core.pattern")
		if status != c.status || summary != c.summary || !slices.Contains(evidence, p+": "+c.pattern) {
			t.Errorf("core_pattern %q: %s %q %q, want %s %q", c.pattern, status, summary, evidence, c.status, c.summary)
		}
	}
}

func TestDoctorSysctlFlipped(t *testing.T) {
	requireRoot(t)
	const p = "/proc/sys/kernel/dmesg_restrict"
	for _, c := range []struct{ value, status string }{{"0", "warn"}, {"1", "ok"}} {
		setProc(t, p, c.value)
		d, _ := runDoctor(t, "--only", "kernel.dmesg_restrict")
		status, _, evidence, fix := findingOf(t, d, "kernel.dmesg_restrict")
		if status != c.status || !slices.Contains(evidence, p+": "+c.value) || (c.status == "warn") != strings.Contains(fix, "kernel.dmesg_restrict=1") {
			t.Errorf("dmesg_restrict %s: %s %q %q", c.value, status, evidence, fix)
		}
	}
}

// The project's code: others writing it fails, the runtime's own user
// writing it warns, root's alone passes.
func TestDoctorProjectWriters(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	root := t.TempDir()
	if err := os.Chmod(filepath.Dir(root), 0o711); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "nio.conf"), "[security]\nusers = admin\nadmin_password =\n", 0o600)
	check := func(want string, args ...string) (string, []string, string) {
		t.Helper()
		d, _ := runDoctor(t, append([]string{"-r", root, "--only", "files.project,credentials.weak,runtime.root"}, args...)...)
		status, summary, evidence, fix := findingOf(t, d, "files.project")
		if status != want {
			t.Errorf("files.project %v: %s %q %q %q, want %s", args, status, summary, evidence, fix, want)
		}
		if s, _, ev, _ := findingOf(t, d, "credentials.weak"); s != "fail" || !slices.ContainsFunc(ev, func(e string) bool { return strings.HasSuffix(e, "[security] admin_password is empty") }) {
			t.Errorf("an empty password: %s %q", s, ev)
		}
		return summary, evidence, fix
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, _, fix := check("fail"); fix != "chmod go-w "+root {
		t.Errorf("world-writable: fix %q", fix)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	check("ok", "--user", "4242")
	if err := os.Chown(root, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	summary, evidence, fix := check("warn", "--user", "4242")
	if summary != "the runtime's user can change the code it runs" || !strings.HasPrefix(fix, "chown -R root: "+root+" ") ||
		!slices.Contains(evidence, root+": writable by 4242 (uid 4242, gid 4242, groups 4242), the user niod drops to") {
		t.Errorf("owned by the runtime's user: %q %q %q", summary, evidence, fix)
	}
	os.Chown(root, 0, 0)
}

// With a niod supervising the project, doctor judges the runtime that
// runs, not the settings: its pid and real uid.
func TestDoctorRunningRuntime(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 600\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	pid := n.waitRuntime(1)
	n.waitStatus("running", func(s statusJSON) bool { return s.Runtime != nil && s.Runtime.PID == pid })
	ask := func() (string, string) {
		out, stderr, _ := runNiod(t, runOpts{Env: map[string]string{"XDG_RUNTIME_DIR": n.env["XDG_RUNTIME_DIR"]}},
			"doctor", "--json", "-r", root, "--only", "runtime.root")
		var d doctorJSON
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("doctor: %v\n%s%s", err, out, stderr)
		}
		status, summary, _, _ := findingOf(t, d, "runtime.root")
		return status, summary
	}
	status, summary := ask()
	want := "ok"
	if os.Geteuid() == 0 {
		want = "fail" // startNiod allows root: the runtime runs as root
	}
	if status != want || !strings.Contains(summary, fmt.Sprintf("the running runtime (pid %d) runs as ", pid)) {
		t.Errorf("with the runtime running: %s %q, want %s naming pid %d", status, summary, want, pid)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	if _, summary := ask(); strings.Contains(summary, "running") {
		t.Errorf("after niod stopped: %q", summary)
	}
}

// Container detection in real namespaces: podman's marker in a private
// /run, or a user namespace, makes a container together with a PID 1
// that is no init; a new PID namespace alone does not.
func TestDoctorContainerSignals(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	unshare := requireTool(t, "unshare")
	for _, c := range []struct {
		name      string
		flags     []string
		script    string
		container bool
	}{
		{"pid namespace", []string{"--pid", "--fork", "--mount", "--mount-proc"}, "", false},
		{"containerenv", []string{"--pid", "--fork", "--mount", "--mount-proc"}, "mount -t tmpfs tmpfs /run && : >/run/.containerenv && ", true},
		{"user namespace", []string{"--user", "--map-root-user", "--pid", "--fork", "--mount-proc"}, "", true},
	} {
		args := append(c.flags, "sh", "-c", c.script+`exec "$0" doctor --json --only swap,core.pattern,core.rlimit`, niodBin)
		cmd := exec.Command(unshare, args...)
		cmd.Env = envList(baseEnv(nil))
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		var d doctorJSON
		if jerr := json.Unmarshal(out, &d); jerr != nil {
			t.Fatalf("%s: %v %v\n%s", c.name, err, jerr, out)
		}
		swap, summary, _, _ := findingOf(t, d, "swap.encrypted")
		rlimit, _, _, _ := findingOf(t, d, "core.rlimit")
		if d.Container != c.container || (swap == "skip") != c.container || c.container && !strings.Contains(summary, "container") || rlimit == "skip" {
			t.Errorf("%s: container %v, swap.encrypted %s %q, core.rlimit %s; want container %v", c.name, d.Container, swap, summary, rlimit, c.container)
		}
	}
}
