// Package privs moves niod to the runtime's user for good: it resolves the
// user, checks what the user can reach, drops every privilege and proves
// the drop.
package privs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"niod/internal/securefile"
)

// User is the account niod drops to.
type User struct {
	Name   string // empty when given as a number not in /etc/passwd
	UID    int
	GID    int
	Groups []int // supplementary groups, the primary one included
	Home   string
}

// Accounts are the files users and groups are looked up in (no cgo, no
// NSS).
type Accounts struct {
	Passwd string // as /etc/passwd
	Group  string // as /etc/group
}

// SystemAccounts are the system's own account files.
func SystemAccounts() Accounts {
	return Accounts{Passwd: "/etc/passwd", Group: "/etc/group"}
}

// Lookup resolves "USER", "USER:GROUP", "UID" or "UID:GID" (group may also
// come separately). A name must exist; a number need not.
func (a Accounts) Lookup(user, group string) (*User, error) {
	if u, g, ok := strings.Cut(user, ":"); ok {
		user, group = u, g
	}
	passwd, err := readDB(a.Passwd)
	if err != nil {
		return nil, err
	}
	u := &User{UID: -1, GID: -1, Home: "/"}
	for _, f := range passwd {
		if len(f) >= 6 && (f[0] == user || f[2] == user) {
			u.Name, u.UID, u.GID, u.Home = f[0], atoi(f[2]), atoi(f[3]), f[5]
			break
		}
	}
	if u.UID < 0 {
		n, err := strconv.Atoi(user)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("user %q not found in %s (create it: useradd --system --no-create-home %s)", user, a.Passwd, user)
		}
		u.UID, u.GID = n, n
	}
	groups, err := readDB(a.Group)
	if err != nil {
		return nil, err
	}
	if group != "" {
		if u.GID, err = a.groupID(groups, group); err != nil {
			return nil, err
		}
	}
	u.Groups = []int{u.GID}
	if u.Name != "" {
		for _, f := range groups {
			if len(f) >= 4 && slices.Contains(strings.Split(f[3], ","), u.Name) {
				if gid := atoi(f[2]); gid >= 0 && !slices.Contains(u.Groups, gid) {
					u.Groups = append(u.Groups, gid)
				}
			}
		}
	}
	slices.Sort(u.Groups)
	return u, nil
}

// LookupGroup resolves a group name or number to its gid. A name must
// exist; a number need not.
func (a Accounts) LookupGroup(group string) (int, error) {
	groups, err := readDB(a.Group)
	if err != nil {
		return -1, err
	}
	return a.groupID(groups, group)
}

func (a Accounts) groupID(groups [][]string, group string) (int, error) {
	for _, f := range groups {
		if len(f) >= 3 && (f[0] == group || f[2] == group) {
			return atoi(f[2]), nil
		}
	}
	n, err := strconv.Atoi(group)
	if err != nil || n < 0 {
		return -1, fmt.Errorf("group %q not found in %s", group, a.Group)
	}
	return n, nil
}

// String describes the user for messages: "nio (uid 998, gid 998, groups 998,27)".
func (u *User) String() string {
	name := u.Name
	if name == "" {
		name = strconv.Itoa(u.UID)
	}
	gs := make([]string, len(u.Groups))
	for i, g := range u.Groups {
		gs[i] = strconv.Itoa(g)
	}
	return fmt.Sprintf("%s (uid %d, gid %d, groups %s)", name, u.UID, u.GID, strings.Join(gs, ","))
}

// readDB reads a colon-separated database such as /etc/passwd.
func readDB(path string) ([][]string, error) {
	// Through the safe open, as every file niod reads: a FIFO or a device
	// in its place must not hang or exhaust niod. A link (some systems
	// manage /etc/passwd so) is followed to a regular file.
	real, err := securefile.Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	f, err := securefile.ReadFile(real, maxUserDB)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	var out [][]string
	for _, line := range strings.Split(f.Text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, nil
}

// maxUserDB bounds /etc/passwd and /etc/group.
const maxUserDB = 16 << 20

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
