package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func request(t *testing.T, kt KeyType) Request {
	t.Helper()
	dir := t.TempDir()
	return Request{
		CADir:   filepath.Join(dir, "home", ".config", "niod", "ca"),
		OutDir:  filepath.Join(dir, "project", "etc", "ssl"),
		Hosts:   []string{"edge.example.com", "localhost", "127.0.0.1", "::1"},
		Days:    DefaultDays,
		KeyType: kt,
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		t.Fatalf("%s: not one PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertIssue(t *testing.T) {
	for _, kt := range KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			defer syscall.Umask(syscall.Umask(0o077)) // modes must not depend on it
			req := request(t, kt)
			start := time.Now()
			res, err := Issue(req)
			if err != nil {
				t.Fatal(err)
			}
			if !res.CACreated {
				t.Error("CACreated is false for a new CA")
			}
			ca := readCert(t, filepath.Join(req.CADir, CACert))
			leaf := readCert(t, res.Cert)

			// The CA.
			if !ca.IsCA || !ca.BasicConstraintsValid || ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
				t.Errorf("CA basic constraints: IsCA %v, MaxPathLen %d, zero %v", ca.IsCA, ca.MaxPathLen, ca.MaxPathLenZero)
			}
			if ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("CA key usage %v", ca.KeyUsage)
			}
			if len(ca.SubjectKeyId) == 0 {
				t.Error("CA has no subject key identifier")
			}
			if years := ca.NotAfter.Sub(start).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
				t.Errorf("CA lasts %.1f years", years)
			}
			// The certificate.
			for _, c := range []*x509.Certificate{ca, leaf} {
				if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
					t.Errorf("serial %v: not positive and at most 128 bits", c.SerialNumber)
				}
			}
			if ca.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
				t.Error("CA and certificate have the same serial")
			}
			wantUsage := x509.KeyUsageDigitalSignature
			if kt != ECDSAP256 {
				wantUsage |= x509.KeyUsageKeyEncipherment
			}
			if leaf.KeyUsage != wantUsage || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("key usage %v, ext %v", leaf.KeyUsage, leaf.ExtKeyUsage)
			}
			if leaf.IsCA {
				t.Error("the certificate is a CA")
			}
			if leaf.Subject.CommonName != "edge.example.com" {
				t.Errorf("CN %q", leaf.Subject.CommonName)
			}
			if !slices.Equal(leaf.DNSNames, []string{"edge.example.com", "localhost"}) {
				t.Errorf("DNS names %v", leaf.DNSNames)
			}
			if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !leaf.IPAddresses[1].Equal(net.IPv6loopback) {
				t.Errorf("IP addresses %v", leaf.IPAddresses)
			}
			if !bytes.Equal(leaf.AuthorityKeyId, ca.SubjectKeyId) {
				t.Errorf("authority key id %x, CA's %x", leaf.AuthorityKeyId, ca.SubjectKeyId)
			}
			if d := start.Add(-backdate).Sub(leaf.NotBefore); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("NotBefore %v, want about %v", leaf.NotBefore, start.Add(-backdate))
			}
			if d := start.AddDate(0, 0, DefaultDays).Sub(leaf.NotAfter); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("NotAfter %v, want about %v", leaf.NotAfter, start.AddDate(0, 0, DefaultDays))
			}
			// It verifies for every host, with the copy of the CA.
			roots := x509.NewCertPool()
			roots.AddCert(readCert(t, res.Chain))
			for _, h := range req.Hosts {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots}); err != nil {
					t.Errorf("verify for %s: %v", h, err)
				}
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots}); err == nil {
				t.Error("verifies for a host it was not made for")
			}
			// The key is the certificate's, of the type asked.
			keyData, err := os.ReadFile(res.Key)
			if err != nil {
				t.Fatal(err)
			}
			key, err := parseKey(string(keyData))
			if err != nil {
				t.Fatal(err)
			}
			if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(leaf.PublicKey) {
				t.Error("cert.key does not belong to cert.crt")
			}
			if got := describeKey(leaf.PublicKey); got != string(kt) {
				t.Errorf("certificate key %s, want %s", got, kt)
			}
			if got := describeKey(ca.PublicKey); got != string(kt) {
				t.Errorf("CA key %s, want %s", got, kt)
			}
			switch key.(type) {
			case *ecdsa.PrivateKey, *rsa.PrivateKey:
			default:
				t.Errorf("key type %T", key)
			}
			// Modes, whatever the umask.
			for path, mode := range map[string]os.FileMode{
				res.Key: 0o600, res.Cert: 0o644, res.Chain: 0o644,
				filepath.Join(req.CADir, CAKey): 0o600, filepath.Join(req.CADir, CACert): 0o644,
				req.CADir: 0o700, filepath.Dir(req.CADir): 0o700,
				req.OutDir: 0o755, filepath.Dir(req.OutDir): 0o755,
			} {
				if m := os.FileMode(statT(t, path).Mode) & os.ModePerm; m != mode {
					t.Errorf("%s: mode %04o, want %04o", path, m, mode)
				}
			}
			leftovers, _ := filepath.Glob(filepath.Join(req.OutDir, ".*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func TestCertIssueAgain(t *testing.T) {
	req := request(t, ECDSAP256)
	if _, err := Issue(req); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, p := range []string{filepath.Join(req.OutDir, CertFile), filepath.Join(req.OutDir, KeyFile), filepath.Join(req.OutDir, ChainFile), filepath.Join(req.CADir, CACert), filepath.Join(req.CADir, CAKey)} {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m[filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p)] = string(data)
		}
		return m
	}
	first := snapshot()

	// Without Force: refused, nothing changes.
	req.Show = func(p string) string { return "SHOWN/" + filepath.Base(p) }
	_, err := Issue(req)
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != Exists || !errors.Is(err, os.ErrExist) {
		t.Fatalf("err = %v, want an Exists error", err)
	}
	if want := "SHOWN/cert.key exists (use --force to replace it)"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if again := snapshot(); !maps.Equal(again, first) {
		t.Error("a refused run changed files")
	}

	// One of the pair missing is still refused.
	os.Remove(filepath.Join(req.OutDir, KeyFile))
	if _, err := Issue(req); err == nil || !strings.Contains(err.Error(), "cert.crt exists") {
		t.Errorf("err = %v, want cert.crt exists", err)
	}

	// With Force: a new certificate and key, the same CA.
	req.Force = true
	res, err := Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.CACreated || !res.ChainKept {
		t.Errorf("CACreated %v, ChainKept %v: the CA must be reused", res.CACreated, res.ChainKept)
	}
	second := snapshot()
	for _, f := range []string{"ca/ca.crt", "ca/ca.key", "ssl/ca.crt"} {
		if second[f] != first[f] {
			t.Errorf("%s changed", f)
		}
	}
	if second["ssl/cert.crt"] == first["ssl/cert.crt"] {
		t.Error("cert.crt not replaced")
	}
}

func TestCertIssueChainOfAnotherCA(t *testing.T) {
	req := request(t, ECDSAP256)
	if err := mkdirAll(req.OutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeT(t, filepath.Join(req.OutDir, ChainFile), "another CA\n", 0o644)
	_, err := Issue(req)
	if err == nil || !strings.Contains(err.Error(), "holds another CA certificate (use --force") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(req.CADir); err == nil {
		t.Error("the CA was made although nothing could be written")
	}
	req.Force = true
	if _, err := Issue(req); err != nil {
		t.Fatal(err)
	}
}

func TestCertIssueClampsToCA(t *testing.T) {
	req := request(t, ECDSAP256)
	req.Now = time.Now().AddDate(-10, 0, 30) // the CA ends in about 30 days
	if _, err := Issue(req); err != nil {
		t.Fatal(err)
	}
	req.Now, req.Force = time.Time{}, true
	res, err := Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotAfter.Equal(res.CANotAfter) || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ends on") {
		t.Errorf("NotAfter %v, CA %v, warnings %q", res.NotAfter, res.CANotAfter, res.Warnings)
	}
}

func TestCertIssueOwner(t *testing.T) {
	needRoot(t)
	req := request(t, ECDSAP256)
	req.Owner = &Owner{UID: 54321, GID: 54322}
	res, err := Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{res.Key, res.Cert, res.Chain} {
		if st := statT(t, p); st.Uid != 54321 || st.Gid != 54322 {
			t.Errorf("%s: owner %d:%d", p, st.Uid, st.Gid)
		}
	}
	for _, p := range []string{filepath.Join(req.CADir, CAKey), filepath.Join(req.CADir, CACert)} {
		if st := statT(t, p); int(st.Uid) != os.Geteuid() {
			t.Errorf("%s: owner %d, the CA must stay its maker's", p, st.Uid)
		}
	}
	// Replaced without an owner: the key changes hands, and Issue says so.
	req.Owner, req.Force = nil, true
	res, err = Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "belonged to uid 54321 and now belongs to uid 0") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestCertCAProblems(t *testing.T) {
	// Two CAs to mix up.
	base := request(t, ECDSAP256)
	if _, err := Issue(base); err != nil {
		t.Fatal(err)
	}
	other := request(t, ECDSAP256)
	if _, err := Issue(other); err != nil {
		t.Fatal(err)
	}
	expired := request(t, ECDSAP256)
	expired.Now = time.Now().AddDate(-11, 0, 0)
	expired.Days = 1
	if _, err := Issue(expired); err != nil {
		t.Fatal(err)
	}
	read := func(req Request, name string) string {
		data, err := os.ReadFile(filepath.Join(req.CADir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	leafPEM, err := os.ReadFile(filepath.Join(base.OutDir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := read(base, CAKey)
	block, _ := pem.Decode([]byte(keyPEM))
	k, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	ecDER, _ := x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))

	tests := []struct {
		name    string
		crt     string // "" = missing
		key     string
		keyMode os.FileMode
		want    string // "" = accepted
	}{
		{"ok", read(base, CACert), keyPEM, 0o600, ""},
		{"openssl's EC key form", read(base, CACert), ecPEM, 0o600, ""},
		{"key of another CA", read(base, CACert), read(other, CAKey), 0o600, "this key does not belong to"},
		{"not a CA", string(leafPEM), keyPEM, 0o600, "not a CA certificate"},
		{"expired", read(expired, CACert), read(expired, CAKey), 0o600, "the CA expired on"},
		{"key open to others", read(base, CACert), keyPEM, 0o644, "run: chmod 600"},
		{"key missing", read(base, CACert), "", 0o600, "ca.key: missing beside ca.crt"},
		{"certificate missing", "", keyPEM, 0o600, "ca.crt: missing beside ca.key"},
		{"garbage certificate", "hello\n", keyPEM, 0o600, "not a PEM certificate"},
		{"encrypted key", read(base, CACert), "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", 0o600, "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, ECDSAP256)
			if err := mkdirAll(req.CADir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.crt != "" {
				writeT(t, filepath.Join(req.CADir, CACert), tt.crt, 0o644)
			}
			if tt.key != "" {
				writeT(t, filepath.Join(req.CADir, CAKey), tt.key, tt.keyMode)
			}
			res, err := Issue(req)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.CACreated {
					t.Error("a new CA was made")
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Kind != Invalid {
				t.Fatalf("err = %v, want an Invalid error", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), req.CADir) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line naming the CA with %q", err, tt.want)
			}
			if _, err := os.Stat(req.OutDir); err == nil {
				t.Error("files were written")
			}
		})
	}
}

func TestCertCheckHost(t *testing.T) {
	for in, want := range map[string]string{
		"localhost":     "localhost",
		"Edge.Example.": "edge.example",
		"*.example.com": "*.example.com",
		"127.0.0.1":     "127.0.0.1",
		"::1":           "::1",
		"[::1]":         "::1",
		"0:0::1":        "::1",
		"my_host":       "my_host",
		"":              "",
		"a b":           "",
		"-x":            "",
		"*":             "",
		"a.*.b":         "",
		"[localhost]":   "",
		"ünï.example":   "",
		"a..b":          "",
	} {
		got, err := CheckHost(in)
		if want == "" {
			if err == nil {
				t.Errorf("CheckHost(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("CheckHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	hosts := DefaultHosts()
	if n := len(hosts); n < 3 || !slices.Equal(hosts[n-3:], []string{"localhost", "127.0.0.1", "::1"}) {
		t.Errorf("DefaultHosts() = %v", hosts)
	}
}

func TestCertDefaultCADir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/u"}, "/x/cfg/niod/ca"},
		{map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/home/u"}, "/home/u/.config/niod/ca"},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.config/niod/ca"},
		{map[string]string{}, ""},
	} {
		got, err := DefaultCADir(env(tt.env))
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("DefaultCADir(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}

func TestCertCommitNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cert.key")
	writeT(t, path, "theirs", 0o600)
	s, err := stage(path, []byte("ours"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.commit(false); !errors.Is(err, os.ErrExist) {
		t.Fatalf("commit over an existing file: %v", err)
	}
	s.abort()
	assertFile(t, path, "theirs", 0o600)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
	s, err = stage(path, []byte("ours"), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.commit(true); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "ours", 0o644)
}
