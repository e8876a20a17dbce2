package tlscheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type pair struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

func mint(t *testing.T, cn string, hosts []string, parent *pair, from, to time.Time) *pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	} else {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &pair{c, der, key}
}

func writePEM(t *testing.T, path, typ string, der []byte, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
	return path
}

func writeKey(t *testing.T, path string, k *ecdsa.PrivateKey, mode os.FileMode) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, path, "PRIVATE KEY", der, mode)
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca := mint(t, "niod test CA", nil, nil, now.Add(-time.Hour), now.Add(48*time.Hour))
	otherCA := mint(t, "other CA", nil, nil, now.Add(-time.Hour), now.Add(48*time.Hour))
	good := mint(t, "localhost", []string{"localhost", "127.0.0.1"}, ca, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	soon := mint(t, "localhost", []string{"localhost"}, ca, now.Add(-time.Hour), now.Add(10*24*time.Hour))
	expired := mint(t, "localhost", []string{"localhost"}, ca, now.Add(-72*time.Hour), now.Add(-time.Hour))
	other := mint(t, "elsewhere", []string{"elsewhere.example"}, ca, now.Add(-time.Hour), now.Add(365*24*time.Hour))

	p := func(name string) string { return filepath.Join(dir, name) }
	caFile := writePEM(t, p("ca.crt"), "CERTIFICATE", ca.der, 0o644)
	otherCAFile := writePEM(t, p("other-ca.crt"), "CERTIFICATE", otherCA.der, 0o644)
	goodCrt := writePEM(t, p("good.crt"), "CERTIFICATE", good.der, 0o644)
	goodKey := writeKey(t, p("good.key"), good.key, 0o600)
	openKey := writeKey(t, p("open.key"), good.key, 0o644)
	wrongKey := writeKey(t, p("wrong.key"), other.key, 0o600)
	soonCrt := writePEM(t, p("soon.crt"), "CERTIFICATE", soon.der, 0o644)
	soonKey := writeKey(t, p("soon.key"), soon.key, 0o600)
	expCrt := writePEM(t, p("exp.crt"), "CERTIFICATE", expired.der, 0o644)
	expKey := writeKey(t, p("exp.key"), expired.key, 0o600)
	otherCrt := writePEM(t, p("other.crt"), "CERTIFICATE", other.der, 0o644)
	otherKey := writeKey(t, p("other.key"), other.key, 0o600)
	garbage := p("garbage.crt")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o644)

	// Each finding's Remake is the lead to niod cert's command, when a new
	// certificate is the fix.
	for _, c := range []struct {
		name    string
		f       Files
		fatal   string // substring of the one fatal finding; "" none
		warning string
		remake  string
	}{
		{"good", Files{goodCrt, goodKey, caFile, "localhost"}, "", "", ""},
		{"good, IP host", Files{goodCrt, goodKey, caFile, "127.0.0.1"}, "", "", ""},
		{"good, no host to name", Files{goodCrt, goodKey, "", ""}, "", "", ""},
		{"mismatched key", Files{goodCrt, wrongKey, caFile, "localhost"}, wrongKey + " is not the key of the certificate " + goodCrt + " (give the key it was made with)", "", "to make both again"},
		{"expired", Files{expCrt, expKey, "", "localhost"}, "expired on", "", "to make a new one"},
		// The chain does not verify an expired certificate: said once.
		{"expired, with its chain", Files{expCrt, expKey, caFile, "localhost"}, "ssl_certificate: " + expCrt + " expired on", "", "to make a new one"},
		{"another host", Files{otherCrt, otherKey, caFile, "localhost"}, otherCrt + " is for elsewhere.example, not localhost ([rest] host)", "", "to make one that names it"},
		{"world-readable key", Files{goodCrt, openKey, caFile, "localhost"}, "chmod 600 " + openKey, "", ""},
		{"missing certificate", Files{p("nope.crt"), goodKey, "", "localhost"}, "nope.crt: no such file", "", "to make it"},
		{"missing key", Files{goodCrt, p("nope.key"), "", "localhost"}, "nope.key: no such file", "", "to make a new key and certificate"},
		{"missing directory", Files{p("etc/ssl/cert.crt"), goodKey, "", "localhost"}, "cert.crt: no such file", "", "to make it"},
		{"not PEM", Files{garbage, goodKey, "", "localhost"}, "no PEM certificate", "", "to make a new one"},
		{"chain of another CA", Files{goodCrt, goodKey, otherCAFile, "localhost"}, "does not verify against", "", "to make a new certificate and chain"},
		{"expires soon", Files{soonCrt, soonKey, caFile, "localhost"}, "", soonCrt + " expires in 10 days, on " + soon.cert.NotAfter.UTC().Format(time.DateOnly), "to make a new one"},
	} {
		res := Check(c.f, now)
		var fatal, warn, remake []string
		for _, f := range res.Findings {
			if f.Fatal {
				fatal = append(fatal, f.Setting+": "+f.Msg)
			} else {
				warn = append(warn, f.Msg)
			}
			if f.Remake != "" {
				remake = append(remake, f.Remake)
			}
		}
		switch {
		case c.fatal == "" && len(fatal) > 0:
			t.Errorf("%s: unexpected problems %q", c.name, fatal)
		case c.fatal != "" && (len(fatal) != 1 || !strings.Contains(fatal[0], c.fatal)):
			t.Errorf("%s: problems %q, want one with %q", c.name, fatal, c.fatal)
		}
		if c.warning != "" && (len(warn) != 1 || warn[0] != c.warning) {
			t.Errorf("%s: warnings %q, want %q", c.name, warn, c.warning)
		}
		if c.warning == "" && len(warn) > 0 {
			t.Errorf("%s: unexpected warnings %q", c.name, warn)
		}
		if want := []string{c.remake}; c.remake == "" && len(remake) > 0 || c.remake != "" && !slices.Equal(remake, want) {
			t.Errorf("%s: remake leads %q, want %q", c.name, remake, c.remake)
		}
	}
	if got := Check(Files{otherCrt, otherKey, caFile, "localhost"}, now).Hosts; !slices.Equal(got, []string{"elsewhere.example"}) {
		t.Errorf("Hosts = %q, want the certificate's names", got)
	}
	if got := Check(Files{goodCrt, goodKey, caFile, ""}, now).Hosts; !slices.Equal(got, []string{"localhost", "127.0.0.1"}) {
		t.Errorf("Hosts = %q, want the certificate's names", got)
	}
}

// Remaining rounds to the nearest day, so that a certificate made for N
// days says N days from the moment it is made; below a day it counts hours.
func TestRemaining(t *testing.T) {
	const day = 24 * time.Hour
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{10 * day, "10 days"},
		{10*day - time.Second, "10 days"},
		{10*day + time.Second, "10 days"},
		{10*day - 12*time.Hour, "10 days"},
		{10*day - 12*time.Hour - time.Second, "9 days"},
		{10*day + 12*time.Hour - time.Second, "10 days"},
		{30*day - time.Second, "30 days"},
		{2 * day, "2 days"},
		{day, "1 day"},
		{day - time.Second, "1 day"},
		{day - 30*time.Minute, "1 day"},
		{day - 30*time.Minute - time.Second, "23 hours"},
		{2 * time.Hour, "2 hours"},
		{90 * time.Minute, "2 hours"},
		{90*time.Minute - time.Second, "1 hour"},
		{time.Hour, "1 hour"},
		{30 * time.Minute, "1 hour"},
		{30*time.Minute - time.Second, "less than an hour"},
		{time.Second, "less than an hour"},
	} {
		if got := Remaining(tt.d); got != tt.want {
			t.Errorf("Remaining(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestParsePrivateKey(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	block := func(typ string, der []byte, headers map[string]string) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der}))
	}
	cert := mint(t, "localhost", []string{"localhost"}, nil, time.Now(), time.Now().Add(time.Hour))
	for _, tt := range []struct {
		name, text string
		want       crypto.PublicKey // nil: an error
		err        error            // nil: x509's error
	}{
		{"PKCS #8", block("PRIVATE KEY", pkcs8, nil), &ec.PublicKey, nil},
		{"SEC 1", block("EC PRIVATE KEY", sec1, nil), &ec.PublicKey, nil},
		{"PKCS #1", block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), nil), &rsaKey.PublicKey, nil},
		{"after a certificate", block("CERTIFICATE", cert.der, nil) + block("PRIVATE KEY", pkcs8, nil), &ec.PublicKey, nil},
		{"no key", block("CERTIFICATE", cert.der, nil), nil, ErrNoPrivateKey},
		{"not PEM", "hello\n", nil, ErrNoPrivateKey},
		{"PKCS #8 encrypted", block("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}, nil), nil, ErrEncryptedKey},
		{"openssl's encrypted form", block("RSA PRIVATE KEY", []byte{1, 2, 3}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}), nil, ErrEncryptedKey},
		{"does not parse", block("PRIVATE KEY", []byte{1, 2, 3}, nil), nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParsePrivateKey([]byte(tt.text))
			if tt.want != nil {
				pub, ok := key.(interface{ Public() crypto.PublicKey })
				if err != nil || !ok || !pub.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.want) {
					t.Fatalf("ParsePrivateKey = %T, %v; want the key", key, err)
				}
				return
			}
			if key != nil || err == nil || tt.err != nil && !errors.Is(err, tt.err) || tt.err == nil && (errors.Is(err, ErrNoPrivateKey) || errors.Is(err, ErrEncryptedKey)) {
				t.Errorf("ParsePrivateKey = %#v, %v; want no key and error %v", key, err, tt.err)
			}
		})
	}
}
