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

// doctorFlags are the flags of niod doctor.
type doctorFlags struct {
	fs             *pflag.FlagSet
	root, user     string
	settings       []string
	only, skip     []string
	asJSON, strict bool
}

func newDoctorFlags(inv *invocation) *doctorFlags {
	df := &doctorFlags{fs: pflag.NewFlagSet("niod doctor", pflag.ContinueOnError)}
	flags := df.fs
	flags.SortFlags = false
	flags.SetOutput(inv.stderr)
	flags.Usage = func() {}
	flags.StringVarP(&df.root, "root", "r", "", "project root (default: the current directory; env NIOD_ROOT)")
	flags.StringArrayVarP(&df.settings, "settings", "s", nil, "settings file, repeatable (default: nio.conf when there is one)")
	flags.BoolVar(&df.asJSON, "json", false, "print the findings as JSON (stable IDs, status, evidence, fix)")
	flags.StringSliceVar(&df.only, "only", nil, "run only these checks (IDs or areas, comma-separated)")
	flags.StringSliceVar(&df.skip, "skip", nil, "do not run these checks (IDs or areas, comma-separated)")
	flags.BoolVar(&df.strict, "strict", false, "a warning fails too (exit 1)")
	flags.StringVarP(&df.user, "user", "u", "", "the runtime's user, as given to niod run (default: the running runtime's, else [niod] user)")
	var ids []string
	for _, c := range doctor.All() {
		ids = append(ids, c.ID)
	}
	completeAs(flags, "root", completeDirs)
	completeAs(flags, "settings", completeFiles)
	completeAs(flags, "only", completeList, ids...)
	completeAs(flags, "skip", completeList, ids...)
	completeAs(flags, "user", completeUsers)
	return df
}

// doctorCmd runs the secure-host checklist.
func doctorCmd(inv *invocation, args []string) int {
	c := commandNamed("doctor")
	df := newDoctorFlags(inv)
	flags := df.fs
	if code, done := parseFlags(c, inv, flags, args, true, ""); done {
		return code
	}
	checks, unknown := doctor.Select(doctor.All(), df.only, df.skip)
	if len(unknown) > 0 {
		fmt.Fprintf(inv.stderr, "niod doctor: no check %s (niod doctor --json lists the IDs)\n", strings.Join(unknown, ", "))
		return exitcode.Usage
	}
	h := &doctor.Host{Root: "/", Euid: os.Geteuid()}
	h.InContainer, _ = doctor.DetectContainer(h)
	req := settingsRequest(inv, projectRoot(df.root, inv.environ), df.settings)
	if flags.Changed("user") {
		req.Flags = []config.OptionSource{{Key: "user", Text: df.user, Origin: config.Origin{File: "--user"}}}
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
	if df.asJSON {
		b, _ := json.MarshalIndent(struct {
			Container bool             `json:"container"`
			Findings  []doctor.Finding `json:"findings"`
		}{h.InContainer, findings}, "", "  ")
		fmt.Fprintf(inv.stdout, "%s\n", b)
	} else {
		fmt.Fprint(inv.stdout, doctor.Text(findings))
	}
	return doctor.ExitCode(findings, df.strict)
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
