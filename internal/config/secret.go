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

// holdsSecretLiteral reports whether a value as written in its file is a
// secret itself, rather than a reference to one kept elsewhere.
func holdsSecretLiteral(v *Value) bool {
	if IsKeyMaterial(v.Raw) {
		return true
	}
	return IsSecretKey(v.Key) && pyStrip(replaceRefs(v.Raw, func(string) string { return "" })) != ""
}

// SecretValues returns the text of every secret value, for a logger that
// scrubs them from whatever it writes.
func (s *Settings) SecretValues() []string {
	var out []string
	s.All(func(_ *Section, v *Value) {
		if v.Secret && v.Text != "" {
			out = append(out, v.Text)
		}
	})
	return out
}
