package e2e

// What niod inherits stays with niod, and what a killed niod left behind
// is removed by the next one.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A descriptor niod inherited (a root wrapper's open secret file) must not
// reach the runtime: it gets stdin, stdout, stderr and the handoff only.
func TestInheritedDescriptorsStayWithNiod(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	secret := filepath.Join(root, "shadow-like")
	mustWrite(t, secret, "root:secret-hash\n", 0o600)
	f, err := os.Open(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writeConf(t, root, conf{test: "workers = 0"})
	// As fds 3 and 4: the handoff takes 3 in the runtime, 4 would leak.
	n := startNiod(t, startOpts{root: root, extraFiles: []*os.File{f, f}})
	rt := n.waitRuntime(1)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", rt))
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, e := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", rt, e.Name()))
		if target == secret {
			t.Errorf("the runtime holds niod's inherited descriptor: fd %s → %s", e.Name(), target)
		}
		held = append(held, e.Name()+"→"+target)
	}
	// niod itself still has it: only the exec closed it.
	if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/4", n.pid)); target != secret {
		t.Errorf("niod's fd 4 is %q, want the inherited %s", target, secret)
	}
	t.Logf("runtime descriptors: %s", strings.Join(held, " "))
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}

// A niod killed with SIGKILL cannot remove its file handoff (secrets
// included) nor its notify directory; the next niod under the same base
// removes them, and nothing of a niod still running.
func TestLeftoversOfAKilledNiodAreRemoved(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := t.TempDir()
	writeConf(t, root, conf{test: "workers = 0", niod: "handoff = file"})
	env := map[string]string{"XDG_RUNTIME_DIR": base}
	first := startNiod(t, startOpts{root: root, env: env})
	first.waitRuntime(1)
	left := niodDirs(t, base)
	if len(left) != 2 {
		t.Fatalf("niod's directories under %s: %v, want a handoff and a notify directory", base, left)
	}
	first.signal(syscall.SIGKILL)
	first.waitExit(waitLong)

	second := startNiod(t, startOpts{root: root, env: env})
	second.waitRuntime(1)
	lines := second.waitLog("removed what an earlier niod left", 1)
	for _, d := range left {
		if _, err := os.Lstat(d); err == nil {
			t.Errorf("%s of the killed niod is still there", d)
		}
		if !strings.Contains(lines[0].str("paths"), d) {
			t.Errorf("the log does not name %s: %v", d, lines[0])
		}
	}
	// The directories of a niod that runs stay. (The third runs another
	// project: a second niod on one project refuses to start.)
	secondDirs := niodDirs(t, base)
	other := t.TempDir()
	writeConf(t, other, conf{test: "workers = 0", niod: "handoff = file"})
	third := startNiod(t, startOpts{root: other, env: env})
	third.waitRuntime(1)
	for _, d := range secondDirs {
		if _, err := os.Lstat(d); err != nil {
			t.Errorf("%s of a running niod was removed", d)
		}
	}
	if l := third.logsWith("removed what an earlier niod left"); len(l) != 0 {
		t.Errorf("the third niod removed %v", l)
	}
	for _, n := range []*niodProc{second, third} {
		n.signal(syscall.SIGTERM)
		n.expectExit(143, waitLong)
	}
}

// niodDirs lists niod's private directories directly under base.
func niodDirs(t *testing.T, base string) []string {
	t.Helper()
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "niod-") {
			out = append(out, filepath.Join(base, e.Name()))
		}
	}
	return out
}
