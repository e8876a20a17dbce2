package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"niod/internal/config"
	"niod/internal/control"
	"niod/internal/exitcode"
	"niod/internal/handoff"
	"niod/internal/logging"
	"niod/internal/memtrim"
	"niod/internal/notifysock"
	"niod/internal/plan"
	"niod/internal/privs"
	"niod/internal/rundir"
	"niod/internal/sdnotify"
	"niod/internal/spec"
	"niod/internal/supervisor"
)

// logFlushTimeout bounds how long niod waits at exit for its last log lines
// to reach an output that may be stuck.
const logFlushTimeout = time.Second

// runCmd merges the settings and supervises the runtime.
func runCmd(inv *invocation, args []string) int {
	// From here on no signal is lost, and a vanished log reader cannot
	// kill niod with SIGPIPE.
	sigs := supervisor.CatchSignals()
	sf, command, code, done := parseWithCommand(inv, "run", args)
	if done {
		return code
	}
	rundirBase := rundir.Base(os.Getenv)
	req := plan.Request{Settings: sf.request(inv), Command: command, NeedCommand: true, HandoffDir: rundirBase}
	p, fail := makePlan(inv, req)
	if fail != exitcode.OK {
		return fail
	}
	redactor := logging.NewRedactor()
	redactor.Add(p.Loaded.Settings.SecretValues()...)
	log, err := logging.New(logOptions(p.Spec.Options, redactor, true))
	if err != nil {
		fmt.Fprintf(inv.stderr, "niod: %v\n", err)
		return exitcode.Config
	}
	defer func() { _ = log.Flush(logFlushTimeout) }()
	log.Info("niod starts", startFields(p)...)

	if privs.SwapOn() {
		log.Warn("swap is on: secrets in memory could be written to disk (turn swap off or encrypt it)")
	}
	for _, w := range p.Warnings {
		log.Warn(w)
	}
	srv, code := listenControl(log, p)
	if code != exitcode.OK {
		return code
	}
	if srv != nil {
		defer srv.Close()
	}
	switch {
	case p.User != nil:
		if err := privs.Become(p.User); err != nil {
			log.Error(err.Error())
			return exitcode.NoPerm
		}
		log.Info("dropped privileges", logging.Stringer("user", p.User))
	case os.Geteuid() == 0:
		log.Warn("running the runtime as root (--allow-root); give it a user with --user")
	}
	if err := supervisor.BecomeReaper(); err != nil {
		log.Warn("cannot become child subreaper; orphans of the runtime escape supervision", logging.Err(err))
	}

	// A niod that was SIGKILLed left its handoff (secrets included) and
	// notify directory behind: remove those of this user whose niod is gone.
	if removed, err := rundir.Sweep(rundirBase, os.Geteuid()); err != nil {
		log.Warn("cannot remove what an earlier niod left", logging.Err(err))
	} else if len(removed) > 0 {
		log.Info("removed what an earlier niod left", logging.Strings("paths", removed))
	}
	sock, err := notifysock.Listen(rundirBase)
	if err != nil {
		if p.Spec.Options.Ready == spec.ReadyNotify {
			log.Error("ready = notify, but niod's notify socket for the runtime cannot be made", logging.Err(err))
			return exitcode.Config
		}
		log.Warn("no notify socket for the runtime", logging.Err(err))
	} else {
		defer sock.Close()
	}

	watchdog, off := sdnotify.WatchdogInterval()
	if watchdog > 0 {
		log.Info("pinging the service manager's watchdog", logging.Duration("every", watchdog))
	} else if os.Getenv("NOTIFY_SOCKET") != "" {
		log.Info("watchdog off: " + off) // under systemd, say why
	}
	req.Reload = true
	mk := func(s *spec.Spec) (*handoff.Handoff, error) {
		if s.Handoff == spec.HandoffFile {
			return handoff.NewFile(s.Payload, rundirBase, func(msg string) { log.Warn(msg) })
		}
		return handoff.NewMemfd(s.Payload)
	}
	cfg := supervisor.Config{
		Spec: p.Spec,
		// Runs on a goroutine of its own: it reads files and logs nothing.
		Reload: func() (*spec.Spec, []string) {
			np, fail := plan.Make(req)
			if fail != nil {
				return nil, fail.Problems
			}
			redactor.Add(np.Loaded.Settings.SecretValues()...)
			return np.Spec, nil
		},
		Apply: func(s *spec.Spec) {
			if err := log.Reconfigure(logOptions(s.Options, redactor, true)); err != nil {
				log.Warn("log options not applied", logging.Err(err))
			}
		},
		Log:        log,
		Notify:     sdnotify.New(),
		Signals:    sigs,
		RuntimeUID: p.RuntimeUID(),
		Watchdog:   watchdog,
		Spawner:    supervisor.NewSpawner(mk),
		// nil when it could not be made: the runtime gets no NOTIFY_SOCKET.
		NotifySocket: sock,
		Version:      versionString(),
		// Once the runtime is up, what only the start needed goes back.
		Settle: func() {
			if _, err := memtrim.Release(); err != nil {
				log.Debug("start-up memory not released", logging.Err(err))
			}
		},
		SettleAfter: settleAfter,
	}
	if srv != nil {
		calls := make(chan *control.Call, controlQueue)
		go srv.Serve(calls)
		cfg.Control = calls
	}
	return supervisor.Run(cfg)
}

// settleAfter is how long after the runtime's first ready niod releases
// the memory of its start: past the burst of a start, before a long idle.
const settleAfter = 250 * time.Millisecond

// controlQueue is how many control requests wait for the loop at most;
// more are answered "busy" by the server.
const controlQueue = 16

// listenControl opens the control socket before the drop (its directory
// may need root to make), owned by the user niod becomes. A second niod on
// the project ends here; a socket that cannot be made is a warning: niod
// runs without one.
func listenControl(log *logging.Logger, p *plan.Plan) (*control.Server, int) {
	if p.Loaded.Options.ControlSocket == "none" {
		return nil, exitcode.OK
	}
	o := control.ListenOptions{Dir: control.Dir(os.Getenv, os.Geteuid()), Root: p.Loaded.Root,
		Owner: -1, Group: -1, ControlGroup: p.Spec.Identity.ControlGroup}
	if p.User != nil {
		o.Owner, o.Group = p.User.UID, p.User.GID
	}
	srv, err := control.Listen(o)
	var held *control.HeldError
	switch {
	case errors.As(err, &held):
		log.Error(err.Error())
		return nil, exitcode.Unavailable
	case err != nil:
		log.Warn("no control socket: niod status and the other control commands cannot reach this niod", logging.Err(err))
		return nil, exitcode.OK
	}
	log.Info("control socket", logging.String("path", srv.Path()))
	return srv, exitcode.OK
}

// parseWithCommand parses the flags of run or check and the runtime's
// command after --; done says the command must end now with code.
func parseWithCommand(inv *invocation, name string, args []string) (*settingsFlags, []string, int, bool) {
	c := commandNamed(name)
	sf := newFlagSet(c, inv)
	if code, done := sf.parse(c, inv, args); done {
		return nil, nil, code, true
	}
	command, code := commandAfterDash(inv, sf, name)
	return sf, command, code, code != exitcode.OK
}

// startFields frame the run in the log's first line: what niod runs, as
// whom, from where, with which settings.
func startFields(p *plan.Plan) []logging.Field {
	user := "(niod's own)"
	if p.User != nil {
		user = p.User.String()
	}
	probe := p.Spec.Options.HealthURL
	if probe == "" {
		probe = "none"
	}
	return []logging.Field{
		logging.String("version", versionString()), logging.String("root", p.Loaded.Root),
		logging.Strings("settings", p.Loaded.Files), logging.String("user", user),
		logging.String("venv", p.Venv), logging.Strings("command", p.Spec.Args),
		logging.String("handoff", p.Spec.Handoff.String()), logging.String("probe", probe),
		logging.String("ready", p.Spec.Options.Ready.String()),
	}
}

// commandAfterDash returns the runtime's command given after --.
func commandAfterDash(inv *invocation, sf *settingsFlags, name string) ([]string, int) {
	if dash := sf.fs.ArgsLenAtDash(); dash >= 0 {
		if dash > 0 {
			fmt.Fprintf(inv.stderr, "niod %s: unexpected argument %q (the runtime's command goes after --)\n", name, sf.fs.Arg(0))
			return nil, exitcode.Usage
		}
		return sf.fs.Args()[dash:], exitcode.OK
	}
	if sf.fs.NArg() > 0 {
		fmt.Fprintf(inv.stderr, "niod %s: unexpected argument %q (see niod --help; the runtime's command goes after --)\n", name, sf.fs.Arg(0))
		return nil, exitcode.Usage
	}
	return nil, exitcode.OK
}

// makePlan plans the run and prints what stops it.
func makePlan(inv *invocation, req plan.Request) (*plan.Plan, int) {
	l, code := load(inv, req.Settings)
	if l == nil {
		return nil, code
	}
	p, fail := plan.FromLoaded(l, req)
	if fail != nil {
		for _, line := range fail.Problems {
			fmt.Fprintln(inv.stderr, line)
		}
		return nil, fail.Code
	}
	return p, exitcode.OK
}

func logOptions(o spec.Options, r *logging.Redactor, async bool) logging.Options {
	level, _ := logging.ParseLevel(o.LogLevel) // validated with the settings
	format, _ := logging.ParseFormat(o.LogFormat)
	return logging.Options{Format: format, Level: level, Redactor: r, Async: async}
}

func printProblems(inv *invocation, ps config.Problems) {
	for _, p := range ps {
		fmt.Fprintln(inv.stderr, p.Error())
	}
}
