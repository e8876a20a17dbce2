package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"niod/internal/securefile"
)

// DefaultFile is the settings file read when no -s is given.
const DefaultFile = "nio.conf"

// Request says what Load reads.
type Request struct {
	// Root is the project root; relative settings paths resolve against
	// it. Empty means the current directory.
	Root string
	// Files are the settings files in order, later ones winning; empty
	// means DefaultFile.
	Files []string
	// Environ is the environment as KEY=VALUE strings: it resolves
	// [[ NAME ]] references and supplies NIOD_* options.
	Environ []string
	// EnvSkip names NIOD_* variables that are not [niod] options.
	EnvSkip map[string]bool
	// Flags are options from the command line, applied last.
	Flags []OptionSource
}

// Loaded is the outcome of a successful Load.
type Loaded struct {
	// Root is the absolute, clean project root.
	Root string
	// Files are the settings files as given.
	Files    []string
	Settings *Settings
	Options  *Options
	// Warnings are problems that do not stop niod, such as undefined
	// references kept as text under [niod] allow_undefined.
	Warnings Problems
}

// Load reads, merges and resolves the settings files and niod's options.
// It returns every problem found; the settings are usable only when there
// are none.
func Load(req Request) (*Loaded, Problems) {
	var ps Problems
	root, err := filepath.Abs(orDefault(req.Root, "."))
	if err != nil {
		return nil, Problems{{Origin: Origin{File: req.Root}, Msg: err.Error()}}
	}
	l := &Loaded{Root: root, Files: req.Files, Settings: New()}
	if len(l.Files) == 0 {
		l.Files = []string{DefaultFile}
	}
	env := EnvironMap(req.Environ)
	for _, name := range l.Files {
		ps = append(ps, l.read(name, env["CREDENTIALS_DIRECTORY"])...)
	}

	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	resolveProblems := l.Settings.Resolve(lookup, root)

	l.Options = DefaultOptions()
	ps = append(ps, l.Options.Apply(SectionSources(l.Settings))...)
	ps = append(ps, l.Options.Apply(EnvSources(req.Environ, req.EnvSkip))...)
	ps = append(ps, l.Options.Apply(req.Flags)...)
	ps = append(ps, l.Options.check()...)

	for _, p := range resolveProblems {
		if p.Undefined && l.Options.AllowUndefined {
			l.Warnings = append(l.Warnings, p)
		} else {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return l, nil
}

// read reads one settings file into l.Settings and refuses it when it holds
// a secret yet others may read it.
func (l *Loaded) read(name, credsDir string) Problems {
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(l.Root, name)
	}
	f, err := securefile.ReadFile(path, MaxFileSize)
	if err != nil {
		var se *securefile.Error
		if errors.As(err, &se) {
			return Problems{{Origin: Origin{File: name}, Msg: se.Reason}}
		}
		return Problems{{Origin: Origin{File: name}, Msg: err.Error()}}
	}
	touched, ps := l.Settings.read(name, f.Text)
	if f.Mode&0o044 == 0 || isCredential(path, credsDir, f.Mode) {
		return ps
	}
	for _, v := range touched {
		if holdsSecretLiteral(v) {
			ps.add(v.Origin, "%s holds a secret but the file is readable by group or others (mode %04o); run: chmod 600 %s",
				v.Key, f.Mode, name)
			break
		}
	}
	return ps
}

// isCredential reports whether path is a read-only credential that systemd
// placed in $CREDENTIALS_DIRECTORY (LoadCredential=): systemd makes them
// 0400 or 0440 and the directory is private to the service.
func isCredential(path, credsDir string, mode os.FileMode) bool {
	if credsDir == "" || (mode != 0o400 && mode != 0o440) {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(credsDir), filepath.Clean(path))
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// check validates options against each other.
func (o *Options) check() Problems {
	var ps Problems
	if o.RestartMaxDelay < o.RestartDelay {
		ps.add(o.Origins["restart_max_delay"], "restart_max_delay (%v) is shorter than restart_delay (%v)", o.RestartMaxDelay, o.RestartDelay)
	}
	if o.HealthInterval <= 0 {
		ps.add(o.Origins["health_interval"], "health_interval must be longer than 0")
	}
	if o.HealthTimeout <= 0 {
		ps.add(o.Origins["health_timeout"], "health_timeout must be longer than 0")
	}
	if o.Group != "" && o.User == "" {
		ps.add(o.Origins["group"], "group = %s is set without a user (set user too)", o.Group)
	}
	return ps
}

// EnvironMap turns KEY=VALUE strings into a map.
func EnvironMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
