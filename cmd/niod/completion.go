package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/shell"
)

// shells are the shells niod completion writes a script for.
var shells = []struct {
	name   string
	script func([]complCommand) string
}{
	{"bash", bashCompletion},
	{"zsh", zshCompletion},
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(inv.stdout, commandHelp(c, fs)+completionHelp)
			return exitcode.OK
		}
		fmt.Fprintf(inv.stderr, "niod completion: %v (see niod completion --help)\n", err)
		return exitcode.Usage
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

// A complCommand is what the completions know of one command.
type complCommand struct {
	name, summary string
	flags         []complFlag
	// args is what the command's arguments complete to: argsValues
	// (the first argument is one of values) or argsCommandLine (after
	// --, a program and its arguments); "" for nothing.
	args   string
	values []string
}

const (
	argsValues      = "values"
	argsCommandLine = "command line"
)

// A complFlag is one flag of a command.
type complFlag struct {
	long, short, help string
	takesValue        bool
	repeatable        bool
	// kind and values are what the value completes to (see completeAs).
	kind   string
	values []string
}

// completionCommands lists every command with its flags, read from the flag
// sets the commands parse, and help, which dispatch handles.
func completionCommands() []complCommand {
	var out []complCommand
	var names []string
	for _, c := range commands() {
		cc := complCommand{name: c.name, summary: c.summary, flags: complFlags(flagSetOf(c.name))}
		cc.flags = append(cc.flags, complFlag{long: "help", short: "h", help: "show the usage and flags of the command"})
		switch c.name {
		case "run", "check":
			cc.args = argsCommandLine
		case "signal":
			cc.args, cc.values = argsValues, config.SignalNames()
		case "completion":
			cc.args = argsValues
			for _, sh := range shells {
				cc.values = append(cc.values, sh.name)
			}
		}
		out = append(out, cc)
		names = append(names, c.name)
	}
	return append(out, complCommand{name: "help", summary: "show the usage of niod or of a command (--man: the man page)",
		flags: []complFlag{{long: "man", help: "print the man page niod(1) in roff"}},
		args:  argsValues, values: names})
}

func complFlags(fs *pflag.FlagSet) []complFlag {
	var out []complFlag
	fs.VisitAll(func(f *pflag.Flag) {
		cf := complFlag{long: f.Name, short: f.Shorthand, help: f.Usage, takesValue: f.NoOptDefVal == ""}
		switch f.Value.Type() {
		case "stringArray", "stringSlice":
			cf.repeatable = true
		}
		if a := f.Annotations[completeKey]; len(a) > 0 {
			cf.kind, cf.values = a[0], a[1:]
			if cf.kind == completeSignals {
				cf.kind, cf.values = completeValues, config.SignalNames()
			}
		}
		out = append(out, cf)
	})
	return out
}

// groupCommands joins the commands whose case body is the same, in the
// order they first come: "run | check" share one branch.
func groupCommands(cmds []complCommand, body func(complCommand) string) (names [][]string, bodies []string) {
	for _, c := range cmds {
		b := body(c)
		if b == "" {
			continue
		}
		if i := slices.Index(bodies, b); i >= 0 {
			names[i] = append(names[i], c.name)
			continue
		}
		names, bodies = append(names, []string{c.name}), append(bodies, b)
	}
	return names, bodies
}

func quoteWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shell.Quote(w)
	}
	return strings.Join(q, " ")
}

// bashCompletion is the bash script: the flags and arguments of each
// command as data, then the one function that reads a command line.
func bashCompletion(cmds []complCommand) string {
	var b strings.Builder
	b.WriteString(`# bash completion for niod(1), generated by "niod completion bash" from
# niod's own flag definitions. Load it with
#
#   source <(niod completion bash)
#
# or install it as /usr/share/bash-completion/completions/niod. It works
# with the bash-completion package and without it, and sourcing it again
# only defines the same functions again.

`)
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	fmt.Fprintf(&b, "# __niod_commands prints niod's commands.\n__niod_commands() {\n\techo %s\n}\n\n", quoteWords(names))

	b.WriteString("# __niod_flags COMMAND prints the flags of COMMAND, one a line; those that\n# take a value end in \"=\".\n__niod_flags() {\n\tcase $1 in\n")
	groups, bodies := groupCommands(cmds, func(c complCommand) string {
		var words []string
		for _, f := range c.flags {
			eq := ""
			if f.takesValue {
				eq = "="
			}
			if f.short != "" {
				words = append(words, "-"+f.short+eq)
			}
			words = append(words, "--"+f.long+eq)
		}
		return "\t\tprintf '%s\\n' " + quoteWords(words) + "\n"
	})
	writeBashCases(&b, groups, bodies)
	b.WriteString("\tesac\n}\n\n")

	b.WriteString("# __niod_value COMMAND FLAG completes the value of FLAG.\n__niod_value() {\n\tcase $1 in\n")
	groups, bodies = groupCommands(cmds, func(c complCommand) string {
		var lines []string
		var seen []string
		for _, f := range c.flags {
			action := bashAction(f.kind, f.values)
			if !f.takesValue || action == "" {
				continue
			}
			pattern := "--" + f.long
			if f.short != "" {
				pattern = "-" + f.short + " | " + pattern
			}
			// Flags that complete alike share a line.
			if i := slices.Index(seen, action); i >= 0 {
				lines[i] = strings.Replace(lines[i], ")", " | "+pattern+")", 1)
				continue
			}
			seen = append(seen, action)
			lines = append(lines, "\t\t"+pattern+") "+action+" ;;\n")
		}
		if len(lines) == 0 {
			return ""
		}
		return "\t\tcase $2 in\n" + strings.Join(lines, "") + "\t\tesac\n"
	})
	writeBashCases(&b, groups, bodies)
	b.WriteString("\tesac\n}\n\n")

	b.WriteString(`# __niod_args COMMAND N D completes the Nth argument of COMMAND, or with D
# set, the Dth word after "--".
__niod_args() {
	case $1 in
`)
	groups, bodies = groupCommands(cmds, func(c complCommand) string {
		switch c.args {
		case argsValues:
			return "\t\t(( $2 == 1 && $3 == 0 )) && __niod_words " + quoteWords(c.values) + "\n"
		case argsCommandLine:
			return "\t\tif (( $3 == 1 )); then __niod_compgen -c; elif (( $3 > 1 )); then __niod_files; fi\n"
		}
		return ""
	})
	writeBashCases(&b, groups, bodies)
	b.WriteString("\tesac\n\treturn 0\n}\n")
	b.WriteString(bashEngine)
	return b.String()
}

func writeBashCases(b *strings.Builder, groups [][]string, bodies []string) {
	for i, g := range groups {
		fmt.Fprintf(b, "\t%s)\n%s\t\t;;\n", strings.Join(g, " | "), bodies[i])
	}
}

// bashAction is the call that completes a value of kind.
func bashAction(kind string, values []string) string {
	switch kind {
	case completeValues:
		return "__niod_words " + quoteWords(values)
	case completeList:
		return "__niod_list " + quoteWords(values)
	case completeFiles:
		return "__niod_files"
	case completeDirs:
		return "__niod_files -d"
	case completeUsers:
		return "__niod_compgen -u"
	case completeGroups:
		return "__niod_compgen -g"
	case completeHosts:
		return "__niod_compgen -A hostname"
	case completeCommands:
		return "__niod_compgen -c"
	}
	return ""
}

// bashEngine reads the command line; the functions above say what each
// command takes.
const bashEngine = `
# The helpers complete $cur, a local of _niod, into COMPREPLY, each reply
# starting with $prefix.

# __niod_compgen OPTION... completes with compgen OPTION... (-u: users).
__niod_compgen() {
	local IFS=$'\n'
	COMPREPLY=($(compgen -P "$prefix" "$@" -- "$cur"))
}

# __niod_words WORD... completes one of the words.
__niod_words() {
	local IFS=$'\n'
	__niod_compgen -W "$*"
}

# __niod_list WORD... completes the last of words separated by commas.
__niod_list() {
	local prefix=$prefix${cur%"${cur##*,}"} cur=${cur##*,}
	__niod_words "$@"
}

# __niod_files [-d] completes file names (-d: directories only), with
# bash-completion's _filedir when it is loaded.
__niod_files() {
	if [[ -z $prefix ]] && declare -F _filedir >/dev/null; then
		_filedir "$@"
		return
	fi
	compopt -o filenames 2>/dev/null
	if [[ $1 == -d ]]; then
		__niod_compgen -d
	else
		__niod_compgen -f
	fi
}

# _niod completes a niod command line: a first word that is not a command
# means run, as niod itself reads it.
_niod() {
	local cur=${COMP_WORDS[COMP_CWORD]} prefix= cmd=run flag= word i=1 arg=1 dash=0
	COMPREPLY=()
	if (( COMP_CWORD == 1 )) && [[ $cur != -* ]]; then
		__niod_words $(__niod_commands)
		return 0
	fi
	if [[ " $(__niod_commands) " == *" ${COMP_WORDS[1]} "* ]]; then
		cmd=${COMP_WORDS[1]}
		i=2
	fi
	# The words before the cursor: flags, their values, the arguments and
	# "--". With "=" in COMP_WORDBREAKS (the default), --flag=value comes
	# as three words: --flag, = and value.
	for (( ; i < COMP_CWORD; i++ )); do
		word=${COMP_WORDS[i]}
		if (( dash )); then
			(( dash++ ))
			continue
		fi
		case $word in
		--) dash=1 ;;
		=) (( i++ )) ;; # the value of a flag that takes none: --force=true
		-*=*) ;;
		-*)
			[[ $'\n'$(__niod_flags "$cmd")$'\n' == *$'\n'"$word="$'\n'* ]] || continue
			(( i++ ))
			if [[ ${COMP_WORDS[i]} == = ]]; then
				if (( i == COMP_CWORD )); then
					cur=
					flag=$word
					break
				fi
				(( i++ ))
			fi
			if (( i == COMP_CWORD )); then
				flag=$word
				break
			fi
			;;
		*) (( arg++ )) ;;
		esac
	done
	# --flag=value as one word, when "=" is not in COMP_WORDBREAKS.
	if [[ -z $flag && $dash == 0 && $cur == -*=* ]]; then
		flag=${cur%%=*}
		prefix=$flag=
		cur=${cur#*=}
	fi
	if [[ -n $flag ]]; then
		__niod_value "$cmd" "$flag"
	elif (( dash )); then
		__niod_args "$cmd" 0 "$dash"
	elif [[ $cur == -* ]]; then
		local flags
		flags=$(__niod_flags "$cmd")
		__niod_words ${flags//=/}
	else
		__niod_args "$cmd" "$arg" 0
	fi
	return 0
}

complete -F _niod niod
`

// zshCompletion is the zsh script: a function for each command, with
// _arguments specs from its flags.
func zshCompletion(cmds []complCommand) string {
	var b strings.Builder
	b.WriteString(`#compdef niod
# zsh completion for niod(1), generated by "niod completion zsh" from niod's
# own flag definitions. Install it as _niod in a directory of $fpath:
#
#   niod completion zsh > /usr/local/share/zsh/site-functions/_niod
#
# or load it after compinit: source <(niod completion zsh)

`)
	var bodies, owners []string
	for _, c := range cmds {
		var body strings.Builder
		for _, f := range c.flags {
			body.WriteString(" \\\n\t\t" + zshSpec(f))
		}
		switch c.args {
		case argsValues:
			body.WriteString(" \\\n\t\t" + zshQuote("1:"+c.name+" argument:("+quoteWords(c.values)+")"))
		case argsCommandLine:
			body.WriteString(" \\\n\t\t" + zshQuote("*::the runtime's command line:_normal"))
		}
		fmt.Fprintf(&b, "# niod %s: %s.\n", c.name, c.summary)
		// A command that takes what an earlier one takes says so.
		if i := slices.Index(bodies, body.String()); i >= 0 {
			fmt.Fprintf(&b, "_niod_%s() { _niod_%s \"$@\"; }\n\n", c.name, owners[i])
			continue
		}
		bodies, owners = append(bodies, body.String()), append(owners, c.name)
		fmt.Fprintf(&b, "_niod_%s() {\n\t_arguments -s -S :%s\n}\n\n", c.name, body.String())
	}
	b.WriteString("# _niod completes a niod command line: a first word that is not a command\n# means run, as niod itself reads it.\n_niod() {\n\tlocal -a commands\n\tcommands=(\n")
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
		b.WriteString("\t\t" + zshQuote(c.name+":"+strings.ReplaceAll(c.summary, ":", `\:`)) + "\n")
	}
	fmt.Fprintf(&b, `	)
	if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
		_describe -t commands 'niod command' commands
		return
	fi
	local cmd=run
	case $words[2] in
	(%s)
		cmd=$words[2]
		shift words
		(( CURRENT-- ))
		;;
	esac
	_niod_$cmd "$@"
}

if [[ $funcstack[1] == _niod ]]; then
	_niod "$@"
else
	compdef _niod niod
fi
`, strings.Join(names, "|"))
	return b.String()
}

// zshSpec is the _arguments spec of a flag.
func zshSpec(f complFlag) string {
	desc := "[" + strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`).Replace(f.help) + "]"
	arg := ""
	if f.takesValue {
		arg = ":" + f.long + ":" + zshAction(f.long, f.kind, f.values)
	}
	long, short := "--"+f.long, "-"+f.short
	if f.takesValue {
		long, short = long+"=", short+"+"
	}
	switch {
	case f.long == "help":
		return "'(- *)'{-h,--help}" + zshQuote(desc)
	case f.short == "" && f.repeatable:
		return zshQuote("*" + long + desc + arg)
	case f.short == "":
		return zshQuote(long + desc + arg)
	case f.repeatable:
		return "'*'{" + short + "," + long + "}" + zshQuote(desc+arg)
	}
	return zshQuote("(-"+f.short+" --"+f.long+")") + "{" + short + "," + long + "}" + zshQuote(desc+arg)
}

// zshAction is the _arguments action that completes a value of kind.
func zshAction(name, kind string, values []string) string {
	switch kind {
	case completeValues:
		return "(" + quoteWords(values) + ")"
	case completeList:
		return "_values -s , " + name + " " + quoteWords(values)
	case completeFiles:
		return "_files"
	case completeDirs:
		return "_files -/"
	case completeUsers:
		return "_users"
	case completeGroups:
		return "_groups"
	case completeHosts:
		return "_hosts"
	case completeCommands:
		return "_command_names -e"
	}
	return " " // a value that nothing completes: zsh shows its name
}

func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
