package certs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"niod/internal/tlscheck"
)

// hangGuard is how long an Issue may take before the test calls it hung.
const hangGuard = 10 * time.Second

// issuePromptly runs Issue in a goroutine and fails the test when it has
// not returned within hangGuard.
func issuePromptly(t *testing.T, req Request) (*Result, error) {
	t.Helper()
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := Issue(req)
		done <- out{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(hangGuard):
		t.Fatalf("Issue has not returned after %v: it blocks on a file", hangGuard)
		return nil, nil
	}
}

// mkfifoT makes a FIFO at path; cleanup opens it for writing, which lets a
// reader blocked on it go.
func mkfifoT(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			syscall.Close(fd)
		}
	})
}

// TestCertHostileFiles: a FIFO, a device, a link or a huge file where Issue
// reads (the CA's files, the ca.crt beside the certificate) is refused at
// once, naming the file; nothing is written.
func TestCertHostileFiles(t *testing.T) {
	base := request(t, ECDSAP256)
	if _, err := Issue(base); err != nil {
		t.Fatal(err)
	}
	caCert := readT(t, filepath.Join(base.CADir, CACert))
	caKey := readT(t, filepath.Join(base.CADir, CAKey))
	huge := func(t *testing.T, path string, mode os.FileMode) {
		writeT(t, path, "", mode)
		if err := os.Truncate(path, tlscheck.MaxPEMSize+1); err != nil {
			t.Fatal(err)
		}
	}
	zero := func(t *testing.T, path string) {
		if st, err := os.Stat("/dev/zero"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Skip("no /dev/zero character device here")
		}
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		// prepare puts the hostile file in the CA directory or OutDir.
		prepare func(t *testing.T, ca, out string)
		file    string // the file the error names: "ca/NAME" or "out/NAME"
		want    string
		kind    Kind
	}{
		{"FIFO as the CA certificate", func(t *testing.T, ca, out string) {
			mkfifoT(t, filepath.Join(ca, CACert))
			writeT(t, filepath.Join(ca, CAKey), caKey, 0o600)
		}, "ca/" + CACert, "is a FIFO (named pipe), not a regular file", Invalid},
		{"FIFO as the CA key", func(t *testing.T, ca, out string) {
			writeT(t, filepath.Join(ca, CACert), caCert, 0o644)
			mkfifoT(t, filepath.Join(ca, CAKey))
		}, "ca/" + CAKey, "is a FIFO (named pipe), not a regular file", Invalid},
		{"oversized CA certificate", func(t *testing.T, ca, out string) {
			huge(t, filepath.Join(ca, CACert), 0o644)
			writeT(t, filepath.Join(ca, CAKey), caKey, 0o600)
		}, "ca/" + CACert, "is larger than 1 MiB", Invalid},
		{"oversized CA key", func(t *testing.T, ca, out string) {
			writeT(t, filepath.Join(ca, CACert), caCert, 0o644)
			huge(t, filepath.Join(ca, CAKey), 0o600)
		}, "ca/" + CAKey, "is larger than 1 MiB", Invalid},
		{"CA certificate a link to /dev/zero", func(t *testing.T, ca, out string) {
			zero(t, filepath.Join(ca, CACert))
			writeT(t, filepath.Join(ca, CAKey), caKey, 0o600)
		}, "ca/" + CACert, "is a symbolic link", Invalid},
		{"CA key a link", func(t *testing.T, ca, out string) {
			writeT(t, filepath.Join(ca, CACert), caCert, 0o644)
			writeT(t, filepath.Join(ca, "real.key"), caKey, 0o600)
			if err := os.Symlink("real.key", filepath.Join(ca, CAKey)); err != nil {
				t.Fatal(err)
			}
		}, "ca/" + CAKey, "is a symbolic link", Invalid},
		{"FIFO as ca.crt beside the certificate", func(t *testing.T, ca, out string) {
			mkfifoT(t, filepath.Join(out, ChainFile))
		}, "out/" + ChainFile, "exists but is a FIFO (named pipe), not a regular file", Exists},
		{"/dev/zero as ca.crt beside the certificate", func(t *testing.T, ca, out string) {
			zero(t, filepath.Join(out, ChainFile))
		}, "out/" + ChainFile, "exists but is a symbolic link to /dev/zero, which is a device, not a regular file", Exists},
		{"oversized ca.crt beside the certificate", func(t *testing.T, ca, out string) {
			huge(t, filepath.Join(out, ChainFile), 0o644)
		}, "out/" + ChainFile, "exists but is larger than 1 MiB", Exists},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, ECDSAP256)
			for _, d := range []string{req.CADir, req.OutDir} {
				if err := mkdirAll(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			tt.prepare(t, req.CADir, req.OutDir)
			_, err := issuePromptly(t, req)
			file := filepath.Join(req.CADir, strings.TrimPrefix(tt.file, "ca/"))
			if strings.HasPrefix(tt.file, "out/") {
				file = filepath.Join(req.OutDir, strings.TrimPrefix(tt.file, "out/"))
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Kind != tt.kind {
				t.Fatalf("err = %v, want a %v error", err, tt.kind)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, file+": "+tt.want) && !strings.HasPrefix(msg, file+" "+tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("err = %q, want one line: %s: %s", msg, file, tt.want)
			}
			for _, name := range []string{CertFile, KeyFile} {
				if _, err := os.Lstat(filepath.Join(req.OutDir, name)); err == nil {
					t.Errorf("%s was written", name)
				}
			}
		})
	}

	// With --force the hostile ca.crt beside the certificate is replaced
	// (its name, not what a link names).
	t.Run("replaced with force", func(t *testing.T) {
		req := request(t, ECDSAP256)
		if err := mkdirAll(req.OutDir, 0o755); err != nil {
			t.Fatal(err)
		}
		mkfifoT(t, filepath.Join(req.OutDir, ChainFile))
		req.Force = true
		res, err := issuePromptly(t, req)
		if err != nil {
			t.Fatal(err)
		}
		assertFile(t, res.Chain, readT(t, filepath.Join(req.CADir, CACert)), 0o644)
	})
}

// TestCertNeverWritesThroughLinks: a symbolic link planted where Issue
// writes (cert.key, cert.crt, ca.crt, the CA's files) is never followed:
// without Force it is refused as an existing file, with Force the link
// itself is replaced and what it names is untouched, nor created.
func TestCertNeverWritesThroughLinks(t *testing.T) {
	for _, name := range []string{KeyFile, CertFile, ChainFile} {
		t.Run(name, func(t *testing.T) {
			victim := filepath.Join(t.TempDir(), "victim")
			writeT(t, victim, "victim's\n", 0o644)
			missing := filepath.Join(t.TempDir(), "not-there")
			for _, target := range []string{victim, missing} {
				req := request(t, ECDSAP256)
				if err := mkdirAll(req.OutDir, 0o755); err != nil {
					t.Fatal(err)
				}
				link := filepath.Join(req.OutDir, name)
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				req.Force = false
				_, err := issuePromptly(t, req)
				var ce *Error
				if !errors.As(err, &ce) || ce.Kind != Exists || !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "use --force") {
					t.Fatalf("link to %s: err = %v, want an Exists error naming %s", target, err, link)
				}
				req.Force = true
				if _, err := issuePromptly(t, req); err != nil {
					t.Fatal(err)
				}
				if st, err := os.Lstat(link); err != nil || !st.Mode().IsRegular() {
					t.Errorf("%s is not a regular file after --force: %v", link, err)
				}
				assertFile(t, victim, "victim's\n", 0o644)
				if _, err := os.Lstat(missing); err == nil {
					t.Errorf("%s was created through the link", missing)
				}
			}
		})
	}

	// The ca.crt beside the certificate may be a link to the CA's own
	// certificate: it is read through the link and kept as it is.
	t.Run("chain linked to the CA certificate is kept", func(t *testing.T) {
		req := request(t, ECDSAP256)
		if _, err := Issue(req); err != nil {
			t.Fatal(err)
		}
		chain := filepath.Join(req.OutDir, ChainFile)
		os.Remove(chain)
		if err := os.Symlink(filepath.Join(req.CADir, CACert), chain); err != nil {
			t.Fatal(err)
		}
		req.Force = true
		res, err := issuePromptly(t, req)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(chain); !res.ChainKept || err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("ChainKept %v, %s no longer a link (%v)", res.ChainKept, chain, err)
		}
	})

	// Links planted in an empty CA directory are not written through
	// either: the CA is not made, and nothing appears where they point.
	t.Run("CA directory", func(t *testing.T) {
		req := request(t, ECDSAP256)
		if err := mkdirAll(req.CADir, 0o700); err != nil {
			t.Fatal(err)
		}
		elsewhere := t.TempDir()
		for _, name := range []string{CACert, CAKey} {
			if err := os.Symlink(filepath.Join(elsewhere, name), filepath.Join(req.CADir, name)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := issuePromptly(t, req)
		if err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
			t.Fatalf("err = %v, want a refused link", err)
		}
		if entries, _ := os.ReadDir(elsewhere); len(entries) > 0 {
			t.Errorf("written through the links: %v", entries)
		}
		if _, err := os.Stat(req.OutDir); err == nil {
			t.Error("files were written")
		}
	})
}

func readT(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
