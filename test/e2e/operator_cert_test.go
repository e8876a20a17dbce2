package e2e

// What niod cert and niod check say to an operator about certificates: the
// URL to try is on the project's own port, every fix niod check advises is
// a command that works when pasted as printed, from any directory, and both
// count the days a certificate has left alike.

import (
	"context"
	"crypto/tls"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spacedRoot is a project root whose path holds a space, so that a printed
// command that does not quote it fails.
func spacedRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "a project")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// shellRun runs line with sh -c as an operator pastes it: from a directory
// that is not the project, with this niod first on PATH and env added.
func shellRun(t *testing.T, env map[string]string, line string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = t.TempDir()
	e := map[string]string{"PATH": filepath.Dir(niodBin) + ":" + os.Getenv("PATH")}
	for k, v := range env {
		e[k] = v
	}
	cmd.Env = envList(baseEnv(e))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sh -c %q: still running after %v", line, defaultTimeout)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}
	return out.String(), errOut.String(), code
}

// adviceLine is the first line of out that advises a niod cert command,
// and that command: from "niod cert" to the end of the line (an older form
// put it in parentheses).
func adviceLine(t *testing.T, out string) (line, command string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "niod cert "); i >= 0 {
			return l, strings.TrimSuffix(l[i:], ")")
		}
	}
	t.Fatalf("no line advises niod cert:\n%s", out)
	return "", ""
}

// checkPassesAfter runs the advice in stderr of a niod check and wants
// niod check then to pass without a word about the certificate.
func checkPassesAfter(t *testing.T, env map[string]string, stderr, root string, checkArgs ...string) {
	t.Helper()
	_, command := adviceLine(t, stderr)
	if out, errOut, code := shellRun(t, env, command); code != 0 {
		t.Fatalf("sh -c %q: exit %d\n%s%s", command, code, out, errOut)
	}
	args := append([]string{"check", "-r", root}, checkArgs...)
	_, after, code := runNiod(t, runOpts{}, args...)
	cert := filepath.Join(root, "etc", "ssl", "cert.crt")
	if code != 0 || !strings.Contains(after, "tls: "+cert+" is valid until ") || strings.Contains(after, "run: niod cert") {
		t.Errorf("after %s, niod check: exit %d\n%s", command, code, after)
	}
}

// tlsConf is a nio.conf with TLS on in etc/ssl, the layout niod cert
// writes; ssl_certificate is on line 4.
func tlsConf(host string, port int) string {
	return "[rest]\nhost = " + host + "\nport = " + strconv.Itoa(port) + "\n" +
		"ssl_certificate = etc/ssl/cert.crt\nssl_private_key = etc/ssl/cert.key\nssl_certificate_chain = etc/ssl/ca.crt\n"
}

func TestOperatorCertURLOnRestPort(t *testing.T) {
	t.Parallel()
	root := spacedRoot(t)
	env, _ := certEnv(t)
	// The port is a reference that secrets.conf resolves, the host one
	// that nio.conf does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	mustWrite(t, filepath.Join(root, "nio.conf"), "[user_defined]\nNIOHOST = 127.0.0.1\n[rest]\nhost = [[NIOHOST]]\nport = [[NIOPORT]]\n", 0o644)
	mustWrite(t, filepath.Join(root, "secrets.conf"), "[user_defined]\nNIOPORT = "+port+"\n", 0o600)
	stdout := certOK(t, runOpts{Env: env}, "-r", root, "-s", "nio.conf", "-s", "secrets.conf", "--host", "localhost", "--host", "127.0.0.1")
	ca := filepath.Join(root, "etc", "ssl", "ca.crt")
	curl := "curl --cacert '" + ca + "' https://127.0.0.1:" + port + "/nio"
	if !strings.Contains(stdout, "\n  "+curl+"\n") {
		t.Fatalf("stdout lacks %q:\n%s", curl, stdout)
	}

	// The line works as printed against a server with that certificate.
	pair, err := tls.LoadX509KeyPair(filepath.Join(root, "etc", "ssl", "cert.crt"), filepath.Join(root, "etc", "ssl", "cert.key"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/nio" {
			w.Write([]byte("nio is up\n"))
		}
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}}}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	requireTool(t, "curl")
	if out, errOut, code := shellRun(t, nil, curl); code != 0 || out != "nio is up\n" {
		t.Errorf("%s: exit %d\n%s%s", curl, code, out, errOut)
	}

	// The environment wins over [user_defined], as for niod run.
	env["NIOPORT"] = "9555"
	if stdout := certOK(t, runOpts{Env: env}, "-r", root, "-s", "nio.conf", "-s", "secrets.conf", "--host", "localhost", "--force"); !strings.Contains(stdout, "https://localhost:9555/nio\n") {
		t.Errorf("with NIOPORT=9555 in the environment:\n%s", stdout)
	}
}

func TestOperatorCertURLFromDefaultSettings(t *testing.T) {
	t.Parallel()
	env, _ := certEnv(t)

	// nio.conf is read when there is one, without -s.
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[rest]\nhost = 0.0.0.0\nport = 9443\n", 0o644)
	if stdout := certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost"); !strings.Contains(stdout, "https://localhost:9443/nio\n") {
		t.Errorf("[rest] port = 9443:\n%s", stdout)
	}

	// A port that another file defines: a warning that says so, and the
	// word PORT in the URL.
	root = t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[rest]\nport = [[NIOPORT]]\n[pubkeeper]\ntoken = [[PK_TOKEN]]\n", 0o644)
	stdout, stderr, code := runNiod(t, runOpts{Env: env}, "cert", "-r", root, "--host", "localhost")
	want := "warning: nio.conf:2: [rest] port refers to [[NIOPORT]], which no settings file nor the environment defines (give the file that does with -s)\n"
	if code != 0 || stderr != want || !strings.Contains(stdout, "https://localhost:PORT/nio\n") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0, stderr:\n%s\nstdout:\n%s", code, stderr, want, stdout)
	}

	// A nio.conf that does not load is a warning: the certificate is made.
	bad := t.TempDir()
	mustWrite(t, filepath.Join(bad, "nio.conf"), "[rest]\nport = 9443\n[s]\npassword = x\n", 0o644)
	stdout, stderr, code = runNiod(t, runOpts{Env: env}, "cert", "-r", bad, "--host", "localhost")
	if want := "warning: the URL below says PORT, since nio.conf does not load: nio.conf:4: "; code != 0 || !strings.HasPrefix(stderr, want) ||
		strings.Count(stderr, "\n") != 1 || !strings.Contains(stdout, "https://localhost:PORT/nio\n") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and one line starting %q\nstdout:\n%s", code, stderr, want, stdout)
	}

	// Files given with -s must load: nothing is made when they do not.
	files := []string{filepath.Join(root, "etc", "ssl", "cert.crt"), filepath.Join(root, "etc", "ssl", "cert.key")}
	before := snapshotFiles(files...)
	_, stderr, code = runNiod(t, runOpts{Env: env}, "cert", "-r", root, "-s", "nio.conf", "-s", "secret.conf", "--host", "localhost", "--force")
	if code != 78 || !strings.HasPrefix(stderr, "secret.conf: no such file") {
		t.Errorf("a missing -s file: exit %d\n%s", code, stderr)
	}
	if after := snapshotFiles(files...); !maps.Equal(before, after) {
		t.Errorf("a missing -s file: the certificate was replaced")
	}
}

func TestOperatorCertDaysAgree(t *testing.T) {
	t.Parallel()
	root := spacedRoot(t)
	env, _ := certEnv(t)
	mustWrite(t, filepath.Join(root, "nio.conf"), tlsConf("localhost", 9443), 0o600)
	stdout := certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost", "--days", "10")
	until := time.Now().AddDate(0, 0, 10).UTC().Format(time.DateOnly)
	if want := "wrote etc/ssl/cert.crt and etc/ssl/cert.key for localhost (ecdsa-p256, valid for 10 days, until " + until + "); "; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root)
	cert := filepath.Join(root, "etc", "ssl", "cert.crt")
	want := "warning: " + cert + " expires in 10 days, on " + until + "; to make a new one, run: niod cert -r '" + root + "' --host localhost --force\n"
	if code != 0 || !strings.HasPrefix(stderr, want) {
		t.Errorf("niod check: exit %d, stderr:\n%s\nwant first:\n%s", code, stderr, want)
	}
}

func TestOperatorCertAdviceWrongHost(t *testing.T) {
	t.Parallel()
	root := spacedRoot(t)
	env, _ := certEnv(t)
	certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost")
	// The settings are two files, which the advice passes on.
	mustWrite(t, filepath.Join(root, "nio.conf"), "[rest]\nhost = 127.0.0.1\nport = [[NIOPORT]]\n"+
		"ssl_certificate = etc/ssl/cert.crt\nssl_private_key = etc/ssl/cert.key\nssl_certificate_chain = etc/ssl/ca.crt\n", 0o644)
	mustWrite(t, filepath.Join(root, "secrets.conf"), "[user_defined]\nNIOPORT = 9443\n", 0o600)
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root, "-s", "nio.conf", "-s", "secrets.conf")
	cert := filepath.Join(root, "etc", "ssl", "cert.crt")
	want := "nio.conf:4: [rest] ssl_certificate: " + cert + " is for localhost, not 127.0.0.1 ([rest] host); to make one that names it, run: " +
		"niod cert -r '" + root + "' -s nio.conf -s secrets.conf --host 127.0.0.1 --host localhost --force\n"
	if code != 78 || stderr != want {
		t.Errorf("niod check: exit %d, stderr:\n%s\nwant exit 78, stderr:\n%s", code, stderr, want)
	}
	checkPassesAfter(t, env, stderr, root, "-s", "nio.conf", "-s", "secrets.conf")
}

// opensslExpired writes, with the openssl command alone, a CA and a
// certificate for localhost signed by it that ended on 2020-02-01, into
// root/etc/ssl as niod cert names them.
func opensslExpired(t *testing.T, root string) {
	t.Helper()
	openssl := requireTool(t, "openssl")
	dir := filepath.Join(root, "etc", "ssl")
	work := t.TempDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(work, "ca.cnf"), `[ca]
default_ca = local
[local]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
x509_extensions = leaf
unique_subject = no
[any]
commonName = supplied
[leaf]
subjectAltName = DNS:localhost
extendedKeyUsage = serverAuth
basicConstraints = CA:false
`, 0o600)
	mustWrite(t, filepath.Join(work, "index.txt"), "", 0o600)
	mustWrite(t, filepath.Join(work, "serial"), "01\n", 0o600)
	// openssl req cannot date a certificate back; openssl ca can.
	sh := `set -e
` + openssl + ` req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out "$1/ca.crt" -days 30 -subj /CN=niod-test-CA 2>/dev/null
` + openssl + ` req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1/cert.key" -out cert.csr -subj /CN=localhost 2>/dev/null
` + openssl + ` ca -batch -config ca.cnf -cert "$1/ca.crt" -keyfile ca.key -in cert.csr -out "$1/cert.crt" -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null
chmod 600 "$1/cert.key"`
	cmd := exec.Command("sh", "-c", sh, "sh", dir)
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
}

func TestOperatorCertAdviceExpired(t *testing.T) {
	t.Parallel()
	root := spacedRoot(t)
	env, _ := certEnv(t)
	opensslExpired(t, root)
	mustWrite(t, filepath.Join(root, "nio.conf"), tlsConf("localhost", 9443), 0o600)
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root)
	cert := filepath.Join(root, "etc", "ssl", "cert.crt")
	// One line: that the chain does not verify an expired certificate
	// is not news.
	want := "nio.conf:4: [rest] ssl_certificate: " + cert + " expired on 2020-02-01T00:00:00Z; to make a new one, run: niod cert -r '" + root + "' --host localhost --force\n"
	if code != 78 || stderr != want {
		t.Errorf("niod check: exit %d, stderr:\n%s\nwant exit 78, stderr:\n%s", code, stderr, want)
	}
	checkPassesAfter(t, env, stderr, root)
}

func TestOperatorCertAdviceExpiresSoon(t *testing.T) {
	t.Parallel()
	root := spacedRoot(t)
	env, _ := certEnv(t)
	mustWrite(t, filepath.Join(root, "nio.conf"), tlsConf("localhost", 9443), 0o600)
	certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost", "--host", "::1", "--days", "1")
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root)
	line, _ := adviceLine(t, stderr)
	cert := filepath.Join(root, "etc", "ssl", "cert.crt")
	until := time.Now().AddDate(0, 0, 1).UTC().Format(time.DateOnly)
	want := "warning: " + cert + " expires in 1 day, on " + until + "; to make a new one, run: niod cert -r '" + root + "' --host localhost --host ::1 --force"
	if code != 0 || line != want {
		t.Errorf("niod check: exit %d, line:\n%s\nwant:\n%s", code, line, want)
	}
	checkPassesAfter(t, env, stderr, root)
	// The new certificate keeps the names of the old one.
	if out := opensslT(t, "x509", "-in", cert, "-noout", "-ext", "subjectAltName"); !strings.Contains(out, "DNS:localhost, IP Address:0:0:0:0:0:0:0:1") {
		t.Errorf("the new certificate is for %s", out)
	}
}

func TestOperatorCertAdviceMissing(t *testing.T) {
	t.Parallel()
	env, _ := certEnv(t)
	ssl := func(root, name string) string { return filepath.Join(root, "etc", "ssl", name) }

	t.Run("certificate", func(t *testing.T) {
		t.Parallel()
		root := spacedRoot(t)
		mustWrite(t, filepath.Join(root, "nio.conf"), tlsConf("localhost", 9443), 0o600)
		certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost")
		if err := os.Remove(ssl(root, "cert.crt")); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root)
		want := "nio.conf:4: [rest] ssl_certificate: " + ssl(root, "cert.crt") + ": no such file; to make it, run: niod cert -r '" + root + "' --host localhost --force\n"
		if code != 78 || stderr != want {
			t.Errorf("niod check: exit %d, stderr:\n%s\nwant exit 78, stderr:\n%s", code, stderr, want)
		}
		checkPassesAfter(t, env, stderr, root)
	})

	t.Run("every file", func(t *testing.T) {
		t.Parallel()
		root := spacedRoot(t)
		mustWrite(t, filepath.Join(root, "nio.conf"), tlsConf("localhost", 9443), 0o600)
		_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root)
		cmd := "niod cert -r '" + root + "' --host localhost"
		want := "nio.conf:4: [rest] ssl_certificate: " + ssl(root, "cert.crt") + ": no such file; to make it, run: " + cmd + "\n" +
			"nio.conf:5: [rest] ssl_private_key: " + ssl(root, "cert.key") + ": no such file; to make a new key and certificate, run: " + cmd + "\n"
		if code != 78 || stderr != want {
			t.Errorf("niod check: exit %d, stderr:\n%s\nwant exit 78, stderr:\n%s", code, stderr, want)
		}
		checkPassesAfter(t, env, stderr, root)
	})
}

func TestOperatorCertAdviceKeyMismatch(t *testing.T) {
	t.Parallel()
	root := spacedRoot(t)
	env, _ := certEnv(t)
	mustWrite(t, filepath.Join(root, "nio.conf"), tlsConf("localhost", 9443), 0o600)
	certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost")
	key := filepath.Join(root, "etc", "ssl", "cert.key")
	opensslT(t, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root)
	want := "nio.conf:5: [rest] ssl_private_key: " + key + " is not the key of the certificate " + filepath.Join(root, "etc", "ssl", "cert.crt") +
		" (give the key it was made with); to make both again, run: niod cert -r '" + root + "' --host localhost --force\n"
	if code != 78 || stderr != want {
		t.Errorf("niod check: exit %d, stderr:\n%s\nwant exit 78, stderr:\n%s", code, stderr, want)
	}
	checkPassesAfter(t, env, stderr, root)
}

// Files niod cert cannot write under their names, set through the
// [user_defined] keys niod cert updates: the advice updates them.
func TestOperatorCertAdviceOtherNames(t *testing.T) {
	t.Parallel()
	root := spacedRoot(t)
	env, _ := certEnv(t)
	opensslExpired(t, root)
	ssl := filepath.Join(root, "etc", "ssl")
	for from, to := range map[string]string{"cert.crt": "server.pem", "cert.key": "server-key.pem", "ca.crt": "chain.pem"} {
		if err := os.Rename(filepath.Join(ssl, from), filepath.Join(ssl, to)); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(root, "nio.conf"), "[rest]\nhost = localhost\nport = 9443\n"+
		"ssl_certificate = [[SSL_CERTIFICATE]]\nssl_private_key = [[SSL_PRIVATE_KEY]]\nssl_certificate_chain = [[SSL_CERTIFICATE_CHAIN]]\n", 0o644)
	mustWrite(t, filepath.Join(root, "secrets.conf"), "[user_defined]\nSSL_CERTIFICATE = etc/ssl/server.pem\n"+
		"SSL_PRIVATE_KEY = etc/ssl/server-key.pem\nSSL_CERTIFICATE_CHAIN = etc/ssl/chain.pem\n", 0o600)
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root, "-s", "nio.conf", "-s", "secrets.conf")
	want := "nio.conf:4: [rest] ssl_certificate: " + filepath.Join(ssl, "server.pem") + " expired on 2020-02-01T00:00:00Z; to make a new one, run: " +
		"niod cert -r '" + root + "' -s nio.conf -s secrets.conf --host localhost --update-settings secrets.conf\n"
	if code != 78 || stderr != want {
		t.Errorf("niod check: exit %d, stderr:\n%s\nwant exit 78, stderr:\n%s", code, stderr, want)
	}
	checkPassesAfter(t, env, stderr, root, "-s", "nio.conf", "-s", "secrets.conf")
}

// The runtime's user must read its new key: the advice gives it the files.
func TestOperatorCertAdviceUser(t *testing.T) {
	acct := makeAccount(t, 0)
	root := publicRoot(t, "[niod]\nuser = "+acct.name+"\n"+tlsConf("localhost", 9443))
	env, _ := certEnv(t)
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root)
	want := "nio.conf:6: [rest] ssl_certificate: " + filepath.Join(root, "etc", "ssl", "cert.crt") + ": no such file; to make it, run: niod cert -r " + root + " --host localhost -u " + acct.name + "\n"
	if code != 78 || !strings.HasPrefix(stderr, want) {
		t.Errorf("niod check: exit %d, stderr:\n%s\nwant exit 78, first:\n%s", code, stderr, want)
	}
	checkPassesAfter(t, env, stderr, root)
}
