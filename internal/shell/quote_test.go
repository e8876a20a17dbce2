package shell

import (
	"os/exec"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/nio/etc/ssl/cert.key": "/srv/nio/etc/ssl/cert.key",
		"--host":                    "--host",
		"nio:nio":                   "nio:nio",
		"/srv/my project":           "'/srv/my project'",
		"it's":                      `'it'\''s'`,
		"*.example.com":             "'*.example.com'",
		"$HOME":                     "'$HOME'",
		"~/x":                       "'~/x'",
		"":                          "''",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
		// The shell reads it back as the one word it was.
		out, err := exec.Command("sh", "-c", `printf %s `+Quote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh reads %s as %q (%v), want %q", Quote(in), out, err, in)
		}
	}
}

func TestJoin(t *testing.T) {
	if got := Join([]string{"swapoff", "/swap file", "it's", ""}); got != `swapoff '/swap file' 'it'\''s' ''` {
		t.Errorf("Join: %s", got)
	}
}
