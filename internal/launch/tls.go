package launch

import (
	"path/filepath"
	"strings"
	"time"

	"niod/internal/config"
	"niod/internal/tlscheck"
)

// TLS is what CheckTLS found about the runtime's API certificate.
type TLS struct {
	// Files are the configured files (absolute); Cert is empty when TLS
	// is off.
	Files tlscheck.Files
	// Warnings do not stop niod: no TLS, or a certificate that expires
	// soon.
	Warnings []string
	// NotAfter is the certificate's end (zero without TLS).
	NotAfter time.Time
}

// CheckTLS validates [rest] ssl_certificate, ssl_private_key and
// ssl_certificate_chain (paths relative to the root): files readable, PEM
// that parses, the key matching the certificate, valid now, verified by the
// chain, naming [rest] host; a key others can read is refused. No TLS is a
// warning, or a problem with [niod] require_tls.
func CheckTLS(l *config.Loaded) (TLS, config.Problems) {
	var out TLS
	var ps config.Problems
	value := func(key string) (string, config.Origin) {
		if v := l.Settings.Lookup("rest", key); v != nil {
			return strings.TrimSpace(v.Text), v.Origin
		}
		return "", config.Origin{}
	}
	path := func(p string) string {
		if p != "" && !filepath.IsAbs(p) {
			return filepath.Join(l.Root, p)
		}
		return p
	}
	cert, certAt := value("ssl_certificate")
	key, keyAt := value("ssl_private_key")
	chain, _ := value("ssl_certificate_chain")
	host, _ := value("host")
	port, _ := value("port")
	switch {
	case cert == "" && key == "":
		if l.Options.RequireTLS {
			ps = append(ps, config.Problem{Origin: l.Options.Origins["require_tls"],
				Msg: "require_tls is set but [rest] ssl_certificate and ssl_private_key are empty (niod cert makes them)"})
		} else if port != "" {
			out.Warnings = append(out.Warnings, "the runtime's API is served without TLS: [rest] ssl_certificate is empty (niod cert makes a certificate)")
		}
		return out, ps
	case cert == "":
		return out, config.Problems{{Origin: keyAt, Msg: "[rest] ssl_private_key is set but ssl_certificate is empty"}}
	case key == "":
		return out, config.Problems{{Origin: certAt, Msg: "[rest] ssl_certificate is set but ssl_private_key is empty"}}
	}
	out.Files = tlscheck.Files{Cert: path(cert), Key: path(key), Chain: path(chain), Host: host}
	findings, notAfter := tlscheck.Check(out.Files, time.Now())
	out.NotAfter = notAfter
	for _, f := range findings {
		if !f.Fatal {
			out.Warnings = append(out.Warnings, f.Msg)
			continue
		}
		v := l.Settings.Lookup("rest", f.Setting)
		origin := config.Origin{}
		if v != nil {
			origin = v.Origin
		}
		ps = append(ps, config.Problem{Origin: origin, Msg: "[rest] " + f.Setting + ": " + f.Msg})
	}
	return out, ps
}
