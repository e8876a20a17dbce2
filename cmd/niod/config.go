package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/plan"
	"niod/internal/rundir"
)

// configCmd prints the merged, resolved settings.
func configCmd(inv *invocation, args []string) int {
	c := commandNamed("config")
	sf, opts := newConfigFlags(c, inv)
	if code, done := sf.parseNoArgs(c, inv, args); done {
		return code
	}
	// The settings stay live until they are printed, so the collection
	// that load's GC percent puts off would free nothing while printing
	// either: keep it put off until niod config is done.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	l, code := load(inv, sf.request(inv))
	if l == nil {
		return code
	}
	if err := l.Settings.Render(inv.stdout, *opts); err != nil {
		fmt.Fprintf(inv.stderr, "niod config: cannot write the settings: %v\n", err)
		return exitcode.Software
	}
	return exitcode.OK
}

// newConfigFlags makes the flags of niod config: the settings flags, and
// how to print the settings.
func newConfigFlags(c command, inv *invocation) (*settingsFlags, *config.RenderOptions) {
	sf := newFlagSet(c, inv)
	opts := new(config.RenderOptions)
	sf.fs.BoolVar(&opts.ShowOrigin, "show-origin", false, "add a comment saying where each value came from")
	sf.fs.BoolVar(&opts.Reveal, "reveal", false, "print secret values instead of ********")
	return sf, opts
}

// checkCmd validates the settings and starts nothing.
func checkCmd(inv *invocation, args []string) int {
	sf, command, code, done := parseWithCommand(inv, "check", args)
	if done {
		return code
	}
	req := plan.Request{Settings: sf.request(inv), Command: command, HandoffDir: rundir.Base(os.Getenv)}
	p, code := makePlan(inv, req)
	if p == nil {
		return code
	}
	l := p.Loaded
	if p.User != nil {
		fmt.Fprintf(inv.stderr, "privileges: would drop to user %s, clear every capability and set no_new_privs\n", p.User)
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(inv.stderr, "warning: "+w)
	}
	if !p.TLS.NotAfter.IsZero() {
		fmt.Fprintf(inv.stderr, "tls: %s is valid until %s\n", p.TLS.Files.Cert, p.TLS.NotAfter.UTC().Format("2006-01-02"))
	}
	if p.Spec == nil {
		fmt.Fprintln(inv.stderr, "warning: no [niod] command is set; niod run will need -- COMMAND")
	}
	n := 0
	l.Settings.All(func(*config.Section, *config.Value) { n++ })
	fmt.Fprintf(inv.stderr, "settings ok: %d files, %d sections, %d keys under %s\n",
		len(l.Files), len(l.Settings.Sections()), n, l.Root)
	return exitcode.OK
}

func commandNamed(name string) command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	panic("niod: no command " + name)
}
