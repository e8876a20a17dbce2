package e2e

// What niod's log hides of the secrets in the settings, and what it does
// not: a secret is masked where it stands as a whole word, one too short
// to mask without hiding ordinary words is named in a warning instead, and
// the path of a TLS key file is no secret.

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// shortSecretWarning is the warning about a secret too short to scrub,
// after "FILE:LINE: KEY".
const shortSecretWarning = " is a secret shorter than 8 characters: niod cannot scrub it from logs " +
	"without hiding ordinary words, so it is not scrubbed (use a longer one)"

// runShortLived runs niod on root with the settings files until its
// runtime has started, then stops it and returns it, ended.
func runShortLived(t *testing.T, root string, env map[string]string, settings ...string) *niodProc {
	t.Helper()
	n := startNiod(t, startOpts{root: root, settings: settings, env: env})
	n.waitStdout("runtime started", 1) // the runtime's own line
	// niod's line about it, whatever it says.
	n.waitFor("the runtime's start in the log", func() bool {
		for _, l := range n.logs() {
			if _, ok := l.int("pid"); ok && strings.HasSuffix(l.msg(), " started") {
				return true
			}
		}
		return false
	})
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
	return n
}

// commandOf returns the command field of the log lines with message msg.
func commandOf(t *testing.T, n *niodProc, msg string) [][]string {
	t.Helper()
	var out [][]string
	for _, l := range n.logsWith(msg) {
		raw, err := json.Marshal(l["command"])
		var cmd []string
		if err != nil || json.Unmarshal(raw, &cmd) != nil {
			t.Fatalf("%q: command is %v, want a list of strings", msg, l["command"])
		}
		out = append(out, cmd)
	}
	return out
}

// A long secret is masked where it stands as a word, not inside a longer
// one, and a short secret ("runtime") does not turn the runtime's line
// "runtime started" into "******** started".
func TestOperatorSecretsMaskedAsWholeWords(t *testing.T) {
	t.Parallel()
	const token = "tok-4f9a2c7e-long"
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "secrets.conf"),
		"# credentials of the runtime\n[user_defined]\nADMIN_PASSWORD = runtime\nAPI_TOKEN = "+token+"\n", 0o600)
	mustWrite(t, filepath.Join(root, "nio.conf"),
		"[security]\nadmin_password = [[ADMIN_PASSWORD]]\n[x]\napi_token = [[API_TOKEN]]\n"+
			"[niod]\ncommand = sh -c 'echo runtime started; sleep 100' runtime "+token+" x"+token+" "+token+"er\n", 0o600)
	n := runShortLived(t, root, nil, "nio.conf", "secrets.conf")

	if got := n.stdoutLines("runtime"); !slices.Equal(got, []string{"runtime started"}) {
		t.Errorf("the runtime's output is %q, want \"runtime started\"", got)
	}
	want := []string{"sh", "-c", "echo runtime started; sleep 100", "runtime", "********", "x" + token, token + "er"}
	for _, msg := range []string{"niod starts", "runtime started"} {
		if got := commandOf(t, n, msg); len(got) != 1 || !slices.Equal(got[0], want) {
			t.Errorf("%q logs the command %q, want %q\n%s", msg, got, want, n.dump())
		}
	}
	for _, msg := range []string{"runtime ready", "runtime exited"} {
		if len(n.logsWith(msg)) != 1 {
			t.Errorf("no %q in the log\n%s", msg, n.dump())
		}
	}
	if strings.Contains(n.stderr.String(), `"`+token+`"`) || strings.Contains(n.stderr.String(), " "+token+" ") {
		t.Errorf("the token shows as a word in the log\n%s", n.dump())
	}
}

// A secret too short to scrub is named, never shown, in a warning of niod
// check and at the start of niod run: where it was set, in a file or by
// the environment.
func TestOperatorSecretsTooShortAreNamed(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "secrets.conf"),
		"# credentials of the runtime\n[user_defined]\nADMIN_PASSWORD = runtime\n", 0o600)
	mustWrite(t, filepath.Join(root, "nio.conf"),
		"[security]\nadmin_password = [[ADMIN_PASSWORD]]\n[db]\npassword = [[DB_PASSWORD]]\n"+
			"[niod]\ncommand = sh -c 'echo runtime started; sleep 100'\n", 0o600)
	env := map[string]string{"DB_PASSWORD": "1234"}
	warnings := "warning: nio.conf:4: [db] password: [[DB_PASSWORD]] from the environment" + shortSecretWarning + "\n" +
		"warning: secrets.conf:3: [user_defined] ADMIN_PASSWORD" + shortSecretWarning + "\n"

	stdout, stderr, code := runNiod(t, runOpts{Env: env}, "check", "-r", root, "-s", "nio.conf", "-s", "secrets.conf")
	if want := warnings + "settings ok: 2 files, 4 sections, 4 keys under " + root + "\n"; code != 0 || stdout != "" || stderr != want {
		t.Errorf("niod check: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 0 and stderr:\n%s", code, stdout, stderr, want)
	}

	n := runShortLived(t, root, env, "nio.conf", "secrets.conf")
	out := n.stderr.String()
	if !strings.HasPrefix(out, warnings+`{"ts":`) || strings.Count(out, shortSecretWarning) != 2 {
		t.Errorf("niod run does not start with the warnings:\n%s\nwant first:\n%s", out, warnings)
	}
	if got := commandOf(t, n, "runtime started"); len(got) != 1 || !slices.Equal(got[0], []string{"sh", "-c", "echo runtime started; sleep 100"}) {
		t.Errorf("\"runtime started\" logs the command %q\n%s", got, n.dump())
	}
}

// niod config shows the path of a TLS key file, set in [rest] directly,
// through [user_defined] or by the environment, as it is; the key itself
// written into a *_private_key setting, or text that is no path, stays
// hidden.
func TestOperatorKeyFilePathIsShown(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"),
		"[user_defined]\nSSL_CERTIFICATE = etc/ssl/cert.crt\nSSL_PRIVATE_KEY = etc/ssl/cert.key\n"+
			"[rest]\nssl_certificate = [[SSL_CERTIFICATE]]\nssl_private_key = [[SSL_PRIVATE_KEY]]\n"+
			"[other]\nssl_private_key = [[SERVER_PRIVATE_KEY]]\nkey_file_private_key = /etc/nio/tls/other.key\n", 0o644)
	mustWrite(t, filepath.Join(root, "secrets.conf"),
		"[inline]\nssl_private_key = -----BEGIN PRIVATE KEY-----\n  MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAw\n  -----END PRIVATE KEY-----\n"+
			"tls_private_key = not a path but words\n", 0o600)
	opts := runOpts{Env: map[string]string{"SERVER_PRIVATE_KEY": "/etc/nio/tls/server-key.pem"}}

	stdout, stderr, code := runNiod(t, opts, "config", "-r", root, "-s", "nio.conf", "-s", "secrets.conf")
	want := "[user_defined]\nSSL_CERTIFICATE = etc/ssl/cert.crt\nSSL_PRIVATE_KEY = etc/ssl/cert.key\n\n" +
		"[rest]\nssl_certificate = etc/ssl/cert.crt\nssl_private_key = etc/ssl/cert.key\n\n" +
		"[other]\nssl_private_key = /etc/nio/tls/server-key.pem\nkey_file_private_key = /etc/nio/tls/other.key\n\n" +
		"[inline]\nssl_private_key = ********\ntls_private_key = ********\n\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("niod config: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 0 and:\n%s", code, stdout, stderr, want)
	}

	stdout, _, code = runNiod(t, opts, "config", "--show-origin", "-r", root, "-s", "nio.conf", "-s", "secrets.conf")
	for _, line := range []string{
		"# nio.conf:3\nSSL_PRIVATE_KEY = etc/ssl/cert.key\n",
		"# nio.conf:6, [[SSL_PRIVATE_KEY]] from [user_defined] at nio.conf:3\nssl_private_key = etc/ssl/cert.key\n",
		"# nio.conf:8, [[SERVER_PRIVATE_KEY]] from the environment\nssl_private_key = /etc/nio/tls/server-key.pem\n",
		"# secrets.conf:2 (secret)\nssl_private_key = ********\n",
	} {
		if code != 0 || !strings.Contains(stdout, line) {
			t.Errorf("niod config --show-origin: exit %d, lacks\n%s\nin:\n%s", code, line, stdout)
		}
	}
}
