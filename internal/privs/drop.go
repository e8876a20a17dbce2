package privs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"niod/internal/proctree"
)

// Drop makes the whole process (every thread) u for good: capability
// bounding and ambient sets emptied while niod still may, supplementary
// groups, gid and uid set (real, effective and saved), the inheritable set
// cleared, and no_new_privs set so that no setuid binary can give root
// back. It needs CGO_ENABLED=0: AllThreadsSyscall refuses to run with cgo.
func Drop(u *User) error {
	if os.Geteuid() == 0 {
		if missing := MissingCapabilities(); len(missing) > 0 {
			return fmt.Errorf("%s", cannotDrop(missing))
		}
		last, err := lastCap()
		if err != nil {
			return err
		}
		for c := 0; c <= last; c++ {
			if err := allThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
		if err := allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
			return fmt.Errorf("clear the ambient capabilities: %w", err)
		}
		// The syscall package changes every thread (since Go 1.16).
		if err := syscall.Setgroups(u.Groups); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(u.GID); err != nil {
			return fmt.Errorf("setgid %d: %w", u.GID, err)
		}
		if err := syscall.Setuid(u.UID); err != nil {
			return fmt.Errorf("setuid %d: %w", u.UID, err)
		}
		// setuid away from root empties the permitted and effective sets,
		// not the inheritable one.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
			return fmt.Errorf("clear the capabilities: %w", err)
		}
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	return nil
}

// dropCapabilities are what root needs to become a user: SETPCAP to empty
// the bounding set, SETGID for the groups and gid, SETUID for the uid.
var dropCapabilities = []struct {
	name string
	bit  uint
}{{"SETUID", unix.CAP_SETUID}, {"SETGID", unix.CAP_SETGID}, {"SETPCAP", unix.CAP_SETPCAP}}

// MissingCapabilities names the capabilities root lacks to drop to a user
// (a container started with --cap-drop ALL has none of them).
func MissingCapabilities() []string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil // the drop itself says what fails
	}
	effective := uint64(data[0].Effective) | uint64(data[1].Effective)<<32
	var out []string
	for _, c := range dropCapabilities {
		if effective&(1<<c.bit) == 0 {
			out = append(out, c.name)
		}
	}
	return out
}

// cannotDrop says why root cannot drop to a user without the capabilities
// missing, and what to do.
func cannotDrop(missing []string) string {
	what := "the capability " + missing[0]
	if len(missing) > 1 {
		what = "the capabilities " + strings.Join(missing, ", ")
	}
	return "running as root without " + what +
		" (a container started with --cap-drop ALL?), niod cannot drop to a user: start niod as the user instead " +
		"(docker run --user 999:999, USER nio in the Dockerfile, runAsUser in Kubernetes, User= in a unit) " +
		"or keep SETUID, SETGID and SETPCAP (--cap-add SETUID --cap-add SETGID --cap-add SETPCAP)"
}

// CannotDrop is the message for root that lacks the capabilities a drop
// needs; "" when it has them.
func CannotDrop() string {
	if missing := MissingCapabilities(); len(missing) > 0 {
		return cannotDrop(missing)
	}
	return ""
}

func allThreads(trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if errno != 0 {
		return errno
	}
	return nil
}

func lastCap() (int, error) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("cannot read the last capability: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// NoCoreDumps keeps niod's memory, which holds secrets, out of core dumps
// and away from ptrace by other processes of the same user.
func NoCoreDumps() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("RLIMIT_CORE: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_DUMPABLE: %w", err)
	}
	return nil
}

// SwapOn reports whether any swap space is active: secrets in memory could
// then be written to disk.
func SwapOn() bool {
	// The header and one entry fit in the buffer.
	buf := make([]byte, 512)
	n, err := proctree.ReadFile("/proc/swaps", buf)
	if err != nil || n <= 0 {
		return false
	}
	return len(strings.Split(strings.TrimSpace(string(buf[:n])), "\n")) > 1
}

// Become drops to u for good and proves it (see Drop and Prove). The order
// is gosu's: the caller resolves the user while /etc is readable and checks
// what the user must reach (Lookup, CheckAccess); Become then drops groups,
// gid and uid for every thread and verifies from /proc that nothing is left.
func Become(u *User) error {
	fromRoot := os.Geteuid() == 0
	if err := Drop(u); err != nil {
		return fmt.Errorf("cannot drop to user %s: %w", u, err)
	}
	if err := Prove(u, fromRoot); err != nil {
		return fmt.Errorf("dropped to user %s, but the proof failed: %w", u, err)
	}
	return nil
}
