// Package tlscheck validates the certificate, key and chain the runtime
// will serve its API with, before it starts.
package tlscheck

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ExpiryWarning is how close to its end a certificate gets a warning.
const ExpiryWarning = 30 * 24 * time.Hour

// Files names the configured files, absolute; Chain may be empty. Each may
// be a symbolic link to the file (see ReadFile).
type Files struct {
	Cert, Key, Chain string
	// Host is what the certificate must name; empty for none (the API
	// listens on a wildcard address).
	Host string
}

// Finding is one problem (Fatal) or warning, about one of the files.
type Finding struct {
	// Setting is the [rest] key it is about: ssl_certificate,
	// ssl_private_key or ssl_certificate_chain.
	Setting string
	Msg     string
	Fatal   bool
}

// Check validates f at now, so that a wrong path, a key that belongs to
// another certificate, an expired certificate or a world-readable key is
// one clear line at start instead of a runtime that cannot serve. The files
// are read as ReadFile reads them: a FIFO, a device or a huge file is
// refused at once instead of hanging or exhausting niod. NotAfter is the
// certificate's end when it could be read.
func Check(f Files, now time.Time) (findings []Finding, notAfter time.Time) {
	fatal := func(setting, format string, args ...any) {
		findings = append(findings, Finding{Setting: setting, Msg: fmt.Sprintf(format, args...), Fatal: true})
	}
	certs, err := readCerts(f.Cert)
	if err != nil {
		fatal("ssl_certificate", "%v", err)
	}
	key, err := readKey(f.Key)
	if err != nil {
		fatal("ssl_private_key", "%v", err)
	}
	if len(certs) == 0 {
		return findings, notAfter
	}
	leaf := certs[0]
	notAfter = leaf.NotAfter
	if key != nil {
		if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
			fatal("ssl_private_key", "%s is not the key of the certificate %s (give the key it was made with, or make both again: niod cert --force)", f.Key, f.Cert)
		}
	}
	switch {
	case now.Before(leaf.NotBefore):
		fatal("ssl_certificate", "%s is not valid before %s", f.Cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		fatal("ssl_certificate", "%s expired on %s (make a new one: niod cert --force)", f.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case leaf.NotAfter.Sub(now) < ExpiryWarning:
		findings = append(findings, Finding{Setting: "ssl_certificate",
			Msg: fmt.Sprintf("%s expires in %d days, on %s", f.Cert, int(leaf.NotAfter.Sub(now).Hours()/24), leaf.NotAfter.UTC().Format("2006-01-02"))})
	}
	if host := strings.Trim(f.Host, "[]"); host != "" {
		if err := leaf.VerifyHostname(host); err != nil {
			fatal("ssl_certificate", "%s is for %s, not %s ([rest] host); make one that names it: niod cert --host %s",
				f.Cert, strings.Join(names(leaf), ", "), host, host)
		}
	}
	if f.Chain != "" {
		chain, err := readCerts(f.Chain)
		if err != nil {
			fatal("ssl_certificate_chain", "%v", err)
		} else if err := verify(leaf, certs[1:], chain, now); err != nil {
			fatal("ssl_certificate_chain", "%s does not verify against %s: %v", f.Cert, f.Chain, err)
		}
	}
	return findings, notAfter
}

func names(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 && c.Subject.CommonName != "" {
		out = append(out, c.Subject.CommonName+" (CN only, no SAN)")
	}
	return out
}

// verify checks leaf against the chain file: self-signed certificates in
// it are the roots, the others intermediates; without a root in it the
// system's roots are used.
func verify(leaf *x509.Certificate, extra, chain []*x509.Certificate, now time.Time) error {
	opts := x509.VerifyOptions{Intermediates: x509.NewCertPool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	roots := x509.NewCertPool()
	haveRoot := false
	for _, c := range append(extra, chain...) {
		if c.CheckSignatureFrom(c) == nil {
			roots.AddCert(c)
			haveRoot = true
		} else {
			opts.Intermediates.AddCert(c)
		}
	}
	if haveRoot {
		opts.Roots = roots
	}
	_, err := leaf.Verify(opts)
	return err
}

func readCerts(path string) ([]*x509.Certificate, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for rest := []byte(f.Text); ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: a certificate in it does not parse: %v", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return certs, nil
}

type signer interface{ Public() crypto.PublicKey }

func readKey(path string) (signer, error) {
	f, target, err := readPEM(path, true)
	if err != nil {
		return nil, err
	}
	// The mode is the one of the file read (fstat), not of the path
	// again, nor of a link to it.
	if f.Mode.Perm()&0o044 != 0 {
		if target != path {
			return nil, fmt.Errorf("%s (a link to %s) is readable by group or others (mode %04o); run: chmod 600 %s", path, target, f.Mode.Perm(), target)
		}
		return nil, fmt.Errorf("%s is readable by group or others (mode %04o); run: chmod 600 %s", path, f.Mode.Perm(), path)
	}
	key, err := ParsePrivateKey([]byte(f.Text))
	switch {
	case errors.Is(err, ErrNoPrivateKey):
		return nil, fmt.Errorf("%s: no PEM private key in it", path)
	case errors.Is(err, ErrEncryptedKey):
		return nil, fmt.Errorf("%s: the key is encrypted; the runtime needs it unencrypted (and mode 600)", path)
	case err != nil:
		return nil, fmt.Errorf("%s: the private key does not parse: %v", path, err)
	}
	s, ok := key.(signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key type %T", path, key)
	}
	return s, nil
}

// Errors of ParsePrivateKey.
var (
	ErrNoPrivateKey = errors.New("no PEM private key in it")
	ErrEncryptedKey = errors.New("the key is encrypted")
)

// ParsePrivateKey reads the first PEM private key in data, skipping blocks
// of other types: PKCS #8 ("PRIVATE KEY"), or the older PKCS #1 ("RSA
// PRIVATE KEY") and SEC 1 ("EC PRIVATE KEY") forms openssl writes. It
// returns ErrNoPrivateKey when there is none, ErrEncryptedKey when it is
// encrypted (niod has no passphrase to give), else what x509 parses it into
// or x509's error.
func ParsePrivateKey(data []byte) (crypto.PrivateKey, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, ErrNoPrivateKey
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, ErrEncryptedKey
		}
		var key crypto.PrivateKey
		var err error
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		}
		if err != nil {
			return nil, err
		}
		return key, nil
	}
}
