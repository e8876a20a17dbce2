package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
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

// maxListed bounds how many entries of a directory are compared with the
// name of a file that is not in it: a directory may hold millions.
const maxListed = 4096

// missingHint is what a problem about a settings file that does not exist
// adds in parentheses: where it was looked for, and a file of a near name
// that is there, e.g. " (looked for /srv/p/secret.conf; did you mean
// secrets.conf?)". name is the file as given and path where it was looked
// for. byDefault is set when no file was given and name is DefaultFile: the
// hint then says how to give others.
func missingHint(name, path string, byDefault bool) string {
	dir := filepath.Dir(path)
	near, err := nearFile(dir, filepath.Base(path))
	if near != "" {
		// As the user would write it: beside the name they gave.
		near = filepath.Join(filepath.Dir(name), near)
	}
	var notes []string
	switch {
	case byDefault:
		notes = append(notes, "the default settings file is "+path)
	case name != path:
		notes = append(notes, "looked for "+path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		notes = append(notes, "there is no directory "+dir)
	}
	switch {
	case byDefault && near != "":
		notes = append(notes, "give another project root with -r ROOT or settings files with -s FILE, such as -s "+near)
	case byDefault:
		notes = append(notes, "give another project root with -r ROOT or settings files with -s FILE")
	case near != "":
		notes = append(notes, "did you mean "+near+"?")
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, "; ") + ")"
}

// nearFile returns the regular file in dir whose name is nearest to base,
// or "" when none is near; the error is why dir could not be listed. Only
// the first maxListed entries are looked at.
func nearFile(dir, base string) (string, error) {
	// O_DIRECTORY: whatever took the directory's place, the open does not
	// block.
	d, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer d.Close()
	entries, err := d.ReadDir(maxListed)
	if err != nil && len(entries) == 0 {
		return "", nil // empty, or unreadable from here on: nothing near
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // the first of equally near names, whatever the directory's order
	return nearest(base, names), nil
}

// nearest returns the name in names closest to name by edit distance, as
// a mistyped [niod] key gets the closest known one suggested: at most three
// edits and fewer than name has bytes, the first of equally near ones. ""
// when none is near enough.
func nearest(name string, names []string) string {
	best, bestDist := "", min(4, len(name))
	for _, n := range names {
		// The distance is at least the difference in length: skip the
		// count for names that cannot win.
		if n == name || abs(len(n)-len(name)) >= bestDist {
			continue
		}
		if d := levenshtein(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
