// Package tlscheck validates the certificate, key and chain the runtime
// will serve its API with, before it starts.
package tlscheck

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"niod/internal/shell"
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
	// Remake is set when a new certificate and key made by niod cert fix
	// it: the words that lead to that command ("to make a new one"), for
	// the caller, who knows the project, to add the command after.
	Remake string
}

// Result is what Check found.
type Result struct {
	Findings []Finding
	// NotAfter is the certificate's end when it could be read.
	NotAfter time.Time
	// Hosts are the DNS names and IP addresses the certificate is for,
	// as it lists them; none when it could not be read.
	Hosts []string
}

// Check validates f at now, so that a wrong path, a key that belongs to
// another certificate, an expired certificate or a world-readable key is
// one clear line at start instead of a runtime that cannot serve. The files
// are read as ReadFile reads them: a FIFO, a device or a huge file is
// refused at once instead of hanging or exhausting niod.
func Check(f Files, now time.Time) Result {
	var r Result
	add := func(fatal bool, setting, remake, format string, args ...any) {
		r.Findings = append(r.Findings, Finding{Setting: setting, Msg: fmt.Sprintf(format, args...), Fatal: fatal, Remake: remake})
	}
	certs, err := readCerts(f.Cert)
	if err != nil {
		add(true, "ssl_certificate", remakeFor(f.Cert, err, "to make it", "to make a new one"), "%v", err)
	}
	key, err := readKey(f.Key)
	if err != nil {
		add(true, "ssl_private_key", remakeFor(f.Key, err, "to make a new key and certificate", "to make a new key and certificate"), "%v", err)
	}
	if len(certs) == 0 {
		return r
	}
	leaf := certs[0]
	r.NotAfter = leaf.NotAfter
	r.Hosts = hosts(leaf)
	if key != nil {
		if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
			add(true, "ssl_private_key", "to make both again", "%s is not the key of the certificate %s (give the key it was made with)", f.Key, f.Cert)
		}
	}
	timely := false
	switch {
	case now.Before(leaf.NotBefore):
		add(true, "ssl_certificate", "to make a new one", "%s is not valid before %s (is the clock right?)", f.Cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		add(true, "ssl_certificate", "to make a new one", "%s expired on %s", f.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case leaf.NotAfter.Sub(now) < ExpiryWarning:
		timely = true
		add(false, "ssl_certificate", "to make a new one", "%s expires in %s, on %s", f.Cert, Remaining(leaf.NotAfter.Sub(now)), leaf.NotAfter.UTC().Format(time.DateOnly))
	default:
		timely = true
	}
	if host := strings.Trim(f.Host, "[]"); host != "" {
		if err := leaf.VerifyHostname(host); err != nil {
			add(true, "ssl_certificate", "to make one that names it", "%s is for %s, not %s ([rest] host)", f.Cert, strings.Join(names(leaf), ", "), host)
		}
	}
	if f.Chain != "" {
		chain, err := readCerts(f.Chain)
		switch {
		case err != nil:
			add(true, "ssl_certificate_chain", remakeFor(f.Chain, err, "to make it with a new certificate", "to make a new one with a new certificate"), "%v", err)
		default:
			// A certificate out of its time fails against any chain;
			// that is said above already.
			if err := verify(leaf, certs[1:], chain, now); err != nil && (timely || !outOfTime(err, leaf)) {
				add(true, "ssl_certificate_chain", "to make a new certificate and chain", "%s does not verify against %s: %v", f.Cert, f.Chain, err)
			}
		}
	}
	return r
}

// Remaining says how long a certificate has left, d, the way niod check
// and niod cert both say it: in days rounded to the nearest day, so that
// one made for 10 days says 10 days both when it is made and a moment later;
// below a day (rounded) in hours, and below half an hour as less than an
// hour. d is more than zero.
func Remaining(d time.Duration) string {
	const day = 24 * time.Hour
	hours := (d + time.Hour/2) / time.Hour
	switch {
	case hours == 0:
		return "less than an hour"
	case hours < 24:
		return plural(int(hours), "hour")
	}
	return plural(int((d+day/2)/day), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// remakeFor is the lead to niod cert's command for a file that could not
// be used because of err: missing when it does not exist (not even as a
// link), bad when it holds no usable PEM; "" when a new certificate is not
// the fix (a file niod may not read, a FIFO, a key others can read).
func remakeFor(path string, err error, missing, bad string) string {
	var ce *contentError
	switch {
	case errors.As(err, &ce):
		return bad
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrNotExist) {
			return missing
		}
	}
	return ""
}

// outOfTime reports whether err is x509's error for leaf used outside its
// validity.
func outOfTime(err error, leaf *x509.Certificate) bool {
	var ie x509.CertificateInvalidError
	return errors.As(err, &ie) && ie.Reason == x509.Expired && ie.Cert != nil && ie.Cert.Equal(leaf)
}

// hosts are the names and addresses leaf is for, in its order, or its
// common name when it has no SAN.
func hosts(leaf *x509.Certificate) []string {
	out := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 && leaf.Subject.CommonName != "" {
		out = append(out, leaf.Subject.CommonName)
	}
	return out
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
			return nil, contentErrorf("%s: a certificate in it does not parse: %v", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, contentErrorf("%s: no PEM certificate in it", path)
	}
	return certs, nil
}

// contentError is a file that was read but holds no usable certificate or
// key: a new one is the fix.
type contentError struct{ msg string }

func (e *contentError) Error() string { return e.msg }

func contentErrorf(format string, args ...any) error {
	return &contentError{msg: fmt.Sprintf(format, args...)}
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
			return nil, fmt.Errorf("%s (a link to %s) is readable by group or others (mode %04o); run: chmod 600 %s", path, target, f.Mode.Perm(), shell.Quote(target))
		}
		return nil, fmt.Errorf("%s is readable by group or others (mode %04o); run: chmod 600 %s", path, f.Mode.Perm(), shell.Quote(path))
	}
	key, err := ParsePrivateKey([]byte(f.Text))
	switch {
	case errors.Is(err, ErrNoPrivateKey):
		return nil, contentErrorf("%s: no PEM private key in it", path)
	case errors.Is(err, ErrEncryptedKey):
		return nil, fmt.Errorf("%s: the key is encrypted; the runtime needs it unencrypted (and mode 600)", path)
	case err != nil:
		return nil, contentErrorf("%s: the private key does not parse: %v", path, err)
	}
	s, ok := key.(signer)
	if !ok {
		return nil, contentErrorf("%s: unsupported key type %T", path, key)
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
