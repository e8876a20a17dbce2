package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"niod/internal/completion"
	"niod/internal/config"
	"niod/internal/exitcode"
)

// shells are the shells niod completion writes a script for.
var shells = []struct {
	name   string
	script func([]completion.Command) string
}{
	{"bash", completion.Bash},
	{"zsh", completion.Zsh},
}

const completionHelp = `
Load it in the running shell:

  source <(niod completion bash)
  source <(niod completion zsh)      (after compinit)

or install it where the shell looks (make install does):

  niod completion bash > /usr/share/bash-completion/completions/niod
  niod completion zsh > /usr/local/share/zsh/site-functions/_niod
`

func newCompletionFlags(inv *invocation) *pflag.FlagSet {
	fs := pflag.NewFlagSet("niod completion", pflag.ContinueOnError)
	fs.SetOutput(inv.stderr)
	fs.Usage = func() {}
	return fs
}

// completionCmd prints the completion script of a shell.
func completionCmd(inv *invocation, args []string) int {
	c := commandNamed("completion")
	fs := newCompletionFlags(inv)
	if code, done := parseFlags(c, inv, fs, args, false, completionHelp); done {
		return code
	}
	names := make([]string, len(shells))
	for i, sh := range shells {
		names[i] = sh.name
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(inv.stderr, "niod completion: name one shell: %s (see niod completion --help)\n", strings.Join(names, " or "))
		return exitcode.Usage
	}
	for _, sh := range shells {
		if sh.name == fs.Arg(0) {
			fmt.Fprint(inv.stdout, sh.script(completionCommands()))
			return exitcode.OK
		}
	}
	fmt.Fprintf(inv.stderr, "niod completion: no completion for %q: give %s\n", fs.Arg(0), strings.Join(names, " or "))
	return exitcode.Usage
}

// completionCommands lists every command with its flags, read from the flag
// sets the commands parse, and help, which dispatch handles.
func completionCommands() []completion.Command {
	var out []completion.Command
	var names []string
	for _, c := range commands() {
		cc := completion.Command{Name: c.name, Summary: c.summary, Flags: complFlags(flagSetOf(c.name))}
		cc.Flags = append(cc.Flags, completion.Flag{Long: "help", Short: "h", Help: "show the usage and flags of the command"})
		switch c.name {
		case "run", "check":
			cc.Args = completion.ArgsCommandLine
		case "signal":
			cc.Args, cc.Values = completion.ArgsValues, config.SignalNames()
		case "completion":
			cc.Args = completion.ArgsValues
			for _, sh := range shells {
				cc.Values = append(cc.Values, sh.name)
			}
		}
		out = append(out, cc)
		names = append(names, c.name)
	}
	return append(out, completion.Command{Name: "help", Summary: "show the usage of niod or of a command (--man: the man page)",
		Flags: []completion.Flag{{Long: "man", Help: "print the man page niod(1) in roff"}},
		Args:  completion.ArgsValues, Values: names})
}

// complFlags describes the flags of fs for the completions.
func complFlags(fs *pflag.FlagSet) []completion.Flag {
	var out []completion.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		cf := completion.Flag{Long: f.Name, Short: f.Shorthand, Help: f.Usage, TakesValue: f.NoOptDefVal == ""}
		switch f.Value.Type() {
		case "stringArray", "stringSlice":
			cf.Repeatable = true
		}
		if a := f.Annotations[completeKey]; len(a) > 0 {
			cf.Kind, cf.Values = a[0], a[1:]
		} else if kind, values, ok := optionCompletion(f.Name); ok {
			cf.Kind, cf.Values = kind, values
		}
		if cf.Kind == completeSignals {
			cf.Kind, cf.Values = completion.Values, config.SignalNames()
		}
		out = append(out, cf)
	})
	return out
}
