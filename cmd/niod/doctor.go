package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"niod/internal/config"
	"niod/internal/doctor"
	"niod/internal/exitcode"
)

// doctorCmd runs the secure-host checklist.
func doctorCmd(inv *invocation, args []string) int {
	c := commandNamed("doctor")
	flags := pflag.NewFlagSet("niod doctor", pflag.ContinueOnError)
	flags.SortFlags = false
	flags.SetOutput(inv.stderr)
	flags.Usage = func() {}
	root := flags.StringP("root", "r", "", "project root (default: the current directory; env NIOD_ROOT)")
	settings := flags.StringArrayP("settings", "s", nil, "settings file, repeatable (default: nio.conf when there is one)")
	asJSON := flags.Bool("json", false, "print the findings as JSON (stable IDs, status, evidence, fix)")
	only := flags.StringSlice("only", nil, "run only these checks (IDs or areas, comma-separated)")
	skip := flags.StringSlice("skip", nil, "do not run these checks (IDs or areas, comma-separated)")
	strict := flags.Bool("strict", false, "a warning fails too (exit 1)")
	user := flags.StringP("user", "u", "", "the runtime's user, as given to niod run (default: the running runtime's, else [niod] user)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(inv.stdout, "Usage: niod %s\n\n%s.\n\nFlags:\n%s", c.usage, upperFirst(c.summary), flags.FlagUsages())
			return exitcode.OK
		}
		fmt.Fprintf(inv.stderr, "niod doctor: %v (see niod doctor --help)\n", err)
		return exitcode.Usage
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(inv.stderr, "niod doctor: unexpected argument %q (see niod doctor --help)\n", flags.Arg(0))
		return exitcode.Usage
	}
	checks, unknown := doctor.Select(doctor.All(), *only, *skip)
	if len(unknown) > 0 {
		fmt.Fprintf(inv.stderr, "niod doctor: no check %s (niod doctor --json lists the IDs)\n", strings.Join(unknown, ", "))
		return exitcode.Usage
	}
	h := &doctor.Host{Root: "/", Euid: os.Geteuid()}
	h.InContainer, _ = doctor.DetectContainer(h)
	req := config.Request{Root: projectRoot(*root, inv.environ), Files: settingsFiles(*settings, inv.environ), Environ: inv.environ,
		EnvSkip: map[string]bool{"NIOD_ROOT": true, "NIOD_SETTINGS": true}}
	if flags.Changed("user") {
		req.Flags = []config.OptionSource{{Key: "user", Text: *user, Origin: config.Origin{File: "--user"}}}
	}
	if len(req.Files) > 0 || hasDefaultSettings(req.Root) {
		l, code := load(inv, req)
		if l == nil {
			return code
		}
		h.Settings = l
		if !flags.Changed("user") {
			h.Running = doctor.FindRunning(h, envLookup(inv.environ), l.Root)
		}
	}
	findings := doctor.Run(h, checks)
	if *asJSON {
		b, _ := json.MarshalIndent(struct {
			Container bool             `json:"container"`
			Findings  []doctor.Finding `json:"findings"`
		}{h.InContainer, findings}, "", "  ")
		fmt.Fprintf(inv.stdout, "%s\n", b)
	} else {
		fmt.Fprint(inv.stdout, doctor.Text(findings))
	}
	return doctor.ExitCode(findings, *strict)
}

// hasDefaultSettings reports whether the project root holds nio.conf:
// without one, doctor checks the host alone.
func hasDefaultSettings(root string) bool {
	if root == "" {
		root = "."
	}
	_, err := os.Lstat(filepath.Join(root, config.DefaultFile))
	return !errors.Is(err, fs.ErrNotExist)
}
