package securefile

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// OnReadOnlyTmpfs reports whether path is on a read-only tmpfs mount: how
// Kubernetes Secret volumes and Docker swarm secrets arrive, in memory
// only, unchangeable from inside, and visible to the pod or container
// alone.
func OnReadOnlyTmpfs(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC && st.Flags&unix.ST_RDONLY != 0
}

// Projected is the file a Kubernetes volume's link at path stands for, and
// whether path is such a link: on a read-only tmpfs, NAME -> ..data/NAME
// with ..data -> ..TIMESTAMP, a directory beside it (the kubelet swaps
// ..data to update every file at once). Any other link is not followed.
func Projected(path string) (string, bool) {
	target, err := os.Readlink(path)
	if err != nil || target != filepath.Join("..data", filepath.Base(path)) || !OnReadOnlyTmpfs(path) {
		return "", false
	}
	dir := filepath.Dir(path)
	data, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil || strings.Contains(data, "/") || !strings.HasPrefix(data, "..") || data == ".." {
		return "", false
	}
	return filepath.Join(dir, data, filepath.Base(path)), true
}
