package securefile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestReadFileRegular(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nio.conf")
	write(t, path, "[s]\nk = v\n", 0o640)
	wantUID, wantGID := uint32(os.Getuid()), uint32(os.Getgid())
	if os.Getuid() == 0 {
		// Ownership comes from the file, not from the reader.
		wantUID, wantGID = 65534, 65533
		if err := os.Chown(path, int(wantUID), int(wantGID)); err != nil {
			t.Fatal(err)
		}
	} else {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		wantGID = st.Gid
	}
	f, err := ReadFile(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if f.Text != "[s]\nk = v\n" || f.Mode != 0o640 || f.UID != wantUID || f.GID != wantGID {
		t.Fatalf("got text %q, mode %04o, owner %d:%d; want mode 0640, owner %d:%d", f.Text, f.Mode, f.UID, f.GID, wantUID, wantGID)
	}

	// Symbolic links above the last component are followed.
	link := filepath.Join(t.TempDir(), "dirlink")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadFile(filepath.Join(link, "nio.conf"), 1<<20); err != nil || f.Text != "[s]\nk = v\n" {
		t.Fatalf("through a linked directory: %v", err)
	}

	empty := filepath.Join(dir, "empty.conf")
	write(t, empty, "", 0o600)
	if f, err := ReadFile(empty, 0); err != nil || f.Text != "" {
		t.Fatalf("empty file with limit 0: %+v, %v", f, err)
	}
}

func TestReadFileRefused(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir string) string
		reason string
		errno  error
	}{
		{
			name: "symbolic link",
			setup: func(t *testing.T, dir string) string {
				write(t, filepath.Join(dir, "real.conf"), "[s]\n", 0o600)
				return symlink(t, "real.conf", filepath.Join(dir, "link.conf"))
			},
			reason: "is a symbolic link (give the file it points to)",
			errno:  unix.ELOOP,
		},
		{
			name: "dangling symbolic link",
			setup: func(t *testing.T, dir string) string {
				return symlink(t, "missing.conf", filepath.Join(dir, "link.conf"))
			},
			reason: "is a symbolic link",
			errno:  unix.ELOOP,
		},
		{
			name: "symbolic link loop",
			setup: func(t *testing.T, dir string) string {
				symlink(t, "b", filepath.Join(dir, "a"))
				return symlink(t, "a", filepath.Join(dir, "b"))
			},
			reason: "is a symbolic link",
			errno:  unix.ELOOP,
		},
		{
			name:   "directory",
			setup:  func(t *testing.T, dir string) string { return dir },
			reason: "is a directory (give a file)",
			errno:  unix.EISDIR,
		},
		{
			name: "FIFO without a writer",
			setup: func(t *testing.T, dir string) string {
				path := filepath.Join(dir, "fifo")
				if err := unix.Mkfifo(path, 0o600); err != nil {
					t.Fatal(err)
				}
				return path
			},
			reason: "is not a regular file (a FIFO, socket or device cannot be read as settings)",
			errno:  unix.EINVAL,
		},
		{
			name: "character device",
			setup: func(t *testing.T, dir string) string {
				if _, err := os.Stat("/dev/null"); err != nil {
					t.Skip("no /dev/null")
				}
				return "/dev/null"
			},
			reason: "is not a regular file",
			errno:  unix.EINVAL,
		},
		{
			name:   "missing",
			setup:  func(t *testing.T, dir string) string { return filepath.Join(dir, "missing.conf") },
			reason: "no such file",
			errno:  unix.ENOENT,
		},
		{
			name: "file as a directory",
			setup: func(t *testing.T, dir string) string {
				write(t, filepath.Join(dir, "f"), "", 0o600)
				return filepath.Join(dir, "f", "nio.conf")
			},
			reason: "a component of the path is not a directory",
			errno:  unix.ENOTDIR,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			// A FIFO that blocked the open would hang here until the test
			// binary's timeout.
			f, err := ReadFile(path, 1<<20)
			if err == nil {
				t.Fatalf("ReadFile(%s) = %+v, want an error", path, f)
			}
			var se *Error
			if !errors.As(err, &se) || se.Path != path || !strings.HasPrefix(se.Reason, tt.reason) {
				t.Fatalf("error = %#v, want reason %q", err, tt.reason)
			}
			if err.Error() != path+": "+se.Reason {
				t.Errorf("Error() = %q", err.Error())
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("error %v is not %v", err, tt.errno)
			}
		})
	}
}

func symlink(t *testing.T, target, path string) string {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.conf")
	write(t, path, strings.Repeat("x", 11), 0o600)
	if _, err := ReadFile(path, 10); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "is larger than") {
		t.Errorf("11 bytes, limit 10: %v, want ErrTooLarge", err)
	}
	if f, err := ReadFile(path, 11); err != nil || len(f.Text) != 11 {
		t.Errorf("11 bytes, limit 11: %v", err)
	}
	write(t, path, strings.Repeat("x", 2<<20+1), 0o600)
	_, err := ReadFile(path, 2<<20)
	var se *Error
	if !errors.As(err, &se) || se.Reason != "is larger than 2 MiB (is it really a settings file?)" || !errors.Is(err, ErrTooLarge) {
		t.Errorf("2 MiB + 1: %v", err)
	}

	// Files in /proc report size 0: the limit holds while reading too.
	const proc = "/proc/self/maps"
	if _, err := os.Stat(proc); err != nil {
		t.Skipf("no %s: %v", proc, err)
	}
	if _, err := ReadFile(proc, 16); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%s, limit 16: %v, want ErrTooLarge", proc, err)
	}
	f, err := ReadFile(proc, 1<<20)
	if err != nil || !strings.Contains(f.Text, "\n") {
		t.Errorf("%s, limit 1 MiB: %v", proc, err)
	}
}

// unreadableEnv names the file the child process must fail to read.
const unreadableEnv = "SECUREFILE_TEST_UNREADABLE"

// TestReadFileUnreadable needs a user that may not read the file: as root it
// runs itself again as uid 65534.
func TestReadFileUnreadable(t *testing.T) {
	if path := os.Getenv(unreadableEnv); path != "" {
		checkUnreadable(t, path)
		return
	}
	// Directories the unprivileged user may enter.
	dir, err := os.MkdirTemp("", "securefile-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "secret.conf")
	write(t, path, "[s]\ntoken = x\n", 0o600)

	if os.Getuid() != 0 {
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		checkUnreadable(t, path)
		return
	}

	// The test binary is in a directory private to root: run a copy.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "securefile.test")
	copyFile(t, exe, bin)
	cmd := exec.Command(bin, "-test.run=^TestReadFileUnreadable$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOCOVERDIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, unreadableEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as uid 65534: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestReadFileUnreadable") {
		t.Fatalf("child did not run the check:\n%s", out)
	}
}

func checkUnreadable(t *testing.T, path string) {
	t.Helper()
	if os.Getuid() == 0 {
		t.Fatal("the unreadable check cannot run as root")
	}
	f, err := ReadFile(path, 1<<20)
	var se *Error
	if err == nil || !errors.As(err, &se) || !errors.Is(err, unix.EACCES) ||
		se.Reason != "permission denied (the file or a directory above it is not readable by this user)" {
		t.Fatalf("ReadFile = %+v, %v; want permission denied", f, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, 0o755); err != nil {
		t.Fatal(err)
	}
}
