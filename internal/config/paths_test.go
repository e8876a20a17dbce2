package config

import "testing"

func TestRootPath(t *testing.T) {
	for _, c := range []struct{ root, p, want string }{
		{"/srv/nio", "nio.conf", "/srv/nio/nio.conf"},
		{"/srv/nio", "etc/../etc/ssl/cert.crt", "/srv/nio/etc/ssl/cert.crt"},
		{"/srv/nio", "/etc//nio/secrets.conf", "/etc/nio/secrets.conf"},
		{"/srv/nio", "", ""},
	} {
		if got := RootPath(c.root, c.p); got != c.want {
			t.Errorf("RootPath(%q, %q) = %q, want %q", c.root, c.p, got, c.want)
		}
	}
}

func TestInside(t *testing.T) {
	for _, c := range []struct {
		dir, path string
		want      bool
	}{
		{"/run/creds", "/run/creds/secrets.conf", true},
		{"/run/creds/", "/run/creds/a/b", true},
		{"/run/creds", "/run/creds", false},
		{"/run/creds", "/run/credsx/secrets.conf", false},
		{"/run/creds", "/run/creds/../other", false},
		{"/run/creds", "/run/creds/..foo", true},
	} {
		if got := Inside(c.dir, c.path); got != c.want {
			t.Errorf("Inside(%q, %q) = %v, want %v", c.dir, c.path, got, c.want)
		}
	}
}
