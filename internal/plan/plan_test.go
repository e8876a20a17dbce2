package plan

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"niod/internal/config"
	"niod/internal/exitcode"
	"niod/internal/privs"
	"niod/internal/spec"
)

func request(t *testing.T, niod, extra string) Request {
	t.Helper()
	root := t.TempDir()
	text := "[niod]\nallow_root = true\ncommand = true\n" + niod + "\n[s]\nk = v\n" + extra
	if err := os.WriteFile(filepath.Join(root, "nio.conf"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Request{Settings: config.Request{Root: root, Environ: []string{"PATH=/usr/bin:/bin"}}, NeedCommand: true,
		HandoffDir: t.TempDir()}
}

func TestMakeTypesTheSupervisorsOptions(t *testing.T) {
	req := request(t, "restart = always\nstop_signal = INT\nstop_timeout = 3\nhandoff = file\nlog_level = debug", "[rest]\nhost = 127.0.0.1\nport = 8181\n")
	p, fail := Make(req)
	if fail != nil {
		t.Fatal(fail)
	}
	o := p.Spec.Options
	if o.Restart != spec.RestartAlways || o.StopSignal != syscall.SIGINT || o.StopTimeout != 3*time.Second || o.LogLevel != "debug" {
		t.Errorf("options %+v", o)
	}
	if o.Ready != spec.ReadyProbe || o.HealthURL != "http://127.0.0.1:8181/nio" {
		t.Errorf("auto readiness with a [rest] port: ready %s url %q", o.Ready, o.HealthURL)
	}
	if p.Spec.Handoff != spec.HandoffFile {
		t.Errorf("handoff %s", p.Spec.Handoff)
	}
	id := p.Spec.Identity
	if id.Root != req.Settings.Root || id.HandoffDir != req.HandoffDir || id.UID != os.Geteuid() {
		t.Errorf("identity %+v", id)
	}
	if o.RestartLimit != 5 || o.RestartLimitWindow != time.Minute {
		t.Errorf("default restart limit %d in %v, want 5 in 1m", o.RestartLimit, o.RestartLimitWindow)
	}
}

func TestMakeReadyRules(t *testing.T) {
	for _, c := range []struct {
		niod, extra string
		handoffDir  string
		want        string
		ready       spec.Ready
	}{
		{niod: "ready = auto", ready: spec.ReadyExec},
		{niod: "ready = notify", ready: spec.ReadyNotify},
		{niod: "ready = notify", handoffDir: "/" + strings.Repeat("d", 90), want: "ready = notify needs niod's notify socket"},
		{niod: "ready = probe", want: "ready = probe needs a health probe"},
		{niod: "health_url = notaurl", extra: "[rest]\nport = 1\n", want: "health probe: health_url notaurl"},
	} {
		req := request(t, c.niod, c.extra)
		if c.handoffDir != "" {
			req.HandoffDir = c.handoffDir
		}
		p, fail := Make(req)
		switch {
		case c.want == "" && fail != nil:
			t.Errorf("%q: %v", c.niod, fail)
		case c.want == "" && p.Spec.Options.Ready != c.ready:
			t.Errorf("%q: ready %s, want %s", c.niod, p.Spec.Options.Ready, c.ready)
		case c.want != "" && (fail == nil || fail.Code != exitcode.Config || !strings.Contains(fail.Error(), c.want) ||
			!strings.Contains(fail.Error(), "nio.conf:")):
			t.Errorf("%q: failure %v, want 78 naming nio.conf and %q", c.niod, fail, c.want)
		}
	}
}

func TestMakeNoCommandForCheck(t *testing.T) {
	req := request(t, "", "")
	req.NeedCommand = false
	if err := os.WriteFile(filepath.Join(req.Settings.Root, "nio.conf"), []byte("[niod]\nallow_root = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, fail := Make(req)
	if fail != nil || p.Spec != nil {
		t.Errorf("check without a command: %v %+v", fail, p)
	}
	req.Command = []string{"/no/such/runtime"}
	if _, fail := Make(req); fail == nil || !strings.Contains(fail.Error(), "/no/such/runtime") {
		t.Errorf("check with a missing command after --: %v", fail)
	}
}

func TestWhoToBe(t *testing.T) {
	o := config.DefaultOptions()
	if _, code, msg := whoToBe(privs.SystemAccounts(), o, 0, false); code != exitcode.NoPerm || !strings.Contains(msg, "--user nio") {
		t.Errorf("root without a user: %d %q", code, msg)
	}
	o.User = "0"
	if _, code, msg := whoToBe(privs.SystemAccounts(), o, 1234, false); code != exitcode.NoPerm || !strings.Contains(msg, "cannot become") {
		t.Errorf("uid 1234 becoming root: %d %q", code, msg)
	}
	// After the drop, a reload leaves judging another user to the
	// supervisor, which refuses it with its reason.
	if u, _, msg := whoToBe(privs.SystemAccounts(), o, 1234, true); msg != "" || u == nil || u.UID != 0 {
		t.Errorf("reload: %v %q", u, msg)
	}
}

func TestRootRunWarnings(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	interp := filepath.Join(dir, "python3")
	script := filepath.Join(dir, "runtime")
	for path, text := range map[string]string{interp: "", script: "#!" + interp + "\n"} {
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := &privs.User{Name: "root"}
	s := &spec.Spec{Path: script}
	if w := rootRunWarnings(root, s, "", uint32(os.Geteuid())); len(w) != 0 {
		t.Errorf("root-only files: %v", w)
	}
	// Anyone may rewrite the interpreter the script names.
	if err := os.Chmod(interp, 0o757); err != nil {
		t.Fatal(err)
	}
	w := rootRunWarnings(root, s, "", uint32(os.Geteuid()))
	if len(w) != 1 || !strings.Contains(w[0], interp) || !strings.Contains(w[0], "chmod go-w") {
		t.Errorf("a writable interpreter: %v", w)
	}
	// A runtime that runs as a user of its own may run what that user owns.
	if w := rootRunWarnings(&privs.User{Name: "nio", UID: 1000}, s, "", uint32(os.Geteuid())); len(w) != 0 {
		t.Errorf("as a user: %v", w)
	}
}

func TestMakeContradictions(t *testing.T) {
	probe := "[rest]\nhost = 127.0.0.1\nport = 8181\n"
	for _, c := range []struct {
		niod, extra string
		want        string // "" for no problem
	}{
		{niod: "health_interval = 2s\nhealth_timeout = 2s", extra: probe,
			want: "nio.conf:5: health_timeout = 2s is not shorter than health_interval = 2s (nio.conf:4): "},
		{niod: "health_interval = 200ms", extra: probe,
			want: "nio.conf:4: health_timeout = 3s (the default) is not shorter than health_interval = 200ms: "},
		{niod: "health_interval = 200ms\nhealth_timeout = 1s", extra: "", want: ""}, // no probe: nothing to contradict
		{niod: "health_interval = 1m", extra: probe,
			want: "nio.conf:4: health_grace = 30s (the default) is shorter than health_interval = 1m0s: "},
		{niod: "health_grace = 5s", extra: probe, want: ""}, // equal to the default interval
		{niod: "restart_limit = 20\nrestart_limit_window = 10s",
			want: "nio.conf:5: restart_limit_window = 10s is shorter than the back-off takes to reach restart_limit = 20 (nio.conf:4): 20 failures in a row need at least 10.16s with restart_delay = 100ms (the default) and restart_max_delay = 30s (the default)"},
		{niod: "restart_limit = 20\nrestart_limit_window = 10s\nrestart = never", want: ""},
		{niod: "restart_limit = 0\nrestart_limit_window = 1ms", want: ""},
		{niod: "restart_limit = 5\nrestart_limit_window = 1s", want: ""}, // 0.56s fit
	} {
		_, fail := Make(request(t, c.niod, c.extra))
		switch {
		case c.want == "" && fail != nil:
			t.Errorf("%q: %v", c.niod, fail)
		case c.want != "" && (fail == nil || fail.Code != exitcode.Config || len(fail.Problems) != 1 || !strings.HasPrefix(fail.Problems[0], c.want)):
			t.Errorf("%q: %v, want one config problem starting %q", c.niod, fail, c.want)
		}
	}
}
