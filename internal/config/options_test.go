package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	want := &Options{
		Handoff:            "memfd",
		PreStartTimeout:    5 * time.Minute,
		LogFormat:          "auto",
		LogLevel:           "info",
		Restart:            "on-failure",
		RestartDelay:       100 * time.Millisecond,
		RestartMaxDelay:    30 * time.Second,
		RestartResetAfter:  60 * time.Second,
		RestartLimit:       5,
		RestartLimitWindow: 60 * time.Second,
		StopTimeout:        8 * time.Second,
		StopSignal:         syscall.SIGTERM,
		StopExitCode:       -1,
		Ready:              "auto",
		HealthInterval:     5 * time.Second,
		HealthTimeout:      3 * time.Second,
		HealthGrace:        30 * time.Second,
		ControlSocket:      "auto",
		Origins:            map[string]Origin{},
	}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("DefaultOptions() =\n%+v\nwant\n%+v", o, want)
	}
	if ps := o.check(); len(ps) > 0 {
		t.Fatalf("defaults fail their own checks: %v", ps)
	}
}

func TestOptionSpecNames(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range OptionSpecs() {
		if seen[s.Key] {
			t.Errorf("option %s listed twice", s.Key)
		}
		seen[s.Key] = true
		if s.Help == "" || s.Arg == "" {
			t.Errorf("option %s lacks help or an argument name", s.Key)
		}
	}
	spec, ok := findSpec("restart_max_delay")
	if !ok || spec.Flag() != "restart-max-delay" || spec.Env() != "NIOD_RESTART_MAX_DELAY" {
		t.Fatalf("restart_max_delay: flag %q, env %q", spec.Flag(), spec.Env())
	}
}

func TestApplyLaterWins(t *testing.T) {
	o := DefaultOptions()
	file := Origin{File: "nio.conf", Line: 3}
	apply := func(srcs []OptionSource) {
		t.Helper()
		if ps := o.Apply(srcs); len(ps) > 0 {
			t.Fatal(ps)
		}
	}
	apply([]OptionSource{
		{Key: "restart", Text: "always", Origin: file},
		{Key: "log_level", Text: "debug", Origin: Origin{File: "nio.conf", Line: 4}},
		{Key: "stop_timeout", Text: "20s", Origin: Origin{File: "nio.conf", Line: 5}},
		{Key: "user", Text: "nio:staff", Origin: Origin{File: "nio.conf", Line: 6}},
		{Key: "command", Text: `python -m "nio run" --flag='a b'`, Origin: Origin{File: "nio.conf", Line: 7}},
	})
	apply(EnvSources([]string{"NIOD_RESTART=never", "NIOD_LOG_LEVEL=warn", "PATH=/bin"}, nil))
	apply([]OptionSource{{Key: "log_level", Text: "error", Origin: Origin{File: "--log-level"}}})

	if o.Restart != "never" || o.LogLevel != "error" || o.StopTimeout != 20*time.Second {
		t.Errorf("restart %q, log_level %q, stop_timeout %v", o.Restart, o.LogLevel, o.StopTimeout)
	}
	if o.User != "nio" || o.Group != "staff" {
		t.Errorf("user %q, group %q", o.User, o.Group)
	}
	if want := []string{"python", "-m", "nio run", "--flag=a b"}; !reflect.DeepEqual(o.Command, want) {
		t.Errorf("command = %q, want %q", o.Command, want)
	}
	wantOrigins := map[string]Origin{
		"restart":      {File: "NIOD_RESTART"},
		"log_level":    {File: "--log-level"},
		"stop_timeout": {File: "nio.conf", Line: 5},
		"user":         {File: "nio.conf", Line: 6},
		"command":      {File: "nio.conf", Line: 7},
	}
	if !reflect.DeepEqual(o.Origins, wantOrigins) {
		t.Errorf("Origins = %v, want %v", o.Origins, wantOrigins)
	}
}

func TestApplyUnknownKey(t *testing.T) {
	tests := []struct {
		name string
		src  OptionSource
		want Problem
	}{
		{
			"section",
			OptionSource{Key: "restat", Text: "always", Origin: Origin{File: "nio.conf", Line: 7}},
			Problem{Origin: Origin{File: "nio.conf", Line: 7}, Msg: "[niod] restat is not a known option (did you mean restart?)"},
		},
		{
			"environment",
			OptionSource{Key: "restat", Text: "always", Origin: Origin{File: "NIOD_RESTAT"}},
			Problem{Msg: "NIOD_RESTAT is not a known option (did you mean NIOD_RESTART?)"},
		},
		{
			"flag",
			OptionSource{Key: "restat", Text: "always", Origin: Origin{File: "--restat"}},
			Problem{Msg: "--restat is not a known option (did you mean --restart?)"},
		},
		{
			"transposed letters",
			OptionSource{Key: "log_levle", Text: "x", Origin: Origin{File: "nio.conf", Line: 2}},
			Problem{Origin: Origin{File: "nio.conf", Line: 2}, Msg: "[niod] log_levle is not a known option (did you mean log_level?)"},
		},
		{
			"longer key",
			OptionSource{Key: "restart_max_dealy", Text: "x", Origin: Origin{File: "NIOD_RESTART_MAX_DEALY"}},
			Problem{Msg: "NIOD_RESTART_MAX_DEALY is not a known option (did you mean NIOD_RESTART_MAX_DELAY?)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			ps := o.Apply([]OptionSource{tt.src})
			if len(ps) != 1 || ps[0] != tt.want {
				t.Fatalf("problems = %#v\nwant %#v", ps, tt.want)
			}
			if len(o.Origins) != 0 {
				t.Errorf("Origins = %v after an unknown key", o.Origins)
			}
		})
	}

	// Nothing close: every known key is listed.
	ps := DefaultOptions().Apply([]OptionSource{{Key: "zzzzzzzzzzzz", Origin: Origin{File: "nio.conf", Line: 1}}})
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "is not a known option (known: allow_root, allow_undefined, command,") ||
		!strings.Contains(ps[0].Msg, "venv)") {
		t.Fatalf("problems = %v", ps)
	}
}

func TestApplyBadValues(t *testing.T) {
	file := Origin{File: "nio.conf", Line: 3}
	tests := []struct {
		key, text string
		origin    Origin
		want      string // Problem.Error()
	}{
		{"restart", "sometimes", file, "nio.conf:3: [niod] restart = sometimes: must be on-failure, always or never"},
		{"restart", "sometimes", Origin{File: "NIOD_RESTART"}, "NIOD_RESTART=sometimes: must be on-failure, always or never"},
		{"restart", "sometimes", Origin{File: "--restart"}, "--restart=sometimes: must be on-failure, always or never"},
		{"restart_delay", "fast", Origin{File: "NIOD_RESTART_DELAY"}, "NIOD_RESTART_DELAY=fast: must be a duration such as 500ms, 2s, 1min or a number of seconds"},
		{"allow_root", "maybe", Origin{File: "--allow-root"}, "--allow-root=maybe: must be true or false (or yes/no, on/off, 1/0)"},
		{"restart_limit", "-1", file, "nio.conf:3: [niod] restart_limit = -1: must be a whole number, 0 or more"},
		{"restart_limit", "2.5", file, "nio.conf:3: [niod] restart_limit = 2.5: must be a whole number, 0 or more"},
		{"stop_signal", "SIGFOO", file, "nio.conf:3: [niod] stop_signal = SIGFOO: must be a signal name such as TERM, INT, QUIT or HUP"},
		{"handoff", "pipe", file, "nio.conf:3: [niod] handoff = pipe: must be memfd or file"},
		{"log_format", "xml", file, "nio.conf:3: [niod] log_format = xml: must be auto, console, json or journal"},
		{"ready", "now", file, "nio.conf:3: [niod] ready = now: must be auto, exec, notify or probe"},
		{"log_level", "Debug", file, "nio.conf:3: [niod] log_level = Debug: must be debug, info, warn or error"},
		{"command", `python "unclosed`, file, `nio.conf:3: [niod] command = python "unclosed: has a quote that is never closed`},
		{"restart", "on-\nfailure", file, `nio.conf:3: [niod] restart = "on-\nfailure": must be on-failure, always or never`},
		{"restart", strings.Repeat("x", 70), file, `nio.conf:3: [niod] restart = "` + strings.Repeat("x", 60) + `...": must be on-failure, always or never`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.text, func(t *testing.T) {
			o := DefaultOptions()
			ps := o.Apply([]OptionSource{{Key: tt.key, Text: tt.text, Origin: tt.origin}})
			if len(ps) != 1 || ps[0].Error() != tt.want {
				t.Fatalf("problems = %v\nwant %s", ps, tt.want)
			}
			if !strings.Contains(ps[0].Msg, "must be") && !strings.Contains(ps[0].Msg, "never closed") {
				t.Errorf("message %q does not say what is expected", ps[0].Msg)
			}
			if _, set := o.Origins[tt.key]; set {
				t.Errorf("Origins records a rejected value")
			}
		})
	}

	// A rejected value leaves the one before it in place.
	o := DefaultOptions()
	o.Apply([]OptionSource{{Key: "restart", Text: "always", Origin: file}, {Key: "restart", Text: "bad", Origin: file}})
	if o.Restart != "always" {
		t.Errorf("restart = %q after a bad value, want always", o.Restart)
	}
}

func TestEnvSources(t *testing.T) {
	got := EnvSources([]string{
		"NIOD_RESTART=never", "PATH=/bin", "NIOD_SETTINGS=a.conf", "NIOD_LOG_LEVEL=debug=x",
		"NIOD_NOVALUE", "niod_lower=1", "NIOD_ROOT=/r",
	}, map[string]bool{"NIOD_SETTINGS": true, "NIOD_ROOT": true})
	want := []OptionSource{
		{Key: "log_level", Text: "debug=x", Origin: Origin{File: "NIOD_LOG_LEVEL"}},
		{Key: "restart", Text: "never", Origin: Origin{File: "NIOD_RESTART"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EnvSources = %+v\nwant %+v", got, want)
	}
}

func TestSectionSources(t *testing.T) {
	s := mustParse(t, "[DEFAULT]\nrestart = always\n[niod]\nlog_level = debug\n")
	got := SectionSources(s)
	want := []OptionSource{{Key: "log_level", Text: "debug", Origin: Origin{File: "a.conf", Line: 4}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SectionSources = %+v, want %+v", got, want)
	}
	if got := SectionSources(mustParse(t, "[other]\nk = v\n")); got != nil {
		t.Fatalf("no [niod]: %+v", got)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"90", 90 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{" 2 ", 2 * time.Second},
		{"500ms", 500 * time.Millisecond},
		{"500msec", 500 * time.Millisecond},
		{"2s", 2 * time.Second},
		{"0.5s", 500 * time.Millisecond},
		{"1min", time.Minute},
		{"1m", time.Minute},
		{"1 min", time.Minute},
		{"10 seconds", 10 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"1min 30s", 90 * time.Second},
		{"1h 30min 15s", time.Hour + 30*time.Minute + 15*time.Second},
		{"100us", 100 * time.Microsecond},
		{"100µs", 100 * time.Microsecond},
		{"2d", 48 * time.Hour},
		{"1hour", time.Hour},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{
		"", "  ", "-1", "-1s", "abc", "5x", "s", "ms", "1.2.3s", "2S", "1 2", "1s-", "inf", "+Inf", "1e10",
		"5 minutes ago", "1h-30m",
	} {
		got, err := ParseDuration(in)
		if err == nil || !strings.Contains(err.Error(), "must be a duration such as 500ms") {
			t.Errorf("ParseDuration(%q) = %v, %v; want an error", in, got, err)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, in := range []string{"1", "yes", "true", "on", "TRUE", " Yes ", "On"} {
		if v, ok := ParseBool(in); !v || !ok {
			t.Errorf("ParseBool(%q) = %v, %v; want true", in, v, ok)
		}
	}
	for _, in := range []string{"0", "no", "false", "off", "OFF", "False"} {
		if v, ok := ParseBool(in); v || !ok {
			t.Errorf("ParseBool(%q) = %v, %v; want false", in, v, ok)
		}
	}
	for _, in := range []string{"", "2", "y", "n", "enabled", "truee", "-1"} {
		if _, ok := ParseBool(in); ok {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "SIGTERM": syscall.SIGTERM, "sigint": syscall.SIGINT, " hup ": syscall.SIGHUP,
		"15": syscall.SIGTERM, "9": syscall.SIGKILL, "64": syscall.Signal(64), "USR1": syscall.SIGUSR1,
		"SigQuit": syscall.SIGQUIT, "winch": syscall.SIGWINCH, "KILL": syscall.SIGKILL, "cont": syscall.SIGCONT,
	} {
		if got, ok := ParseSignal(in); !ok || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "0", "65", "-1", "SIG", "FOO", "SIGFOO", "TERM2", "SIG TERM"} {
		if got, ok := ParseSignal(in); ok {
			t.Errorf("ParseSignal(%q) = %v, want refused", in, got)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" \t\n ", nil},
		{"python -m nio", []string{"python", "-m", "nio"}},
		{"  a\t b\nc  ", []string{"a", "b", "c"}},
		{`'a b' c`, []string{"a b", "c"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`a\ b`, []string{"a b"}},
		{`"a\"b"`, []string{`a"b`}},
		{`"a\\b"`, []string{`a\b`}},
		{`"a\nb"`, []string{`a\nb`}},
		{`"\$HOME \` + "`x`" + `"`, []string{"$HOME `x`"}},
		{`'a\b'`, []string{`a\b`}},
		{`'it'\''s'`, []string{"it's"}},
		{`""`, []string{""}},
		{`x '' y`, []string{"x", "", "y"}},
		{`a""b`, []string{"ab"}},
		{`--opt="a b"c`, []string{"--opt=a bc"}},
		{"a\\\nb", []string{"ab"}},
		{"\"a\\\nb\"", []string{"ab"}},
		{"'a\nb'", []string{"a\nb"}},
		{`$HOME ~ *`, []string{"$HOME", "~", "*"}},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for in, want := range map[string]string{
		`'unclosed`:     "has a quote that is never closed",
		`"unclosed`:     "has a quote that is never closed",
		`a "b\"`:        "has a quote that is never closed",
		`trailing\`:     "ends with a lone backslash",
		`ok 'x' "y" \`:  "ends with a lone backslash",
		`mixed 'quote"`: "has a quote that is never closed",
	} {
		if got, err := SplitCommand(in); err == nil || err.Error() != want {
			t.Errorf("SplitCommand(%q) = %q, %v; want error %q", in, got, err, want)
		}
	}
}

// writeFile writes a file under dir with exactly mode (the umask aside).
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, req Request) *Loaded {
	t.Helper()
	l, ps := Load(req)
	if len(ps) > 0 {
		t.Fatalf("Load: %v", ps)
	}
	return l
}

func loadProblems(t *testing.T, req Request) Problems {
	t.Helper()
	l, ps := Load(req)
	if len(ps) == 0 {
		t.Fatal("Load succeeded, want problems")
	}
	if l != nil {
		t.Error("Load returned settings along with problems")
	}
	return ps
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nio.conf", `[niod]
log_level = debug
restart = always
stop_timeout = 20s
[s]
home = [[HOME_X]]
root = [[PROJECT_ROOT]]
`, 0o644)
	l := mustLoad(t, Request{
		Root:    dir,
		Environ: []string{"NIOD_LOG_LEVEL=warn", "NIOD_RESTART=never", "HOME_X=/h", "NIOD_SETTINGS=x", "NIOD_ROOT=y"},
		EnvSkip: map[string]bool{"NIOD_SETTINGS": true, "NIOD_ROOT": true},
		Flags:   []OptionSource{{Key: "log_level", Text: "error", Origin: Origin{File: "--log-level"}}},
	})
	o := l.Options
	if o.LogLevel != "error" || o.Restart != "never" || o.StopTimeout != 20*time.Second {
		t.Errorf("log_level %q (want the flag's), restart %q (want the variable's), stop_timeout %v (want the file's)",
			o.LogLevel, o.Restart, o.StopTimeout)
	}
	if o.Origins["log_level"] != (Origin{File: "--log-level"}) || o.Origins["restart"] != (Origin{File: "NIOD_RESTART"}) ||
		o.Origins["stop_timeout"] != (Origin{File: "nio.conf", Line: 4}) {
		t.Errorf("Origins = %v", o.Origins)
	}
	if l.Root != dir || !reflect.DeepEqual(l.Files, []string{DefaultFile}) || len(l.Warnings) > 0 {
		t.Errorf("Root %q, Files %q, Warnings %v", l.Root, l.Files, l.Warnings)
	}
	if got := l.Settings.Lookup("s", "home").Text; got != "/h" {
		t.Errorf("home = %q", got)
	}
	if got := l.Settings.Lookup("s", "root").Text; got != dir {
		t.Errorf("root = %q, want %q", got, dir)
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.conf", "[s]\nk = 1\nj = a\n", 0o600)
	writeFile(t, dir, "sub/b.conf", "[s]\nk = 2\n", 0o600)
	abs := writeFile(t, t.TempDir(), "c.conf", "[t]\nx = 3\n", 0o600)
	l := mustLoad(t, Request{Root: dir, Files: []string{"a.conf", "sub/b.conf", abs}})
	if got := entries(l.Settings); !reflect.DeepEqual(got, []entry{{"s", "k", "2"}, {"s", "j", "a"}, {"t", "x", "3"}}) {
		t.Errorf("merged = %q", got)
	}
	if got := l.Settings.Lookup("s", "k").Origin; got != (Origin{File: "sub/b.conf", Line: 2}) {
		t.Errorf("origin = %v", got)
	}

	// Every file's problems come back at once.
	ps := loadProblems(t, Request{Root: dir, Files: []string{"missing.conf", "a.conf", "sub"}})
	if len(ps) != 2 || ps[0].Error() != "missing.conf: no such file (looked for "+filepath.Join(dir, "missing.conf")+")" || ps[1].Error() != "sub: is a directory (give a file)" {
		t.Errorf("problems = %v", ps)
	}
	if err := os.Symlink("a.conf", filepath.Join(dir, "link.conf")); err != nil {
		t.Fatal(err)
	}
	ps = loadProblems(t, Request{Root: dir, Files: []string{"link.conf"}})
	if len(ps) != 1 || !strings.Contains(ps[0].Error(), "link.conf: is a symbolic link") {
		t.Errorf("problems = %v", ps)
	}
}

func TestLoadUnknownEnvOption(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nio.conf", "[s]\n", 0o644)
	ps := loadProblems(t, Request{Root: dir, Environ: []string{"NIOD_SETTINGS=x"}})
	if len(ps) != 1 || ps[0].Error() != "NIOD_SETTINGS is not a known option (known: "+knownKeys()+")" {
		t.Errorf("problems = %v", ps)
	}
}

func knownKeys() string {
	var keys []string
	for _, s := range OptionSpecs() {
		keys = append(keys, s.Key)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func TestLoadAllowUndefined(t *testing.T) {
	tests := []struct {
		name     string
		niod     string
		environ  []string
		warnings int // undefined references kept as text
	}{
		{"refused by default", "", nil, 0},
		{"allowed in [niod]", "[niod]\nallow_undefined = true\n", nil, 1},
		{"allowed by NIOD_ALLOW_UNDEFINED", "", []string{"NIOD_ALLOW_UNDEFINED=yes"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "nio.conf", tt.niod+"[s]\nk = [[MISSING]]\n", 0o644)
			writeFile(t, dir, "loop.conf", "[user_defined]\nloop = [[loop]]\n", 0o644)

			// The undefined name alone.
			l, ps := Load(Request{Root: dir, Environ: tt.environ})
			if tt.warnings == 0 {
				if len(ps) != 1 || !ps[0].Undefined || !strings.Contains(ps[0].Msg, "[[MISSING]] is not defined") {
					t.Fatalf("problems = %v", ps)
				}
				return
			}
			if len(ps) > 0 {
				t.Fatalf("problems = %v", ps)
			}
			if len(l.Warnings) != 1 || !l.Warnings[0].Undefined || l.Warnings[0].Origin.Line == 0 {
				t.Errorf("warnings = %v", l.Warnings)
			}
			if got := l.Settings.Lookup("s", "k").Text; got != "[[MISSING]]" {
				t.Errorf("k = %q, want the reference kept as text", got)
			}

			// A cycle stays an error.
			ps = loadProblems(t, Request{Root: dir, Environ: tt.environ, Files: []string{"nio.conf", "loop.conf"}})
			if len(ps) != 1 || ps[0].Undefined || !strings.Contains(ps[0].Msg, "refers back to itself") {
				t.Errorf("problems = %v", ps)
			}
		})
	}
}

func TestLoadSecretFileMode(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		refused bool
	}{
		{"secret key, 0644", "[s]\nhost = h\napi_token = abc123\n", 0o644, true},
		{"secret key, 0640", "[s]\napi_token = abc123\n", 0o640, true},
		{"secret key, 0604", "[s]\napi_token = abc123\n", 0o604, true},
		{"secret key, 0600", "[s]\napi_token = abc123\n", 0o600, false},
		{"secret key, 0400", "[s]\napi_token = abc123\n", 0o400, false},
		{"secret key holding only a reference", "[s]\napi_token = [[API_TOKEN]]\n", 0o644, false},
		{"secret key with text around a reference", "[s]\napi_token = Bearer [[API_TOKEN]]\n", 0o644, true},
		{"empty secret key", "[s]\napi_token =\n", 0o644, false},
		{"key material under any name", "[s]\ncert = -----BEGIN EC PRIVATE KEY-----\n  abc123\n", 0o644, true},
		{"nothing secret", "[s]\nhost = abc123\n", 0o644, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "secrets.conf", tt.content, tt.mode)
			req := Request{Root: dir, Files: []string{"secrets.conf"}, Environ: []string{"API_TOKEN=t"}}
			l, ps := Load(req)
			if !tt.refused {
				if len(ps) > 0 || l == nil {
					t.Fatalf("problems = %v", ps)
				}
				return
			}
			if len(ps) != 1 {
				t.Fatalf("problems = %v, want one", ps)
			}
			msg := ps[0].Error()
			if !strings.Contains(msg, "holds a secret but the file is readable by group or others") ||
				!strings.Contains(msg, "run: chmod 600 secrets.conf") || ps[0].Origin.File != "secrets.conf" || ps[0].Origin.Line == 0 {
				t.Errorf("problem = %q", msg)
			}
			if strings.Contains(msg, "abc123") {
				t.Errorf("problem shows the secret: %q", msg)
			}
		})
	}
}

func TestLoadCredentialsDirectory(t *testing.T) {
	tests := []struct {
		name    string
		mode    os.FileMode
		inCreds bool // the file lies under CREDENTIALS_DIRECTORY
		refused bool
	}{
		{"0440 credential", 0o440, true, false},
		{"0400 credential", 0o400, true, false},
		{"0444 credential", 0o444, true, true},
		{"0640 credential", 0o640, true, true},
		{"0440 elsewhere", 0o440, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			creds := filepath.Join(dir, "creds")
			sub := "other"
			if tt.inCreds {
				sub = "creds"
			}
			path := writeFile(t, dir, filepath.Join(sub, "secrets.conf"), "[s]\ndb_password = hunter2\n", tt.mode)
			writeFile(t, dir, "nio.conf", "[s]\nhost = h\n", 0o644)
			_, ps := Load(Request{Root: dir, Files: []string{"nio.conf", path},
				Environ: []string{"CREDENTIALS_DIRECTORY=" + creds}})
			if tt.refused != (len(ps) > 0) {
				t.Fatalf("problems = %v, refused want %v", ps, tt.refused)
			}
			if tt.refused && !strings.Contains(ps[0].Msg, "chmod 600") {
				t.Errorf("problem = %v", ps[0])
			}
		})
	}
}

func TestLoadDefaultIsNotNiod(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nio.conf", "[DEFAULT]\nrestart = always\nlog_level = bogus\nunknown = 1\n[niod]\nstop_signal = INT\n", 0o644)
	l := mustLoad(t, Request{Root: dir})
	if l.Options.Restart != "on-failure" || l.Options.LogLevel != "info" || l.Options.StopSignal != syscall.SIGINT {
		t.Errorf("restart %q, log_level %q, stop_signal %v", l.Options.Restart, l.Options.LogLevel, l.Options.StopSignal)
	}
	// The runtime still sees [niod] inheriting [DEFAULT].
	if v := l.Settings.Lookup(NiodSection, "restart"); v == nil || v.Text != "always" {
		t.Errorf("Lookup(niod, restart) = %+v", v)
	}
}

func TestLoadOptionChecks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nio.conf", "[niod]\nrestart_delay = 10s\nrestart_max_delay = 1s\ngroup = staff\nhealth_timeout = 0\nrestart = bogus\n", 0o644)
	ps := loadProblems(t, Request{Root: dir})
	want := []string{
		"nio.conf:6: [niod] restart = bogus: must be on-failure, always or never",
		"nio.conf:3: restart_max_delay (1s) is shorter than restart_delay (10s)",
		"nio.conf:5: health_timeout must be longer than 0",
		"nio.conf:4: group = staff is set without a user (set user too)",
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPreStartOption(t *testing.T) {
	o := DefaultOptions()
	ps := o.Apply([]OptionSource{{Key: "pre_start", Text: "pip install -r 'blocks/req s.txt'\n\n  ./migrate --quiet\n"}})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	want := [][]string{{"pip", "install", "-r", "blocks/req s.txt"}, {"./migrate", "--quiet"}}
	if !reflect.DeepEqual(o.PreStart, want) {
		t.Errorf("PreStart %q, want %q", o.PreStart, want)
	}
	ps = o.Apply([]OptionSource{{Key: "pre_start", Text: "ok\nbad 'quote", Origin: Origin{File: "nio.conf", Line: 3}}})
	if len(ps) != 1 || !strings.Contains(ps[0].Error(), "line 2 of the value") {
		t.Errorf("an unclosed quote on the second line: %v", ps)
	}
}
