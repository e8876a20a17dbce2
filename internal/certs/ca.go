package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"niod/internal/securefile"
	"niod/internal/tlscheck"
)

// authority is the CA that signs the certificates.
type authority struct {
	dir  string
	cert *x509.Certificate
	pem  []byte // ca.crt as it is on disk
	key  crypto.Signer
}

// CADir is the directory of the CA for a --ca-dir value: DefaultCADir when
// it is "", else the value made absolute (under the current directory).
func CADir(dir string, getenv func(string) string) (string, error) {
	if dir == "" {
		return DefaultCADir(getenv)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--ca-dir: %v", err)
	}
	return abs, nil
}

// DefaultCADir is where the CA lives without --ca-dir: niod/ca in the
// user's configuration directory ($XDG_CONFIG_HOME, or ~/.config), so one
// CA signs every instance of a user and is not copied with a project.
func DefaultCADir(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "niod", "ca"), nil
	}
	home := getenv("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("cannot tell where your configuration directory is: neither XDG_CONFIG_HOME nor HOME is an absolute path (give --ca-dir)")
	}
	return filepath.Join(home, ".config", "niod", "ca"), nil
}

// loadCA reads the CA of dir and checks that it can sign now. It returns
// nil when dir holds neither ca.crt nor ca.key. Both are read as
// tlscheck.ReadFileNoLink reads: regular files of at most
// tlscheck.MaxPEMSize bytes, never a FIFO or a device, and never through a
// symbolic link (niod makes the CA directory and links nothing in it; a link
// there was put by someone else), the key's mode being that of the file
// read.
func loadCA(dir string, now time.Time) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, CACert), filepath.Join(dir, CAKey)
	_, certErr := os.Lstat(certPath)
	_, keyErr := os.Lstat(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil
	case errors.Is(keyErr, fs.ErrNotExist):
		return nil, errorf(Invalid, keyErr, "%s: missing beside %s (put the CA's key back, or move %s away to make a new CA)", keyPath, CACert, dir)
	case errors.Is(certErr, fs.ErrNotExist):
		return nil, errorf(Invalid, certErr, "%s: missing beside %s (put the CA's certificate back, or move %s away to make a new CA)", certPath, CAKey, dir)
	}
	moveAway := fmt.Sprintf("move %s away to make a new CA; clients must then trust the new ca.crt", dir)

	certFile, err := tlscheck.ReadFileNoLink(certPath)
	if err != nil {
		return nil, readError(certPath, err)
	}
	ca := &authority{dir: dir, pem: []byte(certFile.Text)}
	block, _ := pem.Decode(ca.pem)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errorf(Invalid, nil, "%s: not a PEM certificate (%s)", certPath, moveAway)
	}
	if ca.cert, err = x509.ParseCertificate(block.Bytes); err != nil {
		return nil, errorf(Invalid, err, "%s: %v (%s)", certPath, err, moveAway)
	}
	if !ca.cert.IsCA || ca.cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errorf(Invalid, nil, "%s: not a CA certificate, it cannot sign certificates (%s)", certPath, moveAway)
	}
	if now.Before(ca.cert.NotBefore) {
		return nil, errorf(Invalid, nil, "%s: the CA is valid only from %s (is the clock right?)", certPath, ca.cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if !now.Before(ca.cert.NotAfter) {
		return nil, errorf(Invalid, nil, "%s: the CA expired on %s (%s)", certPath, ca.cert.NotAfter.UTC().Format(time.DateOnly), moveAway)
	}

	keyFile, err := tlscheck.ReadFileNoLink(keyPath)
	if err != nil {
		return nil, readError(keyPath, err)
	}
	if keyFile.Mode&0o077 != 0 {
		return nil, errorf(Invalid, nil, "%s: the CA's key is open to group or others (mode %04o); run: chmod 600 %s", keyPath, keyFile.Mode, keyPath)
	}
	if ca.key, err = parseKey(keyFile.Text); err != nil {
		return nil, errorf(Invalid, err, "%s: %v", keyPath, err)
	}
	pub, ok := ca.key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(ca.cert.PublicKey) {
		return nil, errorf(Invalid, nil, "%s: this key does not belong to %s (put the CA's own key back, or %s)", keyPath, certPath, moveAway)
	}
	if len(ca.cert.SubjectKeyId) == 0 {
		// A CA made elsewhere may lack one; the certificates still
		// name their issuer's key.
		if ca.cert.SubjectKeyId, err = keyID(ca.cert.PublicKey); err != nil {
			return nil, err
		}
	}
	return ca, nil
}

func readError(path string, err error) error {
	var se *securefile.Error
	if errors.As(err, &se) {
		kind := Invalid
		if errors.Is(err, fs.ErrPermission) {
			kind = Permission
		}
		return errorf(kind, err, "%s: %s", path, se.Reason)
	}
	return fileError(path, "read", err)
}

// parseKey reads an unencrypted PEM private key that can sign
// (tlscheck.ParsePrivateKey).
func parseKey(text string) (crypto.Signer, error) {
	key, err := tlscheck.ParsePrivateKey([]byte(text))
	if errors.Is(err, tlscheck.ErrEncryptedKey) {
		return nil, errors.New("the key is encrypted (niod needs it unencrypted; openssl pkey -in ca.key -out ca.key.new decrypts it)")
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", key)
	}
	return signer, nil
}

// createCA makes a new CA in dir, which must not hold one.
func createCA(dir string, kt KeyType, now time.Time) (*authority, error) {
	key, err := kt.generate()
	if err != nil {
		return nil, errorf(Internal, err, "cannot make a %s key: %v", kt, err)
	}
	tmpl, err := newTemplate(key, now)
	if err != nil {
		return nil, err
	}
	tmpl.Subject = pkix.Name{
		Organization:       []string{"niod local CA"},
		OrganizationalUnit: []string{limit64(whoAmI())},
		CommonName:         limit64("niod local CA " + whoAmI()),
	}
	tmpl.NotAfter = now.AddDate(caYears, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.IsCA, tmpl.MaxPathLen, tmpl.MaxPathLenZero = true, 0, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, errorf(Internal, err, "cannot make the CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errorf(Internal, err, "cannot read back the CA certificate: %v", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	ca := &authority{dir: dir, cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}

	if err := mkdirAll(dir, 0o700); err != nil {
		return nil, fileError(dir, "create the directory", err)
	}
	// The key first: a ca.crt without its key is never left behind.
	var placed []*stagedFile
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{CAKey, keyPEM, 0o600}, {CACert, ca.pem, 0o644}} {
		path := filepath.Join(dir, f.name)
		s, err := stage(path, f.data, f.mode, nil)
		if err != nil {
			return nil, fileError(path, "write", err)
		}
		if err := s.commit(false); err != nil {
			s.abort()
			for _, p := range placed {
				p.unplace()
			}
			if errors.Is(err, fs.ErrExist) {
				return nil, errorf(Invalid, err, "%s: made by another niod cert meanwhile (run again to use it)", path)
			}
			return nil, fileError(path, "write", err)
		}
		placed = append(placed, s)
	}
	if err := syncDir(dir); err != nil {
		return nil, fileError(dir, "sync", err)
	}
	return ca, nil
}

// whoAmI names the CA's owner as user@host, as other local CAs do, so that
// a trust store holding several tells them apart.
func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return name
	}
	return name + "@" + host
}

// limit64 cuts s to the 64 characters X.509 allows in a name's attribute.
func limit64(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64])
	}
	return s
}
