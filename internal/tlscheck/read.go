package tlscheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"niod/internal/securefile"
)

// MaxPEMSize is the largest certificate, key or chain file niod reads: 1
// MiB, far more than a chain of RSA certificates holds. A larger file is
// refused before it is read.
const MaxPEMSize = 1 << 20

// ReadFile reads the certificate, key or chain file at path the way Check
// does, through securefile: only a regular file, opened without blocking (a
// FIFO or a device is refused at once, not waited on or read forever), of at
// most MaxPEMSize bytes, with the mode and owner of the file actually read
// (fstat on the open file).
//
// A symbolic link as the last component is followed, for certificates and
// keys alike: certbot's live/ directory, the one it tells users to
// configure, holds links into archive/ that it moves at every renewal. The
// link is resolved (filepath.EvalSymlinks, which opens nothing) and its
// target is then opened as above, refusing a link there, so what is read and
// whose mode is checked is the target itself, a regular file; the mode of
// the link does not count. Messages name the configured path and the target.
//
// The error is a *securefile.Error whose Error() is one line: the path and
// a reason a user can act on.
func ReadFile(path string) (*securefile.File, error) {
	f, _, err := readPEM(path, true)
	return f, err
}

// ReadFileNoLink is ReadFile refusing a symbolic link as the last
// component, for files niod owns and never links, such as the CA's.
func ReadFileNoLink(path string) (*securefile.File, error) {
	f, _, err := readPEM(path, false)
	return f, err
}

// readPEM reads path (following a last link when follow is set) and returns
// the file, the path of what was read and a described error.
func readPEM(path string, follow bool) (*securefile.File, string, error) {
	target := path
	if follow {
		resolved, err := securefile.Resolve(path)
		if err != nil {
			return nil, path, linkError(path, err)
		}
		target = resolved
	}
	f, err := securefile.ReadFile(target, MaxPEMSize)
	if err != nil {
		return nil, target, describe(path, target, err)
	}
	return f, target, nil
}

// linkError says why the link at path cannot be followed.
func linkError(path string, err error) error {
	to, rerr := os.Readlink(path)
	if rerr != nil {
		to = "?"
	}
	reason := fmt.Sprintf("is a symbolic link to %s, which cannot be followed: %s", to, strings.TrimPrefix(unwrapPath(err).Error(), "EvalSymlinks: "))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		reason = fmt.Sprintf("is a symbolic link to %s, which does not exist (give the file itself)", to)
	case errors.Is(err, fs.ErrPermission):
		reason = fmt.Sprintf("is a symbolic link to %s, which this user cannot reach (permission denied on a directory on the way)", to)
	}
	return &securefile.Error{Path: path, Reason: reason, Err: err}
}

// describe rewrites an error of securefile.ReadFile(target) into one line
// about path, the configured name, with a reason fit for a PEM file.
func describe(path, target string, err error) error {
	var se *securefile.Error
	if !errors.As(err, &se) {
		return &securefile.Error{Path: path, Reason: err.Error(), Err: err}
	}
	linked := target != path
	var reason string
	switch {
	case errors.Is(se.Err, securefile.ErrTooLarge):
		reason = fmt.Sprintf("is larger than %s, too large for a PEM certificate, key or chain (give the PEM file itself)", sizeText(MaxPEMSize))
	case errors.Is(se.Err, syscall.ENOENT):
		reason = "no such file"
		if linked {
			reason = "does not exist"
		}
	case errors.Is(se.Err, syscall.EACCES):
		reason = "is not readable by this user (permission denied on the file or a directory above it)"
	case errors.Is(se.Err, syscall.ELOOP):
		// A link put in place of the target after it was resolved, or
		// any link where none is allowed.
		reason = "is a symbolic link (give the file it points to)"
	case errors.Is(se.Err, syscall.ENOTDIR):
		reason = "is under a path component that is not a directory"
	default:
		reason = typeReason(target)
		if reason == "" {
			reason = se.Reason
		}
	}
	if linked {
		reason = fmt.Sprintf("is a symbolic link to %s, which %s", target, reason)
	}
	return &securefile.Error{Path: path, Reason: reason, Err: se.Err}
}

// typeReason names what a path that securefile refused is, when it is not
// a regular file; "" when it is one (or no longer there).
func typeReason(path string) string {
	st, err := os.Lstat(path)
	if err != nil {
		return ""
	}
	const give = " (give the PEM file itself)"
	switch m := st.Mode(); {
	case m.IsDir():
		return "is a directory, not a file" + give
	case m&fs.ModeNamedPipe != 0:
		return "is a FIFO (named pipe), not a regular file" + give
	case m&fs.ModeSocket != 0:
		return "is a socket, not a regular file" + give
	case m&fs.ModeDevice != 0:
		return "is a device, not a regular file" + give
	case !m.IsRegular():
		return "is not a regular file" + give
	}
	return ""
}

func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
