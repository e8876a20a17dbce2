package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// mustParse merges the files, named a.conf, b.conf, ..., into new Settings.
func mustParse(t *testing.T, files ...string) *Settings {
	t.Helper()
	s := New()
	for i, text := range files {
		if ps := s.Read(string(rune('a'+i))+".conf", []byte(text)); len(ps) > 0 {
			t.Fatalf("parse: %v", ps)
		}
	}
	return s
}

func envOf(m map[string]string) Environment {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func text(t *testing.T, s *Settings, section, key string) string {
	t.Helper()
	v := s.Section(section).Get(key)
	if v == nil {
		t.Fatalf("[%s] %s is missing", section, key)
	}
	return v.Text
}

func TestResolveSources(t *testing.T) {
	const file = "[s]\na = [[HOME]]/x\nb = [[ HOME ]]\nc = <[[EMPTY]]>\n[user_defined]\nHOME = /ud\nEMPTY = set\n"
	tests := []struct {
		name   string
		env    map[string]string
		a, c   string
		source RefSource
	}{
		{"environment first", map[string]string{"HOME": "/env", "EMPTY": ""}, "/env/x", "<>", FromEnvironment},
		{"user_defined when not in the environment", nil, "/ud/x", "<set>", FromUserDefined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, file)
			if ps := s.Resolve(envOf(tt.env), "/root"); len(ps) > 0 {
				t.Fatal(ps)
			}
			if got := text(t, s, "s", "a"); got != tt.a {
				t.Errorf("a = %q, want %q", got, tt.a)
			}
			if got, want := text(t, s, "s", "b"), strings.TrimSuffix(tt.a, "/x"); got != want {
				t.Errorf("b = %q, want %q (spaces inside [[ ]] are stripped)", got, want)
			}
			if got := text(t, s, "s", "c"); got != tt.c {
				t.Errorf("c = %q, want %q", got, tt.c)
			}
			a := s.Section("s").Get("a")
			if a.Raw != "[[HOME]]/x" {
				t.Errorf("Raw changed to %q", a.Raw)
			}
			if len(a.Refs) != 1 || a.Refs[0].Name != "HOME" || a.Refs[0].Source != tt.source {
				t.Fatalf("Refs = %+v", a.Refs)
			}
			wantOrigin := Origin{}
			if tt.source == FromUserDefined {
				wantOrigin = Origin{File: "a.conf", Line: 6}
			}
			if a.Refs[0].Origin != wantOrigin {
				t.Errorf("ref origin = %v, want %v", a.Refs[0].Origin, wantOrigin)
			}
		})
	}
}

func TestResolveNested(t *testing.T) {
	// [s] comes first: [user_defined] values resolve on demand.
	s := mustParse(t,
		"[s]\nlog = [[logs]]/a.log\nraw = [[LITERAL]]\n[user_defined]\nbase = /opt\ndata = [[base]]/data\n",
		"[user_defined]\nlogs = [[data]]/logs\n",
	)
	env := envOf(map[string]string{"LITERAL": "[[base]]"})
	if ps := s.Resolve(env, "/root"); len(ps) > 0 {
		t.Fatal(ps)
	}
	for key, want := range map[string]string{"log": "/opt/data/logs/a.log", "raw": "[[base]]"} {
		if got := text(t, s, "s", key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got := text(t, s, UserDefined, "logs"); got != "/opt/data/logs" {
		t.Errorf("logs = %q", got)
	}
	ref := s.Section("s").Get("log").Refs[0]
	if ref.Source != FromUserDefined || ref.Origin != (Origin{File: "b.conf", Line: 2}) {
		t.Errorf("ref = %+v, want from b.conf:2", ref)
	}
	// Resolving again gives the same result.
	if ps := s.Resolve(env, "/root"); len(ps) > 0 {
		t.Fatal(ps)
	}
	if v := s.Section("s").Get("log"); v.Text != "/opt/data/logs/a.log" || len(v.Refs) != 1 {
		t.Errorf("second Resolve: %q, %d refs", v.Text, len(v.Refs))
	}
}

func TestResolveDefaultFallback(t *testing.T) {
	// [user_defined] falls back to [DEFAULT] as any section does, but only
	// when it exists.
	s := mustParse(t, "[DEFAULT]\nbase = /d\n[user_defined]\n[s]\nk = [[base]]\n")
	if ps := s.Resolve(envOf(nil), "/r"); len(ps) > 0 {
		t.Fatal(ps)
	}
	if got := text(t, s, "s", "k"); got != "/d" {
		t.Errorf("k = %q, want /d", got)
	}

	s = mustParse(t, "[DEFAULT]\nbase = /d\n[s]\nk = [[base]]\n")
	ps := s.Resolve(envOf(nil), "/r")
	if len(ps) != 1 || !ps[0].Undefined || ps[0].Origin.Line != 4 {
		t.Fatalf("problems = %v, want [s] k undefined", ps)
	}
}

func TestResolveReplacementNotRescanned(t *testing.T) {
	s := mustParse(t, "[user_defined]\na = [[b]]x\nb = [[\n[s]\nk = [[a]]]]\n")
	ps := s.Resolve(envOf(nil), "/r")
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if got := text(t, s, "s", "k"); got != "[[x]]" {
		t.Errorf("k = %q, want %q", got, "[[x]]")
	}
}

func TestResolveCycle(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		line  int
		msg   string
		cycle string // key whose reference is InCycle
	}{
		{
			name:  "three values",
			file:  "[s]\nx = [[a]]\n[user_defined]\na = [[b]]\nb = [[c]]\nc = [[a]]\n",
			line:  6,
			msg:   "c: [[a]] refers back to itself (a -> b -> c -> a; break the cycle)",
			cycle: "c",
		},
		{
			name:  "itself",
			file:  "[user_defined]\nok = 1\nself = x[[ self ]]\n",
			line:  3,
			msg:   "self: [[self]] refers back to itself (self -> self; break the cycle)",
			cycle: "self",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.file)
			ps := s.Resolve(envOf(nil), "/r")
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %v", ps)
			}
			p := ps[0]
			if p.Undefined || p.Origin != (Origin{File: "a.conf", Line: tt.line}) || p.Msg != tt.msg {
				t.Errorf("problem = %+v\nwant %q at a.conf:%d", p, tt.msg, tt.line)
			}
			v := s.Section(UserDefined).Get(tt.cycle)
			if len(v.Refs) != 1 || v.Refs[0].Source != InCycle {
				t.Errorf("refs of %s = %+v, want one InCycle", tt.cycle, v.Refs)
			}
			if !strings.Contains(v.Text, "[[") {
				t.Errorf("%s = %q: the reference in the cycle is kept as written", tt.cycle, v.Text)
			}
		})
	}
}

func TestResolveUndefined(t *testing.T) {
	s := mustParse(t, "[user_defined]\nu = [[GONE]]\n[s]\na = [[NOPE]] and [[ALSO_NOPE]]\nb = [[NOPE]]\nc = [[u]]\nd = [[u]]\n")
	ps := s.Resolve(envOf(map[string]string{"OTHER": "x"}), "/r")
	want := []struct {
		line int
		msg  string
	}{
		{2, "[user_defined] u: [[GONE]] is not defined (set it in the environment or in [user_defined]; [niod] allow_undefined = true keeps it as text)"},
		{4, "[s] a: [[NOPE]] is not defined"},
		{4, "[s] a: [[ALSO_NOPE]] is not defined"},
		{5, "[s] b: [[NOPE]] is not defined"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		if !ps[i].Undefined || ps[i].Origin.Line != w.line || !strings.HasPrefix(ps[i].Msg, w.msg) {
			t.Errorf("problem %d = %+v, want Undefined %q at line %d", i, ps[i], w.msg, w.line)
		}
	}
	if got := text(t, s, "s", "a"); got != "[[NOPE]] and [[ALSO_NOPE]]" {
		t.Errorf("a = %q: undefined references stay as written", got)
	}
	if got := text(t, s, "s", "d"); got != "[[GONE]]" {
		t.Errorf("d = %q", got)
	}
	if r := s.Section("s").Get("a").Refs; len(r) != 2 || r[0].Source != Unresolved || r[1].Source != Unresolved {
		t.Errorf("refs = %+v", r)
	}
}

func TestResolveProjectRoot(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		ud     string // [user_defined] PROJECT_ROOT line, if any
		want   string
		source RefSource
	}{
		{"fallback", nil, "", "/root", FromProjectRoot},
		{"blank environment", map[string]string{"PROJECT_ROOT": ""}, "", "/root", FromProjectRoot},
		{"environment", map[string]string{"PROJECT_ROOT": "/env"}, "PROJECT_ROOT = /ud", "/env", FromEnvironment},
		{"blank user_defined", nil, "PROJECT_ROOT =", "/root", FromProjectRoot},
		{"user_defined", nil, "PROJECT_ROOT = /ud", "/ud", FromUserDefined},
		{"blank environment, user_defined", map[string]string{"PROJECT_ROOT": ""}, "PROJECT_ROOT = /ud", "/ud", FromUserDefined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, "[s]\np = [[PROJECT_ROOT]]/etc\n[user_defined]\n"+tt.ud+"\n")
			if ps := s.Resolve(envOf(tt.env), "/root"); len(ps) > 0 {
				t.Fatal(ps)
			}
			v := s.Section("s").Get("p")
			if v.Text != tt.want+"/etc" || v.Refs[0].Source != tt.source {
				t.Errorf("p = %q from %v, want %q from %v", v.Text, v.Refs[0].Source, tt.want+"/etc", tt.source)
			}
		})
	}
}

func TestResolveSecrets(t *testing.T) {
	const pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
	s := mustParse(t, `[user_defined]
db_password = hunter2
dsn = pg://app:[[db_password]]@db/app
plain = /opt
[s]
api_token = abc
url = https://u:[[DB_PASSWORD]]@h
conn = [[dsn]]
key = -----BEGIN RSA PRIVATE KEY-----
  MIIE
  -----END RSA PRIVATE KEY-----
cert = [[TLS_KEY]]
host = [[HOST]]
dir = [[plain]]
Credentials_File = /etc/creds
`)
	env := envOf(map[string]string{"DB_PASSWORD": "pw", "TLS_KEY": pem, "HOST": "example.com"})
	if ps := s.Resolve(env, "/r"); len(ps) > 0 {
		t.Fatal(ps)
	}
	secret := map[string]bool{
		"db_password": true, "dsn": true, "plain": false,
		"api_token": true, "url": true, "conn": true, "key": true, "cert": true,
		"host": false, "dir": false, "Credentials_File": true,
	}
	s.All(func(sec *Section, v *Value) {
		if v.Secret != secret[v.Key] {
			t.Errorf("[%s] %s: Secret = %v, want %v", sec.Name, v.Key, v.Secret, secret[v.Key])
		}
	})
	if r := s.Section("s").Get("url").Refs[0]; !r.Secret {
		t.Errorf("ref %+v: a secret-named variable is a secret ref", r)
	}
	if r := s.Section("s").Get("conn").Refs[0]; !r.Secret {
		t.Errorf("ref %+v: a ref to a secret value is a secret ref", r)
	}
	if r := s.Section("s").Get("cert").Refs[0]; r.Secret {
		t.Errorf("ref %+v: TLS_KEY is not secret by name", r)
	}
	got := s.SecretValues()
	for _, want := range []string{"pg://app:hunter2@db/app", "https://u:pw@h", pem} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("SecretValues() = %q lacks %q", got, want)
		}
	}
	// Shorter than MinScrubbedSecret: not scrubbed, and warned about.
	for _, short := range []string{"hunter2", "abc"} {
		if slices.Contains(got, short) {
			t.Errorf("SecretValues() = %q holds the short secret %q", got, short)
		}
	}
	for _, g := range got {
		if g == "/opt" || g == "example.com" {
			t.Errorf("SecretValues() holds non-secret %q", g)
		}
	}
}

func TestIsSecretKey(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "DB_PASSWD": true, "GitHubToken": true, "client_secret": true,
		"PRIVATE_KEY_FILE": true, "api_key": true, "credentials": true,
		"host": false, "key": false, "private key": false, "tok": false, "": false,
	} {
		if got := IsSecretKey(name); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIsKeyMaterial(t *testing.T) {
	for text, want := range map[string]bool{
		"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----":       true,
		"x -----BEGIN EC PRIVATE KEY-----":                                true,
		"-----BEGIN OPENSSH PRIVATE KEY-----":                             true,
		"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----":       false,
		"-----BEGIN PUBLIC KEY-----":                                      false,
		"PRIVATE KEY----- before -----BEGIN CERTIFICATE-----":             false,
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED...": true,
	} {
		if got := IsKeyMaterial(text); got != want {
			t.Errorf("IsKeyMaterial(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestRepresentable(t *testing.T) {
	for text, want := range map[string]bool{
		"":                true,
		"plain":           true,
		"a b":             true,
		"a\nb":            true,
		"a\n\nb":          true,
		"#first line":     true,
		";first line":     true,
		"a\n[x]":          true,
		"a = b: c":        true,
		" lead":           false,
		"trail ":          false,
		"a\n b":           false,
		"a \nb":           false,
		"a\n#b":           false,
		"a\n;b":           false,
		"a\rb":            false,
		"a\r\nb":          false,
		"a\x00b":          false,
		"a\n":             false,
		"a\n\n":           false,
		"a\u3000":         false,
		"\x1ca":           false,
		"a\n\u00a0b":      false,
		"tab\tinside":     true,
		"unicode ünïcødé": true,
	} {
		if got := Representable(text); got != want {
			t.Errorf("Representable(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestResolveNotRepresentable(t *testing.T) {
	s := mustParse(t, "[s]\nok = [[GOOD]]\nbad = [[PADDED]]\ncomment = [[COMMENT]]\nliteral = x\n")
	env := envOf(map[string]string{"GOOD": "a\nb", "PADDED": " x", "COMMENT": "a\n# b"})
	ps := s.Resolve(env, "/r")
	var lines []int
	for _, p := range ps {
		if p.Undefined || !strings.Contains(p.Msg, "cannot be written back as INI") {
			t.Errorf("unexpected problem %+v", p)
		}
		lines = append(lines, p.Origin.Line)
	}
	if !reflect.DeepEqual(lines, []int{3, 4}) {
		t.Errorf("problems at lines %v, want [3 4]: %v", lines, ps)
	}
}
