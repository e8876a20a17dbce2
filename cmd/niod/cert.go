package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"niod/internal/certs"
	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/privs"
	"niod/internal/shell"
	"niod/internal/tlscheck"
)

const certHelp = `Makes a local certificate authority (CA) the first time, in --ca-dir, and
reuses it after; then a key and a certificate for this instance, signed by
the CA, in --out: cert.crt, cert.key (mode 600) and ca.crt, a copy of the
CA certificate that clients trust and the runtime serves as its chain.
Existing files are never replaced without --force. It prints the settings
that point the runtime at the files; --update-settings writes them.

It reads [rest] host and port from the settings (-s, default nio.conf
when there is one) to print the URL clients try.

Relative --out, -s and --update-settings paths are under the project
root; a relative --ca-dir is under the current directory. NIOD_ROOT,
NIOD_SETTINGS and NIOD_USER stand for -r, -s and -u.
`

const certExitCodes = `
Exit codes: 0 ok; 64 bad flags; 77 permission denied; 78 a file exists
(use --force), the CA cannot be used, the settings given with -s do not
load or the settings file cannot be updated: fix what the message says and
run again; 70 internal error.
`

// certFlags are the flags of niod cert.
type certFlags struct {
	fs                                                *pflag.FlagSet
	root, out, caDir, keyType, userFlag, settingsFile string
	hosts, settingsFiles                              []string
	days                                              int
	force                                             bool
}

func newCertFlags(inv *invocation) *certFlags {
	cf := &certFlags{fs: pflag.NewFlagSet("niod cert", pflag.ContinueOnError)}
	fs := cf.fs
	fs.SortFlags = false
	fs.SetOutput(inv.stderr)
	fs.Usage = func() {}
	keyTypes := make([]string, 0, 3)
	for _, k := range certs.KeyTypes() {
		keyTypes = append(keyTypes, string(k))
	}
	fs.StringVarP(&cf.root, "root", "r", "", "project root (default: the current directory; env NIOD_ROOT)")
	fs.StringArrayVarP(&cf.settingsFiles, "settings", "s", nil, "settings file to read [rest] host and port from, repeatable, later files win (default: nio.conf when there is one; env NIOD_SETTINGS=a.conf,b.conf)")
	fs.StringVar(&cf.out, "out", "", "directory of cert.crt, cert.key and ca.crt (default ROOT/etc/ssl)")
	fs.StringVar(&cf.caDir, "ca-dir", "", "directory of the CA, ca.crt and ca.key (default $XDG_CONFIG_HOME/niod/ca or ~/.config/niod/ca)")
	fs.StringArrayVar(&cf.hosts, "host", nil, "DNS name or IP address the certificate is for, repeatable; the first is its common name (default: this host's name, localhost, 127.0.0.1, ::1)")
	fs.IntVar(&cf.days, "days", certs.DefaultDays, "days the certificate is valid (the CA: 10 years)")
	fs.StringVar(&cf.keyType, "key-type", string(certs.ECDSAP256), "key type of the CA and the certificate: "+strings.Join(keyTypes, ", "))
	fs.BoolVar(&cf.force, "force", false, "replace cert.crt, cert.key and ca.crt in --out if they exist")
	fs.StringVarP(&cf.userFlag, "user", "u", "", "USER[:GROUP] that gets the files in --out when run as root, so the runtime can read its key (env NIOD_USER)")
	fs.StringVar(&cf.settingsFile, "update-settings", "", "point SSL_CERTIFICATE, SSL_PRIVATE_KEY and SSL_CERTIFICATE_CHAIN of [user_defined] in this settings file at the files, changing nothing else (created, mode 600, if missing)")
	completeAs(fs, "root", completeDirs)
	completeAs(fs, "settings", completeFiles)
	completeAs(fs, "out", completeDirs)
	completeAs(fs, "ca-dir", completeDirs)
	completeAs(fs, "host", completeHosts)
	completeAs(fs, "key-type", completeValues, keyTypes...)
	completeAs(fs, "user", completeUsers)
	completeAs(fs, "update-settings", completeFiles)
	return cf
}

// certCmd makes a local CA (once) and an instance certificate signed by it.
func certCmd(inv *invocation, args []string) int {
	c := commandNamed("cert")
	cf := newCertFlags(inv)
	fs := cf.fs
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(inv.stdout, "Usage: niod %s\n\n%s.\n\n%s\nFlags:\n%s%s", c.usage, upperFirst(c.summary), certHelp, fs.FlagUsages(), certExitCodes)
			return exitcode.OK
		}
		return certUsage(inv, "%v", err)
	}
	if fs.NArg() > 0 {
		return certUsage(inv, "unexpected argument %q", fs.Arg(0))
	}
	root, out, caDir, keyType, userFlag, settingsFile := cf.root, cf.out, cf.caDir, cf.keyType, cf.userFlag, cf.settingsFile
	hosts, settingsFiles, days, force := cf.hosts, cf.settingsFiles, cf.days, cf.force
	env := config.EnvironMap(inv.environ)
	root = projectRoot(root, inv.environ)
	if userFlag == "" {
		userFlag = env["NIOD_USER"]
	}

	// Paths.
	project, err := certs.OpenProject(root)
	if err != nil {
		return certError(inv, err)
	}
	out = project.OutDir(out)
	if caDir, err = certs.CADir(caDir, func(k string) string { return env[k] }); err != nil {
		return certUsage(inv, "%v", err)
	}

	// Certificate.
	kt, err := certs.ParseKeyType(keyType)
	if err != nil {
		return certUsage(inv, "--key-type: %v", err)
	}
	if err := certs.CheckDays(days); err != nil {
		return certUsage(inv, "--%v", err)
	}
	names, err := certs.Hosts(hosts)
	if err != nil {
		return certUsage(inv, "--host: %v", err)
	}

	// Owner.
	var owner *certs.Owner
	var user *privs.User
	if userFlag != "" {
		if user, err = privs.SystemAccounts().Lookup(userFlag, ""); err != nil {
			return certFail(inv, exitcode.Config, "%v", err)
		}
		if owner, err = certs.OwnerFor(user.String(), user.UID, user.GID, os.Geteuid()); err != nil {
			return certError(inv, err)
		}
	}

	// The settings file is checked before anything is made.
	settings := project.Settings(out)
	var sf *config.SettingsFile
	if settingsFile != "" {
		if sf, err = project.ReadSettings(settingsFile, settings); err != nil {
			return certError(inv, err)
		}
	}

	// So are the settings the URL comes from.
	restHost, port, code := restAddress(inv, project.Root, settingsFiles)
	if code != exitcode.OK {
		return code
	}

	res, err := certs.Issue(certs.Request{
		CADir: caDir, OutDir: out, Hosts: names, Days: days, KeyType: kt,
		Force: force, Owner: owner, Show: project.Show,
	})
	if err != nil {
		return certError(inv, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(inv.stderr, "warning: "+w)
	}
	if owner != nil {
		if err := privs.CheckAccess(user, res.Key, privs.Read); err != nil {
			fmt.Fprintln(inv.stderr, "warning: "+err.Error())
		}
	}
	if sf != nil {
		if err := certs.UpdateSettings(sf, settings); err != nil {
			return certError(inv, err)
		}
	}

	w := inv.stdout
	if res.CACreated {
		fmt.Fprintf(w, "created a local CA in %s (%s, until %s)\n", res.CADir, res.CAKeyType, day(res.CANotAfter))
	} else {
		fmt.Fprintf(w, "using the local CA in %s (%s, until %s)\n", res.CADir, res.CAKeyType, day(res.CANotAfter))
	}
	chain := "wrote " + project.Show(res.Chain) + ", the CA certificate"
	if res.ChainKept {
		chain = project.Show(res.Chain) + " is the CA certificate already"
	}
	fmt.Fprintf(w, "wrote %s and %s for %s (%s, valid for %s, until %s); %s\n",
		project.Show(res.Cert), project.Show(res.Key), strings.Join(res.Hosts, ", "), kt,
		tlscheck.Remaining(time.Until(res.NotAfter)), day(res.NotAfter), chain)
	if sf != nil {
		verb := "updated"
		if !sf.Exists {
			verb = "created"
		}
		fmt.Fprintf(w, "%s %s: [user_defined] %s, %s and %s\n", verb, settingsFile, settings[0].Key, settings[1].Key, settings[2].Key)
	}

	fmt.Fprintln(w)
	where := "the settings"
	if config.HoldsSecret(settings[1].Key, settings[1].Value) {
		where = "a settings file only its owner can read, such as secrets.conf (niod counts " + settings[1].Key + " as a secret)"
	}
	fmt.Fprintf(w, "The runtime serves HTTPS with these lines in %s:\n\n", where)
	fmt.Fprintf(w, "[%s]\n", config.UserDefined)
	for _, s := range settings {
		fmt.Fprintf(w, "%s = %s\n", s.Key, s.Value)
	}
	fmt.Fprintf(w, "\nClients trust it with ca.crt:\n\n  curl --cacert %s %s\n", shell.Quote(res.Chain), certs.ClientURL(res.Hosts, restHost, port))
	return exitcode.OK
}

// restAddress reads [rest] host and port from the project's settings,
// resolved as niod run resolves them, for the URL niod cert prints. Files
// given (-s, NIOD_SETTINGS) must load, or it prints why and returns 78;
// without, nio.conf is read when there is one, and what stops it loading is
// a warning. An undefined [[ NAME ]] elsewhere does not matter here: one in
// the port or host is a warning, and the URL then says PORT.
func restAddress(inv *invocation, root string, files []string) (host, port string, code int) {
	req := settingsRequest(inv, root, files)
	given := len(req.Files) > 0
	if !given && !hasDefaultSettings(root) {
		return "", "", exitcode.OK
	}
	req.Strict = os.Geteuid() == 0
	req.Flags = []config.OptionSource{{Key: "allow_undefined", Text: "true", Origin: config.Origin{File: "niod cert"}}}
	l, ps := config.Load(req)
	if len(ps) > 0 {
		if given {
			printProblems(inv, ps)
			return "", "", exitcode.Config
		}
		more := ""
		if len(ps) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(ps)-1)
		}
		fmt.Fprintf(inv.stderr, "warning: the URL below says PORT, since %s does not load: %s%s\n", config.DefaultFile, ps[0].Error(), more)
		return "", "", exitcode.OK
	}
	for _, key := range []string{"host", "port"} {
		v := l.Settings.Lookup("rest", key)
		if v == nil {
			continue
		}
		for _, ref := range v.Refs {
			if ref.Source == config.Unresolved {
				fmt.Fprintf(inv.stderr, "warning: %s: [rest] %s refers to [[%s]], which no settings file nor the environment defines (give the file that does with -s)\n", v.Origin, key, ref.Name)
				return "", "", exitcode.OK
			}
		}
		if key == "host" {
			host = strings.TrimSpace(v.Text)
		} else {
			port = strings.TrimSpace(v.Text)
		}
	}
	return host, port, exitcode.OK
}

// certError prints err and returns its exit code: 78 for what the user
// fixes (a file in the way, a CA or settings file that cannot be used), 77
// for a permission the system refused, 70 for the rest.
func certError(inv *invocation, err error) int {
	code := exitcode.Software
	var ce *certs.Error
	if errors.As(err, &ce) {
		switch ce.Kind {
		case certs.Invalid, certs.Exists:
			code = exitcode.Config
		case certs.Permission:
			code = exitcode.NoPerm
		}
	}
	return certFail(inv, code, "%v", err)
}

func certFail(inv *invocation, code int, format string, args ...any) int {
	fmt.Fprintf(inv.stderr, "niod cert: "+format+"\n", args...)
	return code
}

func certUsage(inv *invocation, format string, args ...any) int {
	fmt.Fprintf(inv.stderr, "niod cert: "+format+" (see niod cert --help)\n", args...)
	return exitcode.Usage
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
