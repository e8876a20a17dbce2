package notifysock

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestReceivesWithSenderPID(t *testing.T) {
	s, err := Listen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(s.dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v", st.Mode())
	}
	out := make(chan Message, 4)
	go s.Serve(out)
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: s.Path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("READY=1\nSTATUS=up"))
	c.Close()
	select {
	case m := <-out:
		if m.PID != os.Getpid() || m.Fields["READY"] != "1" || m.Fields["STATUS"] != "up" {
			t.Errorf("got %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	// Another process: the kernel reports its pid, not ours.
	cmd := exec.Command("python3", "-c", `import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"WATCHDOG=1", sys.argv[1])`, s.Path)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-out:
		if m.PID != cmd.Process.Pid || m.Fields["WATCHDOG"] != "1" {
			t.Errorf("got %+v, want pid %d", m, cmd.Process.Pid)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message from the other process")
	}
	s.Close()
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("directory left: %v", err)
	}
}
