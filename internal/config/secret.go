package config

import "strings"

// Redacted stands in for a secret value wherever settings are shown.
const Redacted = "********"

// secretWords mark a key (or a referenced variable) as holding a secret when
// its name contains one of them, in any case.
var secretWords = []string{"token", "secret", "password", "passwd", "private_key", "api_key", "credential"}

// IsSecretKey reports whether a key or variable name marks its value as a
// secret.
func IsSecretKey(name string) bool {
	lower := strings.ToLower(name)
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

func looksLikePath(text string) bool {
	return !strings.ContainsAny(text, " \t\n") && (strings.Contains(text, "/") ||
		strings.HasSuffix(text, ".key") || strings.HasSuffix(text, ".pem"))
}

// SecretValues returns the text of every secret value, and every fragment
// of the environment that a reference filled into a secret (so a secret
// spliced into [niod] command is scrubbed from the runtime's argv too), for
// a logger that scrubs them from whatever it writes. Each text is listed
// once.
func (s *Settings) SecretValues() []string {
	var out []string
	seen := map[string]bool{}
	add := func(text string) {
		if text != "" && !seen[text] {
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
