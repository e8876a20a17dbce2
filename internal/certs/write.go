package certs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// stagedFile is a file written in full to a temporary name beside its
// final one, synced, with its final mode and owner: placing it is then one
// rename or link, so a reader never sees it half written or with the wrong
// owner.
type stagedFile struct {
	tmp, path string
	// ino identifies the file once placed, so that unplace removes only
	// what this run put there.
	ino      uint64
	placed   bool
	replaced bool
}

// stage writes data to a temporary file in path's directory with mode
// (whatever the umask) and, when owner is set, that owner.
func stage(path string, data []byte, mode os.FileMode, owner *Owner) (*stagedFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	s := &stagedFile{tmp: f.Name(), path: path}
	fail := func(err error) (*stagedFile, error) {
		f.Close()
		os.Remove(s.tmp)
		return nil, err
	}
	// The mode and owner are set before a byte is written: CreateTemp
	// makes the file 0600, so a key is never readable by others.
	if owner != nil {
		if err := f.Chown(owner.UID, owner.GID); err != nil {
			return fail(err)
		}
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return fail(err)
	}
	s.ino = st.Ino
	if err := f.Close(); err != nil {
		os.Remove(s.tmp)
		return nil, err
	}
	return s, nil
}

// commit puts the file in place. With replace it renames over whatever is
// there; without, it links, which fails with fs.ErrExist when the path
// exists, even when another process made it a moment ago.
func (s *stagedFile) commit(replace bool) error {
	if replace {
		if err := os.Rename(s.tmp, s.path); err != nil {
			return err
		}
		s.placed, s.replaced = true, true
		return nil
	}
	if err := os.Link(s.tmp, s.path); err != nil {
		return err
	}
	s.placed = true
	return os.Remove(s.tmp)
}

// abort removes the temporary file when it was not placed.
func (s *stagedFile) abort() {
	if !s.placed {
		os.Remove(s.tmp)
	}
}

// unplace removes a file that commit linked into place, when it is still
// the one this run wrote. A file that replaced another cannot be taken back.
func (s *stagedFile) unplace() {
	if !s.placed || s.replaced {
		return
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(s.path, &st); err == nil && st.Ino == s.ino {
		os.Remove(s.path)
	}
}

// mkdirAll makes dir and the missing directories above it with exactly
// mode, whatever the umask; directories that exist are left as they are.
func mkdirAll(dir string, mode os.FileMode) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent, mode); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, mode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Made meanwhile by someone else: use it as it is.
			return nil
		}
		return err
	}
	return os.Chmod(dir, mode)
}

// syncDir makes the names placed in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
