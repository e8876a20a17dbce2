package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A secret filled into the runtime's command line reaches no log line, at
// debug level too, and niod warns that argv is world-readable.
func TestSecretInCommandNeverLogged(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-in-argv-7f1c"
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "nio.conf"),
		"[niod]\ncommand = /bin/sh -c 'exec sleep 1000' runtime --password [[DB_PASSWORD]]\nlog_level = debug\n[s]\nk = v\n", 0o600)
	n := startNiod(t, startOpts{root: root, env: map[string]string{"DB_PASSWORD": secret}})
	n.waitRuntime(1)
	n.signal(syscall.SIGTERM)
	n.waitExit(waitLong)
	out := n.stdout.String() + n.stderr.String()
	if strings.Contains(out, secret) {
		t.Errorf("the secret reached niod's output:\n%s", out)
	}
	if !strings.Contains(n.stderr.String(), "/proc/PID/cmdline") {
		t.Errorf("no warning that the command line is world-readable:\n%s", n.stderr.String())
	}
	started := n.logsWith("runtime started")
	if len(started) != 1 || !strings.Contains(started[0].str("command"), "--password") {
		t.Errorf("\"runtime started\" lacks the (scrubbed) command: %v", started)
	}
}

// A hostile settings file sent as a reload is refused like at start: the
// running runtime keeps running and niod stays up, in bounded output.
func TestHostileReloadKeepsTheRuntime(t *testing.T) {
	t.Parallel()
	n, root, c, first := startQuiet(t)
	for i, fill := range []func(b *strings.Builder){
		func(b *strings.Builder) { // forty lines that double
			b.WriteString("[user_defined]\nL0 = x\n")
			for i := 1; i < 40; i++ {
				fmt.Fprintf(b, "L%d = [[L%d]][[L%d]]\n", i, i-1, i-1)
			}
		},
		func(b *strings.Builder) { // a chain 100,000 deep
			b.WriteString("[s]\ntop = [[c99999]]\n[user_defined]\nc0 = end\n")
			for i := 1; i < 100000; i++ {
				fmt.Fprintf(b, "c%d = [[c%d]]\n", i, i-1)
			}
		},
		func(b *strings.Builder) { // a megabyte of bad lines
			b.WriteString("[s]\n")
			for b.Len() < 1<<20 {
				b.WriteString("x\n")
			}
		},
	} {
		var b strings.Builder
		b.WriteString(c.text(t))
		fill(&b)
		mustWrite(t, filepath.Join(root, "nio.conf"), b.String(), 0o600)
		n.signal(syscall.SIGHUP)
		n.waitLog("settings not reloaded; the runtime keeps running with the old ones", i+1)
		if pids := n.runtimePIDs(); len(pids) != 1 || !alive(first) {
			t.Fatalf("reload %d: runtime pids %v; want %d still running", i+1, pids, first)
		}
	}
	// Each failed reload logs at most 20 problems and a summary.
	if got := len(n.logsWith("settings problem")); got > 3*21 {
		t.Errorf("%d problem lines for 3 reloads", got)
	}
	n.signal(syscall.SIGTERM)
	n.expectExit(143, waitLong)
}
