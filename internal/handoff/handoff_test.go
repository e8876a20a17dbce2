package handoff

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"niod/internal/rundir"
)

func TestMemfdIsSealed(t *testing.T) {
	h, err := NewMemfd([]byte("[s]\nk = v\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.File.Write([]byte("x")); err == nil {
		t.Error("write to a sealed memfd succeeded")
	}
	seals, err := unix.FcntlInt(h.File.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SEAL == 0 {
		t.Errorf("seals %x, %v", seals, err)
	}
	data, err := io.ReadAll(h.File)
	if err != nil || string(data) != "[s]\nk = v\n" {
		t.Errorf("read back %q, %v", data, err)
	}
}

func TestFileHandoff(t *testing.T) {
	base := t.TempDir()
	var warned []string
	h, err := NewFile([]byte("secret"), base, func(m string) { warned = append(warned, m) })
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(h.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v", st.Mode(), err)
	}
	dir, _ := os.Stat(h.dir)
	if dir.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", dir.Mode())
	}
	if rundir.InMemory(base) == (len(warned) > 0) {
		t.Errorf("warning %v does not match tmpfs=%v", warned, rundir.InMemory(base))
	}
	h.Close()
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Errorf("directory left after Close: %v", err)
	}
}

// A failure names the base directory, not the random one below it, so the
// same failure reads the same at every try.
func TestNewFileErrorIsStable(t *testing.T) {
	base := filepath.Join(t.TempDir(), "missing")
	var msgs []string
	for range 2 {
		_, err := NewFile([]byte("x"), base, func(string) {})
		if err == nil {
			t.Fatal("NewFile under a missing directory worked")
		}
		msgs = append(msgs, err.Error())
	}
	if msgs[0] != msgs[1] || !strings.Contains(msgs[0], base) || strings.Contains(msgs[0], "niod-") {
		t.Errorf("errors %q", msgs)
	}
}
