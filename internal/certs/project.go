package certs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"niod/internal/config"
)

// Project is the project root niod cert works for, with the rules by which
// it names the paths it writes and prints.
type Project struct {
	// Root is absolute, and a directory.
	Root string
}

// OpenProject checks a project root ("" is the current directory) and
// makes it absolute.
func OpenProject(root string) (Project, error) {
	if root == "" {
		root = "."
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return Project{}, errorf(Invalid, err, "%s: %v", root, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return Project{}, errorf(Invalid, err, "%s: the project root is not a directory (give -r)", abs)
	}
	return Project{Root: abs}, nil
}

// Path is path under the root, or path itself (cleaned) when it is
// absolute.
func (p Project) Path(path string) string { return config.RootPath(p.Root, path) }

// Show names path as messages and the settings do: relative to the root
// when it is under the root, else as it is.
func (p Project) Show(path string) string {
	if config.Inside(p.Root, path) {
		if rel, err := filepath.Rel(p.Root, path); err == nil {
			return rel
		}
	}
	return path
}

// OutDir is the directory of the certificate, its key and the CA's copy:
// out under the root, etc/ssl there when out is "".
func (p Project) OutDir(out string) string {
	if out == "" {
		out = filepath.Join("etc", "ssl")
	}
	return p.Path(out)
}

// CheckDays checks how many days a certificate is to last.
func CheckDays(days int) error {
	if days < 1 || days > MaxDays {
		return fmt.Errorf("days must be between 1 and %d, not %d", MaxDays, days)
	}
	return nil
}

// OwnerFor says who gets the files written to OutDir when they are for the
// user uid:gid (named who in messages) and niod cert runs as the effective
// user euid: run as root, that user; run as that user, nobody else (nil:
// the files are its own); anyone else cannot give files away.
func OwnerFor(who string, uid, gid, euid int) (*Owner, error) {
	switch {
	case euid == 0:
		return &Owner{UID: uid, GID: gid}, nil
	case euid != uid:
		return nil, errorf(Permission, fs.ErrPermission, "only root can give the files to user %s (run niod cert as root or as that user)", who)
	}
	return nil, nil
}
