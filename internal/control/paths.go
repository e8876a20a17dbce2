package control

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxSocketPath is the longest socket path the kernel takes: sun_path is
// 108 bytes and its last one is the terminating NUL.
const maxSocketPath = 107

// Dir is the directory niod makes its control socket in: systemd's
// $RUNTIME_DIRECTORY (the first when it lists several), else
// $XDG_RUNTIME_DIR/niod, else /run/niod for root, else a directory of the
// user's own in the temporary directory.
func Dir(getenv func(string) string, euid int) string {
	if d, _, _ := strings.Cut(getenv("RUNTIME_DIRECTORY"), ":"); d != "" {
		return d
	}
	if x := getenv("XDG_RUNTIME_DIR"); x != "" {
		return filepath.Join(x, "niod")
	}
	if euid == 0 {
		return "/run/niod"
	}
	return userTempDir(tempDir(getenv), euid)
}

// SocketName is the control socket of the project at root, relative to
// the control directory: a directory of its own, named by a hash of the
// root (short, for sun_path's 107 bytes), so that niods of several
// projects and users share one control directory, each project's
// directory its niod's user's.
func SocketName(root string) string {
	return filepath.Join(rootHash(root), "control.sock")
}

func rootHash(root string) string {
	sum := sha256.Sum256([]byte(absClean(root)))
	return hex.EncodeToString(sum[:8])
}

// absClean is root made absolute and clean; when the working directory
// cannot be read, the clean root as given.
func absClean(root string) string {
	if abs, err := filepath.Abs(root); err == nil {
		return abs
	}
	return filepath.Clean(root)
}

// Candidates are the socket paths a client tries, in order, for the
// project at root: $NIOD_CONTROL alone when it is set; else the name of
// the root (and of the root with its symbolic links evaluated, when that
// differs) in each directory a niod may have used: Dir of the client's
// own environment, $XDG_RUNTIME_DIR/niod, /run/niod, every /run/niod-*
// (niod@NAME units), and the client's directory in the temporary
// directory.
func Candidates(getenv func(string) string, euid int, root string) []string {
	if p := getenv("NIOD_CONTROL"); p != "" {
		return []string{p}
	}
	roots := []string{root}
	if r, err := filepath.EvalSymlinks(root); err == nil && absClean(r) != absClean(root) {
		roots = append(roots, r)
	}
	return candidates(getenv, euid, roots, runDirs("/run"))
}

// candidates is Candidates without the file system: roots are the
// project's roots, run the /run/niod-* directories.
func candidates(getenv func(string) string, euid int, roots, run []string) []string {
	dirs := []string{Dir(getenv, euid)}
	if x := getenv("XDG_RUNTIME_DIR"); x != "" {
		dirs = append(dirs, filepath.Join(x, "niod"))
	}
	dirs = append(dirs, "/run/niod")
	dirs = append(dirs, run...)
	// The client's temporary directory may not be niod's: try /tmp too.
	dirs = append(dirs, userTempDir(tempDir(getenv), euid), userTempDir("/tmp", euid))
	names := make([]string, len(roots))
	for i, r := range roots {
		names[i] = SocketName(r)
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range dirs {
		for _, name := range names {
			p := filepath.Join(d, name)
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// runDirs lists the niod-* directories in run (not following links), in
// name order.
func runDirs(run string) []string {
	entries, err := os.ReadDir(run)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "niod-") {
			out = append(out, filepath.Join(run, e.Name()))
		}
	}
	return out
}

// tempDir is os.TempDir read through getenv.
func tempDir(getenv func(string) string) string {
	if d := getenv("TMPDIR"); d != "" {
		return d
	}
	return "/tmp"
}

func userTempDir(tmp string, euid int) string {
	return filepath.Join(tmp, "niod-"+strconv.Itoa(euid))
}
