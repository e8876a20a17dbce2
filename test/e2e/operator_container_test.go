package e2e

// What niod does where containers put it: secrets as Kubernetes mounts
// them, root without the capabilities to drop, a stop that is no failure.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// secretVolume lays out secrets.conf as the kubelet does in a Secret
// volume (root's, mode 0644, NAME -> ..data/NAME, ..data -> ..TIMESTAMP) on
// a tmpfs the test mounts, read-only when ro.
func secretVolume(t *testing.T, text string, ro bool) string {
	t.Helper()
	requireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	ts := filepath.Join(dir, "..2026_12_01_12_00_00.000000001")
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(ts, "secrets.conf"), text, 0o644)
	for link, target := range map[string]string{"..data": filepath.Base(ts), "secrets.conf": "..data/secrets.conf"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if ro {
		if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "secrets.conf")
}

func TestOperatorKubernetesSecretVolume(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[security]\nadmin_password = [[ADMIN_PASSWORD]]\n", 0o644)
	secret := "[user_defined]\nADMIN_PASSWORD = kube-secret-0123456789\n"

	// As the kubelet mounts it (read-only tmpfs, 0644, links): accepted.
	ro := secretVolume(t, secret, true)
	out, stderr, code := runNiod(t, runOpts{}, "config", "-r", root, "-s", "nio.conf", "-s", ro, "--reveal")
	if code != 0 || !strings.Contains(out, "admin_password = kube-secret-0123456789\n") {
		t.Errorf("a Secret volume: exit %d\n%s%s", code, out, stderr)
	}
	// The same on a writable mount: a link is refused, as is a copy
	// others can read.
	rw := secretVolume(t, secret, false)
	_, stderr, code = runNiod(t, runOpts{}, "config", "-r", root, "-s", "nio.conf", "-s", rw)
	if code != 78 || !strings.HasPrefix(stderr, rw+": is a symbolic link (give the file it points to)\n") {
		t.Errorf("a link on a writable tmpfs: exit %d %q", code, stderr)
	}
	plain := filepath.Join(t.TempDir(), "secrets.conf")
	mustWrite(t, plain, secret, 0o644)
	_, stderr, code = runNiod(t, runOpts{}, "config", "-r", root, "-s", "nio.conf", "-s", plain)
	if code != 78 || !strings.Contains(stderr, "chmod 600 "+plain) {
		t.Errorf("a 0644 file on disk: exit %d %q, want 78 and the chmod", code, stderr)
	}
}

// Root without SETPCAP, SETUID and SETGID (docker run --cap-drop ALL)
// cannot drop to a user: niod says what to do, at check and at run.
func TestOperatorCapDropAll(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	setpriv := requireTool(t, "setpriv")
	root := publicRoot(t, "[niod]\ncommand = sleep 100\n")
	for _, cmd := range []string{"check", "run"} {
		c := exec.Command(setpriv, "--bounding-set=-setpcap,-setuid,-setgid", niodBin, cmd, "-r", root, "--user", "nobody")
		c.Env = envList(baseEnv(map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}))
		out, _ := c.CombinedOutput()
		want := "niod: running as root without the capabilities SETUID, SETGID, SETPCAP (a container started with --cap-drop ALL?), niod cannot drop to a user: start niod as the user instead (docker run --user 999:999"
		if c.ProcessState.ExitCode() != 77 || !strings.HasPrefix(string(out), want) || !strings.Contains(string(out), "--cap-add SETPCAP") {
			t.Errorf("niod %s without the capabilities: exit %d\n%s", cmd, c.ProcessState.ExitCode(), out)
		}
	}
}

// stop_exit_code = 0: docker stop is no failure (what tini -e 143 is
// used for); the runtime's own failures are not hidden.
func TestOperatorStopExitCode(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sleep 1000\nstop_exit_code = 0\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root})
	n.waitRuntime(1)
	n.signal(syscall.SIGTERM)
	n.expectExit(0, waitLong)
	if l := n.logsWith("niod exits"); len(l) != 1 || l[0].str("code") != "0" || l[0].str("why") != "stopped by SIGTERM" {
		t.Errorf("last line %v", l)
	}
	mustWrite(t, filepath.Join(root, "nio.conf"), "[niod]\ncommand = sh -c 'exit 3'\nrestart = never\nstop_exit_code = 0\n[s]\nk = v\n", 0o600)
	n = startNiod(t, startOpts{root: root})
	n.expectExit(3, waitLong)
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root, "--stop-exit-code", "300")
	if code != 64 || !strings.Contains(stderr, "must be an exit code from 0 to 255") {
		t.Errorf("--stop-exit-code 300: exit %d %q", code, stderr)
	}
}

// OpenShift runs images as an arbitrary uid with no passwd entry.
func TestOperatorArbitraryUID(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	root := publicRoot(t, "[niod]\ncommand = sh -c 'echo \"uid $(id -u)\"'\nrestart = never\n[s]\nk = v\n")
	uid := uint32(1000620000)
	out, stderr, code := runNiod(t, runOpts{Dir: root, UID: &uid, Env: map[string]string{"HOME": "/"}}, "run", "-r", root, "--log-format", "json")
	if code != 0 || !strings.Contains(out+stderr, "uid 1000620000") {
		t.Errorf("niod as uid %d with no passwd entry: exit %d\n%s%s", uid, code, out, stderr)
	}
}
