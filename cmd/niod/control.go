package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"niod/internal/config"
	"niod/internal/control"
	"niod/internal/exitcode"
)

// controlFlags are the flags of the commands that ask a running niod.
type controlFlags struct {
	fs      *pflag.FlagSet
	root    string
	json    bool
	live    bool
	ready   bool
	timeout time.Duration
}

// askPoll is how often wait and reload ask again.
const askPoll = 50 * time.Millisecond

// askTimeout bounds one round trip to niod.
const askTimeout = 5 * time.Second

func newControlFlags(c command, inv *invocation) *controlFlags {
	cf := &controlFlags{fs: pflag.NewFlagSet("niod "+c.name, pflag.ContinueOnError)}
	cf.fs.SortFlags = false
	cf.fs.SetOutput(inv.stderr)
	cf.fs.Usage = func() {}
	cf.fs.StringVarP(&cf.root, "root", "r", "", "project root of the niod to ask (default: the current directory; env NIOD_ROOT)")
	switch c.name {
	case "status":
		cf.fs.BoolVar(&cf.json, "json", false, "print the status as JSON (docs/control.md)")
		cf.fs.BoolVar(&cf.live, "live", false, "print nothing; exit 0 when niod answers and has not given up, else 1")
		cf.fs.BoolVar(&cf.ready, "ready", false, "print nothing; exit 0 when the runtime is ready now, else 1")
	case "wait":
		cf.fs.BoolVar(&cf.ready, "ready", true, "wait until the runtime is ready")
		cf.fs.DurationVar(&cf.timeout, "timeout", time.Minute, "give up after this long (exit 1)")
	case "reload":
		cf.fs.DurationVar(&cf.timeout, "timeout", time.Minute, "how long to wait for the reload's outcome")
	}
	completeAs(cf.fs, "root", completeDirs)
	return cf
}

// parse parses args, allowing want positional arguments.
func (cf *controlFlags) parse(c command, inv *invocation, args []string, want int) (int, bool) {
	if code, done := parseFlags(c, inv, cf.fs, args, false, ""); done {
		return code, true
	}
	if cf.fs.NArg() != want {
		fmt.Fprintf(inv.stderr, "niod %s: want %d argument(s), got %d (see niod %s --help)\n", c.name, want, cf.fs.NArg(), c.name)
		return exitcode.Usage, true
	}
	return 0, false
}

// find locates the control socket of the project.
func (cf *controlFlags) find(inv *invocation) (string, error) {
	root := projectRoot(cf.root, inv.environ)
	if root == "" {
		root = "."
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	return control.Locate(envLookup(inv.environ), os.Geteuid(), abs)
}

func envLookup(environ []string) func(string) string {
	return func(name string) string {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, name+"="); ok {
				return v
			}
		}
		return ""
	}
}

// ask sends one request and returns the answer, or the exit code and the
// message of why there is none.
func ask(inv *invocation, name, path string, req control.Request) (control.Answer, int) {
	a, err := control.Ask(path, req, askTimeout)
	if err != nil {
		fmt.Fprintf(inv.stderr, "niod %s: %v\n", name, err)
		if errors.Is(err, os.ErrPermission) {
			return a, exitcode.NoPerm
		}
		return a, exitcode.Unavailable
	}
	if !a.OK {
		fmt.Fprintf(inv.stderr, "niod %s: %s\n", name, a.Error)
		if strings.HasPrefix(a.Error, control.NotAllowed) {
			return a, exitcode.NoPerm
		}
		return a, exitcode.Unavailable
	}
	return a, exitcode.OK
}

// controlCmd runs one of the commands that ask a running niod.
func controlCmd(name string) func(*invocation, []string) int {
	return func(inv *invocation, args []string) int {
		c := commandNamed(name)
		cf := newControlFlags(c, inv)
		want := 0
		if name == "signal" {
			want = 1
		}
		if code, done := cf.parse(c, inv, args, want); done {
			return code
		}
		path, err := cf.find(inv)
		if err != nil {
			if cf.quiet(name) {
				return 1
			}
			fmt.Fprintf(inv.stderr, "niod %s: %v\n", name, err)
			var nr *control.NotRunningError
			if errors.As(err, &nr) && len(nr.Denied) > 0 {
				return exitcode.NoPerm
			}
			return exitcode.Unavailable
		}
		switch name {
		case "status":
			return cf.status(inv, path)
		case "wait":
			return cf.wait(inv, path)
		case "reload":
			return cf.reload(inv, path)
		}
		req := control.Request{Cmd: name}
		if name == "signal" {
			req.Signal = cf.fs.Arg(0)
			if _, ok := config.ParseSignal(req.Signal); !ok {
				fmt.Fprintf(inv.stderr, "niod signal: unknown signal %q (give a name such as TERM, HUP or USR1)\n", req.Signal)
				return exitcode.Usage
			}
		}
		a, code := ask(inv, name, path, req)
		if code == exitcode.OK {
			fmt.Fprintln(inv.stdout, a.Status.Text)
		}
		return code
	}
}

// quiet says the command answers with its exit code only: status --live
// or --ready (wait's --ready is what it waits for, not an answer).
func (cf *controlFlags) quiet(name string) bool {
	return name == "status" && (cf.live || cf.ready)
}

func (cf *controlFlags) status(inv *invocation, path string) int {
	quiet := cf.quiet("status")
	out := inv
	if quiet {
		out = &invocation{environ: inv.environ, stdout: io.Discard, stderr: io.Discard}
	}
	a, code := ask(out, "status", path, control.Request{Cmd: control.CmdStatus})
	switch {
	case code != exitcode.OK && quiet:
		return 1
	case code != exitcode.OK:
		return code
	case cf.live && !a.Status.Live, cf.ready && !a.Status.Ready:
		return 1
	case quiet:
		return exitcode.OK
	case cf.json:
		b, _ := json.MarshalIndent(a.Status, "", "  ")
		fmt.Fprintf(inv.stdout, "%s\n", b)
	default:
		fmt.Fprint(inv.stdout, a.Status.Render(time.Now()))
	}
	return exitcode.OK
}

func (cf *controlFlags) wait(inv *invocation, path string) int {
	a, code, timedOut := poll(inv, "wait", path, cf.timeout, func(st *control.Status) bool { return st.Ready || !st.Live })
	switch {
	case code != exitcode.OK:
		return code
	case a.Status.Ready:
		fmt.Fprintln(inv.stdout, a.Status.Text)
		return exitcode.OK
	case timedOut:
		fmt.Fprintf(inv.stderr, "niod wait: not ready after %v: %s\n", cf.timeout, a.Status.Text)
		return 1
	}
	fmt.Fprintf(inv.stderr, "niod wait: the runtime will not be ready: %s\n", a.Status.Text)
	return 1
}

// poll asks for the status until done holds or timeout has passed
// (timedOut), and returns the last answer.
func poll(inv *invocation, name, path string, timeout time.Duration, done func(*control.Status) bool) (a control.Answer, code int, timedOut bool) {
	deadline := time.Now().Add(timeout)
	for {
		a, code = ask(inv, name, path, control.Request{Cmd: control.CmdStatus})
		if code != exitcode.OK || done(a.Status) {
			return a, code, false
		}
		if time.Now().After(deadline) {
			return a, code, true
		}
		time.Sleep(askPoll)
	}
}

// reload asks for a reload and waits for its outcome.
func (cf *controlFlags) reload(inv *invocation, path string) int {
	a, code := ask(inv, "reload", path, control.Request{Cmd: control.CmdReload})
	if code != exitcode.OK {
		return code
	}
	asked := a.ReloadAsk
	if a.Status.Reload.Done < asked {
		var timedOut bool
		a, code, timedOut = poll(inv, "reload", path, cf.timeout, func(st *control.Status) bool { return st.Reload.Done >= asked })
		switch {
		case code != exitcode.OK:
			return code
		case timedOut:
			fmt.Fprintf(inv.stderr, "niod reload: no outcome after %v: %s\n", cf.timeout, a.Status.Text)
			return 1
		}
	}
	r := a.Status.Reload
	switch r.Outcome {
	case "failed", "refused":
		fmt.Fprintf(inv.stderr, "niod reload: settings not reloaded (%s); the runtime keeps running with the old ones:\n", r.Outcome)
		for _, p := range r.Problems {
			fmt.Fprintln(inv.stderr, p)
		}
		return exitcode.Config
	case "ignored":
		fmt.Fprintln(inv.stderr, "niod reload: ignored, niod is stopping")
		return 1
	}
	fmt.Fprintln(inv.stdout, map[string]string{
		"unchanged": "settings unchanged",
		"applied":   "settings reloaded; niod's own options applied in place",
		"restarted": "settings reloaded; the runtime was restarted with them and is ready",
	}[r.Outcome])
	return exitcode.OK
}
