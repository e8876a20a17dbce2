// Package securefile opens files that hold settings or secrets the way ssh
// opens its keys: never through a symbolic link, never blocking on a FIFO or
// device, and with the mode of the file actually opened (fstat, not stat), so
// a check on the mode cannot be raced by swapping the path.
package securefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// File is what ReadFile read.
type File struct {
	// Path is the path the file was opened by.
	Path string
	Text string
	// Mode holds the permission bits of the opened file.
	Mode os.FileMode
	// UID and GID own the file.
	UID, GID uint32
	// Dev and Ino identify the file opened, to find it again.
	Dev, Ino uint64
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
	return &File{Path: path, Text: unsafe.String(unsafe.SliceData(buf), n), Mode: os.FileMode(st.Mode & 0o7777),
		UID: st.Uid, GID: st.Gid, Dev: uint64(st.Dev), Ino: st.Ino}, nil
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

// Writer says who, besides root and the trusted user, could have changed a
// file: the file's owner or its mode, or a directory above it.
type Writer struct {
	// Path is the file as it was opened, or the directory above it (by its
	// real path) that lets others change it.
	Path string
	// Dir is set when Path is a directory above the file.
	Dir bool
	// UID and GID own Path; Mode holds its permission bits.
	UID, GID uint32
	Mode     os.FileMode
	// Owner is set when the owner is neither root nor the trusted user:
	// an owner can always change the mode, and then the content.
	Owner bool
	// Group and Others are set when the group or everyone may write.
	Group, Others bool
}

// Who names those who can write, as "uid 1000 (its owner)", "group 27
// (mode 0775)" or "everyone (mode 0666)", joined with "and".
func (w *Writer) Who() string {
	var who []string
	if w.Owner {
		who = append(who, "uid "+strconv.FormatUint(uint64(w.UID), 10)+" (its owner)")
	}
	var bits []string
	if w.Group {
		bits = append(bits, "group "+strconv.FormatUint(uint64(w.GID), 10))
	}
	if w.Others {
		bits = append(bits, "everyone")
	}
	if len(bits) > 0 {
		who = append(who, strings.Join(bits, " and ")+" (mode "+fmt.Sprintf("%04o", uint32(w.Mode))+")")
	}
	return strings.Join(who, " and ")
}

// Fix is the command that makes name (the file or the directory, as the
// user knows it) safe: "chown root NAME; chmod go-w NAME".
func (w *Writer) Fix(name string) string {
	var fix []string
	if w.Owner {
		fix = append(fix, "chown root "+name)
	}
	if w.Group || w.Others {
		fix = append(fix, "chmod go-w "+name)
	}
	return strings.Join(fix, "; ")
}

// CheckWriters reports who other than root and uid could have written the
// file f was read from, by the rules of OpenSSH's StrictModes (safe_path in
// its misc.c), which keep a user's authorized_keys out of other users'
// reach:
//
//   - the file (as opened: its fstat) must be owned by root or uid, and not
//     be writable by its group or others;
//   - every directory above it, by its real path (symbolic links
//     resolved), up to and including /, must be owned by root or uid and
//     not be writable by its group or others, or else have the sticky bit
//     (/tmp): there only an entry's owner may rename or remove it, and the
//     entry below it on the path is checked in turn.
//
// A group that only root belongs to still counts, as in OpenSSH: the check
// reads modes, not group members or ACLs. The file found again by the real
// path must be the one opened, or the path changed while niod read it. It
// returns nil and no error when nobody else could have written the file,
// and an error when the path cannot be examined.
func (f *File) CheckWriters(uid uint32) (*Writer, error) {
	if w := judge(f.Path, false, f.UID, f.GID, f.Mode, uid); w != nil {
		return w, nil
	}
	abs, err := filepath.Abs(f.Path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, filepath.Base(abs)), &st); err != nil {
		return nil, err
	}
	if uint64(st.Dev) != f.Dev || st.Ino != f.Ino {
		return nil, errors.New("it was replaced while niod read it")
	}
	for {
		if err := unix.Lstat(dir, &st); err != nil {
			return nil, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, errors.New(dir + " changed while niod checked it")
		}
		mode := os.FileMode(st.Mode & 0o7777)
		if st.Mode&unix.S_ISVTX != 0 {
			mode &^= 0o022 // sticky: entries are their owners' alone
		}
		if w := judge(dir, true, st.Uid, st.Gid, mode, uid); w != nil {
			w.Mode = os.FileMode(st.Mode & 0o7777)
			return w, nil
		}
		if dir == "/" {
			return nil, nil
		}
		dir = filepath.Dir(dir)
	}
}

// judge returns who besides root and uid can write path, or nil.
func judge(path string, dir bool, owner, group uint32, mode os.FileMode, uid uint32) *Writer {
	w := &Writer{Path: path, Dir: dir, UID: owner, GID: group, Mode: mode,
		Owner: owner != 0 && owner != uid, Group: mode&0o020 != 0, Others: mode&0o002 != 0}
	if !w.Owner && !w.Group && !w.Others {
		return nil
	}
	return w
}

// Resolve returns the target of path when its last component is a
// symbolic link (certbot's live/ files, a managed /etc/passwd), resolved
// without opening anything so that ReadFile opens the target safely; else
// path itself.
func Resolve(path string) (string, error) {
	if st, err := os.Lstat(path); err != nil || st.Mode()&os.ModeSymlink == 0 {
		return path, nil // ReadFile reports what is wrong with it
	}
	return filepath.EvalSymlinks(path)
}

// PathWriters is CheckWriters for a file niod does not read but runs or
// has run as root (the runtime's command, its interpreter): links are
// followed to the file itself, which is then judged with every directory
// above it.
func PathWriters(path string, uid uint32) (*Writer, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return nil, err
	}
	f := &File{Path: real, Mode: os.FileMode(st.Mode & 0o7777), UID: st.Uid, GID: st.Gid, Dev: uint64(st.Dev), Ino: st.Ino}
	return f.CheckWriters(uid)
}

// Interpreter returns the interpreter the #! line of the script at path
// names, "" when it has none or cannot be read. It reads the first 256
// bytes only, and never blocks.
func Interpreter(path string) string {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ""
	}
	buf := make([]byte, 256)
	n, _ := unix.Read(fd, buf)
	if n <= 0 {
		return ""
	}
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	rest, ok := bytes.CutPrefix(line, []byte("#!"))
	if !ok {
		return ""
	}
	fields := bytes.Fields(rest)
	if len(fields) == 0 {
		return ""
	}
	return string(fields[0])
}
