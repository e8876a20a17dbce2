package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileTimeout bounds a niod run that must end at once: a run that reads
// a FIFO or /dev/zero would block or read until killed.
const hostileTimeout = 10 * time.Second

// mkfifoE2E makes a FIFO at path. Should niod block on it anyway, cleanup
// opens it for writing, which lets the blocked reader go.
func mkfifoE2E(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			syscall.Close(fd)
		}
	})
	return path
}

// TestTLSHostileFiles: [rest] TLS files that are a FIFO, a device or a huge
// file make check and run exit 78 at once, naming the setting, the file and
// what it is, instead of blocking on the FIFO or reading /dev/zero until
// memory runs out.
func TestTLSHostileFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := time.Now()
	crt, key := goCert(t, root, "good", []string{"localhost"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	fifo := mkfifoE2E(t, filepath.Join(root, "fifo.pem"))
	sparse := filepath.Join(root, "huge.crt")
	mustWrite(t, sparse, "", 0o644)
	if err := os.Truncate(sparse, 1<<30); err != nil {
		t.Fatal(err)
	}
	zero := "/dev/zero"
	if st, err := os.Stat(zero); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		zero = ""
	}

	for _, c := range []struct {
		name             string
		cert, key, chain string
		setting          string
		want             string // after "SETTING: FILE: "
	}{
		{"FIFO as certificate", fifo, key, "", "ssl_certificate", "is a FIFO (named pipe), not a regular file"},
		{"/dev/zero as certificate", zero, key, "", "ssl_certificate", "is a device, not a regular file"},
		{"FIFO as key", crt, fifo, "", "ssl_private_key", "is a FIFO (named pipe), not a regular file"},
		{"/dev/zero as key", crt, zero, "", "ssl_private_key", "is a device, not a regular file"},
		{"FIFO as chain", crt, key, fifo, "ssl_certificate_chain", "is a FIFO (named pipe), not a regular file"},
		{"/dev/zero as chain", crt, key, zero, "ssl_certificate_chain", "is a device, not a regular file"},
		{"huge certificate", sparse, key, "", "ssl_certificate", "is larger than 1 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if zero == "" && strings.Contains(c.name, "/dev/zero") {
				t.Skip("no /dev/zero character device here")
			}
			file := map[string]string{"ssl_certificate": c.cert, "ssl_private_key": c.key, "ssl_certificate_chain": c.chain}[c.setting]
			want := "[rest] " + c.setting + ": " + file + ": " + c.want
			dir := t.TempDir()
			// A port makes run read the chain (or certificate) for the
			// health probe too.
			rest := "[rest]\nhost = localhost\nport = " + strconv.Itoa(freePort(t)) +
				"\nssl_certificate = " + c.cert + "\nssl_private_key = " + c.key + "\n"
			if c.chain != "" {
				rest += "ssl_certificate_chain = " + c.chain + "\n"
			}
			mustWrite(t, filepath.Join(dir, "nio.conf"), rest, 0o600)

			start := time.Now()
			_, stderr, code := runNiod(t, runOpts{Dir: dir, Timeout: hostileTimeout}, "check", "-r", dir)
			assertNoCrash(t, stderr)
			if code != 78 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "nio.conf:") {
				t.Errorf("check: exit %d (want 78) after %v, stderr lacks %q (or the setting's file and line):\n%s", code, time.Since(start), want, stderr)
			}
			_, stderr, code = runNiod(t, runOpts{Dir: dir, Timeout: hostileTimeout}, "run", "-r", dir, "--restart", "never", "--", "/bin/true")
			if code != 78 || !strings.Contains(stderr, want) {
				t.Errorf("run: exit %d (want 78), stderr lacks %q:\n%s", code, want, stderr)
			}
		})
	}
}

// TestTLSSymlinkedFilesAccepted: certificate, key and chain may be links,
// as certbot's live/ directory holds them; a key link is judged by the mode
// of the key it names.
func TestTLSSymlinkedFilesAccepted(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	archive, live := filepath.Join(root, "archive"), filepath.Join(root, "live")
	for _, d := range []string{archive, live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// niod cert's files, moved into archive/ and linked from live/ as
	// certbot does (relative links).
	if _, stderr, code := runNiod(t, runOpts{Dir: root}, "cert", "-r", root, "--ca-dir", filepath.Join(root, "ca")); code != 0 {
		t.Fatalf("niod cert: exit %d\n%s", code, stderr)
	}
	var key string
	for src, name := range map[string]string{"cert.crt": "cert", "cert.key": "privkey", "ca.crt": "chain"} {
		target := filepath.Join(archive, name+"1.pem")
		if err := os.Rename(filepath.Join(root, "etc", "ssl", src), target); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "archive", name+"1.pem"), filepath.Join(live, name+".pem")); err != nil {
			t.Fatal(err)
		}
		if name == "privkey" {
			key = target
		}
	}
	text := "[rest]\nhost = localhost\nssl_certificate = live/cert.pem\nssl_private_key = live/privkey.pem\nssl_certificate_chain = live/chain.pem\n"
	mustWrite(t, filepath.Join(root, "nio.conf"), text, 0o600)
	_, stderr, code := runNiod(t, runOpts{Dir: root, Timeout: hostileTimeout}, "check", "-r", root)
	if code != 0 || !strings.Contains(stderr, "is valid until") {
		t.Fatalf("check with links: exit %d\n%s", code, stderr)
	}

	// The link is 0777; the key it names becomes 0644, and is refused.
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runNiod(t, runOpts{Dir: root, Timeout: hostileTimeout}, "check", "-r", root)
	if want := "(a link to " + key + ") is readable by group or others (mode 0644); run: chmod 600 " + key; code != 78 || !strings.Contains(stderr, want) {
		t.Errorf("check with a linked open key: exit %d, stderr lacks %q:\n%s", code, want, stderr)
	}
}

// TestReloadHostileTLSFile: a reload to settings naming a FIFO as the
// certificate is refused at once; the event loop goes on (TERM stops niod).
func TestReloadHostileTLSFile(t *testing.T) {
	t.Parallel()
	n, root, c, first := startQuiet(t)

	now := time.Now()
	_, key := goCert(t, root, "api", []string{"localhost"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	fifo := mkfifoE2E(t, filepath.Join(root, "fifo.pem"))
	c.extra = "[rest]\nhost = localhost\nssl_certificate = " + fifo + "\nssl_private_key = " + key
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	n.waitLog("settings not reloaded; the runtime keeps running with the old ones", 1)
	if pids := n.runtimePIDs(); len(pids) != 1 || !alive(first) {
		t.Errorf("runtime pids %v after a refused reload; want %d still running", pids, first)
	}
	if !strings.Contains(n.stderr.String(), fifo+": is a FIFO") {
		t.Errorf("the refused reload does not name the FIFO:\n%s", n.dump())
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, hostileTimeout)
}
