package config

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// mark is planted in secret values; no message may show it.
const mark = "s3cr3t-MARK"

func TestSecretFlowsThroughReferences(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		env     map[string]string
		secret  []string // section.key that must be secret
		plain   []string // section.key that must not be
		scrubs  []string // texts SecretValues must hold
		nScrubs []string // texts it must not hold
	}{
		{
			name:   "plain name referenced by a secret key",
			files:  []string{"[user_defined]\nraw = " + mark + "\n[x]\npassword = [[raw]]\n"},
			secret: []string{"user_defined.raw", "x.password"},
			scrubs: []string{mark},
		},
		{
			name:   "through two values, across files",
			files:  []string{"[user_defined]\npart = " + mark + "\nraw = pre-[[part]]\n", "[x]\napi_token = [[raw]]\n"},
			secret: []string{"user_defined.part", "user_defined.raw", "x.api_token"},
			scrubs: []string{mark, "pre-" + mark},
		},
		{
			name:   "a value that refers to a newly secret one",
			files:  []string{"[user_defined]\nraw = " + mark + "\nurl = https://u:[[raw]]@h\n[x]\npassword = [[raw]]\ncopy = [[url]]\n"},
			secret: []string{"user_defined.raw", "user_defined.url", "x.copy"},
			scrubs: []string{"https://u:" + mark + "@h"},
		},
		{
			name:    "secret fragment in a command",
			files:   []string{"[niod]\ncommand = tool --password [[DB_PASSWORD]] --host [[HOST]]\n"},
			env:     map[string]string{"DB_PASSWORD": mark, "HOST": "db.example"},
			secret:  []string{"niod.command"},
			scrubs:  []string{mark, "tool --password " + mark + " --host db.example"},
			nScrubs: []string{"db.example"},
		},
		{
			name:    "secret-named [user_defined] key in a command",
			files:   []string{"[user_defined]\ndb_password = " + mark + "\nPY = /usr/bin/python3\n[niod]\ncommand = [[PY]] -m nio --password [[db_password]]\n"},
			secret:  []string{"niod.command", "user_defined.db_password"},
			plain:   []string{"user_defined.PY"},
			scrubs:  []string{mark},
			nScrubs: []string{"/usr/bin/python3"},
		},
		{
			name:    "the environment inside a wholly secret value",
			files:   []string{"[x]\npassword = [[PREFIX]]-[[SUFFIX]]\n"},
			env:     map[string]string{"PREFIX": "abc" + mark, "SUFFIX": "tail"},
			secret:  []string{"x.password"},
			scrubs:  []string{"abc" + mark, "abc" + mark + "-tail"},
			nScrubs: []string{"/r", "tail"}, // shorter than MinScrubbedSecret
		},
		{
			name:    "a key file's path stays plain",
			files:   []string{"[user_defined]\nKEYFILE = etc/ssl/cert.key\n[rest]\nssl_private_key = [[KEYFILE]]\n"},
			plain:   []string{"user_defined.KEYFILE", "rest.ssl_private_key"},
			nScrubs: []string{"etc/ssl/cert.key"},
		},
		{
			name:    "a key file's path under a key file's name",
			files:   []string{"[user_defined]\nSSL_PRIVATE_KEY = etc/ssl/cert.key\n[rest]\nssl_private_key = [[SSL_PRIVATE_KEY]]\n[x]\nkey_file = [[SSL_PRIVATE_KEY]]\n"},
			plain:   []string{"user_defined.SSL_PRIVATE_KEY", "rest.ssl_private_key", "x.key_file"},
			nScrubs: []string{"etc/ssl/cert.key"},
		},
		{
			name:    "a key file's path from the environment",
			files:   []string{"[rest]\nssl_private_key = [[SSL_PRIVATE_KEY]]\n[x]\nnote = key in [[SSL_PRIVATE_KEY]]\n"},
			env:     map[string]string{"SSL_PRIVATE_KEY": "/etc/nio/tls/server-key.pem"},
			plain:   []string{"rest.ssl_private_key", "x.note"},
			nScrubs: []string{"/etc/nio/tls/server-key.pem"},
		},
		{
			name:   "a key file's path with a secret in it",
			files:  []string{"[rest]\nssl_private_key = /keys/[[TENANT_TOKEN]].pem\n"},
			env:    map[string]string{"TENANT_TOKEN": mark},
			secret: []string{"rest.ssl_private_key"},
			scrubs: []string{mark, "/keys/" + mark + ".pem"},
		},
		{
			name:   "a private key inline",
			files:  []string{"[rest]\nssl_private_key = -----BEGIN PRIVATE KEY-----\n  " + mark + "\n  -----END PRIVATE KEY-----\n"},
			secret: []string{"rest.ssl_private_key"},
			scrubs: []string{"-----BEGIN PRIVATE KEY-----\n" + mark + "\n-----END PRIVATE KEY-----"},
		},
		{
			name:   "a private key from the environment under a key file's name",
			files:  []string{"[rest]\nssl_private_key = [[SSL_PRIVATE_KEY]]\n[x]\nnote = [[SSL_PRIVATE_KEY]]\n"},
			env:    map[string]string{"SSL_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\n" + mark + "\n-----END PRIVATE KEY-----"},
			secret: []string{"rest.ssl_private_key", "x.note"},
			scrubs: []string{"-----BEGIN PRIVATE KEY-----\n" + mark + "\n-----END PRIVATE KEY-----"},
		},
		{
			name:   "words under a key file's name",
			files:  []string{"[user_defined]\nSSL_PRIVATE_KEY = not a path " + mark + "\n[rest]\nssl_private_key = [[SSL_PRIVATE_KEY]]\n"},
			secret: []string{"user_defined.SSL_PRIVATE_KEY", "rest.ssl_private_key"},
			scrubs: []string{"not a path " + mark},
		},
		{
			name:   "a key file's path that a password is made of",
			files:  []string{"[user_defined]\nSSL_PRIVATE_KEY = etc/ssl/" + mark + ".key\n[x]\npassword = [[SSL_PRIVATE_KEY]]\n"},
			secret: []string{"user_defined.SSL_PRIVATE_KEY", "x.password"},
			scrubs: []string{"etc/ssl/" + mark + ".key"},
		},
		{
			name:    "the project root stays plain",
			files:   []string{"[x]\npassword = [[PROJECT_ROOT]]/" + mark + "\n"},
			secret:  []string{"x.password"},
			scrubs:  []string{"/r/" + mark},
			nScrubs: []string{"/r"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.files...)
			if ps := s.Resolve(envOf(tt.env), "/r"); len(ps) > 0 {
				t.Fatal(ps)
			}
			for _, want := range [][]string{tt.secret, tt.plain} {
				for _, name := range want {
					sec, key, _ := strings.Cut(name, ".")
					v := s.Section(sec).Get(key)
					if v == nil {
						t.Fatalf("no %s", name)
					}
					if isSecret := slices.Equal(want, tt.secret); v.Secret != isSecret {
						t.Errorf("%s: Secret = %v, want %v", name, v.Secret, isSecret)
					}
				}
			}
			got := s.SecretValues()
			for _, w := range tt.scrubs {
				if !slices.Contains(got, w) {
					t.Errorf("SecretValues() = %q, lacks %q", got, w)
				}
			}
			for _, w := range tt.nScrubs {
				if slices.Contains(got, w) {
					t.Errorf("SecretValues() = %q, holds %q", got, w)
				}
			}
			var out bytes.Buffer
			if err := s.Render(&out, RenderOptions{ShowOrigin: true}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), mark) {
				t.Errorf("rendered without --reveal:\n%s", out.String())
			}
		})
	}
}

func TestLoadReferencedSecretFileMode(t *testing.T) {
	tests := []struct {
		name    string
		nio     string // nio.conf, 0644
		secrets string // secrets.conf, 0600
		refused bool
	}{
		{"plain value referenced by a secret in another file", "[user_defined]\nraw = " + mark + "\n", "[x]\npassword = [[raw]]\n", true},
		{"plain value referenced in the same file", "[user_defined]\nraw = " + mark + "\n[x]\npassword = [[raw]]\n", "", true},
		{"only references to it", "[user_defined]\nraw = [[RAW]]\n[x]\npassword = [[raw]]\n", "", false},
		{"secret kept apart", "[x]\npassword = [[raw]]\n", "[user_defined]\nraw = " + mark + "\n", false},
		{"plain value referenced by a plain key", "[user_defined]\nraw = " + mark + "\n[x]\nurl = [[raw]]\n", "", false},
		{"key file path", "[user_defined]\nKEYFILE = etc/ssl/cert.key\n[rest]\nssl_private_key = [[KEYFILE]]\n", "", false},
		{"overridden in a later file", "[user_defined]\nraw = " + mark + "\n[x]\npassword = [[raw]]\n", "[user_defined]\nraw = [[RAW]]\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "nio.conf", tt.nio, 0o644)
			writeFile(t, dir, "secrets.conf", "[s]\n"+tt.secrets, 0o600)
			req := Request{Root: dir, Files: []string{"nio.conf", "secrets.conf"}, Environ: []string{"RAW=r"}}
			l, ps := Load(req)
			if !tt.refused {
				if len(ps) > 0 || l == nil {
					t.Fatalf("problems = %v", ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Origin != (Origin{File: "nio.conf", Line: 2}) ||
				!strings.Contains(ps[0].Msg, "raw holds a secret but the file is readable by group or others (mode 0644); run: chmod 600 nio.conf") {
				t.Fatalf("problems = %v", ps)
			}
			if strings.Contains(ps.Error(), mark) {
				t.Errorf("problem shows the secret: %v", ps)
			}
		})
	}
}

func TestLoadSecretCommand(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nio.conf", "[niod]\ncommand = tool --password [[DB_PASSWORD]]\nvenv = v\n", 0o644)
	l := mustLoad(t, Request{Root: dir, Environ: []string{"DB_PASSWORD=" + mark}})
	if v := l.Settings.Lookup(NiodSection, "command"); v == nil || !v.Secret {
		t.Errorf("[niod] command: %+v, want Secret", v)
	}
	if !l.Options.IsSecret("command") || l.Options.IsSecret("venv") {
		t.Errorf("IsSecret: command %v, venv %v", l.Options.IsSecret("command"), l.Options.IsSecret("venv"))
	}
	if !slices.Contains(l.Settings.SecretValues(), mark) {
		t.Errorf("SecretValues() = %q lacks the fragment", l.Settings.SecretValues())
	}
	if len(l.Warnings) != 1 || l.Warnings[0].Origin != (Origin{File: "nio.conf", Line: 2}) ||
		!strings.Contains(l.Warnings[0].Msg, "[niod] command holds a secret") {
		t.Errorf("warnings = %v", l.Warnings)
	}
	var out bytes.Buffer
	l.Settings.Render(&out, RenderOptions{})
	if !strings.Contains(out.String(), "command = ********\n") {
		t.Errorf("rendered:\n%s", out.String())
	}

	// A flag replaces it with something that is not secret.
	l = mustLoad(t, Request{Root: dir, Environ: []string{"DB_PASSWORD=" + mark},
		Flags: []OptionSource{{Key: "command", Text: "other", Origin: Origin{File: "--command"}}}})
	if l.Options.IsSecret("command") || len(l.Warnings) > 0 {
		t.Errorf("after --command: IsSecret %v, warnings %v", l.Options.IsSecret("command"), l.Warnings)
	}
}

func TestNoSecretInProblems(t *testing.T) {
	env := []string{"DB_PASSWORD=" + mark, "GROUP_TOKEN=" + mark}
	tests := []struct {
		name string
		conf string
		want string // the problem says this
	}{
		{"unclosed quote in a secret command", "[niod]\ncommand = tool \"--password [[DB_PASSWORD]]\n",
			`[niod] command = ********: has a quote that is never closed`},
		{"lone backslash in a secret command", "[niod]\ncommand = tool [[DB_PASSWORD]] \\\n",
			`[niod] command = ********: ends with a lone backslash`},
		{"bad value from a secret", "[niod]\nrestart = [[DB_PASSWORD]]\n", `[niod] restart = ********: must be`},
		{"group without a user, from a secret", "[niod]\ngroup = [[GROUP_TOKEN]]\n", "group = ******** is set without a user"},
		{"undefined name inside a secret value", "[x]\npassword = abc[[" + mark + "]]\n",
			"[x] password: a [[ ]] reference in this secret value is not defined (its name is not shown"},
		{"undefined name inside a value that a secret refers to", "[user_defined]\nraw = abc[[" + mark + "]]\n[x]\npassword = [[raw]]\n",
			"[user_defined] raw: a [[ ]] reference in this secret value is not defined"},
		{"undefined name that a secret value is made of", "[x]\npassword = [[NOT_SET_PASSWORD]]\n",
			"[x] password: [[NOT_SET_PASSWORD]] is not defined"},
		{"oversized secret", "[x]\npassword = " + mark + "[[" + mark + "]][[BIG]]\n",
			"[x] password: with [[BIG]] filled in, the value is larger than 1 MiB"},
		{"oversized by a name that may be secret", "[x]\npassword = x[[ALMOST]][[" + mark + "]]\n",
			"[x] password: with its references filled in, the value is larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "nio.conf", tt.conf, 0o600)
			ps := loadProblems(t, Request{Root: dir, Environ: append(env, "BIG="+strings.Repeat("b", MaxResolvedValue),
				"ALMOST="+strings.Repeat("a", MaxResolvedValue-5))})
			msg := ps.Error()
			if strings.Contains(msg, mark) {
				t.Errorf("problems show the secret:\n%s", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("problems:\n%s\nwant %q", msg, tt.want)
			}
		})
	}
}
