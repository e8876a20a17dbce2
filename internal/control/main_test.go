package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A test binary started with helperEnv set is a client run as another
// user (runAs): it does what the variable says to the socket in
// socketEnv, prints what it saw and exits.
const (
	helperEnv = "NIOD_CONTROL_TEST_HELPER"
	socketEnv = "NIOD_CONTROL_TEST_SOCKET"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode, os.Getenv(socketEnv)))
	}
	code := m.Run()
	if exeDir != "" {
		os.RemoveAll(exeDir)
	}
	os.Exit(code)
}

// helperMain is the helper process. "raw" sends a status request, prints
// the first answer line and then whether the server closed the
// connection; "find" prints what Find says of the socket.
func helperMain(mode, sock string) int {
	switch mode {
	case "raw":
		c, err := net.Dial("unix", sock)
		if err != nil {
			fmt.Println("dial:", err)
			return 1
		}
		c.SetDeadline(time.Now().Add(time.Minute))
		// A refused peer may find the connection closed already.
		c.Write([]byte(`{"v":1,"cmd":"status"}` + "\n"))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil {
			fmt.Println("read:", err)
			return 1
		}
		fmt.Print(line)
		if os.Getenv("NIOD_CONTROL_TEST_EOF") != "" {
			// Reset, not EOF, when the server closed with the
			// request unread.
			if _, err := r.ReadByte(); errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				fmt.Println("closed")
			} else {
				fmt.Println("not closed:", err)
			}
		}
		return 0
	case "find":
		p, err := Find([]string{sock})
		fmt.Printf("%q %v\n", p, err)
		return 0
	}
	fmt.Println("unknown helper mode", mode)
	return 2
}

// exeDir holds a copy of the test binary that any user may run (the
// build directory is root's alone).
var (
	exeDir  string
	exeOnce sync.Once
	exeErr  error
)

func helperExe(t *testing.T) string {
	t.Helper()
	exeOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			exeErr = err
			return
		}
		exeDir, exeErr = os.MkdirTemp("", "niod-control-test-")
		if exeErr != nil {
			return
		}
		if exeErr = os.Chmod(exeDir, 0o755); exeErr != nil {
			return
		}
		b, err := os.ReadFile(self)
		if err != nil {
			exeErr = err
			return
		}
		exeErr = os.WriteFile(filepath.Join(exeDir, "control.test"), b, 0o755)
	})
	if exeErr != nil {
		t.Fatal(exeErr)
	}
	return filepath.Join(exeDir, "control.test")
}

// runAs runs the helper in mode as uid/gid with groups against sock and
// returns its output.
func runAs(t *testing.T, uid, gid int, groups []uint32, mode, sock string, env ...string) string {
	t.Helper()
	needRoot(t)
	cmd := exec.Command(helperExe(t))
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode, socketEnv+"="+sock)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as uid %d: %v: %s", uid, err, out)
	}
	return string(out)
}

// needRoot skips a test that runs clients as other users: CI runs the
// tests as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// reachableDir is a temporary directory other users may pass through.
func reachableDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, p := range []string{d, filepath.Dir(d)} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return d
}
