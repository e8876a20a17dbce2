package doctor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A file that comes in more than one read (a pipe, a /proc file read a
// page at a time) is read to its end.
func TestReadFileReadsToTheEnd(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		w.WriteString("first ")
		time.Sleep(20 * time.Millisecond) // a second write, after the reader's first read
		w.WriteString("second")
	}()
	h := &Host{Root: "/"}
	if got, err := h.ReadFile(fifo); got != "first second" {
		t.Errorf("ReadFile: %q %v", got, err)
	}
}
