// Package handoff carries the runtime's settings payload to it without the
// payload touching persistent disk: a sealed memfd inherited as a file
// descriptor, or a 0600 file in a private 0700 directory.
package handoff

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"niod/internal/rundir"
)

// A Handoff is the settings made available to one start of the runtime.
type Handoff struct {
	// File is the memfd to pass to the child (nil for a file handoff).
	File *os.File
	// Path is what NIO_SETTINGS says: a path the runtime can open.
	Path string
	dir  string // private directory of a file handoff, removed by Close
}

// FD is the descriptor number the memfd has in the child.
const FD = 3

// NewMemfd puts payload in a sealed memfd: the runtime can read it, nobody
// can change it, and it lives in memory only. NIO_SETTINGS is
// /proc/self/fd/3 in the child.
func NewMemfd(payload []byte) (*Handoff, error) {
	fd, err := unix.MemfdCreate("nio-settings", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "nio-settings")
	if _, err := f.Write(payload); err != nil {
		f.Close()
		return nil, fmt.Errorf("write memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return &Handoff{File: f, Path: fmt.Sprintf("/proc/self/fd/%d", FD)}, nil
}

// NewFile writes payload to a 0600 file in a new 0700 directory under base,
// owned by niod's user (the runtime's, after the privilege drop). It warns
// through warn when base is not on a memory file system (tmpfs or ramfs).
func NewFile(payload []byte, base string, warn func(string)) (*Handoff, error) {
	if !rundir.InMemory(base) {
		warn(fmt.Sprintf("%s is not on tmpfs: the settings file with its secrets may reach the disk", base))
	}
	dir, err := rundir.Make(base, "handoff")
	if err != nil {
		return nil, stableError(base, err)
	}
	h := &Handoff{dir: dir, Path: filepath.Join(dir, "settings.conf")}
	f, err := os.OpenFile(h.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err == nil {
		_, err = f.Write(payload)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		h.Close()
		return nil, stableError(base, err)
	}
	return h, nil
}

// stableError names base instead of the random directory below it, so the
// same failure at every try reads the same (the supervisor logs an error
// once until it changes).
func stableError(base string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s a settings file in %s: %w", pe.Op, base, pe.Err)
	}
	return err
}

// Close releases the memfd or removes the file and its directory.
func (h *Handoff) Close() error {
	if h.File != nil {
		return h.File.Close()
	}
	if h.dir != "" {
		return os.RemoveAll(h.dir)
	}
	return nil
}
