// Package rundir places niod's private directories (the file handoff, the
// notify socket): their base directory, their names after the niod that
// owns them, and the sweep of those whose niod is gone.
package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"niod/internal/proctree"
)

// prefix starts every name: niod-KIND-PID-STARTTIME-RANDOM.
const prefix = "niod-"

// Base picks the directory niod's private directories go under:
// $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp when
// it is a memory file system, else /dev/shm when that is one, else /tmp.
// In memory, a file handoff never reaches a disk, and making and removing
// the notify socket costs no journal writes on every start and exit.
func Base(getenv func(string) string) string {
	return base(getenv, onMemoryFS)
}

func base(getenv func(string) string, inMemory func(string) bool) string {
	if d := getenv("RUNTIME_DIRECTORY"); d != "" {
		// systemd may give several, separated by colons.
		d, _, _ = strings.Cut(d, ":")
		return d
	}
	for _, name := range []string{"XDG_RUNTIME_DIR", "TMPDIR"} {
		if d := getenv(name); d != "" {
			return d
		}
	}
	if !inMemory("/tmp") && inMemory("/dev/shm") {
		return "/dev/shm"
	}
	return "/tmp"
}

// InMemory says whether dir is on a memory file system (tmpfs or ramfs):
// what is written there never reaches a disk.
func InMemory(dir string) bool {
	var fs unix.Statfs_t
	return unix.Statfs(dir, &fs) == nil && (fs.Type == unix.TMPFS_MAGIC || fs.Type == unix.RAMFS_MAGIC)
}

// onMemoryFS says whether dir is a directory in memory (InMemory) that
// everyone may make entries in, each their own (mode 1777, as /tmp).
func onMemoryFS(dir string) bool {
	var st unix.Stat_t
	return InMemory(dir) && unix.Stat(dir, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Mode&0o7777 == 0o1777
}

// Make creates a new 0700 directory under base for kind (a word without
// dashes), named with niod's pid and start time: the pid alone could be
// another process's by the time a later niod looks (PID 1 in every
// container).
func Make(base, kind string) (string, error) {
	return os.MkdirTemp(base, namePrefix(kind))
}

func namePrefix(kind string) string {
	return fmt.Sprintf("%s%s-%d-%d-", prefix, kind, os.Getpid(), startTime(os.Getpid()))
}

// LongestName is as long as a name Make gives in this process can be (its
// random part is at most ten digits): for checking that a socket path
// under it fits.
func LongestName(kind string) string {
	return namePrefix(kind) + "0123456789"
}

// owner is who made a directory, read from its name.
type owner struct {
	pid   int
	start uint64
}

// parseName reads niod-KIND-PID-START-RANDOM; ok is false for any other name.
func parseName(name string) (owner, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return owner{}, false
	}
	f := strings.Split(rest, "-")
	if len(f) != 4 || f[0] == "" || f[3] == "" {
		return owner{}, false
	}
	pid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return owner{}, false
	}
	return owner{pid, start}, true
}

// alive reports whether the niod that made a directory still runs: its pid
// exists and started when the name says.
func (o owner) alive() bool {
	if err := syscall.Kill(o.pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	return startTime(o.pid) == o.start
}

// Sweep removes the directories directly under base that Make made for a
// niod that is gone, since a niod that was SIGKILLed cannot remove its own
// and a file handoff holds secrets: only directories (never a link), only
// those owned by uid. It returns what it removed; an entry it cannot judge
// is left.
func Sweep(base string, uid int) ([]string, error) {
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // nothing can be left where nothing is
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		o, ok := parseName(e.Name())
		if !ok || !e.IsDir() || o.alive() {
			continue
		}
		path := filepath.Join(base, e.Name())
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR || int(st.Uid) != uid {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, path)
	}
	return removed, errors.Join(errs...)
}

// startTime is when pid started (proctree.Proc.StartTime); 0 when it
// cannot be read.
func startTime(pid int) uint64 {
	p, _ := proctree.Stat(pid)
	return p.StartTime
}
