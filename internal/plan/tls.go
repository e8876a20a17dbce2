package plan

import (
	"os"
	"strings"
	"time"

	"niod/internal/certs"
	"niod/internal/config"
	"niod/internal/health"
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
	out := TLS{Files: tlsFiles(l)}
	_, certAt := RestValue(l, "ssl_certificate")
	_, keyAt := RestValue(l, "ssl_private_key")
	switch f := out.Files; {
	case f.Cert == "" && f.Key == "":
		out.Files = tlscheck.Files{}
		if l.Options.RequireTLS {
			return out, config.Problems{{Origin: l.Options.Origins["require_tls"],
				Msg: "require_tls is set but [rest] ssl_certificate and ssl_private_key are empty (niod cert makes them)"}}
		}
		if port, _ := RestValue(l, "port"); port != "" {
			out.Warnings = append(out.Warnings, "the runtime's API is served without TLS: [rest] ssl_certificate is empty (niod cert makes a certificate)")
		}
		return out, nil
	case f.Cert == "":
		return TLS{}, config.Problems{{Origin: keyAt, Msg: "[rest] ssl_private_key is set but ssl_certificate is empty"}}
	case f.Key == "":
		return TLS{}, config.Problems{{Origin: certAt, Msg: "[rest] ssl_certificate is set but ssl_private_key is empty"}}
	}
	var ps config.Problems
	res := tlscheck.Check(out.Files, time.Now())
	out.NotAfter = res.NotAfter
	advice := ""
	for _, f := range res.Findings {
		msg := f.Msg
		if f.Remake != "" {
			if advice == "" {
				advice = remake(l, out.Files, res.Hosts).Advice(exists)
			}
			msg += "; " + f.Remake + ", " + advice
		}
		if !f.Fatal {
			out.Warnings = append(out.Warnings, msg)
			continue
		}
		_, origin := RestValue(l, f.Setting)
		ps = append(ps, config.Problem{Origin: origin, Msg: "[rest] " + f.Setting + ": " + msg})
	}
	return out, ps
}

// remake is what niod cert is to replace for the files f of l, whose
// certificate names hosts, so that its advice fixes them as it is printed:
// for this root, settings and [rest] host, and with files the runtime's
// user owns (a user named by a secret is not printed).
func remake(l *config.Loaded, f tlscheck.Files, hosts []string) certs.Remake {
	user := l.Options.User
	if user != "" && l.Options.Group != "" {
		user += ":" + l.Options.Group
	}
	if l.Options.IsSecret("user") || l.Options.IsSecret("group") {
		user = ""
	}
	return certs.Remake{Root: l.Root, Settings: l.Files, Cert: f.Cert, Key: f.Key, Chain: f.Chain,
		Host: strings.Trim(f.Host, "[]"), Hosts: hosts, User: user, SettingsFile: certs.SettingsFileOf(l.Settings)}
}

// exists reports whether there is a file, or a link, at path.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// tlsFiles is what [rest] configures for TLS, paths absolute; the host to
// name is empty when the API listens on a wildcard address.
func tlsFiles(l *config.Loaded) tlscheck.Files {
	cert, _ := RestValue(l, "ssl_certificate")
	key, _ := RestValue(l, "ssl_private_key")
	chain, _ := RestValue(l, "ssl_certificate_chain")
	host, _ := RestValue(l, "host")
	if health.IsWildcard(host) {
		host = ""
	}
	return tlscheck.Files{Cert: config.RootPath(l.Root, cert), Key: config.RootPath(l.Root, key), Chain: config.RootPath(l.Root, chain), Host: host}
}
