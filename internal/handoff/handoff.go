// Package handoff gives the runtime its merged, resolved settings without
// them touching persistent disk: a sealed memfd inherited as a file
// descriptor by default, or a 0600 file in a private 0700 directory on a
// memory file system. It also builds the runtime's environment, moving the
// variables that carried secrets into the settings instead.
package handoff

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"niod/internal/config"
	"niod/internal/rundir"
)

// Payload renders what the runtime reads: every section but [niod], secrets
// revealed, and the environment variables that filled secrets through [[ ]]
// added to [user_defined] (unless it defines them already) so the runtime's
// own resolution still finds them once they are gone from its environment.
// It returns the payload and the names of the variables moved.
func Payload(s *config.Settings, environ []string) ([]byte, []string) {
	env := config.EnvironMap(environ)
	moved := map[string]bool{}
	seen := map[*config.Value]bool{}
	// A variable is moved when it fed a secret value, directly or through
	// [user_defined] values, or when its own name marks it secret.
	var walk func(v *config.Value, secret bool)
	walk = func(v *config.Value, secret bool) {
		if seen[v] {
			return
		}
		seen[v] = true
		for _, r := range v.Refs {
			switch {
			case r.Source == config.FromEnvironment && (secret || r.Secret):
				moved[r.Name] = true
			case r.Source == config.FromUserDefined && secret:
				if u := s.Lookup(config.UserDefined, r.Name); u != nil {
					walk(u, true)
				}
			}
		}
	}
	s.All(func(_ *config.Section, v *config.Value) {
		if v.Secret {
			walk(v, true)
		}
	})
	s.All(func(_ *config.Section, v *config.Value) {
		if !seen[v] {
			walk(v, false)
		}
	})
	out := s.Clone()
	out.Remove(config.NiodSection)
	names := make([]string, 0, len(moved))
	for name := range moved {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if out.Lookup(config.UserDefined, name) == nil {
			out.Set(config.UserDefined, name, env[name], true, config.Origin{File: "environment"})
		}
	}
	var b bytes.Buffer
	out.Render(&b, config.RenderOptions{Reveal: true})
	return b.Bytes(), names
}

// Environment builds the runtime's environment from niod's: without the
// variables that belong to niod's own service manager (NOTIFY_SOCKET,
// WATCHDOG_*, LISTEN_*), niod's own NIOD_* options and the secret variables
// in drop; then set is applied (an empty value removes the variable).
func Environment(environ []string, drop []string, set map[string]string) []string {
	dropped := map[string]bool{}
	for _, d := range drop {
		dropped[d] = true
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case dropped[k], k == "NOTIFY_SOCKET", k == "WATCHDOG_USEC", k == "WATCHDOG_PID",
			strings.HasPrefix(k, "LISTEN_"), strings.HasPrefix(k, config.EnvPrefix):
			continue
		}
		if _, ok := set[k]; ok {
			continue
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if set[k] != "" {
			out = append(out, k+"="+set[k])
		}
	}
	return out
}

// A Handoff is the settings made available to one start of the runtime.
type Handoff struct {
	// File is the memfd to pass to the child (nil for a file handoff).
	File *os.File
	// Path is what NIO_SETTINGS says: a path the runtime can open.
	Path string
	dir  string // private directory of a file handoff, removed by Close
}

// FD is the descriptor number the memfd has in the child.
const FD = 3

// NewMemfd puts payload in a sealed memfd: the runtime can read it, nobody
// can change it, and it lives in memory only. NIO_SETTINGS is
// /proc/self/fd/3 in the child.
func NewMemfd(payload []byte) (*Handoff, error) {
	fd, err := unix.MemfdCreate("nio-settings", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "nio-settings")
	if _, err := f.Write(payload); err != nil {
		f.Close()
		return nil, fmt.Errorf("write memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return &Handoff{File: f, Path: fmt.Sprintf("/proc/self/fd/%d", FD)}, nil
}

// NewFile writes payload to a 0600 file in a new 0700 directory under base,
// owned by niod's user (the runtime's, after the privilege drop). It warns
// through warn when base is not on a memory file system (tmpfs or ramfs).
func NewFile(payload []byte, base string, warn func(string)) (*Handoff, error) {
	if !onMemoryFS(base) {
		warn(fmt.Sprintf("%s is not on tmpfs: the settings file with its secrets may reach the disk", base))
	}
	dir, err := rundir.Make(base, "handoff")
	if err != nil {
		return nil, stableError(base, err)
	}
	h := &Handoff{dir: dir, Path: filepath.Join(dir, "settings.conf")}
	f, err := os.OpenFile(h.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err == nil {
		_, err = f.Write(payload)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		h.Close()
		return nil, stableError(base, err)
	}
	return h, nil
}

// stableError names base instead of the random directory below it, so the
// same failure at every try reads the same (the supervisor logs an error
// once until it changes).
func stableError(base string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s a settings file in %s: %w", pe.Op, base, pe.Err)
	}
	return err
}

// Close releases the memfd or removes the file and its directory.
func (h *Handoff) Close() error {
	if h.File != nil {
		return h.File.Close()
	}
	if h.dir != "" {
		return os.RemoveAll(h.dir)
	}
	return nil
}

// FileBase picks the directory for a file handoff: $RUNTIME_DIRECTORY,
// else $XDG_RUNTIME_DIR, else the system's temporary directory.
func FileBase(getenv func(string) string) string {
	if d := getenv("RUNTIME_DIRECTORY"); d != "" {
		// systemd may give several, separated by colons.
		d, _, _ = strings.Cut(d, ":")
		return d
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return d
	}
	return os.TempDir()
}

func onMemoryFS(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
}
