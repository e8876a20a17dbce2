package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// opensslCA makes a CA and a certificate for localhost and 127.0.0.1 signed
// by it, with the openssl command, in root/etc/ssl.
func opensslCA(t *testing.T, root string) {
	t.Helper()
	openssl := requireTool(t, "openssl")
	dir := filepath.Join(root, "etc", "ssl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sh := `set -e
` + openssl + ` req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=niod-test-CA 2>/dev/null
` + openssl + ` req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout cert.key -out cert.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf
` + openssl + ` x509 -req -in cert.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile ext.cnf -out cert.crt 2>/dev/null
chmod 600 cert.key ca.key`
	cmd := exec.Command("sh", "-c", sh)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
}

const tlsRest = "ssl_certificate = etc/ssl/cert.crt\nssl_private_key = etc/ssl/cert.key\nssl_certificate_chain = etc/ssl/ca.crt\n"

func TestTLSProbeVerifiesTheRuntime(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// The certificate niod cert makes, served by Python's ssl module (the
	// reference runtime) and verified by niod's probe.
	if _, stderr, code := runNiod(t, runOpts{Dir: root}, "cert", "-r", root, "--ca-dir", filepath.Join(root, "ca")); code != 0 {
		t.Fatalf("niod cert: exit %d\n%s", code, stderr)
	}
	sd := listenNotify(t)
	port := freePort(t)
	c := conf{port: port, test: "workers = 0", niod: "ready = probe\nhealth_interval = 200ms\nhealth_timeout = 150ms"}
	// The certificate names localhost: serve there, over TLS.
	text := strings.Replace(c.text(t), "[rest]\nhost = 127.0.0.1\n", "[rest]\nhost = localhost\n"+tlsRest, 1)
	mustWrite(t, filepath.Join(root, "nio.conf"), text, 0o600)

	out, stderr, code := runNiod(t, runOpts{Dir: root}, "check", "-r", root)
	if code != 0 || !strings.Contains(stderr, "tls: "+filepath.Join(root, "etc/ssl/cert.crt")+" is valid until") {
		t.Fatalf("check: exit %d\n%s%s", code, out, stderr)
	}
	n := startNiod(t, startOpts{root: root, env: notifyEnv(sd, nil), args: []string{"--log-level", "debug"}})
	// READY=1 with ready = probe: niod's probe reached the runtime over
	// https and verified it with the chain.
	sd.wait(t, n, "READY=1", 1)
	if len(n.stdoutLines("listening on https://")) == 0 {
		t.Errorf("the runtime did not serve https\n%s", n.dump())
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)

	// With a chain that does not verify the server, the probe never
	// succeeds: check refuses it first.
	other := t.TempDir()
	opensslCA(t, other)
	data, _ := os.ReadFile(filepath.Join(other, "etc/ssl/ca.crt"))
	mustWrite(t, filepath.Join(root, "etc/ssl/ca.crt"), string(data), 0o644)
	_, stderr, code = runNiod(t, runOpts{Dir: root}, "check", "-r", root)
	if code != 78 || !strings.Contains(stderr, "does not verify against") {
		t.Errorf("check with a foreign chain: exit %d\n%s", code, stderr)
	}
}

// goCert writes a certificate for hosts valid from..to, self-signed, and
// its key, and returns their paths.
func goCert(t *testing.T, dir, name string, hosts []string, from, to time.Time) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]},
		DNSNames: hosts, NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	crt, k := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	mustWrite(t, crt, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	mustWrite(t, k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), 0o600)
	return crt, k
}

func TestTLSBadFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := time.Now()
	goodCrt, goodKey := goCert(t, root, "good", []string{"localhost"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	_, otherKey := goCert(t, root, "other", []string{"localhost"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	expCrt, expKey := goCert(t, root, "expired", []string{"localhost"}, now.Add(-48*time.Hour), now.Add(-time.Hour))
	elseCrt, elseKey := goCert(t, root, "else", []string{"elsewhere.example"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	openKey := filepath.Join(root, "open.key")
	data, _ := os.ReadFile(goodKey)
	mustWrite(t, openKey, string(data), 0o644)
	soonCrt, soonKey := goCert(t, root, "soon", []string{"localhost"}, now.Add(-time.Hour), now.Add(5*24*time.Hour))

	for _, c := range []struct {
		name      string
		cert, key string
		extra     string
		exit      int
		want      string
	}{
		{"good", goodCrt, goodKey, "", 0, "is valid until"},
		{"mismatched key", goodCrt, otherKey, "", 78, "is not the key of the certificate"},
		{"expired", expCrt, expKey, "", 78, "expired on"},
		{"another host", elseCrt, elseKey, "", 78, "is for elsewhere.example, not localhost"},
		{"world-readable key", goodCrt, openKey, "", 78, "chmod 600 " + openKey},
		{"missing file", filepath.Join(root, "missing.crt"), goodKey, "", 78, "missing.crt: no such file"},
		{"expires soon", soonCrt, soonKey, "", 0, "warning: " + soonCrt + " expires in 5 days"},
		{"no TLS with require_tls", "", "", "[niod]\nrequire_tls = true\n", 78, "require_tls is set"},
		{"no TLS", "", "", "", 0, "warning: the runtime's API is served without TLS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			text := "[rest]\nhost = localhost\nport = 8181\nssl_certificate = " + c.cert + "\nssl_private_key = " + c.key + "\n" + c.extra
			mustWrite(t, filepath.Join(dir, "nio.conf"), text, 0o600)
			_, stderr, code := runNiod(t, runOpts{Dir: dir}, "check", "-r", dir)
			assertNoCrash(t, stderr)
			if code != c.exit || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d (want %d), stderr lacks %q:\n%s", code, c.exit, c.want, stderr)
			}
			if c.exit == 78 && !strings.Contains(stderr, "nio.conf:") {
				t.Errorf("the problem does not name the setting's file and line:\n%s", stderr)
			}
			// run refuses the same settings before starting anything.
			if c.exit == 78 {
				_, rstderr, rcode := runNiod(t, runOpts{Dir: dir}, "run", "-r", dir, "--restart", "never", "--", "/bin/true")
				if rcode != 78 || !strings.Contains(rstderr, c.want) {
					t.Errorf("run: exit %d\n%s", rcode, rstderr)
				}
			}
		})
	}
}

// TestReloadChecksWhatStartChecks: a reload applies the settings with the
// checks of a start (TLS files) and the handoff they ask for.
func TestReloadChecksWhatStartChecks(t *testing.T) {
	t.Parallel()
	n, root, c, first := startQuiet(t)

	// A world-readable key: start would refuse it, so the reload does.
	now := time.Now()
	crt, key := goCert(t, root, "api", []string{"localhost"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	os.Chmod(key, 0o644)
	c.extra = "[rest]\nhost = localhost\nssl_certificate = " + crt + "\nssl_private_key = " + key
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	n.waitLog("settings not reloaded; the runtime keeps running with the old ones", 1)
	if pids := n.runtimePIDs(); len(pids) != 1 || !alive(first) {
		t.Errorf("runtime pids %v after a refused reload; want %d still running", pids, first)
	}

	// handoff = file, set by a reload, is what the next runtime gets.
	c.extra = ""
	c.niod = "handoff = file"
	writeConf(t, root, c)
	n.signal(syscall.SIGHUP)
	second := n.waitRuntime(2)
	for _, kv := range environ(second) {
		if v, ok := strings.CutPrefix(kv, "NIO_SETTINGS="); ok && strings.HasPrefix(v, "/proc/self/fd/") {
			t.Errorf("after a reload to handoff = file, NIO_SETTINGS is still %s", v)
		}
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}
