package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

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
	// Strict is for niod running as root: what decides what niod does as
	// root must not be in reach of another user. A [niod] option set in a
	// file that a user other than root could have written (the file, or a
	// directory above it, as securefile.File.CheckWriters judges), or that
	// refers through [[ ]] to a value set in such a file, is then a
	// problem at its line. The runtime's own sections from such a file are
	// still merged and handed over: the runtime's user could change them
	// anyway, and they decide only what the runtime does with its own
	// rights. Files under $CREDENTIALS_DIRECTORY are systemd's and trusted.
	Strict bool
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

// fileRead is what Load remembers of one settings file it read.
type fileRead struct {
	name string
	gen  uint32 // the read that set its values
	file *securefile.File
	// credential is a file delivered for the service alone: a systemd
	// credential, or one on a read-only tmpfs (a Kubernetes Secret volume,
	// a Docker swarm secret), which others of the host cannot read
	// whatever its mode.
	credential bool
	values     fileValues // the values it set
}

// Load reads, merges and resolves the settings files and niod's options.
// It returns every problem found, at most MaxProblems of them (the last then
// says how many more there were); the settings are usable only when there
// are none.
func Load(req Request) (*Loaded, Problems) {
	root, err := filepath.Abs(orDefault(req.Root, "."))
	if err != nil {
		return nil, Problems{{Origin: Origin{File: req.Root}, Msg: err.Error()}}
	}
	l := &Loaded{Root: root, Files: req.Files, Settings: New()}
	if len(l.Files) == 0 {
		l.Files = []string{DefaultFile}
	}
	env := EnvironMap(req.Environ)
	var ps collector
	var files []*fileRead
	var unread []string // the settings files that could not be read
	for _, name := range l.Files {
		if f := l.read(name, len(req.Files) == 0, env["CREDENTIALS_DIRECTORY"], &ps); f != nil {
			files = append(files, f)
		} else {
			unread = append(unread, name)
		}
	}

	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	resolveProblems := l.Settings.Resolve(lookup, root)
	// Which values are secret is known once references are resolved: a
	// plain [user_defined] value may be the password of another file.
	for _, f := range files {
		f.checkSecrets(&ps)
	}
	if req.Strict {
		l.checkWriters(files, &ps)
	}

	l.Options = DefaultOptions()
	ps.addAll(l.Options.Apply(SectionSources(l.Settings)))
	ps.addAll(l.Options.Apply(EnvSources(req.Environ, req.EnvSkip)))
	ps.addAll(l.Options.Apply(req.Flags))
	ps.addAll(l.Options.check())

	var undefined Problems
	for _, p := range resolveProblems {
		switch {
		case p.Undefined && l.Options.AllowUndefined:
			l.Warnings = append(l.Warnings, p)
		case p.Undefined && len(unread) > 0:
			undefined = append(undefined, p)
		default:
			ps.addProblem(p)
		}
	}
	if len(undefined) > 0 {
		ps.addProblem(followOn(undefined, unread))
	}
	if all := ps.result(); len(all) > 0 {
		return nil, all
	}
	if l.Options.IsSecret("command") {
		l.Warnings = append(l.Warnings, Problem{Origin: l.Options.Origins["command"],
			Msg: "[niod] command holds a secret, and every user of this host can read the runtime's command line " +
				"(ps, /proc/PID/cmdline): let the runtime read it from its settings instead"})
	}
	l.Warnings = append(l.Warnings, l.Settings.UnscrubbedSecrets(lookup)...) // secret.go
	return l, nil
}

// read reads one settings file into l.Settings; nil when it cannot be read.
// byDefault says that no file was given and name is DefaultFile.
func (l *Loaded) read(name string, byDefault bool, credsDir string, ps *collector) *fileRead {
	path := RootPath(l.Root, name)
	f, err := securefile.ReadFile(path, MaxFileSize)
	if errors.Is(err, unix.ELOOP) {
		// A Kubernetes Secret or ConfigMap volume's file is a link into
		// its ..data directory: that one link is followed.
		if real, ok := securefile.Projected(path); ok {
			f, err = securefile.ReadFile(real, MaxFileSize)
		}
	}
	if err != nil {
		msg := err.Error()
		var se *securefile.Error
		if errors.As(err, &se) {
			msg = se.Reason
		}
		if errors.Is(err, fs.ErrNotExist) {
			msg += missingHint(name, path, byDefault)
		}
		ps.addProblem(Problem{Origin: Origin{File: name}, Msg: msg})
		return nil
	}
	values := l.Settings.read(name, f.Text, ps)
	return &fileRead{name: name, gen: l.Settings.reads, file: f, values: values,
		credential: isCredential(path, credsDir, f.Mode) || securefile.OnReadOnlyTmpfs(f.Path)}
}

// followOn sums up in one problem the undefined references of a Load in
// which a settings file could not be read. Any of them may be defined in
// that file, so they are not an error each but follow from the one
// reported for the file: one line at the first of them says how many there
// are and why they may be missing. Once the file is read, those that remain
// are reported one by one. undefined is not empty and may end with a
// Problem that counts the rest.
func followOn(undefined Problems, unread []string) Problem {
	first := undefined[0]
	others := -1
	for _, p := range undefined {
		others += max(p.Omitted, 1)
	}
	what := first.ref
	if what == "" {
		what = "a [[ ]] reference in a secret value"
	}
	switch {
	case others == 1:
		what += " and 1 other reference are"
	case others > 1:
		what += " and " + strconv.Itoa(others) + " other references are"
	default:
		what += " is"
	}
	files := unread[0]
	switch len(unread) {
	case 1:
	case 2:
		files += " and " + unread[1]
	default:
		files += " and " + strconv.Itoa(len(unread)-1) + " other settings files"
	}
	return Problem{Origin: first.Origin, Undefined: true,
		Msg: what + " not defined, perhaps because " + files + " could not be read (fix that first)"}
}

// checkSecrets refuses the file when it holds a secret yet others may read
// it.
func (f *fileRead) checkSecrets(ps *collector) {
	if f.file.Mode&0o044 == 0 || f.credential {
		return
	}
	f.values.each(func(v *Value) bool {
		if !holdsSecretLiteral(v) {
			return false
		}
		ps.add(v.Origin, "%s holds a secret but the file is readable by group or others (mode %04o); run: chmod 600 %s",
			short(v.Key), f.file.Mode, f.name)
		return true
	})
}

// checkWriters refuses every [niod] option that a user other than root
// could have set: written in a file they can change, or filled in from one.
func (l *Loaded) checkWriters(files []*fileRead, ps *collector) {
	sec := l.Settings.Section(NiodSection)
	if sec == nil {
		return
	}
	// Why each file that others can write is unsafe, by the read that set
	// its values.
	unsafe := map[uint32]unsafeFile{}
	for _, f := range files {
		if f.credential {
			continue
		}
		w, err := f.file.CheckWriters(strictUID)
		switch {
		case err != nil:
			unsafe[f.gen] = unsafeFile{f.name + " cannot be checked for who can change it: " + err.Error(), "make it and every directory above it owned by root, not writable by group or others"}
		case w != nil:
			unsafe[f.gen] = describeWriter(f.name, w)
		}
	}
	if len(unsafe) == 0 {
		return
	}
	for _, v := range sec.Values() {
		if why, ok := unsafe[v.gen]; ok {
			ps.add(v.Origin, "[%s] %s: %s and niod runs as root: it takes no [%s] options from a file another user can change (%s)",
				NiodSection, short(v.Key), why.what, NiodSection, why.fix)
			continue
		}
		if u, why := l.unsafeRef(v, unsafe); u != nil {
			ps.add(v.Origin, "[%s] %s: [[%s]] comes from %s, but %s and niod runs as root: it takes no [%s] options from a file another user can change (%s)",
				NiodSection, short(v.Key), short(u.Key), u.Origin, why.what, NiodSection, why.fix)
		}
	}
}

// unsafeRef finds a [user_defined] value that v takes text from, directly
// or through others, set in an unsafe file.
func (l *Loaded) unsafeRef(v *Value, unsafe map[uint32]unsafeFile) (*Value, unsafeFile) {
	var found *Value
	var why unsafeFile
	l.Settings.reachUserDefined([]*Value{v}, func(u *Value) (descend, stop bool) {
		why, stop = unsafe[u.gen]
		if stop {
			found = u
		}
		return !stop, stop
	})
	return found, why
}

// strictUID is the one user besides root trusted in strict mode: root
// itself. Tests that cannot run as root trust themselves.
var strictUID uint32

// unsafeFile says who other than root can change a settings file, and how
// to stop them.
type unsafeFile struct{ what, fix string }

// describeWriter says who can change the file name and how to stop them.
func describeWriter(name string, w *securefile.Writer) unsafeFile {
	if !w.Dir {
		return unsafeFile{name + " is writable by " + w.Who(), w.Fix(name)}
	}
	return unsafeFile{name + " is in " + w.Path + ", which is writable by " + w.Who(), w.Fix(w.Path)}
}

// isCredential reports whether path is a read-only credential that systemd
// placed in $CREDENTIALS_DIRECTORY (LoadCredential=): systemd makes them
// 0400 or 0440 and the directory is private to the service.
func isCredential(path, credsDir string, mode os.FileMode) bool {
	if credsDir == "" || (mode != 0o400 && mode != 0o440) {
		return false
	}
	return Inside(credsDir, path)
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
		group := quoteValue(o.Group)
		if o.IsSecret("group") {
			group = Redacted
		}
		ps.add(o.Origins["group"], "group = %s is set without a user (set user too)", group)
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
