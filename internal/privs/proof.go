package privs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Prove checks, for every thread of niod, that the drop to u holds: real,
// effective, saved and filesystem uid and gid are u's, the groups are
// exactly u's, every capability set is empty and no_new_privs is set; and
// that setuid(0) fails. Any difference is an error. A process that never
// was root cannot empty its bounding set (and with no_new_privs it cannot
// use it): fromRoot says whether that set is checked too.
func Prove(u *User, fromRoot bool) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("cannot read /proc/self/task: %v", err)
	}
	for _, path := range tasks {
		st, err := readStatus(path)
		if err != nil {
			return err
		}
		if err := st.check(u, fromRoot); err != nil {
			return fmt.Errorf("thread %s: %w", filepath.Base(filepath.Dir(path)), err)
		}
	}
	if err := syscall.Setuid(0); err == nil {
		return fmt.Errorf("setuid(0) succeeded: root can be regained")
	}
	return nil
}

type status map[string]string

func readStatus(path string) (status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	st := status{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	return st, nil
}

// check fails closed: every line it relies on must be present and parse,
// because a kernel or a /proc that hides a line must not read as a clean
// drop.
func (st status) check(u *User, fromRoot bool) error {
	// Real, effective, saved and filesystem ids: all four, all the user's.
	for _, id := range []struct {
		key  string
		want int
	}{{"Uid", u.UID}, {"Gid", u.GID}} {
		v, ok := st[id.key]
		if !ok {
			return fmt.Errorf("no %s line", id.key)
		}
		fields := strings.Fields(v)
		if len(fields) != 4 {
			return fmt.Errorf("%s is %q, want 4 ids", id.key, v)
		}
		for i, f := range fields {
			n, err := parseID(f)
			if err != nil {
				return fmt.Errorf("%s field %d: %w", id.key, i+1, err)
			}
			if n != id.want {
				return fmt.Errorf("%s field %d is %d, want %d", id.key, i+1, n, id.want)
			}
		}
	}
	v, ok := st["Groups"]
	if !ok {
		return fmt.Errorf("no Groups line")
	}
	groups := []int{}
	for _, f := range strings.Fields(v) {
		n, err := parseID(f)
		if err != nil {
			return fmt.Errorf("Groups: %w", err)
		}
		groups = append(groups, n)
	}
	slices.Sort(groups)
	want := slices.Sorted(slices.Values(u.Groups))
	if !slices.Equal(groups, want) {
		return fmt.Errorf("Groups are %v, want %v", groups, want)
	}
	for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if c == "CapBnd" && !fromRoot {
			continue
		}
		v, ok := st[c]
		if !ok {
			return fmt.Errorf("no %s line", c)
		}
		// Base 16 without prefix: the kernel prints bare hex digits.
		n, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return fmt.Errorf("%s is %q: not a capability set", c, v)
		}
		if n != 0 {
			return fmt.Errorf("%s is %s, want empty", c, v)
		}
	}
	v, ok = st["NoNewPrivs"]
	if !ok {
		return fmt.Errorf("no NoNewPrivs line")
	}
	if n, err := strconv.Atoi(v); err != nil || n != 1 {
		return fmt.Errorf("NoNewPrivs is %q, want 1", v)
	}
	return nil
}

// parseID reads a decimal uid or gid as the kernel prints it: unsigned,
// 32 bits, no sign.
func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not an id", s)
	}
	return int(n), nil
}
