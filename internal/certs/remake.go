package certs

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"niod/internal/config"
	"niod/internal/shell"
)

// Remake is what a new certificate made by niod cert is to replace: the
// files a project configures for the runtime's API, for the advice niod
// check prints when they cannot be used.
type Remake struct {
	// Root is the project root, absolute.
	Root string
	// Settings are the settings files as given to niod check; none, or
	// nio.conf alone, is niod cert's default too.
	Settings []string
	// Cert, Key and Chain are the configured files, absolute; Chain may
	// be empty.
	Cert, Key, Chain string
	// Host is [rest] host, the name the certificate must have, first;
	// empty for none (a wildcard address).
	Host string
	// Hosts are the names the old certificate has, kept so that its
	// clients still reach the runtime; none when it could not be read.
	Hosts []string
	// User is who gets the files (-u USER[:GROUP]); empty for the user
	// who runs the command.
	User string
	// SettingsFile, when set, is the settings file whose [user_defined]
	// SSL_CERTIFICATE, SSL_PRIVATE_KEY and SSL_CERTIFICATE_CHAIN the
	// configured paths are: when they are not named as niod cert names its
	// files, --update-settings points them at the new ones.
	SettingsFile string
}

// Advice says how to replace the files of r, as it is to be run: "run:
// COMMAND", a niod cert command line quoted for a POSIX shell that works
// from any directory, or, when the configured files are not named as niod
// cert names its files and no settings file can be updated for them, which
// [rest] settings to change and then the command. exists reports whether a
// file is there (even as a dangling link), since niod cert replaces one
// only with --force.
func (r Remake) Advice(exists func(path string) bool) string {
	p := Project{Root: r.Root}
	dir := filepath.Dir(r.Cert)
	fits := filepath.Base(r.Cert) == CertFile && r.Key == filepath.Join(dir, KeyFile) &&
		(r.Chain == "" || r.Chain == filepath.Join(dir, ChainFile))
	out := dir
	if !fits {
		out = p.OutDir("")
	}
	args := []string{"niod", "cert", "-r", r.Root}
	if !(len(r.Settings) == 0 || len(r.Settings) == 1 && r.Settings[0] == config.DefaultFile) {
		for _, s := range r.Settings {
			args = append(args, "-s", s)
		}
	}
	if out != p.OutDir("") {
		args = append(args, "--out", p.Show(out))
	}
	for _, h := range remakeHosts(r.Host, r.Hosts) {
		args = append(args, "--host", h)
	}
	if r.User != "" {
		args = append(args, "-u", r.User)
	}
	update := !fits && r.SettingsFile != ""
	if update {
		args = append(args, "--update-settings", r.SettingsFile)
	}
	for _, name := range []string{CertFile, KeyFile, ChainFile} {
		if exists(filepath.Join(out, name)) {
			args = append(args, "--force")
			break
		}
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shell.Quote(a)
	}
	cmd := "run: " + strings.Join(quoted, " ")
	if fits || update {
		return cmd
	}
	s := p.Settings(out)
	return fmt.Sprintf("set [rest] ssl_certificate = %s, ssl_private_key = %s and ssl_certificate_chain = %s (the files niod cert writes), then %s",
		s[0].Value, s[1].Value, s[2].Value, cmd)
}

// remakeHosts are the --host values of a new certificate: host first, then
// the old certificate's names, each once, in canonical form; names niod
// cert would refuse are left out.
func remakeHosts(host string, old []string) []string {
	var out []string
	for _, h := range append([]string{host}, old...) {
		if h == "" {
			continue
		}
		if c, err := CheckHost(h); err == nil && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
