package certs

import (
	"errors"
	"io/fs"
	"path/filepath"

	"niod/internal/config"
)

// Settings are the [user_defined] keys that point the runtime at the files
// Issue writes to outDir, their paths named as Show names them.
func (p Project) Settings(outDir string) []config.Setting {
	return []config.Setting{
		{Key: "SSL_CERTIFICATE", Value: p.Show(filepath.Join(outDir, CertFile))},
		{Key: "SSL_PRIVATE_KEY", Value: p.Show(filepath.Join(outDir, KeyFile))},
		{Key: "SSL_CERTIFICATE_CHAIN", Value: p.Show(filepath.Join(outDir, ChainFile))},
	}
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
