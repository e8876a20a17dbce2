package e2e

// niod doctor from outside: exit codes, --json, --only and --skip, and
// findings about a project made to fail them.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type doctorJSON struct {
	Container bool `json:"container"`
	Findings  []struct {
		ID       string   `json:"id"`
		Status   string   `json:"status"`
		Summary  string   `json:"summary"`
		Evidence []string `json:"evidence"`
		Fix      string   `json:"fix"`
	} `json:"findings"`
}

func runDoctor(t *testing.T, args ...string) (doctorJSON, int) {
	t.Helper()
	out, stderr, code := runNiod(t, runOpts{}, append([]string{"doctor", "--json"}, args...)...)
	var d doctorJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("niod doctor --json: exit %d, %v\n%s%s", code, err, out, stderr)
	}
	return d, code
}

func statusOf(d doctorJSON, id string) string {
	for _, f := range d.Findings {
		if f.ID == id {
			return f.Status
		}
	}
	return "(absent)"
}

func TestDoctorProject(t *testing.T) {
	t.Parallel()
	git := requireTool(t, "git")
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[rest]\nhost = 0.0.0.0\nport = 8181\n[security]\nusers = admin\nadmin_password = [[ADMIN_PASSWORD]]\n", 0o644)
	mustWrite(t, filepath.Join(root, "secrets.conf"), "[user_defined]\nADMIN_PASSWORD = change-me\n", 0o600)
	for _, args := range [][]string{{"init", "-q"}, {"add", "secrets.conf"}} {
		if out, err := exec.Command(git, append([]string{"-C", root}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	d, code := runDoctor(t, "-r", root, "-s", "nio.conf", "-s", "secrets.conf", "--only", "secrets,credentials,exposure.api,tls")
	want := map[string]string{"secrets.vcs": "fail", "secrets.permissions": "ok", "credentials.weak": "fail", "exposure.api": "warn", "tls.api": "fail"}
	for id, s := range want {
		if got := statusOf(d, id); got != s {
			t.Errorf("%s: %s, want %s\n%+v", id, got, s, d.Findings)
		}
	}
	if code != 1 || len(d.Findings) != len(want) {
		t.Errorf("exit %d with %d findings, want 1 and %d", code, len(d.Findings), len(want))
	}
	out, _, _ := runNiod(t, runOpts{}, "doctor", "-r", root, "-s", "nio.conf", "-s", "secrets.conf", "--only", "credentials")
	if strings.Contains(out, "change-me") || !strings.Contains(out, "fail  credentials.weak") || !strings.Contains(out, "fix: set a password of your own in secrets.conf") {
		t.Errorf("text output:\n%s", out)
	}
	// Fixed: the findings turn, and a warning fails only with --strict.
	mustWrite(t, filepath.Join(root, "secrets.conf"), "[user_defined]\nADMIN_PASSWORD = a-long-enough-password\n", 0o600)
	exec.Command(git, "-C", root, "rm", "-q", "-f", "--cached", "secrets.conf").Run()
	mustWrite(t, filepath.Join(root, ".gitignore"), "secrets.conf\n", 0o644)
	d, code = runDoctor(t, "-r", root, "-s", "nio.conf", "-s", "secrets.conf", "--only", "secrets,credentials,exposure")
	if code != 0 || statusOf(d, "secrets.vcs") != "ok" || statusOf(d, "credentials.weak") != "ok" || statusOf(d, "exposure.api") != "warn" {
		t.Errorf("after the fixes: exit %d %+v", code, d.Findings)
	}
	if _, code := runDoctor(t, "-r", root, "-s", "nio.conf", "-s", "secrets.conf", "--only", "exposure.api", "--strict"); code != 1 {
		t.Errorf("--strict with a warning: exit %d, want 1", code)
	}
}

func TestDoctorHostAndUsage(t *testing.T) {
	t.Parallel()
	// Without a project every host check runs and the project's skip.
	d, code := runDoctor(t, "-r", t.TempDir())
	if code != 0 && code != 1 {
		t.Errorf("exit %d", code)
	}
	ids := map[string]bool{}
	for _, f := range d.Findings {
		ids[f.ID] = true
		switch f.Status {
		case "ok", "warn", "fail", "skip":
		default:
			t.Errorf("%s: status %q", f.ID, f.Status)
		}
		if f.Summary == "" || (f.Status == "fail" || f.Status == "warn") && f.Fix == "" {
			t.Errorf("%s: %+v, want a summary and, for warn and fail, a fix", f.ID, f)
		}
		if strings.HasPrefix(f.ID, "secrets.") && f.Status != "skip" {
			t.Errorf("%s without a project: %s", f.ID, f.Status)
		}
	}
	for _, id := range []string{"clock.sync", "swap.encrypted", "core.pattern", "wifi.security", "secrets.vcs"} {
		if !ids[id] {
			t.Errorf("no %s in %v", id, ids)
		}
	}
	if _, stderr, code := runNiod(t, runOpts{}, "doctor", "--only", "nope"); code != 64 || !strings.Contains(stderr, "no check nope") {
		t.Errorf("--only nope: exit %d %q", code, stderr)
	}
	bad := t.TempDir()
	mustWrite(t, filepath.Join(bad, "nio.conf"), "not ini\n", 0o644)
	if _, stderr, code := runNiod(t, runOpts{}, "doctor", "-r", bad); code != 78 || !strings.HasPrefix(stderr, "nio.conf:1: ") {
		t.Errorf("invalid settings: exit %d %q", code, stderr)
	}
	os.Remove(filepath.Join(bad, "nio.conf"))
}

// core.rlimit judges the limit niod was started with, not the 0 niod sets
// for itself at once.
func TestDoctorCoreLimitInherited(t *testing.T) {
	t.Parallel()
	for limit, want := range map[string]string{"unlimited": "warn", "0": "ok"} {
		cmd := exec.Command("sh", "-c", "ulimit -c "+limit+" && exec \"$0\" doctor --json --only core.rlimit", niodBin)
		cmd.Env = envList(baseEnv(nil))
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		var d doctorJSON
		if jerr := json.Unmarshal(out, &d); jerr != nil {
			t.Fatalf("ulimit -c %s: %v %v\n%s", limit, err, jerr, out)
		}
		if got := statusOf(d, "core.rlimit"); got != want {
			t.Errorf("ulimit -c %s: core.rlimit %s, want %s", limit, got, want)
		}
	}
}
