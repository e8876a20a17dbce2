package e2e

// What niod says about options that contradict each other, and about the
// user it drops to: the runtime gets the user's PATH, not root's, and an
// access problem names what needed the access, once.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestOperatorContradictionsNameBothOrigins(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"), "[rest]\nport = "+strconv.Itoa(freePort(t))+"\n"+
		"[niod]\ncommand = sleep 100\nhealth_interval = 2s\nhealth_timeout = 5s\nhealth_grace = 1s\nrestart_limit = 20\nrestart_limit_window = 10s\n", 0o600)
	want := []string{
		"nio.conf:6: health_timeout = 5s is not shorter than health_interval = 2s (nio.conf:5): a probe could still be waiting when the next one is due; make health_timeout shorter than health_interval",
		"nio.conf:7: health_grace = 1s is shorter than health_interval = 2s (nio.conf:5): a healthy runtime would be restarted between two probes; make health_grace at least health_interval",
		"nio.conf:9: restart_limit_window = 10s is shorter than the back-off takes to reach restart_limit = 20 (nio.conf:8): 20 failures in a row need at least 10.16s with restart_delay = 100ms (the default) and restart_max_delay = 30s (the default), so the limit could never be hit; lengthen restart_limit_window or lower restart_limit",
	}
	for _, cmd := range []string{"check", "run"} {
		_, stderr, code := runNiod(t, runOpts{}, cmd, "-r", root)
		if code != 78 {
			t.Errorf("niod %s: exit %d, want 78\n%s", cmd, code, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w+"\n") {
				t.Errorf("niod %s does not say\n  %s\nit says:\n%s", cmd, w, stderr)
			}
		}
	}
	// Both sides from flags; then one left at its default.
	_, stderr, code := runNiod(t, runOpts{}, "check", "-r", root, "--health-interval", "200ms",
		"--health-grace", "30s", "--health-timeout", "3s", "--restart-limit", "0")
	if want := "--health-timeout: health_timeout = 3s is not shorter than health_interval = 200ms (--health-interval):"; code != 78 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, want 78 and %q:\n%s", code, want, stderr)
	}
	plain := t.TempDir()
	mustWrite(t, filepath.Join(plain, "nio.conf"), "[rest]\nport = "+strconv.Itoa(freePort(t))+"\n[niod]\ncommand = sleep 100\n", 0o600)
	_, stderr, code = runNiod(t, runOpts{}, "check", "-r", plain, "--health-interval", "200ms")
	if want := "--health-interval: health_timeout = 3s (the default) is not shorter than health_interval = 200ms:"; code != 78 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, want 78 and %q:\n%s", code, want, stderr)
	}
}

// The runtime of a dropped user looks its command up on the user's PATH,
// not on root's: a python3 in a directory only root can enter is not it.
func TestOperatorDroppedUserGetsItsOwnPATH(t *testing.T) {
	t.Parallel()
	acct := makeAccount(t, 0)
	private := t.TempDir() // 0700, root's
	mustWrite(t, filepath.Join(private, "sh"), "#!/bin/sh\nexit 3\n", 0o755)
	root := publicRoot(t, "[niod]\ncommand = sh -c 'echo \"PATH=$PATH\"; exec sleep 100'\n")
	env := map[string]string{"PATH": private + ":/usr/local/bin:/usr/bin:/bin", "NIOD_ALLOW_ROOT": ""}

	_, stderr, code := runNiod(t, runOpts{Env: env}, "check", "-r", root, "--user", acct.name)
	if code != 0 || strings.Contains(stderr, private) {
		t.Fatalf("niod check --user %s: exit %d, want 0 and nothing about %s:\n%s", acct.name, code, private, stderr)
	}
	n := startNiod(t, startOpts{root: root, env: env, args: []string{"--user", acct.name}})
	lines := n.waitStdout("PATH=", 1)
	if lines[0] != "PATH=/usr/local/bin:/usr/bin:/bin" {
		t.Errorf("the runtime's PATH is %q, want the user's default", lines[0])
	}
}

// One line per path in the way, naming what needed it.
func TestOperatorAccessProblemsOncePerPath(t *testing.T) {
	t.Parallel()
	acct := makeAccount(t, 0)
	root := publicRoot(t, "[niod]\ncommand = sleep 100\n[rest]\nssl_certificate = etc/ssl/cert.crt\nssl_private_key = etc/ssl/cert.key\nssl_certificate_chain = etc/ssl/ca.crt\n")
	env, _ := certEnv(t)
	certOK(t, runOpts{Env: env}, "-r", root, "--host", "localhost")
	etc := filepath.Join(root, "etc")
	if err := os.Chmod(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runNiod(t, runOpts{Env: map[string]string{"NIOD_ALLOW_ROOT": ""}}, "check", "-r", root, "--user", acct.name)
	ssl := filepath.Join(etc, "ssl")
	want := " cannot enter " + etc + ", so it cannot reach the TLS certificate " +
		filepath.Join(ssl, "cert.crt") + ", the TLS key " + filepath.Join(ssl, "cert.key") + " and the TLS chain " + filepath.Join(ssl, "ca.crt") +
		" (run: chmod o+x " + etc + ")\n"
	user := "niod: user " + acct.name + " (uid " + strconv.Itoa(acct.uid) + ","
	if code != 77 || strings.Count(stderr, "cannot enter") != 1 || !strings.Contains(stderr, want) || !strings.HasPrefix(stderr, user) {
		t.Errorf("exit %d, want 77 and one line\n  %s\nit says:\n%s", code, want, stderr)
	}
}

// A reload says a warning when it first holds, not again at every reload.
func TestOperatorReloadWarnsOnce(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	conf := "[niod]\ncommand = sleep 1000\nallow_undefined = true\n[s]\nk = v\n"
	mustWrite(t, filepath.Join(root, "nio.conf"), conf, 0o600)
	n := startNiod(t, startOpts{root: root})
	n.waitRuntime(1)
	mustWrite(t, filepath.Join(root, "nio.conf"), conf+"u = [[NIOD_E2E_UNDEFINED]]\n", 0o600)
	n.signal(syscall.SIGHUP)
	n.waitLog("settings changed; restarting the runtime with them", 1)
	n.waitRuntime(2)
	for i := 1; i <= 2; i++ {
		n.signal(syscall.SIGHUP)
		n.waitLog("settings unchanged", i)
	}
	var warned []string
	for _, l := range n.logs() {
		if strings.Contains(l.msg(), "NIOD_E2E_UNDEFINED") {
			warned = append(warned, l.msg())
		}
	}
	if len(warned) != 1 || !strings.HasPrefix(warned[0], "nio.conf:6: ") {
		t.Errorf("warnings about the undefined name over three reloads: %q, want one naming nio.conf:6", warned)
	}
}
