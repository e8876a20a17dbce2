package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted stands in for a secret value wherever settings are shown.
const Redacted = "********"

// MinScrubbedSecret is the fewest characters a secret must have for niod's
// log to scrub it. The log masks a secret only where it stands as a whole
// word, but a short one would still hide ordinary words and numbers
// ("runtime", "admin", "1234") wherever they appear; such a secret is not
// scrubbed, and UnscrubbedSecrets warns about it.
const MinScrubbedSecret = 8

// secretWords mark a key (or a referenced variable) as holding a secret when
// its name contains one of them, in any case.
var secretWords = []string{"token", "secret", "password", "passwd", "private_key", "api_key", "credential"}

// IsSecretKey reports whether a key or variable name marks its value as a
// secret.
func IsSecretKey(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return hasSecretWord(strings.ToLower(name))
		}
	}
	// ASCII, as nearly every name is: match each word where it could
	// start, folding case in place instead of lowering a copy. Every
	// key is checked, so this runs once per key.
	for i := 0; i < len(name); i++ {
		// | 0x20 lowers a letter; no other byte maps to a letter.
		if strings.IndexByte(secretFirsts, name[i]|0x20) < 0 {
			continue
		}
		for _, w := range secretWords {
			if len(name)-i >= len(w) && name[i]|0x20 == w[0] && strings.EqualFold(name[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}

// secretFirsts are the first letters of secretWords (a test holds them
// together): a name position starting with none cannot start one.
const secretFirsts = "tspac"

func hasSecretWord(lower string) bool {
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// IsKeyMaterial reports whether text holds a PEM private key.
func IsKeyMaterial(text string) bool {
	i := strings.Index(text, "-----BEGIN ")
	return i >= 0 && strings.Contains(text[i:], "PRIVATE KEY-----")
}

// HoldsSecret reports whether key = raw, written in a settings file, puts
// a secret in that file (a [[ reference ]] or a key file's path does not).
func HoldsSecret(key, raw string) bool { return holdsSecretLiteral(&Value{Key: key, Raw: raw}) }

// HoldsSecret reports whether the value, as written in its file, puts a
// secret there: as HoldsSecret, and also when it is secret only because a
// secret value refers to it (DB = text for password = [[DB]]).
func (v *Value) HoldsSecret() bool { return holdsSecretLiteral(v) }

// holdsSecretLiteral reports whether a value as written in its file is a
// secret itself, rather than a reference to one kept elsewhere: a private
// key, or text besides references in a value that is secret as a whole (by
// its key's name, or because such a value refers to it). The path of a key
// file (ssl_private_key = etc/ssl/cert.key) refers to the secret too: the
// file holding it is checked where it is read.
func holdsSecretLiteral(v *Value) bool {
	if IsKeyMaterial(v.Raw) {
		return true
	}
	if !IsSecretKey(v.Key) && !v.whole {
		return false
	}
	text := literalText(v.Raw)
	return text != "" && !(isKeyFileKey(v.Key) && looksLikePath(text))
}

// isKeyFileKey reports whether a key names a private key (usually its
// file) and nothing else secret.
func isKeyFileKey(key string) bool {
	lower := strings.ToLower(key)
	if !strings.Contains(lower, "private_key") {
		return false
	}
	return !IsSecretKey(strings.ReplaceAll(lower, "private_key", ""))
}

// looksLikePath reports whether text, a key file's setting, names the file
// by its path rather than holding the key.
func looksLikePath(text string) bool {
	return !strings.ContainsAny(text, " \t\n") && (strings.Contains(text, "/") ||
		strings.HasSuffix(text, ".key") || strings.HasSuffix(text, ".pem"))
}

// keyFilePath reports whether text, filled in for a reference to name,
// is the path of a key file: name names a private key and nothing else
// secret, and text is a path, not the key itself.
func keyFilePath(name, text string) bool {
	return isKeyFileKey(name) && looksLikePath(text) && !IsKeyMaterial(text)
}

// plainKeyFilePaths runs after markSecrets: it clears Secret on the
// values that were secret only because a key's or a variable's name says
// private_key while the value is the path of the key file (ssl_private_key
// = etc/ssl/cert.key, or = [[SSL_PRIVATE_KEY]] that holds such a path). The
// path is no secret, so it is shown and logged as is; the file's content is
// protected where it is read. A value that is a secret as a whole (the key
// itself, or text that is no path) keeps Secret, and so does one that
// refers to another secret.
//
// Only such values change, and a reference to one, and the fragments of
// the environment are listed again by the same rule as markSecrets'.
func (r *resolver) plainKeyFilePaths() {
	changed := false
	// r.order has each value after the values it refers to, so a
	// [user_defined] value is settled before its references are.
	for _, v := range r.order {
		if !v.Secret || v.whole {
			continue
		}
		secret := false
		for i := range v.Refs {
			ref := &v.Refs[i]
			switch ref.Source {
			case FromUserDefined:
				if u, _ := r.lookupUD(ref.Name); u != nil && !u.Secret && ref.Secret {
					ref.Secret, changed = false, true
				}
			case FromEnvironment:
				if text, _ := r.env(ref.Name); ref.Secret && keyFilePath(ref.Name, text) {
					ref.Secret, changed = false, true
				}
			}
			secret = secret || ref.Secret
		}
		// Not secret as a whole, v was secret by its references, or by a
		// key file's name holding a path: the path is no longer secret.
		if !secret {
			v.Secret, changed = false, true
		}
	}
	if !changed {
		return
	}
	r.s.fragments = r.s.fragments[:0]
	for _, v := range r.order {
		for _, ref := range v.Refs {
			if ref.Source == FromEnvironment && (ref.Secret || v.whole) {
				if text, _ := r.env(ref.Name); text != "" {
					r.s.fragments = append(r.s.fragments, text)
				}
			}
		}
	}
}

// SecretValues returns the text of every secret value, and every fragment
// of the environment that a reference filled into a secret (so a secret
// spliced into [niod] command is scrubbed from the runtime's argv too), for
// a logger that scrubs them from whatever it writes. Each text is listed
// once. Texts shorter than MinScrubbedSecret characters are left out (see
// UnscrubbedSecrets).
func (s *Settings) SecretValues() []string {
	var out []string
	seen := map[string]bool{}
	add := func(text string) {
		if scrubbable(text) && !seen[text] {
			seen[text] = true
			out = append(out, text)
		}
	}
	s.All(func(_ *Section, v *Value) {
		if v.Secret {
			add(v.Text)
		}
	})
	for _, text := range s.fragments {
		add(text)
	}
	return out
}

// scrubbable reports whether SecretValues lists a secret's text.
func scrubbable(text string) bool {
	return utf8.RuneCountInString(text) >= MinScrubbedSecret
}

// UnscrubbedSecrets returns a warning for each secret too short for
// SecretValues to list, once each, at the place it was set, naming its key
// (never its text): a value that holds a secret as written in its file, or
// a variable of env (the environment Resolve used) that a reference filled
// into a secret. Other secret values are made of these, and of the project
// root, which is no secret. At most MaxProblems are returned, and then one
// more that counts the rest.
func (s *Settings) UnscrubbedSecrets(env Environment) Problems {
	why := " is a secret shorter than " + strconv.Itoa(MinScrubbedSecret) + " characters: " +
		"niod cannot scrub it from logs without hiding ordinary words, so it is not scrubbed (use a longer one)"
	var out Problems
	more := 0
	seen := map[string]bool{}
	// The message is built only for a secret warned about: this looks at
	// every value.
	warn := func(text string, sec *Section, v *Value, ref *Ref) {
		if text == "" || scrubbable(text) || seen[text] {
			return
		}
		seen[text] = true
		if len(out) == MaxProblems {
			more++
			return
		}
		what := "[" + short(sec.Name) + "] " + short(v.Key)
		if ref != nil {
			what += ": [[" + short(ref.Name) + "]] from the environment"
		}
		out = append(out, Problem{Origin: v.Origin, Msg: what + why})
	}
	s.All(func(sec *Section, v *Value) {
		if v.Secret && holdsSecretLiteral(v) {
			warn(v.Text, sec, v, nil)
		}
		for i := range v.Refs {
			if ref := &v.Refs[i]; ref.Source == FromEnvironment && (ref.Secret || v.whole) {
				text, _ := env(ref.Name)
				warn(text, sec, v, ref)
			}
		}
	})
	if more > 0 {
		out = append(out, Problem{Omitted: more,
			Msg: "... and " + strconv.Itoa(more) + " more secrets shorter than " + strconv.Itoa(MinScrubbedSecret) + " characters, not scrubbed either"})
	}
	return out
}
