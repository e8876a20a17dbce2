package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var sslSettings = []Setting{
	{"SSL_CERTIFICATE", "etc/ssl/cert.crt"},
	{"SSL_PRIVATE_KEY", "etc/ssl/cert.key"},
	{"SSL_CERTIFICATE_CHAIN", "etc/ssl/ca.crt"},
}

const sslLines = "SSL_CERTIFICATE = etc/ssl/cert.crt\nSSL_PRIVATE_KEY = etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\n"

// editCases are files before and after EditSettings sets sslSettings.
var editCases = []struct {
	name          string
	before, after string
}{
	{
		name:   "empty values replaced in place",
		before: "# top\n[user_defined]\nNIOHOST = 127.0.0.1\n# empty means HTTP\nSSL_CERTIFICATE =\nSSL_PRIVATE_KEY =\nSSL_CERTIFICATE_CHAIN =\nOTHER = x\n\n[rest]\nssl_certificate = [[SSL_CERTIFICATE]]\n",
		after:  "# top\n[user_defined]\nNIOHOST = 127.0.0.1\n# empty means HTTP\nSSL_CERTIFICATE = etc/ssl/cert.crt\nSSL_PRIVATE_KEY = etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\nOTHER = x\n\n[rest]\nssl_certificate = [[SSL_CERTIFICATE]]\n",
	},
	{
		name:   "delimiter styles and spacing kept",
		before: "[user_defined]\nSSL_CERTIFICATE: old.crt\nSSL_PRIVATE_KEY=old.key\nSSL_CERTIFICATE_CHAIN   =\t  old-ca.crt   \n",
		after:  "[user_defined]\nSSL_CERTIFICATE: etc/ssl/cert.crt\nSSL_PRIVATE_KEY=etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN   =\t  etc/ssl/ca.crt\n",
	},
	{
		name:   "empty values without a space after the delimiter",
		before: "[user_defined]\nSSL_CERTIFICATE:\nSSL_PRIVATE_KEY=\nSSL_CERTIFICATE_CHAIN =\n",
		after:  "[user_defined]\nSSL_CERTIFICATE: etc/ssl/cert.crt\nSSL_PRIVATE_KEY=etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\n",
	},
	{
		name:   "own continuation lines dropped, other keys' kept",
		before: "[user_defined]\nBANNER = first\n    second\n\n    third\nSSL_CERTIFICATE = old\n    still old\n\n    # a comment inside\n    old again\n\n# after\nSSL_PRIVATE_KEY = k\nSSL_CERTIFICATE_CHAIN = c\nTAIL = a\n  b\n",
		after:  "[user_defined]\nBANNER = first\n    second\n\n    third\nSSL_CERTIFICATE = etc/ssl/cert.crt\n    # a comment inside\n\n# after\nSSL_PRIVATE_KEY = etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\nTAIL = a\n  b\n",
	},
	{
		name:   "missing keys after the last key and its continuation lines",
		before: "[user_defined]\nA = 1\nB = two\n  lines\n\n# about rest\n[rest]\nport = 8181\n",
		after:  "[user_defined]\nA = 1\nB = two\n  lines\n" + sslLines + "\n# about rest\n[rest]\nport = 8181\n",
	},
	{
		name:   "one key there, two added after the last key",
		before: "[user_defined]\nSSL_CERTIFICATE = old\nX = 1\n[rest]\n",
		after:  "[user_defined]\nSSL_CERTIFICATE = etc/ssl/cert.crt\nX = 1\nSSL_PRIVATE_KEY = etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\n[rest]\n",
	},
	{
		name:   "last key replaced and its continuation dropped, others added after",
		before: "[user_defined]\nSSL_CERTIFICATE = old\n  more\n",
		after:  "[user_defined]\nSSL_CERTIFICATE = etc/ssl/cert.crt\nSSL_PRIVATE_KEY = etc/ssl/cert.key\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\n",
	},
	{
		name:   "added keys copy the indentation and delimiter of the last key",
		before: "[user_defined]\n  A: 1\n  B: 2\n[x]\n",
		after:  "[user_defined]\n  A: 1\n  B: 2\n  SSL_CERTIFICATE: etc/ssl/cert.crt\n  SSL_PRIVATE_KEY: etc/ssl/cert.key\n  SSL_CERTIFICATE_CHAIN: etc/ssl/ca.crt\n[x]\n",
	},
	{
		name:   "empty section: keys after the header",
		before: "[a]\nk = v\n[user_defined]\n\n[b]\nk = v\n",
		after:  "[a]\nk = v\n[user_defined]\n" + sslLines + "\n[b]\nk = v\n",
	},
	{
		name:   "section header last, without a line end",
		before: "[user_defined]",
		after:  "[user_defined]\n" + sslLines,
	},
	{
		name:   "last key without a line end",
		before: "[user_defined]\nA = 1",
		after:  "[user_defined]\nA = 1\n" + sslLines,
	},
	{
		name:   "missing section appended after a blank line",
		before: "# settings\n[rest]\nport = 8181\n  # indented comment\n",
		after:  "# settings\n[rest]\nport = 8181\n  # indented comment\n\n[user_defined]\n" + sslLines,
	},
	{
		name:   "missing section, file without a final line end",
		before: "[rest]\nport = 8181",
		after:  "[rest]\nport = 8181\n\n[user_defined]\n" + sslLines,
	},
	{
		name:   "missing section, file ending with a blank line",
		before: "[rest]\nport = 8181\n\n",
		after:  "[rest]\nport = 8181\n\n[user_defined]\n" + sslLines,
	},
	{
		name:   "empty file",
		before: "",
		after:  "[user_defined]\n" + sslLines,
	},
	{
		name:   "CRLF kept and used for added lines",
		before: "[user_defined]\r\nSSL_CERTIFICATE = old\r\n   more\r\nA = 1\r\n\r\n[rest]\r\nport = 1\r\n",
		after:  "[user_defined]\r\nSSL_CERTIFICATE = etc/ssl/cert.crt\r\nA = 1\r\nSSL_PRIVATE_KEY = etc/ssl/cert.key\r\nSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\r\n\r\n[rest]\r\nport = 1\r\n",
	},
	{
		name:   "CRLF file without the section",
		before: "[rest]\r\nport = 1\r\n",
		after:  "[rest]\r\nport = 1\r\n\r\n[user_defined]\r\n" + strings.ReplaceAll(sslLines, "\n", "\r\n"),
	},
	{
		name:   "keys are case-sensitive; other sections and DEFAULT untouched",
		before: "[DEFAULT]\nSSL_CERTIFICATE = d\n[rest]\nSSL_CERTIFICATE = r\n[user_defined]\nssl_certificate = lower\n",
		after:  "[DEFAULT]\nSSL_CERTIFICATE = d\n[rest]\nSSL_CERTIFICATE = r\n[user_defined]\nssl_certificate = lower\n" + sslLines,
	},
	{
		name:   "a section named alike is another section",
		before: "[ user_defined ]\nA = 1\n",
		after:  "[ user_defined ]\nA = 1\n\n[user_defined]\n" + sslLines,
	},
	{
		name:   "byte-order mark and tabs kept",
		before: "\ufeff[user_defined]\n\tA = 1\n\t\tcontinued\n\tSSL_PRIVATE_KEY = x\n",
		after:  "\ufeff[user_defined]\n\tA = 1\n\t\tcontinued\n\tSSL_PRIVATE_KEY = etc/ssl/cert.key\n\tSSL_CERTIFICATE = etc/ssl/cert.crt\n\tSSL_CERTIFICATE_CHAIN = etc/ssl/ca.crt\n",
	},
	{
		name:   "old Mac line ends",
		before: "[user_defined]\rA = 1\r",
		after:  "[user_defined]\rA = 1\r" + strings.ReplaceAll(sslLines, "\n", "\r"),
	},
	{
		name:   "unchanged when the values are there already",
		before: "[user_defined]\n" + sslLines + "# end\n",
		after:  "[user_defined]\n" + sslLines + "# end\n",
	},
}

func TestEditSettings(t *testing.T) {
	for _, tt := range editCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EditSettings("nio.conf", []byte(tt.before), sslSettings)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.after {
				t.Errorf("before:\n%q\ngot:\n%q\nwant:\n%q", tt.before, got, tt.after)
			}
			// Editing again changes nothing.
			again, err := EditSettings("nio.conf", got, sslSettings)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Errorf("a second edit changed the file:\n%q\n%q", got, again)
			}
		})
	}
}

// TestEditSettingsMatchesConfigparser reads every case before and after
// with Python's configparser, as the runtime does: the three keys have
// their values, every other value of every section is what it was.
func TestEditSettingsMatchesConfigparser(t *testing.T) {
	const script = `
import configparser, io, json, sys
def read(text):
    p = configparser.RawConfigParser(strict=True, interpolation=None)
    p.optionxform = str
    p.read_file(io.StringIO(text.removeprefix("\ufeff"), newline=None))
    out = {"DEFAULT": dict(p._defaults)}
    out.update({name: dict(keys) for name, keys in p._sections.items()})
    return out
cases = json.load(sys.stdin)
for c in cases:
    before, after = read(c["before"]), read(c["after"])
    before.setdefault("user_defined", {}).update(c["set"])
    if before != after:
        print(c["name"], json.dumps(before), json.dumps(after))
`
	type pyCase struct {
		Name   string            `json:"name"`
		Before string            `json:"before"`
		After  string            `json:"after"`
		Set    map[string]string `json:"set"`
	}
	set := map[string]string{}
	for _, s := range sslSettings {
		set[s.Key] = s.Value
	}
	var cases []pyCase
	for _, c := range editCases {
		cases = append(cases, pyCase{c.name, c.before, c.after, set})
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 is needed to compare with configparser: %v", err)
	}
	if len(out) > 0 {
		t.Errorf("configparser reads these cases differently (name, want, got):\n%s", out)
	}
}

func TestEditSettingsRefuses(t *testing.T) {
	tests := []struct {
		name, before string
		set          []Setting
		want         string
	}{
		{"duplicate key", "[user_defined]\nA = 1\nA = 2\n", sslSettings, "nio.conf:3: key \"A\" appears twice"},
		{"duplicate section", "[user_defined]\n[x]\n[user_defined]\n", sslSettings, "nio.conf:3: section [user_defined] appears twice"},
		{"key outside a section", "A = 1\n", sslSettings, "nio.conf:1: key outside any section"},
		{"value with a line break", "", []Setting{{"SSL_CERTIFICATE", "a\nb"}}, "nio.conf: cannot set SSL_CERTIFICATE: the value holds a line break"},
		{"value with a reference", "", []Setting{{"SSL_CERTIFICATE", "/x/[[y]]"}}, "reference"},
		{"value with spaces around", "", []Setting{{"SSL_CERTIFICATE", " a"}}, "space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EditSettings("nio.conf", []byte(tt.before), tt.set)
			var ee *EditError
			if !errors.As(err, &ee) || ee.Kind != EditInvalid {
				t.Fatalf("err = %v, want an EditInvalid *EditError", err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line with %q", err, tt.want)
			}
		})
	}
}

// TestSettingsFile: what ReadSettingsFile and CheckSecrets refuse before
// anything is written.
func TestSettingsFile(t *testing.T) {
	t.Run("missing file is to be created 0600", func(t *testing.T) {
		sf, err := ReadSettingsFile(filepath.Join(t.TempDir(), "secrets.conf"), "secrets.conf")
		if err != nil {
			t.Fatal(err)
		}
		if sf.Exists || sf.Mode != 0o600 || len(sf.Data) != 0 {
			t.Errorf("Exists %v, mode %04o, %d bytes; want a new file, mode 0600", sf.Exists, sf.Mode, len(sf.Data))
		}
	})
	t.Run("missing directory refused", func(t *testing.T) {
		_, err := ReadSettingsFile(filepath.Join(t.TempDir(), "nowhere", "secrets.conf"), "nowhere/secrets.conf")
		var ee *EditError
		if !errors.As(err, &ee) || ee.Kind != EditInvalid || err.Error() != "nowhere/secrets.conf: cannot create: no such file or directory" {
			t.Errorf("err = %v, want nowhere/secrets.conf: cannot create", err)
		}
	})
	t.Run("a secret refused in a file others can read, key paths not", func(t *testing.T) {
		path := writeFile(t, t.TempDir(), "nio.conf", "[user_defined]\n", 0o644)
		sf, err := ReadSettingsFile(path, "nio.conf")
		if err != nil {
			t.Fatal(err)
		}
		if err := sf.CheckSecrets(sslSettings); err != nil {
			t.Errorf("key file paths refused: %v", err)
		}
		err = sf.CheckSecrets([]Setting{{Key: "SSL_PRIVATE_KEY", Value: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"}})
		if err == nil || !strings.Contains(err.Error(), "chmod 600 nio.conf") {
			t.Errorf("err = %v, want the chmod that fixes it", err)
		}
	})
	t.Run("symbolic link refused", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "real.conf", "[user_defined]\n", 0o600)
		if err := os.Symlink("real.conf", filepath.Join(dir, "nio.conf")); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSettingsFile(filepath.Join(dir, "nio.conf"), "nio.conf")
		if err == nil || !strings.HasPrefix(err.Error(), "nio.conf: ") {
			t.Errorf("err = %v, want nio.conf refused", err)
		}
	})
	t.Run("file with errors refused", func(t *testing.T) {
		path := writeFile(t, t.TempDir(), "nio.conf", "[user_defined]\nnot a key\n", 0o600)
		_, err := ReadSettingsFile(path, "nio.conf")
		if err == nil || !strings.HasPrefix(err.Error(), "nio.conf:2: ") {
			t.Errorf("err = %v, want nio.conf:2 refused", err)
		}
	})
}
