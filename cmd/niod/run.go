package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/handoff"
	"niod/internal/launch"
	"niod/internal/logging"
	"niod/internal/privs"
	"niod/internal/sdnotify"
	"niod/internal/supervisor"
	"niod/internal/tlscheck"
)

// runCmd merges the settings and supervises the runtime.
func runCmd(inv *invocation, args []string) int {
	c := commandNamed("run")
	sf := newFlagSet(c, inv)
	if code, done := sf.parse(c, inv, args); done {
		return code
	}
	var command []string
	if dash := sf.fs.ArgsLenAtDash(); dash >= 0 {
		command = sf.fs.Args()[dash:]
		if dash > 0 {
			fmt.Fprintf(inv.stderr, "niod run: unexpected argument %q (the runtime's command goes after --)\n", sf.fs.Arg(0))
			return exitcode.Usage
		}
	} else if sf.fs.NArg() > 0 {
		fmt.Fprintf(inv.stderr, "niod run: unexpected argument %q (see niod --help; the runtime's command goes after --)\n", sf.fs.Arg(0))
		return exitcode.Usage
	}
	req := sf.request(inv)
	l, code := load(inv, req)
	if l == nil {
		return code
	}
	p, code := prepare(inv, l, command, true)
	if code != exitcode.OK {
		return code
	}
	user, environ, spec := p.user, p.environ, p.spec

	redactor := logging.NewRedactor()
	redactor.Add(l.Settings.SecretValues()...)
	log, err := newLogger(l.Options, redactor)
	if err != nil {
		fmt.Fprintf(inv.stderr, "niod: %v\n", err)
		return exitcode.Config
	}

	// niod holds every secret in memory: keep it out of core dumps.
	if err := privs.NoCoreDumps(); err != nil {
		log.Warn("cannot turn core dumps off", logging.Err(err))
	}
	if privs.SwapOn() {
		log.Warn("swap is on: secrets in memory could be written to disk (turn swap off or encrypt it)")
	}
	for _, w := range p.tls.Warnings {
		log.Warn(w)
	}
	switch {
	case user != nil:
		if err := dropPrivileges(user); err != nil {
			log.Error(err.Error())
			return exitcode.NoPerm
		}
		log.Info("dropped privileges", logging.Stringer("user", user))
	case os.Geteuid() == 0:
		log.Warn("running the runtime as root (--allow-root); give it a user with --user")
	}

	reload := func() (*supervisor.Spec, error) {
		l, ps := config.Load(req)
		if len(ps) == 0 {
			redactor.Add(l.Settings.SecretValues()...)
			// The same checks as at start: a reload must not start the
			// runtime with a certificate that start would refuse.
			_, ps = launch.CheckTLS(l)
			spec, planPs := launch.Plan(l, environ, command)
			if ps = append(planPs, ps...); len(ps) == 0 {
				return spec, nil
			}
		}
		for _, p := range ps {
			log.Error("settings problem", logging.String("problem", p.Error()))
		}
		return nil, errors.New(plural(len(ps), "problem") + " in the settings")
	}
	interval, off := sdnotify.WatchdogInterval()
	if os.Getenv("NOTIFY_SOCKET") == "" {
		off = "" // not under systemd: nothing to explain
	}
	return supervisor.Run(supervisor.Config{
		Spec:        spec,
		Reload:      reload,
		Log:         log,
		Notify:      sdnotify.New(),
		NotifyDir:   handoff.FileBase(os.Getenv),
		Watchdog:    interval,
		WatchdogOff: off,
		StatusNote:  expiryNote(p.tls.NotAfter),
		Handoff: func(spec *supervisor.Spec) (*handoff.Handoff, error) {
			if spec.Options.Handoff == "file" {
				warn := func(msg string) { log.Warn(msg) }
				return handoff.NewFile(spec.Payload, handoff.FileBase(os.Getenv), warn)
			}
			return handoff.NewMemfd(spec.Payload)
		},
	})
}

func newLogger(o *config.Options, r *logging.Redactor) (*logging.Logger, error) {
	level, err := logging.ParseLevel(o.LogLevel)
	if err != nil {
		return nil, err
	}
	format, err := logging.ParseFormat(o.LogFormat)
	if err != nil {
		return nil, err
	}
	return logging.New(logging.Options{Format: format, Level: level, Redactor: r})
}

func printProblems(inv *invocation, ps config.Problems) {
	for _, p := range ps {
		fmt.Fprintln(inv.stderr, p.Error())
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func doctorCmd(inv *invocation, _ []string) int {
	fmt.Fprintln(inv.stderr, "niod doctor: not built yet")
	return exitcode.Unavailable
}

// expiryNote is added to the running status when the certificate ends
// within tlscheck.ExpiryWarning.
func expiryNote(notAfter time.Time) string {
	if notAfter.IsZero() || time.Until(notAfter) >= tlscheck.ExpiryWarning {
		return ""
	}
	return fmt.Sprintf("certificate expires %s", notAfter.UTC().Format("2006-01-02"))
}
