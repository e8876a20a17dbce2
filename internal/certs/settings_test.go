package certs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"niod/internal/config"
)

// sslSettings are what Settings gives for the default --out.
var sslSettings = Project{Root: "/project"}.Settings("/project/etc/ssl")

const sslLines = "SSL_CERTIFICATE = etc/ssl/cert.crt\nSSL_PRIVATE_KEY = etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\n"

func TestCertUpdateSettings(t *testing.T) {
	t.Run("missing file is created 0600", func(t *testing.T) {
		defer syscall.Umask(syscall.Umask(0))
		dir := t.TempDir()
		path := filepath.Join(dir, "secrets.conf")
		sf, err := Project{Root: dir}.ReadSettings("secrets.conf", sslSettings)
		if err != nil {
			t.Fatal(err)
		}
		if err := UpdateSettings(sf, sslSettings); err != nil {
			t.Fatal(err)
		}
		assertFile(t, path, "[user_defined]\n"+sslLines, 0o600)
	})
	t.Run("mode and bytes kept", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nio.conf")
		before := "# keep\r\n[user_defined]\r\nSSL_CERTIFICATE =\r\n"
		writeT(t, path, before, 0o640)
		sf, err := Project{Root: filepath.Dir(path)}.ReadSettings("nio.conf", sslSettings[:1])
		if err != nil {
			t.Fatal(err)
		}
		if err := UpdateSettings(sf, sslSettings[:1]); err != nil {
			t.Fatal(err)
		}
		assertFile(t, path, "# keep\r\n[user_defined]\r\nSSL_CERTIFICATE = etc/ssl/cert.crt\r\n", 0o640)
		leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
		if len(leftovers) > 0 {
			t.Errorf("temporary files left: %v", leftovers)
		}
	})
	t.Run("owner kept", func(t *testing.T) {
		needRoot(t)
		path := filepath.Join(t.TempDir(), "nio.conf")
		writeT(t, path, "[user_defined]\n", 0o600)
		if err := os.Chown(path, 54321, 54322); err != nil {
			t.Fatal(err)
		}
		sf, err := Project{Root: filepath.Dir(path)}.ReadSettings("nio.conf", sslSettings)
		if err != nil {
			t.Fatal(err)
		}
		if err := UpdateSettings(sf, sslSettings); err != nil {
			t.Fatal(err)
		}
		st := statT(t, path)
		if st.Uid != 54321 || st.Gid != 54322 {
			t.Errorf("owner %d:%d, want 54321:54322", st.Uid, st.Gid)
		}
	})
	t.Run("a file made meanwhile is not replaced", func(t *testing.T) {
		dir := t.TempDir()
		sf, err := Project{Root: dir}.ReadSettings("secrets.conf", sslSettings)
		if err != nil {
			t.Fatal(err)
		}
		writeT(t, filepath.Join(dir, "secrets.conf"), "# theirs\n", 0o600)
		err = UpdateSettings(sf, sslSettings)
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != Exists || err.Error() != "secrets.conf: made by someone else meanwhile (run again to update it)" {
			t.Errorf("err = %v, want an Exists error", err)
		}
		assertFile(t, filepath.Join(dir, "secrets.conf"), "# theirs\n", 0o600)
	})
}

func TestCertSettings(t *testing.T) {
	p := Project{Root: "/srv/nio"}
	for _, tt := range []struct {
		out  string
		want [3]string
	}{
		{"/srv/nio/etc/ssl", [3]string{"etc/ssl/cert.crt", "etc/ssl/cert.key", "etc/ssl/ca.crt"}},
		{"/srv/nio", [3]string{"cert.crt", "cert.key", "ca.crt"}},
		{"/etc/nio/tls", [3]string{"/etc/nio/tls/cert.crt", "/etc/nio/tls/cert.key", "/etc/nio/tls/ca.crt"}},
	} {
		got := p.Settings(tt.out)
		keys := [3]string{"SSL_CERTIFICATE", "SSL_PRIVATE_KEY", "SSL_CERTIFICATE_CHAIN"}
		if len(got) != 3 {
			t.Fatalf("Settings(%q) = %v", tt.out, got)
		}
		for i, s := range got {
			if s.Key != keys[i] || s.Value != tt.want[i] {
				t.Errorf("Settings(%q)[%d] = %s = %s, want %s = %s", tt.out, i, s.Key, s.Value, keys[i], tt.want[i])
			}
		}
	}
}

// TestCertReadSettings: what the update would refuse is refused before
// anything is made, as an Error of the kind the command maps to its exit
// code.
func TestCertReadSettings(t *testing.T) {
	key := []config.Setting{{Key: "SSL_PRIVATE_KEY", Value: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"}}
	for _, tt := range []struct {
		name, file, text string
		mode             os.FileMode
		set              []config.Setting
		want             string // "" = accepted
	}{
		{"ok", "nio.conf", "[user_defined]\n", 0o644, sslSettings, ""},
		{"missing file", "", "", 0, sslSettings, ""},
		{"file with errors", "nio.conf", "[user_defined]\nnot a key\n", 0o600, sslSettings, "nio.conf:2: line is neither"},
		{"a secret in a file others can read", "nio.conf", "[user_defined]\n", 0o644, key, "run: chmod 600 nio.conf"},
		{"a value the file cannot hold", "nio.conf", "[user_defined]\n", 0o600, key, "nio.conf: cannot set SSL_PRIVATE_KEY: the value holds a line break"},
		{"directory missing", "", "", 0, sslSettings, "conf/nio.conf: cannot create: no such file or directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Project{Root: t.TempDir()}
			name := "nio.conf"
			if tt.file != "" {
				writeT(t, filepath.Join(p.Root, tt.file), tt.text, tt.mode)
			} else if tt.want != "" {
				name = "conf/nio.conf"
			}
			sf, err := p.ReadSettings(name, tt.set)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if sf.Path != filepath.Join(p.Root, name) || sf.Name != name || sf.Exists != (tt.file != "") {
					t.Errorf("path %s, name %s, exists %v", sf.Path, sf.Name, sf.Exists)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Kind != Invalid {
				t.Fatalf("err = %v, want an Invalid *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line with %q", err, tt.want)
			}
		})
	}
}

func TestCertEditErrorKinds(t *testing.T) {
	for kind, want := range map[config.EditKind]Kind{
		config.EditInvalid:    Invalid,
		config.EditPermission: Permission,
		config.EditBug:        Internal,
	} {
		ee := &config.EditError{Kind: kind, Msg: "nio.conf: what"}
		err := editError(ee)
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != want || err.Error() != "nio.conf: what" || !errors.Is(err, ee) {
			t.Errorf("editError(kind %d) = %#v, want kind %d with the same message", kind, err, want)
		}
	}
}

// needRoot skips a test that needs root, except in CI, where it fails.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root, and CI must run it")
	}
	t.Skip("needs root")
}

func writeT(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func statT(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func assertFile(t *testing.T, path, want string, mode os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s:\n%q\nwant:\n%q", path, got, want)
	}
	if m := os.FileMode(statT(t, path).Mode) & os.ModePerm; m != mode {
		t.Errorf("%s: mode %04o, want %04o", path, m, mode)
	}
}

func TestCertSettingsFileOf(t *testing.T) {
	const refs = "[rest]\nssl_certificate = [[SSL_CERTIFICATE]]\nssl_private_key = [[ SSL_PRIVATE_KEY ]]\nssl_certificate_chain = [[SSL_CERTIFICATE_CHAIN]]\n"
	const defs = "[user_defined]\nSSL_CERTIFICATE = a.pem\nSSL_PRIVATE_KEY = a.key\nSSL_CERTIFICATE_CHAIN = chain.pem\n"
	for _, tt := range []struct {
		name  string
		files [][2]string // name, text, read in order
		env   map[string]string
		want  string
	}{
		{"references to one file", [][2]string{{"nio.conf", refs}, {"secrets.conf", defs}}, nil, "secrets.conf"},
		{"all in one file", [][2]string{{"nio.conf", refs + defs}}, nil, "nio.conf"},
		{"no chain", [][2]string{{"nio.conf", strings.Replace(refs, "[[SSL_CERTIFICATE_CHAIN]]", "", 1)}, {"secrets.conf", defs}}, nil, "secrets.conf"},
		{"a later file wins", [][2]string{{"nio.conf", refs + defs}, {"secrets.conf", defs}}, nil, "secrets.conf"},
		{"split over two files", [][2]string{{"nio.conf", refs + "[user_defined]\nSSL_CERTIFICATE = a.pem\n"}, {"secrets.conf", "[user_defined]\nSSL_PRIVATE_KEY = a.key\nSSL_CERTIFICATE_CHAIN = c.pem\n"}}, nil, ""},
		{"from the environment", [][2]string{{"nio.conf", refs}, {"secrets.conf", defs}}, map[string]string{"SSL_PRIVATE_KEY": "/k.key"}, ""},
		{"paths", [][2]string{{"nio.conf", "[rest]\nssl_certificate = a.pem\nssl_private_key = a.key\n"}}, nil, ""},
		{"more than a reference", [][2]string{{"nio.conf", strings.Replace(refs, "[[SSL_CERTIFICATE]]", "etc/[[SSL_CERTIFICATE]]", 1)}, {"secrets.conf", defs}}, nil, ""},
		{"another name", [][2]string{{"nio.conf", strings.Replace(refs, "[[SSL_CERTIFICATE]]", "[[CERT]]", 1)}, {"secrets.conf", defs + "CERT = a.pem\n"}}, nil, ""},
		{"no key", [][2]string{{"nio.conf", "[rest]\nssl_certificate = [[SSL_CERTIFICATE]]\n"}, {"secrets.conf", defs}}, nil, ""},
	} {
		s := config.New()
		for _, f := range tt.files {
			if ps := s.Read(f[0], []byte(f[1])); len(ps) > 0 {
				t.Fatalf("%s: %v", tt.name, ps)
			}
		}
		s.Resolve(func(name string) (string, bool) { v, ok := tt.env[name]; return v, ok }, "/project")
		if got := SettingsFileOf(s); got != tt.want {
			t.Errorf("%s: SettingsFileOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}
