package plan

import (
	"bytes"
	"sort"

	"niod/internal/config"
)

// renderPayload renders what the runtime reads: every section but [niod],
// secrets revealed, and the environment variables that filled secrets
// through [[ ]] added to [user_defined] (unless it defines them already) so
// the runtime's own resolution still finds them once they are gone from its
// environment. It returns the payload and the names of the variables moved.
func renderPayload(s *config.Settings, environ []string) ([]byte, []string) {
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
