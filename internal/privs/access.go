package privs

import (
	"fmt"
	"path/filepath"
	"slices"
	"syscall"

	"niod/internal/shell"
)

// Need says what the user must be able to do with a path.
type Need int

// What a path must allow.
const (
	Read    Need = 4
	Write   Need = 2
	Execute Need = 1 // search, for a directory
)

// CheckAccess reports whether u can reach path with need, judged from the
// mode and owner of path and every directory above it (ACLs are not read).
// The error, an *AccessError, names the path and the command that fixes it.
func CheckAccess(u *User, path string, need Need) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// Every directory on the way must be searchable.
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if err := allows(u, dir, Execute, abs); err != nil {
			return err
		}
		if dir == "/" {
			break
		}
	}
	return allows(u, abs, need, abs)
}

// AccessError says that a user cannot reach Target because of Path:
// Target itself, or a directory on the way to it.
type AccessError struct {
	Path, Target string
	// User is the account, as in messages ("nio (uid 999)").
	User string
	// Action is what the user cannot do with Path: enter, read, write or
	// run; "" when Path cannot be looked at (Err says why).
	Action string
	// Fix is the command that would let the user.
	Fix string
	Err error
}

func (e *AccessError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s: user %s cannot %s it (run: %s)", e.Path, e.User, e.Action, e.Fix)
}

// Blocked reports whether a directory on the way, not the target itself,
// is what the user cannot pass.
func (e *AccessError) Blocked() bool { return e.Path != e.Target }

func allows(u *User, path string, need Need, target string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return &AccessError{Path: path, Target: target, User: u.String(), Err: err}
	}
	if u.UID == 0 {
		return nil
	}
	mode := Need(st.Mode & 0o7)
	switch {
	case int(st.Uid) == u.UID:
		mode = Need(st.Mode>>6) & 7
	case slices.Contains(u.Groups, int(st.Gid)):
		mode = Need(st.Mode>>3) & 7
	}
	if mode&need == need {
		return nil
	}
	what := map[Need]string{Read: "read", Execute: "enter", Read | Execute: "read", Write: "write"}[need]
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR && need&Execute != 0 {
		what = "run"
	}
	q := shell.Quote(path)
	fix := fmt.Sprintf("chown %d %s, or chmod o+%s %s", u.UID, q, perm(need), q)
	switch {
	case path != target:
		fix = "chmod o+x " + q
	case st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o077 == 0:
		// A private file (a key) stays private: opening it to others
		// would only have it refused as readable by them.
		fix = fmt.Sprintf("chown %d %s", u.UID, q)
	}
	return &AccessError{Path: path, Target: target, User: u.String(), Action: what, Fix: fix}
}

func perm(n Need) string {
	s := ""
	if n&Read != 0 {
		s += "r"
	}
	if n&Write != 0 {
		s += "w"
	}
	if n&Execute != 0 {
		s += "x"
	}
	return s
}
