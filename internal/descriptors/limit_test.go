package descriptors

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		soft, hard uint64
		ok         bool
	}{
		{1024, 524288, true}, {16, 16, true}, {6, 6, false}, {3, 15, false}, {15, 1 << 20, true},
	} {
		err := judge(c.soft, c.hard)
		if (err == nil) != c.ok {
			t.Errorf("soft %d hard %d: %v", c.soft, c.hard, err)
		}
		if err != nil && !strings.Contains(err.Error(), "ulimit -n") {
			t.Errorf("the error does not say what to do: %v", err)
		}
	}
}

func TestCloseOnExec(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// Make the descriptor inheritable, as a parent's leaked one would be.
	if _, err := unix.FcntlInt(r.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	if err := CloseOnExec(); err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(r.Fd(), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d flags %#x %v: not close-on-exec", r.Fd(), flags, err)
	}
	for fd := range 3 {
		if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
			t.Errorf("standard descriptor %d made close-on-exec", fd)
		}
	}
}
