// Package securefile opens files that hold settings or secrets the way ssh
// opens its keys: never through a symbolic link, never blocking on a FIFO or
// device, and with the mode of the file actually opened (fstat, not stat), so
// a check on the mode cannot be raced by swapping the path.
package securefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// File is what ReadFile read.
type File struct {
	Text string
	// Mode holds the permission bits of the opened file.
	Mode os.FileMode
	// UID and GID own the file.
	UID, GID uint32
}

// Error says why a file could not be read, in words a user can act on.
type Error struct {
	Path   string
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Path + ": " + e.Reason }

// Unwrap returns the underlying system error.
func (e *Error) Unwrap() error { return e.Err }

// ErrTooLarge is the Err of an Error for a file larger than the limit.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads the regular file at path, refusing a symbolic link as the
// last component, anything that is not a regular file, and a file of more
// than limit bytes.
func ReadFile(path string, limit int64) (*File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &Error{Path: path, Reason: err.Error(), Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return nil, &Error{Path: path, Reason: "is a directory (give a file)", Err: unix.EISDIR}
	default:
		return nil, &Error{Path: path, Reason: "is not a regular file (a FIFO, socket or device cannot be read as settings)", Err: unix.EINVAL}
	}
	if st.Size > limit {
		return nil, tooLarge(path, limit)
	}
	// Read into a buffer sized by fstat, one byte more to see a file that
	// grew meanwhile.
	buf := make([]byte, st.Size+1)
	n := 0
	for {
		m, err := f.Read(buf[n:])
		n += m
		if err == io.EOF || m == 0 && err == nil {
			break
		}
		if err != nil {
			return nil, &Error{Path: path, Reason: err.Error(), Err: err}
		}
		if n == len(buf) {
			if int64(n) > limit {
				return nil, tooLarge(path, limit)
			}
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
	if int64(n) > limit {
		return nil, tooLarge(path, limit)
	}
	// The buffer is never written again: it can back the string without a
	// copy, as strings.Builder does.
	return &File{Text: unsafe.String(unsafe.SliceData(buf), n), Mode: os.FileMode(st.Mode & 0o7777), UID: st.Uid, GID: st.Gid}, nil
}

func tooLarge(path string, limit int64) error {
	return &Error{Path: path, Reason: fmt.Sprintf("is larger than %d MiB (is it really a settings file?)", limit>>20), Err: ErrTooLarge}
}

func openError(path string, err error) error {
	reason := err.Error()
	switch {
	case errors.Is(err, unix.ENOENT):
		reason = "no such file"
	case errors.Is(err, unix.ELOOP):
		reason = "is a symbolic link (give the file it points to)"
	case errors.Is(err, unix.EACCES):
		reason = "permission denied (the file or a directory above it is not readable by this user)"
	case errors.Is(err, unix.ENOTDIR):
		reason = "a component of the path is not a directory"
	}
	return &Error{Path: path, Reason: reason, Err: err}
}
