package securefile

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// kubeletVolume lays out a Secret volume as the kubelet does, on a tmpfs
// the test mounts; ro remounts it read-only.
func kubeletVolume(t *testing.T, ro bool) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to mount a tmpfs, and CI must run it")
		}
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	ts := filepath.Join(dir, "..2026_12_01_12_00_00.123456789")
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "secrets.conf"), []byte("[user_defined]\nA = b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"..data": filepath.Base(ts), "secrets.conf": "..data/secrets.conf", "other.conf": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if ro {
		if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestProjected(t *testing.T) {
	dir := kubeletVolume(t, true)
	got, ok := Projected(filepath.Join(dir, "secrets.conf"))
	if want := filepath.Join(dir, "..2026_12_01_12_00_00.123456789", "secrets.conf"); !ok || got != want {
		t.Errorf("Projected = %q %v, want %q", got, ok, want)
	}
	if !OnReadOnlyTmpfs(got) {
		t.Errorf("%s is on a read-only tmpfs", got)
	}
	// A link elsewhere is not followed, even there.
	if _, ok := Projected(filepath.Join(dir, "other.conf")); ok {
		t.Error("a link to /etc/passwd was followed")
	}
	// The same layout on a writable tmpfs is not the kubelet's.
	rw := kubeletVolume(t, false)
	if _, ok := Projected(filepath.Join(rw, "secrets.conf")); ok || OnReadOnlyTmpfs(rw) {
		t.Error("a writable tmpfs counts as a Secret volume")
	}
	if OnReadOnlyTmpfs(t.TempDir()) {
		t.Error("the temporary directory counts as a read-only tmpfs")
	}
}
