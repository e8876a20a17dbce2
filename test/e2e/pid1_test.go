package e2e

// niod as PID 1 of a fresh PID namespace, as in a container: it must reap
// every orphan the runtime leaves, and stop the whole namespace on TERM.

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nsPIDs returns the pids of a process in each PID namespace it belongs
// to, outermost first (NSpid in /proc/PID/status); nil when it is gone.
func nsPIDs(pid int) []int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			var out []int
			for _, f := range strings.Fields(v) {
				n, err := strconv.Atoi(f)
				if err != nil {
					return nil
				}
				out = append(out, n)
			}
			return out
		}
	}
	return nil
}

// inNamespace returns the descendants of the unshare process that live in
// the new PID namespace (seen from the host: their NSpid has a second
// entry).
func inNamespace(unsharePID int) []procInfo {
	var out []procInfo
	for _, p := range descendants(unsharePID) {
		if ns := nsPIDs(p.pid); len(ns) >= 2 {
			out = append(out, p)
		}
	}
	return out
}

func TestPID1ReapsOrphansAndStops(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	unshare := requireTool(t, "unshare")
	root := t.TempDir()
	const orphans = 200
	writeConf(t, root, conf{
		test: "orphans = " + strconv.Itoa(orphans) + "\nworkers = 2",
		niod: "stop_timeout = 5s",
	})
	n := startNiod(t, startOpts{root: root, wrap: []string{unshare, "--pid", "--fork", "--mount-proc"}})

	// niod is the child unshare forks into the new namespace.
	var niod int
	n.waitFor("niod as the child of unshare", func() bool {
		for _, p := range descendants(n.pid) {
			if p.ppid != n.pid {
				continue
			}
			if exe, err := os.Readlink("/proc/" + strconv.Itoa(p.pid) + "/exe"); err == nil && exe == niodBin {
				niod = p.pid
				return true
			}
		}
		return false
	})
	if ns := nsPIDs(niod); len(ns) != 2 || ns[1] != 1 {
		t.Fatalf("niod (host pid %d) has NSpid %v; want PID 1 of a new namespace (is unshare --pid allowed here?)\n%s", niod, ns, n.dump())
	}

	n.waitStdout("ready", 1)
	if got := pidsOf(t, n.waitStdout("orphans ", 1)[0]); len(got) != orphans {
		t.Fatalf("the runtime left %d orphans, want %d", len(got), orphans)
	}
	rtNS := n.waitRuntime(1) // a pid inside the namespace
	var runtimeHost int
	for _, p := range inNamespace(n.pid) {
		if ns := nsPIDs(p.pid); len(ns) >= 2 && ns[len(ns)-1] == rtNS && p.ppid == niod {
			runtimeHost = p.pid
		}
	}
	if runtimeHost == 0 {
		t.Fatalf("cannot find the runtime (namespace pid %d) below niod from the host", rtNS)
	}

	// The orphans exit about 0.5 s after the start and become zombies of
	// PID 1; niod must reap all of them.
	var zombies []int
	deadline := time.Now().Add(10 * time.Second)
	for {
		zombies = zombies[:0]
		for _, p := range inNamespace(n.pid) {
			if p.state == 'Z' {
				zombies = append(zombies, p.pid)
			}
		}
		if len(zombies) == 0 || time.Now().After(deadline) || n.exited() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(zombies) > 0 {
		t.Errorf("%d zombies left in niod's PID namespace after 10 s (host pids %v...)", len(zombies), zombies[:min(len(zombies), 10)])
	}

	var refs []procRef
	for _, p := range inNamespace(n.pid) {
		if p.state != 'Z' {
			refs = append(refs, procRef{pid: p.pid, start: p.start, what: "process of the namespace"})
		}
	}
	if len(refs) < 4 { // niod, the runtime, 2 workers
		t.Errorf("only %d processes in the namespace before the stop; want niod, the runtime and its workers", len(refs))
	}
	if err := syscall.Kill(niod, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// niod exits 143 by itself; unshare passes an exit code through (and
	// would die of the same signal had niod died of one).
	ws := n.waitExit(waitLong)
	switch {
	case ws.Signaled():
		t.Errorf("unshare died of %v: niod died of the signal instead of exiting 143\n%s", ws.Signal(), n.dump())
	case ws.ExitStatus() != 143:
		t.Errorf("unshare exited %d, want 143 (niod's exit code)\n%s", ws.ExitStatus(), n.dump())
	}
	assertNoCrash(t, n.stderr.String())
	if len(n.logsWith("stopping")) != 1 {
		t.Errorf("niod did not log \"stopping\"\n%s", n.dump())
	}
	n.assertGoneAtExit(refs)
}
