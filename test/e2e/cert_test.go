package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sslBlock is what niod cert prints for the default --out.
const sslBlock = `[user_defined]
SSL_CERTIFICATE = etc/ssl/cert.crt
SSL_PRIVATE_KEY = etc/ssl/cert.key
SSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt
`

// certEnv gives niod cert a private home and configuration directory, so
// that no test touches the real ~/.config/niod/ca.
func certEnv(t *testing.T) (env map[string]string, caDir string) {
	t.Helper()
	home := t.TempDir()
	cfg := filepath.Join(home, "cfg")
	return map[string]string{"HOME": home, "XDG_CONFIG_HOME": cfg}, filepath.Join(cfg, "niod", "ca")
}

// certOK runs niod cert and fails the test unless it succeeds.
func certOK(t *testing.T, opts runOpts, args ...string) string {
	t.Helper()
	stdout, stderr, code := runNiod(t, opts, append([]string{"cert"}, args...)...)
	assertNoCrash(t, stdout, stderr)
	if code != 0 {
		t.Fatalf("niod cert %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

func opensslT(t *testing.T, args ...string) string {
	t.Helper()
	openssl := requireTool(t, "openssl")
	out, err := exec.Command(openssl, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readT(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// snapshotFiles reads files into a map, missing ones as "<missing>".
func snapshotFiles(paths ...string) map[string]string {
	m := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			m[p] = "<missing>"
			continue
		}
		m[p] = string(data)
	}
	return m
}

func TestCertOpenSSLVerifies(t *testing.T) {
	root := t.TempDir()
	env, caDir := certEnv(t)
	// Run from the root without -r: the root is the current directory.
	stdout := certOK(t, runOpts{Dir: root, Env: env}, "--host", "edge.example.com", "--host", "localhost", "--host", "127.0.0.1", "--host", "::1")

	ssl := filepath.Join(root, "etc", "ssl")
	if !strings.Contains(stdout, "\n"+sslBlock) {
		t.Errorf("stdout lacks the settings lines:\n%s", stdout)
	}
	if curl := "curl --cacert " + filepath.Join(ssl, "ca.crt") + " https://localhost:PORT/nio"; !strings.Contains(stdout, curl) {
		t.Errorf("stdout lacks %q:\n%s", curl, stdout)
	}
	if !strings.Contains(stdout, "created a local CA in "+caDir) {
		t.Errorf("stdout does not say where the CA is:\n%s", stdout)
	}

	crt, key, chain := filepath.Join(ssl, "cert.crt"), filepath.Join(ssl, "cert.key"), filepath.Join(ssl, "ca.crt")
	for _, args := range [][]string{
		{"verify", "-CAfile", chain, crt},
		{"verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", chain, crt},
	} {
		if out := opensslT(t, args...); strings.TrimSpace(out) != crt+": OK" {
			t.Errorf("openssl %s: %s", strings.Join(args, " "), out)
		}
	}
	// With the CA in the CA directory too: it is the same certificate.
	opensslT(t, "verify", "-CAfile", filepath.Join(caDir, "ca.crt"), crt)

	text := opensslT(t, "x509", "-noout", "-text", "-in", crt)
	for _, want := range []string{
		"DNS:edge.example.com, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
		"Subject: CN = edge.example.com",
		"CA:FALSE",
		"TLS Web Server Authentication",
		"Digital Signature",
		"X509v3 Authority Key Identifier",
		"Public Key Algorithm: id-ecPublicKey",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
	caText := opensslT(t, "x509", "-noout", "-text", "-in", chain)
	for _, want := range []string{"CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "X509v3 Subject Key Identifier"} {
		if !strings.Contains(caText, want) {
			t.Errorf("CA: openssl x509 -text lacks %q:\n%s", want, caText)
		}
	}
	// The key is the certificate's.
	if a, b := opensslT(t, "x509", "-noout", "-pubkey", "-in", crt), opensslT(t, "pkey", "-pubout", "-in", key); a != b {
		t.Errorf("cert.key does not belong to cert.crt:\n%s\n%s", a, b)
	}
	if readT(t, chain) != readT(t, filepath.Join(caDir, "ca.crt")) {
		t.Error("etc/ssl/ca.crt is not a copy of the CA certificate")
	}

	for path, want := range map[string]os.FileMode{
		key: 0o600, crt: 0o644, chain: 0o644, ssl: 0o755,
		caDir: 0o700, filepath.Join(caDir, "ca.key"): 0o600, filepath.Join(caDir, "ca.crt"): 0o644,
	} {
		if m := modeOf(t, path); m != want {
			t.Errorf("%s: mode %04o, want %04o", path, m, want)
		}
	}
}

func TestCertDefaultHostsAndHomeCADir(t *testing.T) {
	root := t.TempDir()
	home := t.TempDir()
	// No XDG_CONFIG_HOME: the CA goes under ~/.config.
	certOK(t, runOpts{Env: map[string]string{"HOME": home}}, "-r", root)
	caDir := filepath.Join(home, ".config", "niod", "ca")
	if _, err := os.Stat(filepath.Join(caDir, "ca.key")); err != nil {
		t.Fatalf("no CA in %s: %v", caDir, err)
	}
	text := opensslT(t, "x509", "-noout", "-text", "-in", filepath.Join(root, "etc", "ssl", "cert.crt"))
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	want := "DNS:" + strings.ToLower(hostname) + ", DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
	if strings.EqualFold(hostname, "localhost") {
		want = "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
	}
	if !strings.Contains(text, want) {
		t.Errorf("default SANs: want %q in\n%s", want, text)
	}
}

func TestCertSecondRunRefusedForceReplaces(t *testing.T) {
	root := t.TempDir()
	env, caDir := certEnv(t)
	opts := runOpts{Env: env}
	certOK(t, opts, "-r", root)

	ssl := filepath.Join(root, "etc", "ssl")
	files := []string{
		filepath.Join(ssl, "cert.crt"), filepath.Join(ssl, "cert.key"), filepath.Join(ssl, "ca.crt"),
		filepath.Join(caDir, "ca.crt"), filepath.Join(caDir, "ca.key"),
	}
	first := snapshotFiles(files...)

	stdout, stderr, code := runNiod(t, opts, "cert", "-r", root)
	if code != 78 {
		t.Fatalf("second run without --force: exit %d, want 78\nstderr:\n%s", code, stderr)
	}
	if want := "niod cert: etc/ssl/cert.key exists (use --force to replace it)\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if stdout != "" {
		t.Errorf("stdout of a refused run: %q", stdout)
	}
	second := snapshotFiles(files...)
	for _, f := range files {
		if first[f] != second[f] {
			t.Errorf("%s changed although the run was refused", f)
		}
	}
	entries, _ := os.ReadDir(ssl)
	if len(entries) != 3 {
		t.Errorf("%s holds %d entries, want 3 (temporary files left?)", ssl, len(entries))
	}

	stdout = certOK(t, opts, "-r", root, "--force")
	if !strings.Contains(stdout, "using the local CA in "+caDir) {
		t.Errorf("the second run does not say it reused the CA:\n%s", stdout)
	}
	third := snapshotFiles(files...)
	for i, f := range files {
		changed := third[f] != first[f]
		if wantChanged := i < 2; changed != wantChanged {
			t.Errorf("%s: changed %v, want %v (the CA is reused, the certificate and key replaced)", f, changed, wantChanged)
		}
	}
	opensslT(t, "verify", "-CAfile", filepath.Join(ssl, "ca.crt"), filepath.Join(ssl, "cert.crt"))
	if m := modeOf(t, filepath.Join(ssl, "cert.key")); m != 0o600 {
		t.Errorf("replaced cert.key: mode %04o", m)
	}
}

// tlsServer is a python3 HTTPS server with cert and key on 127.0.0.1.
const tlsServer = `
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"nio ok")
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
`

// tlsClient connects to 127.0.0.1:PORT as SERVER_NAME, verifying with
// CAFILE ("-" for the system's trust store), strict X.509 checks on, and
// prints the response's body.
const tlsClient = `
import socket, ssl, sys
cafile, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=None if cafile == "-" else cafile)
assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=name) as s:
        s.sendall(b"GET /nio HTTP/1.0\r\nHost: " + name.encode() + b"\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
head, _, body = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode(), body.decode())
`

// serveTLS starts tlsServer and returns its port; it is stopped when the
// test ends.
func serveTLS(t *testing.T, cert, key string) string {
	t.Helper()
	cmd := exec.Command(pythonPath(t), "-c", tlsServer, cert, key)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		port <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case p := <-port:
		if p == "" {
			cmd.Wait()
			t.Fatalf("the python3 TLS server did not start:\n%s", stderr.String())
		}
		return p
	case <-time.After(waitLong):
		t.Fatalf("the python3 TLS server printed no port:\n%s", stderr.String())
		return ""
	}
}

func tlsGet(t *testing.T, cafile, port, name string) (string, error) {
	t.Helper()
	out, err := exec.Command(pythonPath(t), "-c", tlsClient, cafile, port, name).CombinedOutput()
	return string(out), err
}

func TestCertKeyTypesServeTLS(t *testing.T) {
	for _, kt := range []struct {
		name, alg, bits string
	}{
		{"ecdsa-p256", "id-ecPublicKey", "(256 bit)"},
		{"rsa-2048", "rsaEncryption", "(2048 bit)"},
		{"rsa-3072", "rsaEncryption", "(3072 bit)"},
	} {
		t.Run(kt.name, func(t *testing.T) {
			root := t.TempDir()
			env, caDir := certEnv(t)
			certOK(t, runOpts{Env: env}, "-r", root, "--key-type", kt.name)
			ssl := filepath.Join(root, "etc", "ssl")
			crt, key, chain := filepath.Join(ssl, "cert.crt"), filepath.Join(ssl, "cert.key"), filepath.Join(ssl, "ca.crt")

			opensslT(t, "verify", "-x509_strict", "-CAfile", chain, crt)
			for _, f := range []string{crt, filepath.Join(caDir, "ca.crt")} {
				text := opensslT(t, "x509", "-noout", "-text", "-in", f)
				if !strings.Contains(text, "Public Key Algorithm: "+kt.alg) || !strings.Contains(text, kt.bits) {
					t.Errorf("%s: want %s %s:\n%s", f, kt.alg, kt.bits, text)
				}
			}
			if strings.HasPrefix(kt.name, "rsa") {
				if text := opensslT(t, "x509", "-noout", "-ext", "keyUsage", "-in", crt); !strings.Contains(text, "Digital Signature, Key Encipherment") {
					t.Errorf("RSA key usage: %s", text)
				}
			}
			if m := modeOf(t, key); m != 0o600 {
				t.Errorf("cert.key: mode %04o", m)
			}

			port := serveTLS(t, crt, key)
			for _, name := range []string{"localhost", "127.0.0.1"} {
				out, err := tlsGet(t, chain, port, name)
				if err != nil || strings.TrimSpace(out) != "HTTP/1.0 200 OK nio ok" {
					t.Errorf("python3 client as %s with cafile=ca.crt: %v\n%s", name, err, out)
				}
			}
		})
	}
}

func TestCertTLSClientRefusesWhatItMust(t *testing.T) {
	root := t.TempDir()
	env, _ := certEnv(t)
	certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost")
	ssl := filepath.Join(root, "etc", "ssl")
	port := serveTLS(t, filepath.Join(ssl, "cert.crt"), filepath.Join(ssl, "cert.key"))
	chain := filepath.Join(ssl, "ca.crt")
	if out, err := tlsGet(t, chain, port, "localhost"); err != nil {
		t.Fatalf("the good case fails: %v\n%s", err, out)
	}
	for _, c := range []struct{ what, cafile, name, want string }{
		{"a name the certificate lacks", chain, "example.com", "CERTIFICATE_VERIFY_FAILED"},
		{"an address the certificate lacks", chain, "127.0.0.1", "CERTIFICATE_VERIFY_FAILED"},
		{"without the CA", "-", "localhost", "CERTIFICATE_VERIFY_FAILED"},
	} {
		out, err := tlsGet(t, c.cafile, port, c.name)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: err %v, want %s:\n%s", c.what, err, c.want, out)
		}
	}
}

// settingsLines splits text after each line end, keeping them.
func settingsLines(text string) []string {
	var out []string
	for text != "" {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return append(out, text)
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

func TestCertUpdateSettings(t *testing.T) {
	example, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "project", "nio.conf"))
	if err != nil {
		t.Fatal(err)
	}
	wantValues := map[string]string{
		"SSL_CERTIFICATE":       "etc/ssl/cert.crt",
		"SSL_PRIVATE_KEY":       "etc/ssl/cert.key",
		"SSL_CERTIFICATE_CHAIN": "etc/ssl/ca.crt",
	}
	for _, eol := range []string{"\n", "\r\n"} {
		t.Run(fmt.Sprintf("line ends %q", eol), func(t *testing.T) {
			root := t.TempDir()
			env, _ := certEnv(t)
			before := strings.ReplaceAll(string(example), "\n", eol)
			conf := filepath.Join(root, "nio.conf")
			if err := writeFile(conf, []byte(before), 0o600); err != nil {
				t.Fatal(err)
			}
			stdout := certOK(t, runOpts{Env: env}, "-r", root, "--update-settings", "nio.conf")
			if !strings.Contains(stdout, "updated nio.conf") {
				t.Errorf("stdout does not say nio.conf was updated:\n%s", stdout)
			}
			after := readT(t, conf)
			bl, al := settingsLines(before), settingsLines(after)
			if len(bl) != len(al) {
				t.Fatalf("nio.conf has %d lines, had %d:\n%s", len(al), len(bl), after)
			}
			changed := 0
			for i := range bl {
				key, _, _ := strings.Cut(bl[i], " =")
				if v, ok := wantValues[key]; ok {
					changed++
					if want := key + " = " + v + eol; al[i] != want {
						t.Errorf("line %d = %q, want %q", i+1, al[i], want)
					}
					continue
				}
				if al[i] != bl[i] {
					t.Errorf("line %d changed: %q -> %q", i+1, bl[i], al[i])
				}
			}
			if changed != 3 {
				t.Errorf("%d SSL lines in the example, want 3", changed)
			}
			if m := modeOf(t, conf); m != 0o600 {
				t.Errorf("nio.conf: mode %04o, want 0600 as before", m)
			}

			// Python's configparser, as the runtime reads it, and niod
			// itself see the new values.
			out, err := exec.Command(pythonPath(t), "-c", `
import configparser, sys
p = configparser.RawConfigParser(strict=True, interpolation=None)
p.optionxform = str
p.read(sys.argv[1], encoding="utf-8")
u = p["user_defined"]
print(u["SSL_CERTIFICATE"], u["SSL_PRIVATE_KEY"], u["SSL_CERTIFICATE_CHAIN"], u["NIOPORT"])
`, conf).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "etc/ssl/cert.crt etc/ssl/cert.key etc/ssl/ca.crt 8181" {
				t.Errorf("configparser reads: %v %s", err, out)
			}
			cfgEnv := map[string]string{"PK_TOKEN": "t0ken", "ADMIN_PASSWORD": "pw"}
			cfgOut, cfgErr, code := runNiod(t, runOpts{Env: cfgEnv}, "config", "-r", root, "--reveal")
			if code != 0 || !strings.Contains(cfgOut, "ssl_private_key = etc/ssl/cert.key\n") {
				t.Errorf("niod config: exit %d\n%s\n%s", code, cfgOut, cfgErr)
			}
		})
	}

	t.Run("missing file is created 0600", func(t *testing.T) {
		root := t.TempDir()
		env, _ := certEnv(t)
		certOK(t, runOpts{Env: env}, "-r", root, "--update-settings", "secrets.conf")
		path := filepath.Join(root, "secrets.conf")
		if got := readT(t, path); got != sslBlock {
			t.Errorf("secrets.conf = %q, want %q", got, sslBlock)
		}
		if m := modeOf(t, path); m != 0o600 {
			t.Errorf("secrets.conf: mode %04o, want 0600", m)
		}
	})

	t.Run("a file others can read takes the key paths", func(t *testing.T) {
		// Paths of key files are not secrets: a version-controlled 0644
		// nio.conf may hold them, and niod check accepts it.
		root := t.TempDir()
		env, _ := certEnv(t)
		conf := filepath.Join(root, "nio.conf")
		if err := writeFile(conf, example, 0o644); err != nil {
			t.Fatal(err)
		}
		certOK(t, runOpts{Env: env}, "-r", root, "--update-settings", "nio.conf")
		if m := modeOf(t, conf); m != 0o644 {
			t.Errorf("nio.conf: mode %04o, want 0644 kept", m)
		}
		_, stderr, code := runNiod(t, runOpts{Dir: root, Env: map[string]string{"ADMIN_PASSWORD": "x", "PK_TOKEN": "y"}}, "check", "-r", root)
		if code != 0 {
			t.Errorf("check: exit %d\n%s", code, stderr)
		}
	})

	t.Run("out of the root: absolute paths", func(t *testing.T) {
		root, out := t.TempDir(), t.TempDir()
		env, _ := certEnv(t)
		stdout := certOK(t, runOpts{Env: env}, "-r", root, "--out", out, "--update-settings", "secrets.conf")
		want := "[user_defined]\nSSL_CERTIFICATE = " + filepath.Join(out, "cert.crt") +
			"\nSSL_PRIVATE_KEY = " + filepath.Join(out, "cert.key") +
			"\nSSL_CERTIFICATE_CHAIN = " + filepath.Join(out, "ca.crt") + "\n"
		if got := readT(t, filepath.Join(root, "secrets.conf")); got != want {
			t.Errorf("secrets.conf = %q, want %q", got, want)
		}
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	})
}

func TestCertUserOwnsTheFiles(t *testing.T) {
	requireRoot(t)
	acct := makeAccount(t, 0)
	root := publicRoot(t, "[user_defined]\n")
	env, caDir := certEnv(t)
	certOK(t, runOpts{Dir: root, Env: env}, "-r", root, "-u", acct.name)

	ssl := filepath.Join(root, "etc", "ssl")
	for _, name := range []string{"cert.crt", "cert.key", "ca.crt"} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(ssl, name), &st); err != nil {
			t.Fatal(err)
		}
		if int(st.Uid) != acct.uid || int(st.Gid) != acct.gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", name, st.Uid, st.Gid, acct.uid, acct.gid)
		}
	}
	for _, name := range []string{"ca.crt", "ca.key"} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(caDir, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 {
			t.Errorf("CA %s: owner %d, want root's", name, st.Uid)
		}
	}
	if m := modeOf(t, filepath.Join(ssl, "cert.key")); m != 0o600 {
		t.Errorf("cert.key: mode %04o", m)
	}

	// The user can read the key. (openssl, not python3: the python3 on
	// PATH may live in root's home, out of the user's reach.)
	load := exec.Command(requireTool(t, "openssl"), "pkey", "-noout", "-in", filepath.Join(ssl, "cert.key"))
	load.Dir = root
	load.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(acct.uid), Gid: uint32(acct.gid)}}
	if out, err := load.CombinedOutput(); err != nil {
		t.Errorf("user %s cannot read cert.key: %v\n%s", acct.name, err, out)
	}

	// A user who is not root cannot give the files to someone else.
	uid := uint32(acct.uid)
	_, stderr, code := runNiod(t, runOpts{Dir: root, UID: &uid, Env: map[string]string{"HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"}},
		"cert", "-r", root, "--force", "-u", "root")
	if code != 77 || !strings.Contains(stderr, "only root can give the files to user root") {
		t.Errorf("-u root as %s: exit %d, want 77:\n%s", acct.name, code, stderr)
	}
}

func TestCertBadCommandLines(t *testing.T) {
	root := t.TempDir()
	env, _ := certEnv(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--key-type", "dsa"}, 64, `--key-type: unknown key type "dsa" (use ecdsa-p256, rsa-2048, rsa-3072)`},
		{[]string{"--days", "0"}, 64, "--days must be between 1 and 3650, not 0"},
		{[]string{"--days", "soon"}, 64, `invalid argument "soon" for "--days"`},
		{[]string{"--host", ""}, 64, "--host: "},
		{[]string{"--host", "two words"}, 64, `host "two words": not a DNS name or an IP address`},
		{[]string{"--bogus"}, 64, "unknown flag: --bogus"},
		{[]string{"extra"}, 64, `unexpected argument "extra"`},
		{[]string{"-u", "nosuchuser0x"}, 78, `user "nosuchuser0x" not found`},
		{[]string{"-r", "/nonexistent/project"}, 78, "/nonexistent/project: the project root is not a directory"},
	} {
		args := append([]string{"cert", "-r", root}, c.args...)
		stdout, stderr, code := runNiod(t, runOpts{Env: env}, args...)
		assertNoCrash(t, stdout, stderr)
		if code != c.code || !strings.HasPrefix(stderr, "niod cert: ") || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("niod %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(args, " "), code, stderr, c.code, c.want)
		}
		if _, err := os.Stat(filepath.Join(root, "etc")); err == nil {
			t.Fatalf("niod %s wrote files", strings.Join(args, " "))
		}
	}

	stdout, _, code := runNiod(t, runOpts{Env: env}, "cert", "--help")
	for _, want := range []string{"Usage: niod cert [flags]", "--update-settings", "--key-type", "78 a file exists"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("niod cert --help: exit %d, lacks %q:\n%s", code, want, stdout)
		}
	}
}
