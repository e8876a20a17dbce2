package config

import "testing"

func TestHoldsSecretLiteral(t *testing.T) {
	for _, c := range []struct {
		key, raw string
		want     bool
	}{
		{"SSL_PRIVATE_KEY", "etc/ssl/cert.key", false},
		{"ssl_private_key", "/etc/nio/tls/server.pem", false},
		{"ssl_private_key", "[[SSL_PRIVATE_KEY]]", false},
		{"ssl_private_key", "", false},
		{"ssl_private_key", "not a path but words", true},
		{"ssl_private_key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----", true},
		{"private_key_password", "etc/ssl/cert.key", true},
		{"api_token", "abc/def", true},
		{"password", "[[DB_PASSWORD]]", false},
		{"auth_token", "Bearer-x-[[TOKEN]]", true},
		{"note", "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----", true},
		{"note", "plain", false},
	} {
		if got := holdsSecretLiteral(&Value{Key: c.key, Raw: c.raw}); got != c.want {
			t.Errorf("%s = %q: %v, want %v", c.key, c.raw, got, c.want)
		}
	}
}
