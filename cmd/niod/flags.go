package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"niod/internal/completion"
	"niod/internal/config"
	"niod/internal/exitcode"
)

// settingsFlags are the flags every command that reads settings takes.
type settingsFlags struct {
	fs       *pflag.FlagSet
	root     string
	settings []string
	options  map[string]*string // option key -> flag value
}

// newFlagSet makes the flag set of a command with the settings flags and
// every [niod] option as a flag.
func newFlagSet(c command, inv *invocation) *settingsFlags {
	sf := &settingsFlags{fs: pflag.NewFlagSet("niod "+c.name, pflag.ContinueOnError), options: map[string]*string{}}
	fs := sf.fs
	fs.SortFlags = false
	fs.SetOutput(inv.stderr)
	fs.StringVarP(&sf.root, "root", "r", "", "project root (default: the current directory; env NIOD_ROOT)")
	fs.StringArrayVarP(&sf.settings, "settings", "s", nil, "settings file, repeatable, later files win (default: nio.conf; env NIOD_SETTINGS=a.conf,b.conf)")
	for _, spec := range config.OptionSpecs() {
		p := new(string)
		sf.options[spec.Key] = p
		short := ""
		if spec.Key == "user" {
			short = "u"
		}
		help := spec.Help
		if spec.Default != "" && spec.Arg != "bool" {
			help += " (default " + spec.Default + ")"
		}
		name := spec.Flag()
		fs.VarP(&optionValue{text: p, kind: spec.Arg}, name, short, help)
		if spec.Arg == "bool" {
			fs.Lookup(name).NoOptDefVal = "true"
		}
		// What an option's value completes to comes from its spec when
		// the completions are written (optionCompletion), not at every run.
	}
	completeAs(fs, "root", completeDirs)
	completeAs(fs, "settings", completeFiles)
	fs.Usage = func() {}
	return sf
}

// completeArg is what the value of an option completes to in the shell, by
// the kind of value its spec names.
var completeArg = map[string]string{
	"cmdline":      completeCommands,
	"dir":          completeDirs,
	"user[:group]": completeUsers,
	"group":        completeGroups,
	"signal":       completeSignals,
}

// What a flag's value completes to in the shell completions, kept as the
// flag's annotation completeKey: the kind, then the values of
// completeValues and completeList.
const (
	completeKey      = "niod-complete"
	completeValues   = completion.Values // one of the values
	completeList     = completion.List   // some of the values, comma-separated
	completeFiles    = completion.Files
	completeDirs     = completion.Dirs
	completeUsers    = completion.Users
	completeGroups   = completion.Groups
	completeHosts    = completion.Hosts
	completeCommands = completion.Commands // a program on PATH
	completeSignals  = "signals"           // a signal name (values: config.SignalNames)
)

// optionCompletion is what the value of the option whose flag is name
// completes to: its choices, else what its kind of value is.
func optionCompletion(name string) (kind string, values []string, ok bool) {
	for _, spec := range config.OptionSpecs() {
		if spec.Flag() != name {
			continue
		}
		if choices := config.OptionChoices(spec.Key); choices != nil {
			return completeValues, choices, true
		}
		kind, ok := completeArg[spec.Arg]
		return kind, nil, ok
	}
	return "", nil, false
}

// completeAs says what the value of the flag name of fs completes to.
func completeAs(fs *pflag.FlagSet, name, kind string, values ...string) {
	if err := fs.SetAnnotation(name, completeKey, append([]string{kind}, values...)); err != nil {
		panic("niod: " + err.Error()) // a flag that is not there: a programming error
	}
}

// flagSetOf returns the flag set command name parses, built by the same
// constructor its run uses, so that --help, the man page and the shell
// completions all show the same flags.
func flagSetOf(name string) *pflag.FlagSet {
	inv := &invocation{stdout: io.Discard, stderr: io.Discard}
	c := commandNamed(name)
	switch name {
	case "run", "check":
		return newFlagSet(c, inv).fs
	case "config":
		sf, _ := newConfigFlags(c, inv)
		return sf.fs
	case "cert":
		return newCertFlags(inv).fs
	case "doctor":
		return newDoctorFlags(inv).fs
	case "status", "restart", "reload", "stop", "start", "signal", "wait":
		return newControlFlags(c, inv).fs
	case "version":
		fs, _ := newVersionFlags(inv)
		return fs
	case "completion":
		return newCompletionFlags(inv)
	}
	panic("niod: no flag set for command " + name)
}

// commandHelp is the --help text of command c with flag set fs.
func commandHelp(c command, fs *pflag.FlagSet) string {
	text := fmt.Sprintf("Usage: niod %s\n\n%s.\n", c.usage, upperFirst(c.summary))
	if fs.HasFlags() {
		text += "\nFlags:\n" + fs.FlagUsages()
	}
	return text
}

// parseFlags parses args into fs for command c: --help prints c's help
// and more after it, a bad flag is a usage error; with noArgs an argument
// is one too. done says the command must end now with code.
func parseFlags(c command, inv *invocation, fs *pflag.FlagSet, args []string, noArgs bool, more string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(inv.stdout, commandHelp(c, fs)+more)
			return exitcode.OK, true
		}
		fmt.Fprintf(inv.stderr, "niod %s: %v (see niod %s --help)\n", c.name, err, c.name)
		return exitcode.Usage, true
	}
	if noArgs && fs.NArg() > 0 {
		fmt.Fprintf(inv.stderr, "niod %s: unexpected argument %q (see niod %s --help)\n", c.name, fs.Arg(0), c.name)
		return exitcode.Usage, true
	}
	return 0, false
}

// parse parses args; it returns an exit code and done when the command must
// end now (help shown or a usage error).
func (sf *settingsFlags) parse(c command, inv *invocation, args []string) (code int, done bool) {
	return sf.parseArgs(c, inv, args, false)
}

func (sf *settingsFlags) parseArgs(c command, inv *invocation, args []string, noArgs bool) (code int, done bool) {
	if code, done := parseFlags(c, inv, sf.fs, args, noArgs, ""); done {
		return code, true
	}
	if ps := config.DefaultOptions().Apply(sf.flagSources()); len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintf(inv.stderr, "niod %s: %s\n", c.name, p.Error())
		}
		return exitcode.Usage, true
	}
	return 0, false
}

// parseNoArgs is parse for a command that takes no arguments.
func (sf *settingsFlags) parseNoArgs(c command, inv *invocation, args []string) (code int, done bool) {
	return sf.parseArgs(c, inv, args, true)
}

// flagSources returns the options given on the command line.
func (sf *settingsFlags) flagSources() []config.OptionSource {
	var out []config.OptionSource
	for _, spec := range config.OptionSpecs() {
		f := sf.fs.Lookup(spec.Flag())
		if f.Changed {
			out = append(out, config.OptionSource{Key: spec.Key, Text: *sf.options[spec.Key], Origin: config.Origin{File: "--" + f.Name}})
		}
	}
	return out
}

// request builds the settings request from the flags and NIOD_ROOT and
// NIOD_SETTINGS.
func (sf *settingsFlags) request(inv *invocation) config.Request {
	// As root, niod takes none of its own options from a file another
	// user could have written: the runtime's user must not be able to
	// decide what niod does as root.
	req := settingsRequest(inv, projectRoot(sf.root, inv.environ), sf.settings)
	req.Flags, req.Strict = sf.flagSources(), os.Geteuid() == 0
	return req
}

// settingsRequest reads the project at root with the -s files given, else
// those of NIOD_SETTINGS; NIOD_ROOT and NIOD_SETTINGS are niod's own, not
// options.
func settingsRequest(inv *invocation, root string, files []string) config.Request {
	return config.Request{Root: root, Files: settingsFiles(files, inv.environ), Environ: inv.environ,
		EnvSkip: map[string]bool{"NIOD_ROOT": true, "NIOD_SETTINGS": true}}
}

// settingsFiles are the -s files given, else those of NIOD_SETTINGS
// (comma-separated); none means nio.conf.
func settingsFiles(flag []string, environ []string) []string {
	if len(flag) > 0 {
		return flag
	}
	var out []string
	for _, kv := range environ {
		if value, ok := strings.CutPrefix(kv, "NIOD_SETTINGS="); ok {
			for _, f := range strings.Split(value, ",") {
				if f = strings.TrimSpace(f); f != "" {
					out = append(out, f)
				}
			}
			return out // the first one
		}
	}
	return nil
}

// projectRoot is the project root a command is given: the -r flag, else
// the first NIOD_ROOT of environ that is not empty; "" for neither.
func projectRoot(flag string, environ []string) string {
	if flag != "" {
		return flag
	}
	for _, kv := range environ {
		if value, ok := strings.CutPrefix(kv, "NIOD_ROOT="); ok && value != "" {
			return value
		}
	}
	return ""
}

// load reads the settings and prints every problem, one per line; it
// returns nil and the exit code when there were any.
func load(inv *invocation, req config.Request) (*config.Loaded, int) {
	// Parsing allocates about six times the size of the files, and nearly
	// all of it lives until the settings are used: a collection in between
	// frees nothing.
	old := debug.SetGCPercent(800)
	defer debug.SetGCPercent(old)
	l, ps := config.Load(req)
	if len(ps) > 0 {
		printProblems(inv, ps)
		return nil, exitcode.Config
	}
	for _, w := range l.Warnings {
		fmt.Fprintln(inv.stderr, "warning: "+w.Error())
	}
	return l, exitcode.OK
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// optionValue holds a [niod] option's flag as text; config validates it.
type optionValue struct {
	text *string
	kind string
}

func (v *optionValue) String() string     { return *v.text }
func (v *optionValue) Set(s string) error { *v.text = s; return nil }
func (v *optionValue) Type() string       { return v.kind }
