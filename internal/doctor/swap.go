package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"niod/internal/shell"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SwapChecks are the checks of swap, where the kernel writes out memory,
// secrets held by niod and the runtime with it.
func SwapChecks() []Check {
	// A container's /proc/swaps is the host's: it is checked there.
	return []Check{{ID: "swap.encrypted", Run: swapEncrypted}}
}

// swapEntry is one line of /proc/swaps.
type swapEntry struct {
	name, kind, size string
}

// parseSwaps reads /proc/swaps: a header, then "NAME TYPE SIZE USED
// PRIORITY" a line, the name with space, tab, newline and backslash
// escaped as octal (\040).
func parseSwaps(text string) []swapEntry {
	var out []swapEntry
	lines := strings.Split(text, "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		out = append(out, swapEntry{name: unescapeOctal(f[0]), kind: f[1], size: f[2]})
	}
	return out
}

// unescapeOctal undoes the kernel's \NNN escapes of a path.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// swapEncrypted passes swap that never reaches a disk in clear: none at
// all, zram (compressed memory), or a device-mapper device that is, or
// stacks on (LVM on LUKS), a dm-crypt device.
func swapEncrypted(h *Host) Finding {
	text, err := h.ReadFile("/proc/swaps")
	if errors.Is(err, fs.ErrNotExist) {
		return Finding{Status: OK, Summary: "swap is off", Evidence: []string{"/proc/swaps: absent (a kernel without swap)"}}
	}
	if err != nil {
		return cannotRead("/proc/swaps", err)
	}
	entries := parseSwaps(text)
	if len(entries) == 0 {
		return Finding{Status: OK, Summary: "swap is off", Evidence: []string{"/proc/swaps: no entries"}}
	}
	var evidence, clear []string
	zram := 0
	for _, e := range entries {
		evidence = append(evidence, fmt.Sprintf("/proc/swaps: %s %s %s kB", e.name, e.kind, e.size))
		if strings.HasPrefix(e.name, "/dev/zram") {
			zram++
			continue
		}
		dm, ev := swapDevice(h, e)
		evidence = append(evidence, ev...)
		if dm == "" {
			clear = append(clear, e.name)
			continue
		}
		ok, ev := dmCrypt(h, dm, 0)
		evidence = append(evidence, ev...)
		if !ok {
			clear = append(clear, e.name)
		}
	}
	switch {
	case len(clear) > 0:
		them := "it"
		if len(clear) > 1 {
			them = "them"
		}
		return Finding{
			Status:   Warn,
			Summary:  "unencrypted swap: secrets in memory can be written to disk",
			Evidence: evidence,
			Fix:      fmt.Sprintf("swapoff %s and remove %s from /etc/fstab, or use zram or encrypted swap (/etc/crypttab)", shell.Join(clear), them),
		}
	case zram == len(entries):
		return Finding{Status: OK, Summary: "swap is zram, in memory", Evidence: evidence}
	}
	return Finding{Status: OK, Summary: "swap is encrypted", Evidence: evidence}
}

// swapDevice is the device-mapper device ("dm-3") a swap entry is on, or
// "" when it is on none. A device names itself (/dev/dm-N,
// /dev/mapper/NAME); a file is on the device of its file system, which
// /sys/dev/block/MAJOR:MINOR names.
func swapDevice(h *Host, e swapEntry) (string, []string) {
	base := path.Base(e.name)
	switch {
	case strings.HasPrefix(e.name, "/dev/dm-"):
		return base, nil
	case strings.HasPrefix(e.name, "/dev/mapper/"):
		return dmByName(h, base)
	}
	st, err := os.Stat(h.Path(e.name))
	if err != nil {
		return "", []string{"stat " + e.name + ": " + errReason(err)}
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", nil
	}
	dev := uint64(sys.Dev) // a uint32 on some architectures
	if st.Mode()&fs.ModeDevice != 0 {
		dev = uint64(sys.Rdev)
	}
	link := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(dev), unix.Minor(dev))
	target, err := os.Readlink(h.Path(link))
	if err != nil {
		return "", nil // not a block device: tmpfs, btrfs's anonymous device
	}
	if name := filepath.Base(target); strings.HasPrefix(name, "dm-") {
		return name, []string{link + " -> " + target}
	}
	return "", nil
}

// dmByName finds the dm-N device whose /sys/block/dm-N/dm/name is name.
func dmByName(h *Host, name string) (string, []string) {
	entries, err := os.ReadDir(h.Path("/sys/block"))
	if err != nil {
		return "", []string{"cannot read /sys/block: " + errReason(err)}
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "dm-") {
			continue
		}
		p := "/sys/block/" + e.Name() + "/dm/name"
		if n, err := h.Line(p); err == nil && n == name {
			return e.Name(), []string{p + ": " + n}
		}
	}
	return "", []string{"/sys/block/dm-*/dm/name: no " + name}
}

// dmCrypt says whether device-mapper device dm is dm-crypt ("CRYPT-" is
// the uuid prefix cryptsetup gives, LUKS and plain alike) or stacks on
// one, through /sys/block/DM/slaves; depth stops a loop.
func dmCrypt(h *Host, dm string, depth int) (bool, []string) {
	p := "/sys/block/" + dm + "/dm/uuid"
	uuid, err := h.Line(p) // a device made without a uuid has an empty one
	if err != nil {
		return false, []string{"cannot read " + p + ": " + errReason(err)}
	}
	ev := []string{p + ": " + uuid}
	if strings.HasPrefix(uuid, "CRYPT-") {
		return true, ev
	}
	if depth >= 8 {
		return false, ev
	}
	slaves, _ := os.ReadDir(h.Path("/sys/block/" + dm + "/slaves"))
	if len(slaves) == 0 {
		return false, ev
	}
	// Every device under it must be encrypted: an LVM volume spanning a
	// LUKS and a plain disk writes in clear to the plain one.
	for _, s := range slaves {
		if !strings.HasPrefix(s.Name(), "dm-") {
			return false, append(ev, "/sys/block/"+dm+"/slaves/"+s.Name()+": not a device-mapper device")
		}
		ok, more := dmCrypt(h, s.Name(), depth+1)
		ev = append(ev, more...)
		if !ok {
			return false, ev
		}
	}
	return true, ev
}
