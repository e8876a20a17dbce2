package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"niod/internal/config"
	"niod/internal/health"
	"niod/internal/spec"
)

// venvNames are the directories under the project root tried as the
// runtime's virtual environment when [niod] venv is not set.
var venvNames = []string{"venv", ".venv", "env"}

// commandSpec builds what the runtime sees: its command, arguments,
// directory, environment and settings, and the venv it runs in ("" for
// none). args, when given (niod run -- COMMAND ARGS), replace [niod]
// command. Problems name what to fix.
func commandSpec(l *config.Loaded, environ []string, args []string) (*spec.Spec, string, config.Problems) {
	o := l.Options
	env := config.EnvironMap(environ)
	// A command after -- is the command line's: a problem with it is not
	// blamed on [niod] command.
	origin, secret := config.Origin{File: "the command after --"}, false
	if len(args) == 0 {
		args, origin, secret = o.Command, o.Origins["command"], o.IsSecret("command")
	}
	if len(args) == 0 {
		return nil, "", config.Problems{{Msg: "no runtime to run: set [niod] command = ... in the settings, or give it after --: niod run -- COMMAND ARGS"}}
	}

	venv, p := findVenv(l.Root, o, env)
	if p != nil {
		return nil, "", config.Problems{*p}
	}
	set := map[string]string{"NIO_ROOT": l.Root}
	path := env["PATH"]
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	if venv != "" {
		set["VIRTUAL_ENV"] = venv
		set["PYTHONHOME"] = "" // a PYTHONHOME would break the venv
		path = filepath.Join(venv, "bin") + string(os.PathListSeparator) + path
	}
	set["PATH"] = path

	exe, err := lookPath(args[0], path, l.Root)
	if err != nil {
		msg := err.Error()
		if secret {
			// The message would show the resolved command: say where.
			msg = "command " + config.Redacted + " not found or not executable (it holds a secret, so it is not shown)"
		}
		return nil, "", config.Problems{{Origin: origin, Msg: msg}}
	}
	steps, ps := preStartSteps(l, path)
	if len(ps) > 0 {
		return nil, "", ps
	}
	payload, moved := renderPayload(l.Settings, environ)
	return &spec.Spec{
		Path:     exe,
		Args:     args,
		Dir:      l.Root,
		Env:      runtimeEnviron(environ, moved, set),
		PreStart: steps,
		Payload:  payload,
	}, venv, nil
}

// preStartSteps resolves each pre_start command on the runtime's PATH. A
// step may not hold a secret: its arguments are in /proc/PID/cmdline for
// every user to read (the runtime's environment has the variables that
// are not secrets; the handoff is not given to steps).
func preStartSteps(l *config.Loaded, path string) ([]spec.Step, config.Problems) {
	o := l.Options
	if len(o.PreStart) == 0 {
		return nil, nil
	}
	origin := o.Origins["pre_start"]
	if o.IsSecret("pre_start") {
		return nil, config.Problems{{Origin: origin, Msg: "pre_start holds a secret (a [[ reference ]] to one): a step's arguments can be read by every user in /proc/PID/cmdline; let the step read it from a file only its user can read"}}
	}
	var steps []spec.Step
	var ps config.Problems
	for i, args := range o.PreStart {
		exe, err := lookPath(args[0], path, l.Root)
		if err != nil {
			ps = append(ps, config.Problem{Origin: origin, Msg: fmt.Sprintf("pre_start step %d: %v", i+1, err)})
			continue
		}
		steps = append(steps, spec.Step{Path: exe, Args: args})
	}
	return steps, ps
}

// healthTarget is the URL the health probe asks, "" for no probe: [niod]
// health_url, or GET /nio on [rest] host and port when a port is set; and
// the certificates that verify it over https ([rest] ssl_certificate_chain,
// else ssl_certificate).
func healthTarget(l *config.Loaded) (url, ca string) {
	files := tlsFiles(l)
	ca = files.Chain
	if ca == "" {
		ca = files.Cert
	}
	switch url = l.Options.HealthURL; url {
	case "none":
		return "", ""
	case "":
		port, _ := RestValue(l, "port")
		if port == "" {
			return "", ""
		}
		host, _ := RestValue(l, "host")
		url = health.DefaultURL(host, port, files.Cert != "")
	}
	if !strings.HasPrefix(url, "https:") {
		ca = ""
	}
	return url, ca
}

// RestValue is [rest] KEY of the settings, trimmed, and where it was set;
// "" when it is not.
func RestValue(l *config.Loaded, key string) (string, config.Origin) {
	if v := l.Settings.Lookup("rest", key); v != nil {
		return strings.TrimSpace(v.Text), v.Origin
	}
	return "", config.Origin{}
}

// findVenv returns the runtime's virtual environment: [niod] venv (which
// must exist), else $VIRTUAL_ENV when niod runs inside one, else venv,
// .venv or env under the root; "" when there is none.
func findVenv(root string, o *config.Options, env map[string]string) (string, *config.Problem) {
	if o.Venv != "" {
		v := config.RootPath(root, o.Venv)
		if !isVenv(v) {
			msg := "venv = " + o.Venv + ": " + v + "/bin/python does not exist (create it: python3 -m venv " + v + ")"
			if o.IsSecret("venv") {
				msg = "venv = " + config.Redacted + ": it has no bin/python (it holds a secret, so it is not shown)"
			}
			return "", &config.Problem{Origin: o.Origins["venv"], Msg: msg}
		}
		return v, nil
	}
	if v := env["VIRTUAL_ENV"]; v != "" && isVenv(v) {
		return v, nil
	}
	for _, name := range venvNames {
		if v := filepath.Join(root, name); isVenv(v) {
			return v, nil
		}
	}
	return "", nil
}

func isVenv(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "bin", "python"))
	return err == nil && !st.IsDir()
}

// lookPath finds name as a shell would on path; a name with a slash is
// taken relative to the root.
func lookPath(name, path, root string) (string, error) {
	if strings.Contains(name, "/") {
		name = config.RootPath(root, name)
		if err := executable(name); err != nil {
			return "", err
		}
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		dir = config.RootPath(root, dir)
		if executable(filepath.Join(dir, name)) == nil {
			return filepath.Join(dir, name), nil
		}
	}
	return "", &lookupError{name, path}
}

type lookupError struct{ name, path string }

func (e *lookupError) Error() string {
	return "command " + e.name + " not found on the runtime's PATH " + e.path + " (give its full path, or check venv)"
}

func executable(path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return &statError{path, "does not exist"}
	case st.IsDir():
		return &statError{path, "is a directory"}
	case st.Mode()&0o111 == 0:
		return &statError{path, "is not executable (chmod +x " + path + ")"}
	}
	return nil
}

type statError struct{ path, what string }

func (e *statError) Error() string { return "command " + e.path + " " + e.what }
