package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// NiodSection is the section holding niod's own options; it is not passed
// on to the runtime.
const NiodSection = "niod"

// EnvPrefix starts the name of every environment variable niod reads as an
// option (NIOD_LOG_LEVEL for log_level).
const EnvPrefix = "NIOD_"

// Options are niod's own settings, from the [niod] section, NIOD_*
// variables and flags, validated and typed.
type Options struct {
	// Command is the runtime's command line, split like a shell would.
	Command []string
	// PreStart are the commands run, in order, before each start of the
	// runtime (only the first with PreStartOnce), each split like Command;
	// PreStartTimeout bounds each.
	PreStart        [][]string
	PreStartOnce    bool
	PreStartTimeout time.Duration
	// Venv is the virtual environment to run the runtime in; empty means
	// auto-detect.
	Venv string
	// Handoff is how the runtime gets its settings: "memfd" or "file".
	Handoff string
	// User and Group name the account to drop to (names or numbers).
	User, Group string
	// AllowRoot lets niod keep running as root without a user to become.
	AllowRoot bool
	// AllowUndefined keeps an undefined [[ NAME ]] as text, as the original
	// did, instead of refusing the settings.
	AllowUndefined bool
	// LogFormat is auto, console, json or journal; LogLevel debug, info,
	// warn or error.
	LogFormat, LogLevel string
	// Restart is on-failure, always or never.
	Restart string
	// RestartDelay is the first back-off after the immediate restart;
	// RestartMaxDelay caps it; RestartResetAfter is the uptime after which
	// the failure count starts over.
	RestartDelay, RestartMaxDelay, RestartResetAfter time.Duration
	// RestartLimit failures within RestartLimitWindow end niod with 69;
	// 0 means no limit.
	RestartLimit       int
	RestartLimitWindow time.Duration
	// StopTimeout is how long the runtime's tree has to end after
	// StopSignal before it is killed.
	StopTimeout time.Duration
	StopSignal  syscall.Signal
	// StopExitCode is niod's exit code after a stop it was asked for
	// (TERM, INT); -1 means 128+N, as a shell reports a death by signal N.
	StopExitCode int
	// Ready says when the runtime counts as ready: auto, exec, notify or
	// probe.
	Ready string
	// HealthURL is the probe's URL: "" derives it from [rest], "none" turns
	// the probe off.
	HealthURL                                  string
	HealthInterval, HealthTimeout, HealthGrace time.Duration
	// RequireTLS makes a runtime API without TLS an error.
	RequireTLS bool
	// ControlSocket is auto (niod opens its control socket) or none.
	ControlSocket string
	// ControlGroup names a group whose members may use the control
	// socket besides root and niod's own user.
	ControlGroup string

	// Origins says where each option that is not at its default was set:
	// FILE:LINE, NIOD_NAME or --flag.
	Origins map[string]Origin

	secret map[string]bool // options set from a secret value
}

// IsSecret reports whether the option key was set from a secret settings
// value: one that refers to a secret (command = tool --password
// [[DB_PASSWORD]]). Show it as Redacted; the secret fragments are in
// Settings.SecretValues for the log's scrubber.
func (o *Options) IsSecret(key string) bool { return o.secret[key] }

// An OptionSpec describes one option: its key in [niod], its flag
// (the key with dashes) and its NIOD_ variable (the key in capitals).
type OptionSpec struct {
	Key     string
	Default string
	Help    string
	// Arg names the kind of value in --help: bool options take no
	// argument on the command line.
	Arg string
	set func(o *Options, text string) error
}

// Flag returns the option's long flag name.
func (s OptionSpec) Flag() string { return strings.ReplaceAll(s.Key, "_", "-") }

// Env returns the option's environment variable name.
func (s OptionSpec) Env() string { return EnvPrefix + strings.ToUpper(s.Key) }

// OptionSpecs lists every option in the order --help shows them.
func OptionSpecs() []OptionSpec { return optionSpecs }

var optionSpecs = []OptionSpec{
	{Key: "command", Arg: "cmdline", Help: "the runtime's command line (split like a shell would)", set: func(o *Options, t string) error {
		args, err := SplitCommand(t)
		if err == nil {
			o.Command = args
		}
		return err
	}},
	{Key: "pre_start", Arg: "cmdlines", Help: "commands to run before each start of the runtime, one a line (each split like command)", set: func(o *Options, t string) error {
		steps, err := SplitCommands(t)
		if err == nil {
			o.PreStart = steps
		}
		return err
	}},
	{Key: "pre_start_once", Default: "false", Arg: "bool", Help: "run pre_start only before the first start, not before restarts", set: setBool(func(o *Options) *bool { return &o.PreStartOnce })},
	{Key: "pre_start_timeout", Arg: "duration", Default: "5min", Help: "time each pre_start command may take", set: setDuration(func(o *Options) *time.Duration { return &o.PreStartTimeout })},
	{Key: "venv", Arg: "dir", Help: "virtual environment of the runtime (default: venv, .venv or env under the root)", set: setString(func(o *Options) *string { return &o.Venv })},
	{Key: "handoff", Arg: "kind", Default: "memfd", Help: "how the runtime gets its settings: memfd or file", set: setChoice(func(o *Options) *string { return &o.Handoff }, optionChoices["handoff"]...)},
	{Key: "user", Arg: "user[:group]", Help: "user to run as, USER[:GROUP], names or numbers", set: func(o *Options, t string) error {
		o.User = t
		if u, g, ok := strings.Cut(t, ":"); ok {
			o.User, o.Group = u, g
		}
		return nil
	}},
	{Key: "group", Arg: "group", Help: "group to run as (default: the user's)", set: setString(func(o *Options) *string { return &o.Group })},
	{Key: "allow_root", Default: "false", Arg: "bool", Help: "keep running as root when no user is given (not recommended)", set: setBool(func(o *Options) *bool { return &o.AllowRoot })},
	{Key: "allow_undefined", Default: "false", Arg: "bool", Help: "keep an undefined [[ NAME ]] as text instead of failing", set: setBool(func(o *Options) *bool { return &o.AllowUndefined })},
	{Key: "log_format", Arg: "format", Default: "auto", Help: "auto, console, json or journal", set: setChoice(func(o *Options) *string { return &o.LogFormat }, optionChoices["log_format"]...)},
	{Key: "log_level", Arg: "level", Default: "info", Help: "debug, info, warn or error", set: setChoice(func(o *Options) *string { return &o.LogLevel }, optionChoices["log_level"]...)},
	{Key: "restart", Arg: "policy", Default: "on-failure", Help: "restart the runtime: on-failure, always or never", set: setChoice(func(o *Options) *string { return &o.Restart }, optionChoices["restart"]...)},
	{Key: "restart_delay", Arg: "duration", Default: "100ms", Help: "first back-off delay after the immediate restart", set: setDuration(func(o *Options) *time.Duration { return &o.RestartDelay })},
	{Key: "restart_max_delay", Arg: "duration", Default: "30s", Help: "longest back-off delay", set: setDuration(func(o *Options) *time.Duration { return &o.RestartMaxDelay })},
	{Key: "restart_reset_after", Arg: "duration", Default: "60s", Help: "uptime after which failures are forgotten", set: setDuration(func(o *Options) *time.Duration { return &o.RestartResetAfter })},
	{Key: "restart_limit", Arg: "n", Default: "5", Help: "failures within restart_limit_window that end niod with 69 (0: no limit)", set: func(o *Options, t string) error {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return fmt.Errorf("must be a whole number, 0 or more")
		}
		o.RestartLimit = n
		return nil
	}},
	{Key: "restart_limit_window", Arg: "duration", Default: "60s", Help: "window of restart_limit", set: setDuration(func(o *Options) *time.Duration { return &o.RestartLimitWindow })},
	{Key: "stop_timeout", Arg: "duration", Default: "8s", Help: "time the runtime has to stop before it is killed", set: setDuration(func(o *Options) *time.Duration { return &o.StopTimeout })},
	{Key: "stop_signal", Arg: "signal", Default: "TERM", Help: "signal that asks the runtime to stop", set: func(o *Options, t string) error {
		sig, ok := ParseSignal(t)
		if !ok {
			return fmt.Errorf("must be a signal name such as TERM, INT, QUIT or HUP")
		}
		o.StopSignal = sig
		return nil
	}},
	{Key: "stop_exit_code", Arg: "code", Help: "exit code after a requested stop, such as 0 for docker stop (default: 128+N for signal N)", set: func(o *Options, t string) error {
		o.StopExitCode = -1
		if t == "" {
			return nil
		}
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > 255 {
			return fmt.Errorf("must be an exit code from 0 to 255 (or empty for 128+N)")
		}
		o.StopExitCode = n
		return nil
	}},
	{Key: "ready", Arg: "when", Default: "auto", Help: "when the runtime is ready: auto, exec, notify or probe", set: setChoice(func(o *Options) *string { return &o.Ready }, optionChoices["ready"]...)},
	{Key: "health_url", Arg: "url", Help: "health probe URL (default: /nio on [rest] host and port; none: off)", set: setString(func(o *Options) *string { return &o.HealthURL })},
	{Key: "health_interval", Arg: "duration", Default: "5s", Help: "time between health probes", set: setDuration(func(o *Options) *time.Duration { return &o.HealthInterval })},
	{Key: "health_timeout", Arg: "duration", Default: "3s", Help: "time a health probe may take", set: setDuration(func(o *Options) *time.Duration { return &o.HealthTimeout })},
	{Key: "health_grace", Arg: "duration", Default: "30s", Help: "time the runtime may stay unhealthy before it is restarted", set: setDuration(func(o *Options) *time.Duration { return &o.HealthGrace })},
	{Key: "require_tls", Default: "false", Arg: "bool", Help: "refuse a runtime API without TLS", set: setBool(func(o *Options) *bool { return &o.RequireTLS })},
	{Key: "control_socket", Arg: "kind", Default: "auto", Help: "auto: a socket for niod status, restart, ...; none: no socket", set: setChoice(func(o *Options) *string { return &o.ControlSocket }, optionChoices["control_socket"]...)},
	{Key: "control_group", Arg: "group", Help: "group whose members may use niod status, restart, ... besides root and niod's user", set: setString(func(o *Options) *string { return &o.ControlGroup })},
}

// optionChoices are the values of the options that take one of a fixed
// set, in the order messages list them.
var optionChoices = map[string][]string{
	"handoff":        {"memfd", "file"},
	"log_format":     {"auto", "console", "json", "journal"},
	"log_level":      {"debug", "info", "warn", "error"},
	"restart":        {"on-failure", "always", "never"},
	"ready":          {"auto", "exec", "notify", "probe"},
	"control_socket": {"auto", "none"},
}

// OptionChoices returns the values option key accepts when they are a
// fixed set (log_format: auto, console, json, journal), else nil: the
// shell completions offer them.
func OptionChoices(key string) []string { return slices.Clone(optionChoices[key]) }

func setString(field func(*Options) *string) func(*Options, string) error {
	return func(o *Options, t string) error {
		*field(o) = t
		return nil
	}
}

func setChoice(field func(*Options) *string, choices ...string) func(*Options, string) error {
	return func(o *Options, t string) error {
		for _, c := range choices {
			if t == c {
				*field(o) = t
				return nil
			}
		}
		return fmt.Errorf("must be %s", orList(choices))
	}
}

func setBool(field func(*Options) *bool) func(*Options, string) error {
	return func(o *Options, t string) error {
		b, ok := ParseBool(t)
		if !ok {
			return fmt.Errorf("must be true or false (or yes/no, on/off, 1/0)")
		}
		*field(o) = b
		return nil
	}
}

func setDuration(field func(*Options) *time.Duration) func(*Options, string) error {
	return func(o *Options, t string) error {
		d, err := ParseDuration(t)
		if err != nil {
			return err
		}
		*field(o) = d
		return nil
	}
}

// orList joins choices as "a, b or c".
func orList(choices []string) string {
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// DefaultOptions returns the built-in defaults.
func DefaultOptions() *Options {
	o := &Options{Origins: map[string]Origin{}}
	for _, s := range optionSpecs {
		if err := s.set(o, s.Default); err != nil {
			panic("niod: bad default for " + s.Key) // a programming error, caught by the tests
		}
	}
	return o
}

// An OptionSource is one layer of options: the [niod] section, the NIOD_*
// variables or the flags.
type OptionSource struct {
	Key    string
	Text   string
	Origin Origin
	// Secret marks a value that holds a secret: messages do not show it.
	Secret bool
}

// Apply sets the options from one layer; later calls win. An unknown key or
// a bad value is a problem naming where it was set, and a typo gets the
// closest known name suggested.
func (o *Options) Apply(sources []OptionSource) Problems {
	var ps Problems
	for _, src := range sources {
		spec, ok := findSpec(src.Key)
		if !ok {
			ps = append(ps, sourceProblem(src, describeKey(src)+" is not a known option"+suggest(src)))
			continue
		}
		if err := spec.set(o, src.Text); err != nil {
			ps = append(ps, sourceProblem(src, describeSetting(src)+": "+err.Error()))
			continue
		}
		o.Origins[spec.Key] = src.Origin
		if src.Secret {
			if o.secret == nil {
				o.secret = map[string]bool{}
			}
			o.secret[spec.Key] = true
		} else {
			delete(o.secret, spec.Key)
		}
	}
	return ps
}

// sourceProblem places msg at a file line, or alone when the source is a
// variable or flag that msg already names.
func sourceProblem(src OptionSource, msg string) Problem {
	if src.Origin.Line > 0 {
		return Problem{Origin: src.Origin, Msg: msg}
	}
	return Problem{Msg: msg}
}

// describeSetting shows a key and its value the way the user wrote them:
// "[niod] restart = sometimes", "NIOD_RESTART=sometimes", "--restart=sometimes".
func describeSetting(src OptionSource) string {
	text := quoteValue(src.Text)
	if src.Secret {
		text = Redacted
	}
	if src.Origin.Line > 0 {
		return describeKey(src) + " = " + text
	}
	return describeKey(src) + "=" + text
}

func findSpec(key string) (OptionSpec, bool) {
	for _, s := range optionSpecs {
		if s.Key == key {
			return s, true
		}
	}
	return OptionSpec{}, false
}

// describeKey names a source's key the way its user wrote it.
func describeKey(src OptionSource) string {
	switch {
	case strings.HasPrefix(src.Origin.File, "--"):
		return src.Origin.File
	case strings.HasPrefix(src.Origin.File, EnvPrefix):
		return src.Origin.File
	}
	return "[" + NiodSection + "] " + src.Key
}

// quoteValue shows a value in a message: short and on one line. A secret
// one is not shown at all (see describeSetting).
func quoteValue(t string) string {
	if len(t) > 60 || strings.ContainsAny(t, "\n\r") {
		return strconv.Quote(truncate(t, 60))
	}
	return t
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// suggest returns " (did you mean X?)" for the known key closest to a typo.
func suggest(src OptionSource) string {
	best, bestDist := "", 4
	for _, s := range optionSpecs {
		if d := levenshtein(src.Key, s.Key); d < bestDist {
			best, bestDist = s.Key, d
		}
	}
	if best == "" {
		var keys []string
		for _, s := range optionSpecs {
			keys = append(keys, s.Key)
		}
		sort.Strings(keys)
		return " (known: " + strings.Join(keys, ", ") + ")"
	}
	spec, _ := findSpec(best)
	switch {
	case strings.HasPrefix(src.Origin.File, "--"):
		return " (did you mean --" + spec.Flag() + "?)"
	case strings.HasPrefix(src.Origin.File, EnvPrefix):
		return " (did you mean " + spec.Env() + "?)"
	}
	return " (did you mean " + best + "?)"
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// SectionSources returns the [niod] section's own keys as option sources.
// Keys of [DEFAULT] are not niod's options: they are defaults for the
// runtime's sections.
func SectionSources(s *Settings) []OptionSource {
	sec := s.Section(NiodSection)
	if sec == nil {
		return nil
	}
	var out []OptionSource
	for _, v := range sec.Values() {
		out = append(out, OptionSource{Key: v.Key, Text: v.Text, Origin: v.Origin, Secret: v.Secret})
	}
	return out
}

// EnvSources returns the NIOD_* variables of environ (KEY=VALUE strings) as
// option sources, skipping the names in skip (variables that are not
// [niod] options, such as NIOD_SETTINGS).
func EnvSources(environ []string, skip map[string]bool) []OptionSource {
	var out []OptionSource
	for _, kv := range environ {
		name, text, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || skip[name] {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
		out = append(out, OptionSource{Key: key, Text: text, Origin: Origin{File: name}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ParseBool reads a boolean as configparser's getboolean does.
func ParseBool(t string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "1", "yes", "true", "on":
		return true, true
	case "0", "no", "false", "off":
		return false, true
	}
	return false, false
}

var durationUnits = map[string]time.Duration{
	"us": time.Microsecond, "usec": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "msec": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// maxSeconds bounds durations far below time.Duration's range: about 31
// years is longer than any timeout means.
const maxSeconds = 1e9

// ParseDuration reads a duration as systemd and Go write them: a bare
// number is seconds; otherwise numbers with units (us, ms, s, min or m, h,
// d), possibly several as in "1min 30s" or "1h30m".
func ParseDuration(t string) (time.Duration, error) {
	bad := fmt.Errorf("must be a duration such as 500ms, 2s, 1min or a number of seconds")
	s := strings.TrimSpace(t)
	if s == "" {
		return 0, bad
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if !(f >= 0 && f <= maxSeconds) { // NaN fails too
			return 0, bad
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		num := s[:i]
		s = strings.TrimLeft(s[i:], " ")
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != ' ' && s[j] != '.' {
			j++
		}
		unit := s[:j]
		s = strings.TrimLeft(s[j:], " ")
		f, err := strconv.ParseFloat(num, 64)
		scale, known := durationUnits[unit]
		if num == "" || err != nil || !known || !(f >= 0) {
			return 0, bad
		}
		total += time.Duration(math.Round(min(f*float64(scale), 2*maxSeconds*float64(time.Second))))
		if total > maxSeconds*time.Second {
			return 0, bad
		}
	}
	return total, nil
}

// ParseSignal reads a signal name (TERM or SIGTERM, any case) or number.
func ParseSignal(t string) (syscall.Signal, bool) {
	s := strings.ToUpper(strings.TrimSpace(t))
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), true
	}
	sig := unix.SignalNum("SIG" + strings.TrimPrefix(s, "SIG"))
	return sig, sig != 0
}

// SplitCommands splits a value of one command a line (continuation lines
// of a settings file, or lines of a flag's value) with SplitCommand; empty
// lines are skipped. An error names the line.
func SplitCommands(text string) ([][]string, error) {
	var out [][]string
	for i, line := range strings.Split(text, "\n") {
		args, err := SplitCommand(line)
		if err != nil {
			return nil, fmt.Errorf("line %d of the value: %v", i+1, err)
		}
		if len(args) > 0 {
			out = append(out, args)
		}
	}
	return out, nil
}

// SignalNames returns the names ParseSignal takes, without SIG, in the
// order of their numbers (HUP, INT, QUIT, ...).
func SignalNames() []string {
	var out []string
	for n := 1; n < 32; n++ {
		if name := unix.SignalName(syscall.Signal(n)); name != "" {
			out = append(out, strings.TrimPrefix(name, "SIG"))
		}
	}
	return out
}

// SplitCommand splits a command line like a POSIX shell would, without
// running one: whitespace separates words, single quotes keep everything,
// double quotes keep everything but \" \\ \$ \`, a backslash outside quotes
// escapes the next character.
func SplitCommand(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	const (
		plain = iota
		single
		double
	)
	state := plain
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch state {
		case single:
			if c == '\'' {
				state = plain
			} else {
				cur.WriteByte(c)
			}
		case double:
			switch {
			case c == '"':
				state = plain
			case c == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`\n", line[i+1]) >= 0:
				i++
				if line[i] != '\n' {
					cur.WriteByte(line[i])
				}
			default:
				cur.WriteByte(c)
			}
		default:
			switch {
			case c == ' ' || c == '\t' || c == '\n':
				if inWord {
					args = append(args, cur.String())
					cur.Reset()
					inWord = false
				}
			case c == '\'':
				state, inWord = single, true
			case c == '"':
				state, inWord = double, true
			case c == '\\':
				if i+1 >= len(line) {
					return nil, fmt.Errorf("ends with a lone backslash")
				}
				i++
				if line[i] != '\n' {
					cur.WriteByte(line[i])
					inWord = true
				}
			default:
				cur.WriteByte(c)
				inWord = true
			}
		}
	}
	if state != plain {
		return nil, fmt.Errorf("has a quote that is never closed")
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

// Equal reports whether o and p set the same options, wherever they were
// set.
func (o *Options) Equal(p *Options) bool {
	a, b := *o, *p
	a.Origins, b.Origins = nil, nil
	a.secret, b.secret = nil, nil
	return reflect.DeepEqual(a, b)
}
