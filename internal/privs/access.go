package privs

import (
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
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
// The error names the path and the command that fixes it.
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

func allows(u *User, path string, need Need, target string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
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
	fix := fmt.Sprintf("chown %d %s, or chmod o+%s %s", u.UID, path, perm(need), path)
	if path != target {
		fix = fmt.Sprintf("chmod o+x %s", path)
	}
	return fmt.Errorf("%s: user %s cannot %s it (run: %s)", path, u, what, fix)
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
