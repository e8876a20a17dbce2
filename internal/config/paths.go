package config

import (
	"path/filepath"
	"strings"
)

// RootPath makes a path from the settings or the command line absolute: a
// relative one is under the project root. An empty path stays empty: it
// names nothing.
func RootPath(root, p string) string {
	switch {
	case p == "":
		return ""
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	}
	return filepath.Join(root, p)
}

// Inside reports whether path lies below dir (not dir itself), by their
// clean forms.
func Inside(dir, path string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../")
}
