package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const swapsHeader = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

// swapsLine is a line of /proc/swaps as the kernel writes it.
func swapsLine(name, kind string, size int) string {
	pad := 40 - len(name)
	if pad < 1 {
		pad = 1
	}
	return fmt.Sprintf("%s%*s%s\t%d\t\t0\t\t-2\n", name, pad, " ", kind, size)
}

func TestParseSwaps(t *testing.T) {
	t.Parallel()
	got := parseSwaps(swapsHeader + swapsLine(`/var/swap\040file`, "file", 1024) + swapsLine("/dev/zram0", "partition", 4194300) + "\n")
	want := []swapEntry{{"/var/swap file", "file", "1024"}, {"/dev/zram0", "partition", "4194300"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for in, want := range map[string]string{`a\134b`: `a\b`, `tab\011`: "tab\t", `short\04`: `short\04`, `bad\999`: `bad\999`} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSwapEncrypted(t *testing.T) {
	t.Parallel()
	const warn = "unencrypted swap: secrets in memory can be written to disk"
	tests := []struct {
		name     string
		files    map[string]string
		want     Status
		summary  string
		evidence []string
		fix      string
	}{
		{"off", map[string]string{"/proc/swaps": swapsHeader}, OK, "swap is off", []string{"/proc/swaps: no entries"}, ""},
		{"no swap in the kernel", map[string]string{"/proc/version": "Linux\n"}, OK, "swap is off", []string{"/proc/swaps: absent (a kernel without swap)"}, ""},
		{"unreadable", map[string]string{"/proc/swaps/x": ""}, Skip, "cannot read /proc/swaps: is a directory", nil, ""},
		{"zram", map[string]string{"/proc/swaps": swapsHeader + swapsLine("/dev/zram0", "partition", 4194300)}, OK, "swap is zram, in memory",
			[]string{"/proc/swaps: /dev/zram0 partition 4194300 kB"}, ""},
		{"plain dm-crypt", map[string]string{
			"/proc/swaps":                 swapsHeader + swapsLine("/dev/dm-1", "partition", 8388604),
			"/sys/block/dm-1/dm/uuid":     "CRYPT-PLAIN-cryptswap\n",
			"/sys/block/dm-1/dm/name":     "cryptswap\n",
			"/sys/block/dm-1/slaves/sda3": "",
		}, OK, "swap is encrypted", []string{"/proc/swaps: /dev/dm-1 partition 8388604 kB", "/sys/block/dm-1/dm/uuid: CRYPT-PLAIN-cryptswap"}, ""},
		{"mapper name", map[string]string{
			"/proc/swaps":             swapsHeader + swapsLine("/dev/mapper/cryptswap", "partition", 8388604) + swapsLine("/dev/zram0", "partition", 1024),
			"/sys/block/dm-0/dm/name": "root\n",
			"/sys/block/dm-0/dm/uuid": "LVM-abc\n",
			"/sys/block/dm-3/dm/name": "cryptswap\n",
			"/sys/block/dm-3/dm/uuid": "CRYPT-LUKS2-0e2b6a0c5b7e4b1f9d2e5c0a1b2c3d4e-cryptswap\n",
			"/sys/block/sda/size":     "100\n",
		}, OK, "swap is encrypted", []string{
			"/proc/swaps: /dev/mapper/cryptswap partition 8388604 kB",
			"/sys/block/dm-3/dm/name: cryptswap",
			"/sys/block/dm-3/dm/uuid: CRYPT-LUKS2-0e2b6a0c5b7e4b1f9d2e5c0a1b2c3d4e-cryptswap",
			"/proc/swaps: /dev/zram0 partition 1024 kB",
		}, ""},
		{"LVM on LUKS", map[string]string{
			"/proc/swaps":                  swapsHeader + swapsLine("/dev/dm-2", "partition", 999420),
			"/sys/block/dm-2/dm/uuid":      "LVM-Xy2VZ0swap\n",
			"/sys/block/dm-2/slaves/dm-0/": "",
			"/sys/block/dm-0/dm/uuid":      "CRYPT-LUKS2-1234-dm_crypt-0\n",
			"/sys/block/dm-0/slaves/sda3/": "",
		}, OK, "swap is encrypted", []string{
			"/proc/swaps: /dev/dm-2 partition 999420 kB", "/sys/block/dm-2/dm/uuid: LVM-Xy2VZ0swap", "/sys/block/dm-0/dm/uuid: CRYPT-LUKS2-1234-dm_crypt-0",
		}, ""},
		{"LVM on a plain disk", map[string]string{
			"/proc/swaps":                  swapsHeader + swapsLine("/dev/dm-2", "partition", 999420),
			"/sys/block/dm-2/dm/uuid":      "LVM-Xy2VZ0swap\n",
			"/sys/block/dm-2/slaves/sda3/": "",
		}, Warn, warn, []string{
			"/proc/swaps: /dev/dm-2 partition 999420 kB", "/sys/block/dm-2/dm/uuid: LVM-Xy2VZ0swap", "/sys/block/dm-2/slaves/sda3: not a device-mapper device",
		}, "swapoff /dev/dm-2 and remove it from /etc/fstab, or use zram or encrypted swap (/etc/crypttab)"},
		{"dm without sysfs", map[string]string{"/proc/swaps": swapsHeader + swapsLine("/dev/dm-5", "partition", 10)}, Warn, warn, []string{
			"/proc/swaps: /dev/dm-5 partition 10 kB", "cannot read /sys/block/dm-5/dm/uuid: no such file or directory",
		}, "swapoff /dev/dm-5 and remove it from /etc/fstab, or use zram or encrypted swap (/etc/crypttab)"},
		{"mapper unknown", map[string]string{"/proc/swaps": swapsHeader + swapsLine("/dev/mapper/gone", "partition", 10), "/sys/block/sda/size": "1\n"}, Warn, warn, []string{
			"/proc/swaps: /dev/mapper/gone partition 10 kB", "/sys/block/dm-*/dm/name: no gone",
		}, "swapoff /dev/mapper/gone and remove it from /etc/fstab, or use zram or encrypted swap (/etc/crypttab)"},
		{"partition and file", map[string]string{
			"/proc/swaps": swapsHeader + swapsLine("/dev/sda2", "partition", 8388604) + swapsLine(`/swap\040file`, "file", 2097148) + swapsLine("/dev/zram0", "partition", 1024),
			"/dev/sda2":   "",
			"/swap file":  "",
		}, Warn, warn, []string{
			"/proc/swaps: /dev/sda2 partition 8388604 kB", "/proc/swaps: /swap file file 2097148 kB", "/proc/swaps: /dev/zram0 partition 1024 kB",
		}, "swapoff /dev/sda2 '/swap file' and remove them from /etc/fstab, or use zram or encrypted swap (/etc/crypttab)"},
		{"file gone", map[string]string{"/proc/swaps": swapsHeader + swapsLine("/swapfile", "file", 20)}, Warn, warn, []string{
			"/proc/swaps: /swapfile file 20 kB", "stat /swapfile: no such file or directory",
		}, "swapoff /swapfile and remove it from /etc/fstab, or use zram or encrypted swap (/etc/crypttab)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := runOne(t, SwapChecks(), "swap.encrypted", hostLaidOut(t, tt.files))
			wantFinding(t, f, Finding{Status: tt.want, Summary: tt.summary, Evidence: tt.evidence, Fix: tt.fix})
		})
	}
}

// TestSwapFileOnEncryptedFS: a swap file is as safe as the file system
// it is on, found by its device number in /sys/dev/block.
func TestSwapFileOnEncryptedFS(t *testing.T) {
	t.Parallel()
	h := hostLaidOut(t, map[string]string{
		"/proc/swaps":             swapsHeader + swapsLine("/swapfile", "file", 2097148),
		"/swapfile":               "",
		"/sys/block/dm-0/dm/uuid": "CRYPT-LUKS2-5f1c-luks-5f1c\n",
	})
	st, err := os.Stat(h.Path("/swapfile"))
	if err != nil {
		t.Fatal(err)
	}
	dev := uint64(st.Sys().(*syscall.Stat_t).Dev)
	link := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(dev), unix.Minor(dev))
	if err := os.MkdirAll(filepath.Dir(h.Path(link)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../devices/virtual/block/dm-0", h.Path(link)); err != nil {
		t.Fatal(err)
	}
	f := runOne(t, SwapChecks(), "swap.encrypted", h)
	want := []string{"/proc/swaps: /swapfile file 2097148 kB", link + " -> ../../devices/virtual/block/dm-0", "/sys/block/dm-0/dm/uuid: CRYPT-LUKS2-5f1c-luks-5f1c"}
	if f.Status != OK || f.Summary != "swap is encrypted" || !reflect.DeepEqual(f.Evidence, want) {
		t.Errorf("got %s %q %q, want ok %q", f.Status, f.Summary, f.Evidence, want)
	}

	// The same file system on a plain disk.
	if err := os.Remove(h.Path(link)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2", h.Path(link)); err != nil {
		t.Fatal(err)
	}
	if f := runOne(t, SwapChecks(), "swap.encrypted", h); f.Status != Warn {
		t.Errorf("on a plain disk: got %s %q %q", f.Status, f.Summary, f.Evidence)
	}
}
