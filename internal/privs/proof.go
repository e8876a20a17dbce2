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

func (st status) check(u *User, fromRoot bool) error {
	for _, id := range []struct {
		key  string
		want int
	}{{"Uid", u.UID}, {"Gid", u.GID}} {
		for i, f := range strings.Fields(st[id.key]) {
			if n, _ := strconv.Atoi(f); n != id.want {
				return fmt.Errorf("%s field %d is %d, want %d", id.key, i+1, n, id.want)
			}
		}
	}
	var groups []int
	for _, f := range strings.Fields(st["Groups"]) {
		n, _ := strconv.Atoi(f)
		groups = append(groups, n)
	}
	slices.Sort(groups)
	if !slices.Equal(groups, u.Groups) {
		return fmt.Errorf("groups are %v, want %v", groups, u.Groups)
	}
	for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if c == "CapBnd" && !fromRoot {
			continue
		}
		if v, ok := st[c]; ok && strings.Trim(v, "0") != "" {
			return fmt.Errorf("%s is %s, want empty", c, v)
		}
	}
	if st["NoNewPrivs"] != "1" {
		return fmt.Errorf("NoNewPrivs is %q, want 1", st["NoNewPrivs"])
	}
	return nil
}
