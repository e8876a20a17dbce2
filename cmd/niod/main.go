// Command niod launches and supervises the nio runtime: it merges the
// settings files, hands them to the runtime without leaking secrets, drops
// root, and keeps the runtime up under systemd, in a container or from a
// shell.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"niod/internal/descriptors"
	"niod/internal/doctor"
	"niod/internal/exitcode"
	"niod/internal/privs"
)

// A command is one subcommand of niod.
type command struct {
	name    string
	summary string
	// usage is the synopsis after "niod".
	usage string
	run   func(env *invocation, args []string) int
}

// invocation is what a command gets from the outside world.
type invocation struct {
	environ        []string
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{"run", "merge the settings and supervise the runtime (the default)", "[run] [flags] [-- COMMAND [ARG...]]", runCmd},
		{"check", "validate everything run would, start nothing", "check [flags] [-- COMMAND [ARG...]]", checkCmd},
		{"config", "print the merged, resolved settings as INI", "config [flags] [--show-origin] [--reveal]", configCmd},
		{"cert", "create a local CA and an instance certificate", "cert [flags]", certCmd},
		{"doctor", "check this host against nio's secure-host checklist", "doctor [-r ROOT] [-s FILE]... [--json] [--only IDS] [--skip IDS] [--strict] [-u USER]", doctorCmd},
		{"status", "show what a running niod does (--live, --ready: only the exit code)", "status [-r ROOT] [--json|--live|--ready]", controlCmd("status")},
		{"restart", "restart the runtime now, the back-off reset", "restart [-r ROOT]", controlCmd("restart")},
		{"reload", "read the settings again and say the outcome", "reload [-r ROOT] [--timeout D]", controlCmd("reload")},
		{"stop", "stop the runtime's tree and keep niod up", "stop [-r ROOT]", controlCmd("stop")},
		{"start", "start the runtime again after stop", "start [-r ROOT]", controlCmd("start")},
		{"signal", "send a signal to the runtime's process group", "signal [-r ROOT] SIGNAL", controlCmd("signal")},
		{"wait", "wait until the runtime is ready", "wait [-r ROOT] --ready [--timeout D]", controlCmd("wait")},
		{"version", "print niod's version", "version [-v]", versionCmd},
		{"completion", "print the shell completion script for bash or zsh", "completion bash|zsh", completionCmd},
	}
}

func main() {
	inv := &invocation{environ: os.Environ(), stdout: os.Stdout, stderr: os.Stderr}
	// Before the first file is opened: niod is about to hold secrets, so
	// no core dump; with too few descriptors Go's runtime aborts when it
	// sets up its poller; and what niod inherited stays with niod.
	doctor.RecordCoreLimit() // the limit niod was started with, before niod sets its own to 0
	if err := privs.NoCoreDumps(); err != nil {
		fmt.Fprintln(inv.stderr, "niod: cannot turn core dumps off: "+err.Error())
		os.Exit(exitcode.Software)
	}
	if err := descriptors.CheckLimit(); err != nil {
		fmt.Fprintln(inv.stderr, "niod: "+err.Error())
		os.Exit(exitcode.Unavailable)
	}
	if err := descriptors.CloseOnExec(); err != nil {
		fmt.Fprintln(inv.stderr, "niod: cannot mark inherited descriptors close-on-exec: "+err.Error())
		os.Exit(exitcode.Software)
	}
	os.Exit(dispatch(inv, os.Args[1:]))
}

// dispatch picks the subcommand: a first argument that is not one means
// run, so "niod -s nio.conf -s secrets.conf" works as it always did.
func dispatch(inv *invocation, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "help":
			if len(args) > 1 && args[1] == "--man" {
				return manCmd(inv, args[2:])
			}
			if len(args) > 1 {
				return dispatch(inv, []string{args[1], "--help"})
			}
			fmt.Fprint(inv.stdout, mainUsage())
			return exitcode.OK
		case "-h", "--help":
			fmt.Fprint(inv.stdout, mainUsage())
			return exitcode.OK
		case "-V", "--version":
			return versionCmd(inv, nil)
		}
		for _, c := range commands() {
			if args[0] == c.name {
				return c.run(inv, args[1:])
			}
		}
		if !strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(inv.stderr, "niod: %q is not a command (see niod --help)\n", args[0])
			return exitcode.Usage
		}
	}
	return runCmd(inv, args)
}

// The parts of niod --help that the man page shows too.
const (
	usageIntro = `niod launches the nio runtime: it merges the settings files, drops root,
hands the runtime its settings without leaking secrets, and keeps it up.
`
	// usageExamples is one example a line: the command, then after a run
	// of spaces what it does.
	usageExamples = `  niod -r /opt/nio/project -s nio.conf -s secrets.conf   run the project
  niod config -s nio.conf -s secrets.conf --show-origin   see what the runtime gets
  niod check -s nio.conf -s secrets.conf                  validate before a deploy
`
	usageSettings = `Settings files are read from the project root (-r, default: the current
directory), nio.conf when no -s is given; later files win per key. Every
flag can also be set as NIOD_<FLAG> in the environment (NIOD_LOG_LEVEL=debug)
or in a [niod] section of the settings; flags win over NIOD_*, which win
over [niod].
`
)

// exitCodes are niod's exit codes, as --help and the man page list them.
var exitCodes = []struct{ code, meaning string }{
	{"0", "ok"},
	{"64", "usage"},
	{"69", "runtime could not be kept up"},
	{"70", "internal error"},
	{"77", "permission"},
	{"78", "configuration error"},
	{"128+N", "ended by signal N"},
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString(usageIntro + "\nUsage:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  niod %-42s %s\n", c.usage, c.summary)
	}
	b.WriteString("\nExamples:\n" + usageExamples + "\n" + usageSettings)
	b.WriteString("\nRun \"niod COMMAND --help\" for the flags of a command.\n")
	codes := make([]string, len(exitCodes))
	for i, e := range exitCodes {
		codes[i] = e.code + " " + e.meaning
	}
	b.WriteString(wrap("Exit codes: "+strings.Join(codes, ", ")+".", 72))
	return b.String()
}

// wrap breaks text into lines of at most width bytes, between words.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(text) {
		switch {
		case i == 0:
		case line+1+len(w) > width:
			b.WriteString("\n")
			line = 0
		default:
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String() + "\n"
}
