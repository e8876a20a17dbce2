package config

import (
	"errors"
	"strings"
	"testing"
)

func render(t *testing.T, s *Settings, o RenderOptions) string {
	t.Helper()
	var b strings.Builder
	if err := s.Render(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"nothing", nil, ""},
		{"empty DEFAULT is left out", []string{"[DEFAULT]\n[s]\n"}, "[s]\n\n"},
		{
			"sections, multi-line and empty values",
			[]string{"[s]\na=1\nmulti : x\n    y\n\n    z\nempty =\nnext =\n  line\n[t]\n"},
			"[s]\na = 1\nmulti = x\n\ty\n\t\n\tz\nempty = \nnext = \n\tline\n\n[t]\n\n",
		},
		{
			"DEFAULT first",
			[]string{"[s]\na = 1\n[DEFAULT]\nd = 2\n"},
			"[DEFAULT]\nd = 2\n\n[s]\na = 1\n\n",
		},
		{
			"merged files keep first positions",
			[]string{"[s]\na = 1\nb = 2\n[t]\nx = 1\n", "[u]\ny = 1\n[s]\nc = 3\na = 10\n"},
			"[s]\na = 10\nb = 2\nc = 3\n\n[t]\nx = 1\n\n[u]\ny = 1\n\n",
		},
		{
			"section and key text kept as read",
			[]string{"[ odd]name ] tail\nKey With Spaces = v = w\n"},
			"[ odd]name ]\nKey With Spaces = v = w\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.files...)
			if got := render(t, s, RenderOptions{}); got != tt.want {
				t.Errorf("Render:\n got %q\nwant %q", got, tt.want)
			}
			// The buffer Render sizes from it holds the whole output.
			if n := s.renderedSize(); n < len(tt.want) {
				t.Errorf("renderedSize %d, output %d bytes", n, len(tt.want))
			}
		})
	}
}

func TestRenderSecrets(t *testing.T) {
	s := mustParse(t, "[s]\nhost = h\npassword = hunter2\nurl = https://u:[[DB_PASSWORD]]@h\nempty_token =\n")
	if ps := s.Resolve(envOf(map[string]string{"DB_PASSWORD": "pw"}), "/r"); len(ps) > 0 {
		t.Fatal(ps)
	}
	const redacted = "[s]\nhost = h\npassword = ********\nurl = ********\nempty_token = \n\n"
	if got := render(t, s, RenderOptions{}); got != redacted {
		t.Errorf("Render:\n got %q\nwant %q", got, redacted)
	}
	const revealed = "[s]\nhost = h\npassword = hunter2\nurl = https://u:pw@h\nempty_token = \n\n"
	if got := render(t, s, RenderOptions{Reveal: true}); got != revealed {
		t.Errorf("Render with Reveal:\n got %q\nwant %q", got, revealed)
	}
	if got := render(t, s, RenderOptions{ShowOrigin: true}); strings.Contains(got, "hunter2") || strings.Contains(got, "pw@") {
		t.Errorf("ShowOrigin output shows a secret:\n%s", got)
	}
}

func TestRenderShowOrigin(t *testing.T) {
	s := mustParse(t, `[user_defined]
base = /opt
[s]
p = [[base]]/x
h = [[HOME]]
r = [[PROJECT_ROOT]]
u = [[NOPE]]
tok = [[API_TOKEN]]
two = [[HOME]][[base]]
`)
	s.Resolve(envOf(map[string]string{"HOME": "/home/n", "API_TOKEN": "t0k"}), "/proj")
	s.Set("extra", "from_env", "v", false, Origin{File: "NIOD_X"})
	s.Set(UserDefined, "base", "/replaced", false, Origin{File: "--flag"})
	want := `[user_defined]
# --flag
base = /replaced

[s]
# a.conf:4, [[base]] from [user_defined] at a.conf:2
p = /opt/x
# a.conf:5, [[HOME]] from the environment
h = /home/n
# a.conf:6, [[PROJECT_ROOT]] is the project root
r = /proj
# a.conf:7, [[NOPE]] is undefined
u = [[NOPE]]
# a.conf:8, [[API_TOKEN]] from the environment (secret)
tok = ********
# a.conf:9, [[HOME]] from the environment, [[base]] from [user_defined] at a.conf:2
two = /home/n/opt

[extra]
# NIOD_X
from_env = v

`
	if got := render(t, s, RenderOptions{ShowOrigin: true}); got != want {
		t.Errorf("Render:\n got %q\nwant %q", got, want)
	}
}

func TestRenderRemove(t *testing.T) {
	s := mustParse(t, "[DEFAULT]\nd = 1\n[niod]\nrestart = always\n[s]\nk = v\n")
	s.Remove(NiodSection)
	s.Remove(DefaultSection)
	s.Remove("absent")
	if got, want := render(t, s, RenderOptions{}), "[DEFAULT]\nd = 1\n\n[s]\nk = v\n\n"; got != want {
		t.Errorf("Render:\n got %q\nwant %q", got, want)
	}
	if s.Section(NiodSection) != nil || s.Lookup(NiodSection, "d") != nil {
		t.Error("removed section still found")
	}
}

type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestRenderWriteError(t *testing.T) {
	s := mustParse(t, "[s]\nk = v\n")
	if err := s.Render(failWriter{}, RenderOptions{}); !errors.Is(err, errWrite) {
		t.Fatalf("Render = %v, want %v", err, errWrite)
	}
}
