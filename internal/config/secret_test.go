package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

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

func TestKeyFilePath(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       bool
	}{
		{"SSL_PRIVATE_KEY", "etc/ssl/cert.key", true},
		{"ssl_private_key", "/etc/nio/tls/server.pem", true},
		{"SSL_PRIVATE_KEY", "cert.key", true},
		{"SSL_PRIVATE_KEY", "not a path", false},
		{"SSL_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nMIIB/x\n-----END PRIVATE KEY-----", false},
		{"PRIVATE_KEY_PASSWORD", "etc/ssl/cert.key", false}, // secret besides the key
		{"DB_PASSWORD", "etc/ssl/cert.key", false},
	} {
		if got := keyFilePath(c.name, c.text); got != c.want {
			t.Errorf("keyFilePath(%q, %q) = %v, want %v", c.name, c.text, got, c.want)
		}
	}
}

// TestSecretValuesLeavesOutShortSecrets: a secret shorter than
// MinScrubbedSecret characters (runes, not bytes) is not scrubbed, whether
// a value or a fragment of the environment.
func TestSecretValuesLeavesOutShortSecrets(t *testing.T) {
	s := mustParse(t, "[user_defined]\nADMIN_PASSWORD = runtime\n[x]\npassword = [[ADMIN_PASSWORD]]\n"+
		"api_token = 12345678\npin = [[PIN_PASSWORD]]\nword_password = pässwö\nlong_password = pässwörd\n")
	if ps := s.Resolve(envOf(map[string]string{"PIN_PASSWORD": "1234"}), "/r"); len(ps) > 0 {
		t.Fatal(ps)
	}
	if got, want := s.SecretValues(), []string{"12345678", "pässwörd"}; !slices.Equal(got, want) {
		t.Errorf("SecretValues() = %q, want %q", got, want)
	}
}

func TestUnscrubbedSecrets(t *testing.T) {
	s := mustParse(t,
		"[user_defined]\nADMIN_PASSWORD = runtime\nraw = admin\nok_token = long-enough-token\n",
		"[security]\nadmin_password = [[ADMIN_PASSWORD]]\n[x]\npassword = [[raw]]\nsame = runtime\n"+
			"dsn_password = ab[[PART]]\npin = [[PIN_TOKEN]]\nagain = [[PIN_TOKEN]]\nplain = [[HOST]]\n"+
			"cmd = tool --token [[PIN_TOKEN]] --other [[OTHER_TOKEN]]\n")
	env := envOf(map[string]string{"PART": "cd", "PIN_TOKEN": "1234", "HOST": "db", "OTHER_TOKEN": "long-enough-other"})
	if ps := s.Resolve(env, "/r"); len(ps) > 0 {
		t.Fatal(ps)
	}
	tail := " is a secret shorter than 8 characters: niod cannot scrub it from logs without hiding ordinary words, so it is not scrubbed (use a longer one)"
	want := []string{
		"a.conf:2: [user_defined] ADMIN_PASSWORD" + tail,
		"a.conf:3: [user_defined] raw" + tail, // secret because a password is made of it
		"b.conf:6: [x] dsn_password" + tail,
		"b.conf:6: [x] dsn_password: [[PART]] from the environment" + tail,
		"b.conf:7: [x] pin: [[PIN_TOKEN]] from the environment" + tail,
	}
	var got []string
	for _, p := range s.UnscrubbedSecrets(env) {
		got = append(got, p.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("UnscrubbedSecrets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, secret := range []string{"runtime", "admin", "abcd", "1234"} {
		if strings.Contains(strings.Join(got, "\n"), " "+secret) {
			t.Errorf("a warning shows the secret %q", secret)
		}
	}

	// A reference may have an empty name, [[]]: the warning still says
	// it came from the environment.
	s = mustParse(t, "[x]\npasswd = [[]]x\n")
	env = envOf(map[string]string{"": "0"})
	s.Resolve(env, "/r")
	if ps := s.UnscrubbedSecrets(env); len(ps) != 2 || ps[1].Error() != "a.conf:2: [x] passwd: [[]] from the environment"+tail {
		t.Errorf("UnscrubbedSecrets = %q, want the second from the environment", ps)
	}

	// Long enough, or no secret at all: no warning.
	s = mustParse(t, "[user_defined]\nSSL_PRIVATE_KEY = k.pem\n[x]\npassword = long-enough\nhost = db\nempty_password =\nkey = [[SSL_PRIVATE_KEY]]\n")
	if ps := s.Resolve(envOf(nil), "/r"); len(ps) > 0 {
		t.Fatal(ps)
	}
	if ps := s.UnscrubbedSecrets(envOf(nil)); len(ps) > 0 {
		t.Errorf("UnscrubbedSecrets = %v, want none", ps)
	}
}

// TestLoadWarnsOfShortSecrets: Load puts the warnings in Loaded.Warnings,
// which niod check and niod run print.
func TestLoadWarnsOfShortSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nio.conf", "[security]\nadmin_password = [[ADMIN_PASSWORD]]\n", 0o644)
	writeFile(t, dir, "secrets.conf", "# kept apart\n[user_defined]\nADMIN_PASSWORD = runtime\n", 0o600)
	l := mustLoad(t, Request{Root: dir, Files: []string{"nio.conf", "secrets.conf"}})
	want := "secrets.conf:3: [user_defined] ADMIN_PASSWORD is a secret shorter than 8 characters: " +
		"niod cannot scrub it from logs without hiding ordinary words, so it is not scrubbed (use a longer one)"
	if len(l.Warnings) != 1 || l.Warnings[0].Error() != want {
		t.Errorf("warnings = %q, want %q", l.Warnings, want)
	}
}

func TestUnscrubbedSecretsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("[user_defined]\n")
	for i := range MaxProblems + 5 {
		fmt.Fprintf(&b, "p%d_password = pw%d\n", i, i)
	}
	s := mustParse(t, b.String())
	if ps := s.Resolve(envOf(nil), "/r"); len(ps) > 0 {
		t.Fatal(ps)
	}
	ps := s.UnscrubbedSecrets(envOf(nil))
	last := ps[len(ps)-1]
	if len(ps) != MaxProblems+1 || last.Omitted != 5 || last.Error() != "... and 5 more secrets shorter than 8 characters, not scrubbed either" {
		t.Errorf("%d warnings, the last %+v", len(ps), last)
	}
}

func TestSecretFirsts(t *testing.T) {
	for _, w := range secretWords {
		if !strings.Contains(secretFirsts, w[:1]) {
			t.Errorf("secretFirsts %q lacks the first letter of %q", secretFirsts, w)
		}
	}
}
