// Command floorgroup is the speed floor of stopping a process tree: it runs
// COMMAND in a process group of its own as a child subreaper, and on
// SIGTERM it signals the group and waits until no member of the group is
// left, then exits 143. It does not look for descendants that left the
// group (setsid, setpgid): those survive it, which is why it is the floor
// of the time a stop takes, not of what a stop must do.
//
// usage: floorgroup COMMAND [ARG...]
package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

const prSetChildSubreaper = 36

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: floorgroup COMMAND [ARG...]\n")
		os.Exit(64)
	}
	// Orphaned members of the group become our children: we reap them, and
	// the group is gone once the last of them is reaped.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		os.Stderr.WriteString("floorgroup: prctl: " + e.Error() + "\n")
		os.Exit(70)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("floorgroup: " + err.Error() + "\n")
		os.Exit(69)
	}
	pgid := cmd.Process.Pid
	<-term
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	// Every member is a descendant; its zombie is reaped by its parent, a
	// member too, or by us: the last one to go is reaped here, so blocking
	// in wait4 cannot outlast the group.
	for syscall.Kill(-pgid, 0) == nil {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &ws, 0, nil); errors.Is(err, syscall.ECHILD) {
			break
		}
	}
	os.Exit(143)
}
