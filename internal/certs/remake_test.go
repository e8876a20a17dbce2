package certs

import (
	"slices"
	"testing"
)

func TestCertRemakeAdvice(t *testing.T) {
	const root = "/srv/nio"
	ssl := root + "/etc/ssl/"
	std := Remake{Root: root, Cert: ssl + "cert.crt", Key: ssl + "cert.key", Chain: ssl + "ca.crt"}
	with := func(f func(r *Remake)) Remake {
		r := std
		f(&r)
		return r
	}
	none := func(string) bool { return false }
	all := func(string) bool { return true }
	for _, tt := range []struct {
		name   string
		r      Remake
		exists func(string) bool
		want   string
	}{
		{"nothing there", std, none, "run: niod cert -r /srv/nio"},
		{"files there", std, all, "run: niod cert -r /srv/nio --force"},
		{"only the chain there", std, func(p string) bool { return p == ssl+"ca.crt" }, "run: niod cert -r /srv/nio --force"},
		{"a file elsewhere does not count", std, func(p string) bool { return p == root+"/etc/cert.crt" }, "run: niod cert -r /srv/nio"},
		{"no chain configured", with(func(r *Remake) { r.Chain = "" }), none, "run: niod cert -r /srv/nio"},
		{"host first, then the old names", with(func(r *Remake) { r.Host, r.Hosts = "127.0.0.1", []string{"localhost", "Edge.Example."} }), all,
			"run: niod cert -r /srv/nio --host 127.0.0.1 --host localhost --host edge.example --force"},
		{"old names kept, each once", with(func(r *Remake) { r.Host, r.Hosts = "localhost", []string{"localhost", "::1", "*.example.com"} }), all,
			"run: niod cert -r /srv/nio --host localhost --host ::1 --host '*.example.com' --force"},
		{"a name niod cert refuses is left out", with(func(r *Remake) { r.Hosts = []string{"two words", "localhost"} }), none,
			"run: niod cert -r /srv/nio --host localhost"},
		{"settings files and user", with(func(r *Remake) {
			r.Settings, r.User = []string{"nio.conf", "/run/creds/secrets.conf"}, "nio:nio"
		}), none, "run: niod cert -r /srv/nio -s nio.conf -s /run/creds/secrets.conf -u nio:nio"},
		{"the default settings file is left out", with(func(r *Remake) { r.Settings = []string{"nio.conf"} }), none, "run: niod cert -r /srv/nio"},
		{"another directory under the root", with(func(r *Remake) {
			r.Cert, r.Key, r.Chain = root+"/tls/cert.crt", root+"/tls/cert.key", root+"/tls/ca.crt"
		}), none, "run: niod cert -r /srv/nio --out tls"},
		{"a directory outside the root", with(func(r *Remake) {
			r.Cert, r.Key, r.Chain = "/etc/nio/cert.crt", "/etc/nio/cert.key", ""
		}), none, "run: niod cert -r /srv/nio --out /etc/nio"},
		{"spaces and quotes", Remake{Root: "/srv/it's nio", Cert: "/srv/it's nio/etc/ssl/cert.crt", Key: "/srv/it's nio/etc/ssl/cert.key", Host: "localhost"}, all,
			`run: niod cert -r '/srv/it'\''s nio' --host localhost --force`},
		{"other names, settings updated", with(func(r *Remake) {
			r.Cert, r.Key, r.SettingsFile = root+"/server.pem", root+"/server.key", "secrets.conf"
		}), none, "run: niod cert -r /srv/nio --update-settings secrets.conf"},
		{"other names, settings to change", with(func(r *Remake) { r.Cert, r.Key = root+"/server.pem", root+"/server.key" }), all,
			"set [rest] ssl_certificate = etc/ssl/cert.crt, ssl_private_key = etc/ssl/cert.key and ssl_certificate_chain = etc/ssl/ca.crt (the files niod cert writes), then run: niod cert -r /srv/nio --force"},
		{"a key not beside the certificate", with(func(r *Remake) { r.Key = root + "/keys/cert.key" }), none,
			"set [rest] ssl_certificate = etc/ssl/cert.crt, ssl_private_key = etc/ssl/cert.key and ssl_certificate_chain = etc/ssl/ca.crt (the files niod cert writes), then run: niod cert -r /srv/nio"},
		{"a chain of another name", with(func(r *Remake) { r.Chain = ssl + "chain.pem" }), none,
			"set [rest] ssl_certificate = etc/ssl/cert.crt, ssl_private_key = etc/ssl/cert.key and ssl_certificate_chain = etc/ssl/ca.crt (the files niod cert writes), then run: niod cert -r /srv/nio"},
	} {
		if got := tt.r.Advice(tt.exists); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestCertRemakeHosts(t *testing.T) {
	if got := remakeHosts("", nil); got != nil {
		t.Errorf("remakeHosts of nothing = %q, want none (niod cert's defaults)", got)
	}
	if got, want := remakeHosts("[::1]", []string{"0:0::1", "LOCALHOST"}), []string{"::1", "localhost"}; !slices.Equal(got, want) {
		t.Errorf("remakeHosts = %q, want %q", got, want)
	}
}

func TestCertClientURL(t *testing.T) {
	for _, tt := range []struct {
		hosts          []string
		restHost, port string
		want           string
	}{
		{[]string{"localhost", "127.0.0.1"}, "127.0.0.1", "9443", "https://127.0.0.1:9443/nio"},
		{[]string{"localhost", "127.0.0.1"}, "0.0.0.0", "9443", "https://localhost:9443/nio"},
		{[]string{"localhost", "127.0.0.1"}, "", "8181", "https://localhost:8181/nio"},
		{[]string{"localhost"}, "edge.example", "9443", "https://localhost:9443/nio"},
		{[]string{"edge.example", "localhost"}, "Edge.Example", "9443", "https://edge.example:9443/nio"},
		{[]string{"::1", "localhost"}, "[::1]", "9443", "https://[::1]:9443/nio"},
		{[]string{"::1"}, "::", "9443", "https://[::1]:9443/nio"},
		{[]string{"localhost"}, "localhost", "", "https://localhost:PORT/nio"},
		{[]string{"localhost"}, "localhost", "http", "https://localhost:PORT/nio"},
		{[]string{"localhost"}, "localhost", "0", "https://localhost:PORT/nio"},
		{[]string{"localhost"}, "localhost", "65536", "https://localhost:PORT/nio"},
		{[]string{"localhost"}, "localhost", "+9443", "https://localhost:PORT/nio"},
	} {
		if got := ClientURL(tt.hosts, tt.restHost, tt.port); got != tt.want {
			t.Errorf("ClientURL(%q, %q, %q) = %s, want %s", tt.hosts, tt.restHost, tt.port, got, tt.want)
		}
	}
}
