package tlscheck

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangGuard is how long a Check may take before the test calls it hung:
// generous, a Check that does not block returns in milliseconds.
const hangGuard = 10 * time.Second

// checkPromptly runs Check in a goroutine and fails the test when it has
// not returned within hangGuard.
func checkPromptly(t *testing.T, f Files) []Finding {
	t.Helper()
	done := make(chan []Finding, 1)
	go func() {
		done <- Check(f, time.Now()).Findings
	}()
	select {
	case findings := <-done:
		return findings
	case <-time.After(hangGuard):
		t.Fatalf("Check(%+v) has not returned after %v: it blocks on a file", f, hangGuard)
		return nil
	}
}

// mkfifo makes a FIFO at path. Should a read block on it anyway, cleanup
// opens it for writing, which lets the blocked reader go.
func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			syscall.Close(fd)
		}
	})
	return path
}

func devZero(t *testing.T) string {
	t.Helper()
	st, err := os.Stat("/dev/zero")
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Skip("no /dev/zero character device here")
	}
	return "/dev/zero"
}

// fatals is the fatal findings as "setting: message".
func fatals(findings []Finding) []string {
	var out []string
	for _, f := range findings {
		if f.Fatal {
			out = append(out, f.Setting+": "+f.Msg)
		}
	}
	return out
}

// goodFiles writes a CA, a certificate for localhost it signed and the
// certificate's key (0600) to dir.
func goodFiles(t *testing.T, dir string) (ca, crt, key string) {
	t.Helper()
	now := time.Now()
	caPair := mint(t, "niod test CA", nil, nil, now.Add(-time.Hour), now.Add(48*time.Hour))
	leaf := mint(t, "localhost", []string{"localhost"}, caPair, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	ca = writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", caPair.der, 0o644)
	crt = writePEM(t, filepath.Join(dir, "good.crt"), "CERTIFICATE", leaf.der, 0o644)
	key = writeKey(t, filepath.Join(dir, "good.key"), leaf.key, 0o600)
	return ca, crt, key
}

// padded writes the PEM of src followed by newlines to size bytes.
func padded(t *testing.T, src, dst string, size int, mode os.FileMode) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte(strings.Repeat("\n", size-len(data)))...)
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestCheckHostileFiles: a FIFO, a device, a directory or a huge file named
// as the certificate, the key or the chain is one prompt problem about that
// setting, naming the file and what it is; none blocks or is read whole.
func TestCheckHostileFiles(t *testing.T) {
	dir := t.TempDir()
	ca, crt, key := goodFiles(t, dir)
	fifo := mkfifo(t, filepath.Join(dir, "fifo"))
	subdir := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(subdir, 0o755); err != nil {
		t.Fatal(err)
	}
	bigCrt := padded(t, crt, filepath.Join(dir, "big.crt"), MaxPEMSize+1, 0o644)
	bigKey := padded(t, key, filepath.Join(dir, "big.key"), MaxPEMSize+1, 0o600)
	// A sparse file of a GiB: refused by its size, before a byte is read.
	sparse := filepath.Join(dir, "sparse.crt")
	if err := os.WriteFile(sparse, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 1<<30); err != nil {
		t.Fatal(err)
	}

	const fifoReason = "is a FIFO (named pipe), not a regular file"
	tooLarge := "is larger than 1 MiB"
	for _, c := range []struct {
		name    string
		f       Files
		setting string
		want    string // with the path: "PATH: want"
		path    string
	}{
		{"FIFO as certificate", Files{fifo, key, ca, "localhost"}, "ssl_certificate", fifoReason, fifo},
		{"FIFO as key", Files{crt, fifo, ca, "localhost"}, "ssl_private_key", fifoReason, fifo},
		{"FIFO as chain", Files{crt, key, fifo, "localhost"}, "ssl_certificate_chain", fifoReason, fifo},
		{"directory as certificate", Files{subdir, key, ca, "localhost"}, "ssl_certificate", "is a directory, not a file", subdir},
		{"oversized certificate", Files{bigCrt, key, ca, "localhost"}, "ssl_certificate", tooLarge, bigCrt},
		{"oversized key", Files{crt, bigKey, ca, "localhost"}, "ssl_private_key", tooLarge, bigKey},
		{"oversized chain", Files{crt, key, bigCrt, "localhost"}, "ssl_certificate_chain", tooLarge, bigCrt},
		{"sparse GiB certificate", Files{sparse, key, ca, "localhost"}, "ssl_certificate", tooLarge, sparse},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fatals(checkPromptly(t, c.f))
			want := c.setting + ": " + c.path + ": " + c.want
			if len(got) != 1 || !strings.HasPrefix(got[0], want) || strings.Contains(got[0], "\n") {
				t.Errorf("problems %q, want one line starting %q", got, want)
			}
		})
	}

	t.Run("/dev/zero", func(t *testing.T) {
		zero := devZero(t)
		for _, c := range []struct {
			f       Files
			setting string
		}{
			{Files{zero, key, ca, "localhost"}, "ssl_certificate"},
			{Files{crt, zero, ca, "localhost"}, "ssl_private_key"},
			{Files{crt, key, zero, "localhost"}, "ssl_certificate_chain"},
		} {
			got := fatals(checkPromptly(t, c.f))
			want := c.setting + ": /dev/zero: is a device, not a regular file"
			if len(got) != 1 || !strings.HasPrefix(got[0], want) {
				t.Errorf("%s = /dev/zero: problems %q, want one starting %q", c.setting, got, want)
			}
		}
	})

	// The cap is MaxPEMSize itself: a file of exactly that size is read.
	t.Run("at the cap", func(t *testing.T) {
		f := Files{padded(t, crt, filepath.Join(dir, "max.crt"), MaxPEMSize, 0o644), padded(t, key, filepath.Join(dir, "max.key"), MaxPEMSize, 0o600), ca, "localhost"}
		if got := fatals(checkPromptly(t, f)); len(got) > 0 {
			t.Errorf("problems %q for files of MaxPEMSize bytes", got)
		}
	})
}

// TestCheckSymlinks: certificate, key and chain may be symbolic links, as
// certbot's live/ directory holds; what is read and whose mode counts is the
// target, opened as safely as a file named directly.
func TestCheckSymlinks(t *testing.T) {
	dir := t.TempDir()
	ca, crt, key := goodFiles(t, dir)
	// certbot's layout: live/NAME/*.pem are relative links into
	// archive/NAME/*N.pem.
	archive := filepath.Join(dir, "archive", "example")
	live := filepath.Join(dir, "live", "example")
	for _, d := range []string{archive, live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(name, target string) string {
		t.Helper()
		p := filepath.Join(live, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	copyTo := func(src, name string, mode os.FileMode) string {
		t.Helper()
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(archive, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	copyTo(crt, "cert1.pem", 0o644)
	copyTo(key, "privkey1.pem", 0o600)
	copyTo(ca, "chain1.pem", 0o644)
	openKey := copyTo(key, "openkey1.pem", 0o644)
	liveCert := link("cert.pem", "../../archive/example/cert1.pem")
	liveKey := link("privkey.pem", "../../archive/example/privkey1.pem")
	liveChain := link("chain.pem", "../../archive/example/chain1.pem")
	liveOpenKey := link("openkey.pem", "../../archive/example/openkey1.pem")
	dangling := link("gone.pem", "../../archive/example/cert0.pem")
	fifo := mkfifo(t, filepath.Join(archive, "fifo1.pem"))
	toFIFO := link("fifo.pem", "../../archive/example/fifo1.pem")
	loop := link("loop.pem", "loop.pem")

	t.Run("certbot layout is accepted", func(t *testing.T) {
		if got := fatals(checkPromptly(t, Files{liveCert, liveKey, liveChain, "localhost"})); len(got) > 0 {
			t.Errorf("problems %q", got)
		}
	})
	for _, c := range []struct {
		name string
		f    Files
		want string
	}{
		// The link is 0777; the key it names is 0644, and that is what
		// is refused, with the chmod of the target.
		{"key link to an open key", Files{liveCert, liveOpenKey, liveChain, "localhost"},
			"ssl_private_key: " + liveOpenKey + " (a link to " + openKey + ") is readable by group or others (mode 0644); run: chmod 600 " + openKey},
		{"dangling certificate link", Files{dangling, liveKey, "", "localhost"},
			"ssl_certificate: " + dangling + ": is a symbolic link to ../../archive/example/cert0.pem, which does not exist"},
		{"certificate link to a FIFO", Files{toFIFO, liveKey, "", "localhost"},
			"ssl_certificate: " + toFIFO + ": is a symbolic link to " + fifo + ", which is a FIFO (named pipe), not a regular file"},
		{"key link to a FIFO", Files{liveCert, toFIFO, "", "localhost"},
			"ssl_private_key: " + toFIFO + ": is a symbolic link to " + fifo + ", which is a FIFO (named pipe), not a regular file"},
		{"chain link to a FIFO", Files{liveCert, liveKey, toFIFO, "localhost"},
			"ssl_certificate_chain: " + toFIFO + ": is a symbolic link to " + fifo + ", which is a FIFO (named pipe), not a regular file"},
		{"link loop", Files{loop, liveKey, "", "localhost"},
			"ssl_certificate: " + loop + ": is a symbolic link to loop.pem, which cannot be followed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fatals(checkPromptly(t, c.f))
			if len(got) != 1 || !strings.HasPrefix(got[0], c.want) || strings.Contains(got[0], "\n") {
				t.Errorf("problems %q, want one line starting %q", got, c.want)
			}
		})
	}

	t.Run("ReadFile reports the target's mode", func(t *testing.T) {
		f, err := ReadFile(liveKey)
		if err != nil {
			t.Fatal(err)
		}
		if f.Mode != 0o600 || !strings.Contains(f.Text, "PRIVATE KEY") {
			t.Errorf("mode %04o, text %.30q", f.Mode, f.Text)
		}
	})
	t.Run("ReadFileNoLink refuses a link", func(t *testing.T) {
		_, err := ReadFileNoLink(liveCert)
		if want := liveCert + ": is a symbolic link"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
		if _, err := ReadFileNoLink(crt); err != nil {
			t.Errorf("a regular file: %v", err)
		}
	})
}
