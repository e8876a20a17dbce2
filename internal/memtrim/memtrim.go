// Package memtrim gives back the memory niod needed only to start: the
// pages of its own program that start-up touched (flags, settings, TLS
// validation, the packages' set-up) and the heap it has freed. A
// supervisor spends its life waiting; what it runs later comes back from
// the page cache on first use, a minor fault each page.
package memtrim

import (
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Region is one mapping of /proc/self/maps.
type Region struct {
	Start, End uint64
}

// maxMaps bounds the read of /proc/self/maps; niod's has a few dozen lines.
const maxMaps = 256 << 10

// Release drops niod's read-only mappings of its program file from its
// page tables (MADV_DONTNEED: the file's pages stay in the page cache, so
// nothing is read from disk again) and returns the free heap to the
// system. Writable mappings are never touched: their private pages would
// be lost. It returns how many bytes of mappings it released.
func Release() (uint64, error) {
	debug.FreeOSMemory()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, maxMaps)
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	var total uint64
	for _, r := range ProgramRegions(buf[:n], unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino) {
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(r.Start), uintptr(r.End-r.Start), unix.MADV_DONTNEED); errno != 0 {
			return total, fmt.Errorf("madvise %#x-%#x: %v", r.Start, r.End, errno)
		}
		total += r.End - r.Start
	}
	return total, nil
}

// ProgramRegions are the read-only, private mappings of the file with
// device major:minor and inode ino in a /proc/PID/maps text: "START-END
// PERMS OFFSET MAJ:MIN INODE PATH" a line, numbers in hex but the inode.
func ProgramRegions(maps []byte, major, minor uint32, ino uint64) []Region {
	var out []Region
	dev, inode := fmt.Sprintf("%02x:%02x", major, minor), strconv.FormatUint(ino, 10)
	for len(maps) > 0 {
		line := maps
		if i := bytes.IndexByte(maps, '\n'); i >= 0 {
			line, maps = maps[:i], maps[i+1:]
		} else {
			maps = nil
		}
		f := strings.Fields(string(line))
		if len(f) < 6 || f[3] != dev || f[4] != inode {
			continue
		}
		if perms := f[1]; len(perms) != 4 || perms[1] != '-' || perms[3] != 'p' {
			continue // writable, or shared
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, Region{start, end})
	}
	return out
}
