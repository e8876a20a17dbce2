package memtrim

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestProgramRegions(t *testing.T) {
	maps := `00400000-00764000 r-xp 00000000 fe:00 9978038                            /usr/bin/niod
00764000-00ab8000 r--p 00364000 fe:00 9978038                            /usr/bin/niod
00ab8000-00af7000 rw-p 006b8000 fe:00 9978038                            /usr/bin/niod
00af7000-02b38000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--s 00000000 fe:00 9978038                    /usr/bin/niod
7f0000002000-7f0000003000 r--p 00000000 fe:00 1234                       /usr/lib/other
7f0000004000-7f0000005000 r--p 00000000 fe:01 9978038                    /mnt/niod
zzzz-0000 r--p 00000000 fe:00 9978038 /usr/bin/niod
00500000-00400000 r--p 00000000 fe:00 9978038 /usr/bin/niod
7ffdbd440000-7ffdbd461000 rw-p 00000000 00:00 0                          [stack]`
	got := ProgramRegions([]byte(maps), 0xfe, 0, 9978038)
	want := []Region{{0x400000, 0x764000}, {0x764000, 0xab8000}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

// Release drops this test binary's text from its page tables: resident
// file pages fall, and the program goes on running (it faults back in).
func TestRelease(t *testing.T) {
	before := rssFile(t)
	n, err := Release()
	if err != nil || n == 0 {
		t.Fatalf("Release: %d bytes, %v", n, err)
	}
	if after := rssFile(t); after >= before {
		t.Errorf("RssFile %d kB before, %d kB after", before, after)
	}
}

func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
