package certs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"niod/internal/config"
)

// sslKeys pairs the [rest] keys of the runtime's TLS files with the
// [user_defined] keys niod cert sets for them, as the runtime's settings
// template refers to them.
var sslKeys = []struct{ rest, userDefined string }{
	{"ssl_certificate", "SSL_CERTIFICATE"},
	{"ssl_private_key", "SSL_PRIVATE_KEY"},
	{"ssl_certificate_chain", "SSL_CERTIFICATE_CHAIN"},
}

// Settings are the [user_defined] keys that point the runtime at the files
// Issue writes to outDir, their paths named as Show names them.
func (p Project) Settings(outDir string) []config.Setting {
	out := make([]config.Setting, len(sslKeys))
	for i, name := range []string{CertFile, KeyFile, ChainFile} {
		out[i] = config.Setting{Key: sslKeys[i].userDefined, Value: p.Show(filepath.Join(outDir, name))}
	}
	return out
}

// SettingsFileOf is the settings file whose [user_defined]
// SSL_CERTIFICATE, SSL_PRIVATE_KEY and SSL_CERTIFICATE_CHAIN [rest]
// ssl_certificate, ssl_private_key and ssl_certificate_chain (when set) of
// the resolved s are, each being nothing but a reference to its key: niod
// cert --update-settings FILE then points them at its files. "" when they
// are not, or not all set in one file.
func SettingsFileOf(s *config.Settings) string {
	file := ""
	for _, k := range sslKeys {
		v := s.Lookup("rest", k.rest)
		if v == nil || strings.TrimSpace(v.Raw) == "" {
			if k.rest == "ssl_certificate_chain" {
				continue
			}
			return ""
		}
		raw := strings.TrimSpace(v.Raw)
		whole := strings.HasPrefix(raw, "[[") && strings.HasSuffix(raw, "]]") && strings.TrimSpace(raw[2:len(raw)-2]) == k.userDefined
		if !whole || len(v.Refs) != 1 || v.Refs[0].Source != config.FromUserDefined || file != "" && v.Refs[0].Origin.File != file {
			return ""
		}
		file = v.Refs[0].Origin.File
	}
	return file
}

// ReadSettings reads the settings file named file (under the root unless
// absolute) for an update with set, and refuses now what the update would
// refuse later: a file niod would not read, a secret in a file others can
// read, a value the file cannot hold. So nothing is made for a file that
// cannot take the settings.
func (p Project) ReadSettings(file string, set []config.Setting) (*config.SettingsFile, error) {
	sf, err := config.ReadSettingsFile(p.Path(file), file)
	if err != nil {
		return nil, editError(err)
	}
	if err := sf.CheckSecrets(set); err != nil {
		return nil, editError(err)
	}
	if _, err := sf.Edit(set); err != nil {
		return nil, editError(err)
	}
	return sf, nil
}

// UpdateSettings sets the keys of set in [user_defined] of the file sf was
// read from (config.EditSettings) and writes it in one rename, keeping its
// mode and owner.
func UpdateSettings(sf *config.SettingsFile, set []config.Setting) error {
	out, err := sf.Edit(set)
	if err != nil {
		return editError(err)
	}
	var owner *Owner
	if sf.Exists {
		owner = &Owner{UID: int(sf.UID), GID: int(sf.GID)}
	}
	s, err := stage(sf.Path, out, sf.Mode, owner)
	if err != nil {
		if owner != nil && errors.Is(err, fs.ErrPermission) {
			return errorf(Permission, err, "%s: cannot keep its owner (uid %d, gid %d): run niod cert as that user or as root", sf.Name, sf.UID, sf.GID)
		}
		return fileError(sf.Name, "write", err)
	}
	if err := s.commit(sf.Exists); err != nil {
		s.abort()
		if errors.Is(err, fs.ErrExist) {
			return errorf(Exists, err, "%s: made by someone else meanwhile (run again to update it)", sf.Name)
		}
		return fileError(sf.Name, "write", err)
	}
	if err := syncDir(filepath.Dir(sf.Path)); err != nil {
		return fileError(sf.Name, "sync", err)
	}
	return nil
}

// editError is an error of the settings editor as an Error of the same
// kind.
func editError(err error) error {
	var ee *config.EditError
	if !errors.As(err, &ee) {
		return err
	}
	kind := Internal
	switch ee.Kind {
	case config.EditInvalid:
		kind = Invalid
	case config.EditPermission:
		kind = Permission
	}
	return &Error{Kind: kind, Msg: ee.Msg, Err: err}
}
