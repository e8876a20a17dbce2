// Package certs issues the runtime's TLS certificate, signed by a local
// certificate authority it makes the first time (niod cert).
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"niod/internal/securefile"
	"niod/internal/tlscheck"
)

// File names, as the original CLI wrote them.
const (
	CertFile  = "cert.crt" // the instance certificate
	KeyFile   = "cert.key" // its private key
	ChainFile = "ca.crt"   // a copy of the CA certificate, next to them
	CACert    = "ca.crt"   // in the CA directory
	CAKey     = "ca.key"   // in the CA directory
)

// Validity: the CA lasts ten years; certificates start a little in the past
// so that a client whose clock is behind accepts them at once.
const (
	DefaultDays = 397
	MaxDays     = 3650
	caYears     = 10
	backdate    = 5 * time.Minute
)

// KeyType is the kind of key of the CA and of the certificates.
type KeyType string

// Key types.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
)

// KeyTypes lists the key types, the default first.
func KeyTypes() []KeyType { return []KeyType{ECDSAP256, RSA2048, RSA3072} }

// ParseKeyType checks a --key-type value.
func ParseKeyType(s string) (KeyType, error) {
	for _, k := range KeyTypes() {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, 0, 3)
	for _, k := range KeyTypes() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("unknown key type %q (use %s)", s, strings.Join(names, ", "))
}

func (k KeyType) generate() (crypto.Signer, error) {
	switch k {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, fmt.Errorf("unknown key type %q", k)
}

// Kind classifies an Error, so that the command can choose its exit code.
type Kind int

// Kinds of Error.
const (
	// Invalid: a request, an existing CA or a settings file that cannot
	// be used as it is; the message says how to fix it.
	Invalid Kind = iota
	// Exists: a file that is replaced only when Force is set.
	Exists
	// Permission: the system refused to read, write or chown a file.
	Permission
	// Internal: a failure that is not the user's (randomness, a bug).
	Internal
)

// Error is a problem as one line that names the file it is about.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func errorf(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}

// fileError describes a failed system call on a file: "NAME: cannot
// WHAT: REASON". A refusal by the system is a Permission error.
func fileError(name, what string, err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	reason := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		reason = le.Err
	}
	kind := Invalid
	if errors.Is(err, fs.ErrPermission) {
		kind = Permission
	}
	return errorf(kind, err, "%s: cannot %s: %v", name, what, reason)
}

// Owner is who the written files belong to.
type Owner struct{ UID, GID int }

// Request says what Issue makes.
type Request struct {
	// CADir holds ca.crt and ca.key; the CA is made there when both are
	// missing and reused otherwise. OutDir gets cert.crt, cert.key and
	// ca.crt. Both are absolute.
	CADir, OutDir string
	// Hosts are DNS names and IP addresses (CheckHost), the first one the
	// subject's common name.
	Hosts   []string
	Days    int
	KeyType KeyType
	// Force replaces existing files in OutDir.
	Force bool
	// Owner, when set, owns the files written to OutDir (not the CA).
	Owner *Owner
	// Show turns a path into the name messages use; nil keeps the path.
	Show func(path string) string
	// Now is the time of issue; zero means time.Now().
	Now time.Time
}

// Result is what Issue did.
type Result struct {
	CADir      string
	CACreated  bool
	CANotAfter time.Time
	CAKeyType  string
	// Cert, Key and Chain are the paths of the files in OutDir.
	Cert, Key, Chain string
	// ChainKept is set when Chain already held the CA certificate.
	ChainKept bool
	NotAfter  time.Time
	Hosts     []string
	// Warnings are things the user should know that did not stop Issue.
	Warnings []string
}

// Issue makes (or reuses) the CA and a new certificate and key signed by
// it, and writes them. Nothing in OutDir is replaced unless Force is set,
// and nothing is written when a check fails.
func Issue(req Request) (*Result, error) {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	show := req.Show
	if show == nil {
		show = func(p string) string { return p }
	}
	if len(req.Hosts) == 0 {
		return nil, errorf(Invalid, nil, "no host to make the certificate for (give --host)")
	}
	if err := CheckDays(req.Days); err != nil {
		return nil, errorf(Invalid, err, "%v", err)
	}
	dns, ips, err := splitHosts(req.Hosts)
	if err != nil {
		return nil, errorf(Invalid, err, "%v", err)
	}
	res := &Result{
		CADir: req.CADir,
		Cert:  filepath.Join(req.OutDir, CertFile),
		Key:   filepath.Join(req.OutDir, KeyFile),
		Chain: filepath.Join(req.OutDir, ChainFile),
		Hosts: req.Hosts,
	}

	// Everything that can stop us is checked before anything is made.
	if !req.Force {
		for _, p := range []string{res.Key, res.Cert} {
			if _, err := os.Lstat(p); err == nil {
				return nil, errorf(Exists, fs.ErrExist, "%s exists (use --force to replace it)", show(p))
			}
		}
	}
	ca, err := loadCA(req.CADir, now)
	if err != nil {
		return nil, err
	}
	// The chain may be a link (as the certificate a user configures may
	// be): it is read through it, safely (tlscheck.ReadFile), but never
	// written through it: a replacement takes the link's place.
	var oldChain []byte
	if _, err := os.Lstat(res.Chain); err == nil {
		f, err := tlscheck.ReadFile(res.Chain)
		var se *securefile.Error
		switch {
		case err == nil:
			oldChain = []byte(f.Text)
		case req.Force:
			// Replaced whatever it is.
		case errors.As(err, &se):
			return nil, errorf(Exists, err, "%s exists but %s; use --force to replace it", show(res.Chain), se.Reason)
		default:
			return nil, errorf(Exists, err, "%s exists but cannot be read: %v; use --force to replace it", show(res.Chain), err)
		}
	}
	if oldChain != nil && !req.Force && (ca == nil || string(oldChain) != string(ca.pem)) {
		return nil, errorf(Exists, fs.ErrExist, "%s exists and holds another CA certificate (use --force to replace it)", show(res.Chain))
	}
	if ca == nil {
		if ca, err = createCA(req.CADir, req.KeyType, now); err != nil {
			return nil, err
		}
		res.CACreated = true
	}
	res.CANotAfter = ca.cert.NotAfter
	res.CAKeyType = describeKey(ca.cert.PublicKey)

	notAfter := now.AddDate(0, 0, req.Days)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the CA in %s ends on %s, so the certificate does too (for a longer one, move the CA away and run niod cert again; clients must then trust the new ca.crt)",
			req.CADir, notAfter.UTC().Format(time.DateOnly)))
	}
	res.NotAfter = notAfter

	key, err := req.KeyType.generate()
	if err != nil {
		return nil, errorf(Internal, err, "cannot make a %s key: %v", req.KeyType, err)
	}
	der, err := signLeaf(ca, key, req.Hosts[0], dns, ips, now, notAfter)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	if req.Force {
		// The runtime reads its key as its own user: say so when a
		// replaced key changes hands.
		newUID := os.Geteuid()
		if req.Owner != nil {
			newUID = req.Owner.UID
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(res.Key, &st); err == nil && int(st.Uid) != newUID {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"%s belonged to uid %d and now belongs to uid %d (give --user to choose who owns it)", show(res.Key), st.Uid, newUID))
		}
	}
	if err := mkdirAll(req.OutDir, 0o755); err != nil {
		return nil, fileError(show(req.OutDir), "create the directory", err)
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{res.Key, keyPEM, 0o600},
		{res.Cert, certPEM, 0o644},
		{res.Chain, ca.pem, 0o644},
	}
	if string(oldChain) == string(ca.pem) {
		files = files[:2]
		res.ChainKept = true
	}
	var staged []*stagedFile
	defer func() {
		for _, s := range staged {
			s.abort()
		}
	}()
	for _, f := range files {
		s, err := stage(f.path, f.data, f.mode, req.Owner)
		if err != nil {
			return nil, fileError(show(f.path), "write", err)
		}
		staged = append(staged, s)
	}
	var placed []*stagedFile
	for _, s := range staged {
		if err := s.commit(req.Force); err != nil {
			// Without --force, take back what this run added, so a
			// new key does not stay beside another certificate.
			for _, p := range placed {
				p.unplace()
			}
			if errors.Is(err, fs.ErrExist) {
				return nil, errorf(Exists, err, "%s exists (use --force to replace it)", show(s.path))
			}
			return nil, fileError(show(s.path), "write", err)
		}
		placed = append(placed, s)
	}
	if err := syncDir(req.OutDir); err != nil {
		return nil, fileError(show(req.OutDir), "sync", err)
	}
	return res, nil
}

// signLeaf makes the instance certificate for key, signed by ca.
func signLeaf(ca *authority, key crypto.Signer, cn string, dns []string, ips []net.IP, now, notAfter time.Time) ([]byte, error) {
	tmpl, err := newTemplate(key, now)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if len(cn) > 64 { // the longest common name X.509 allows
		cn = "niod instance"
	}
	tmpl.Subject = pkix.Name{CommonName: cn}
	tmpl.NotAfter = notAfter
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.DNSNames, tmpl.IPAddresses = dns, ips
	tmpl.AuthorityKeyId = ca.cert.SubjectKeyId
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, errorf(Internal, err, "cannot sign the certificate with the CA in %s: %v", ca.dir, err)
	}
	return der, nil
}

// newTemplate starts the certificate of key, issued at now: a random
// serial number, the key's identifier, valid from a little before now.
func newTemplate(key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	skid, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		SubjectKeyId:          skid,
		NotBefore:             now.Add(-backdate),
		BasicConstraintsValid: true,
	}, nil
}

// randomSerial returns a random positive serial number of at most 128 bits.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, errorf(Internal, err, "cannot make a serial number: %v", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// keyID is the subject key identifier of pub: the SHA-1 of its
// subjectPublicKey bits (RFC 5280, 4.2.1.2, method 1).
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, errorf(Internal, err, "cannot encode a public key: %v", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, errorf(Internal, err, "cannot encode a public key: %v", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// encodeKey writes key as unencrypted PKCS #8 PEM, which OpenSSL, Python's
// ssl and Go all read.
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, errorf(Internal, err, "cannot encode the key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// describeKey names a public key's type as --key-type does.
func describeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa-" + strings.ToLower(strings.ReplaceAll(k.Curve.Params().Name, "-", ""))
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}
