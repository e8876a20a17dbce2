package doctor

import (
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// engineSockets are the control sockets of container engines: whoever can
// connect to one starts a privileged container and so owns the host.
var engineSockets = []string{
	"/var/run/docker.sock",
	"/run/docker.sock",
	"/run/podman/podman.sock",
	"/run/containerd/containerd.sock",
}

// SandboxChecks are the checks of what confines nio's processes: the
// container it runs in and the kernel's mandatory access control.
func SandboxChecks() []Check {
	return []Check{
		{ID: "sandbox.container", Container: true, Run: sandboxContainer},
		{ID: "sandbox.lsm", Container: true, Run: sandboxLSM},
	}
}

// sandboxContainer checks that the container nio runs in confines it: no
// engine socket mounted into it, and not every capability kept.
func sandboxContainer(h *Host) Finding {
	if !h.InContainer {
		return Finding{Status: Skip, Summary: "not in a container"}
	}
	var evidence, problems, fixes []string
	for _, p := range engineSockets {
		if fi, err := os.Lstat(h.Path(p)); err == nil && fi.Mode()&fs.ModeSocket != 0 {
			evidence = append(evidence, p+": a socket")
			problems = append(problems, p+" is root-equivalent: whoever reaches it controls the host")
			fixes = append(fixes, "do not mount "+p+" into the container")
		}
	}
	full, ev, capsKnown := fullCapabilities(h)
	if capsKnown {
		evidence = append(evidence, ev...)
		if full {
			problems = append(problems, "every capability is kept: a privileged container")
			fixes = append(fixes, "run it without --privileged, adding only the capabilities it needs (--cap-add)")
		}
	}
	if len(problems) > 0 {
		return Finding{Status: Fail, Summary: strings.Join(problems, "; "), Evidence: evidence, Fix: strings.Join(fixes, "; ")}
	}
	if !capsKnown {
		return Finding{Status: OK, Summary: "no engine socket (the capability bounding set is unknown)", Evidence: evidence}
	}
	return Finding{Status: OK, Summary: "no engine socket and a reduced capability set", Evidence: evidence}
}

// fullCapabilities says whether the capability bounding set holds every
// capability the kernel knows; ok is false when it cannot tell.
func fullCapabilities(h *Host) (full bool, evidence []string, ok bool) {
	last, err := h.Line("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return false, nil, false
	}
	n, err := strconv.Atoi(last)
	if err != nil || n < 0 || n > 63 { // CapBnd is 64 bits
		return false, nil, false
	}
	status, err := h.ReadFile("/proc/self/status")
	if err != nil {
		return false, nil, false
	}
	for _, line := range strings.Split(status, "\n") {
		hex, found := strings.CutPrefix(line, "CapBnd:")
		if !found {
			continue
		}
		hex = strings.TrimSpace(hex)
		bnd, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			return false, nil, false
		}
		all := uint64(1)<<(n+1) - 1 // n = 63: the shift is 0, all 64 bits
		return bnd&all == all, []string{"/proc/self/status: CapBnd " + hex, "/proc/sys/kernel/cap_last_cap: " + last}, true
	}
	return false, nil, false
}

// lsmFile lists the kernel's active security modules.
const lsmFile = "/sys/kernel/security/lsm"

// sandboxLSM checks that a mandatory access control module confines
// processes beyond their uid.
func sandboxLSM(h *Host) Finding {
	line, err := h.Line(lsmFile)
	if err != nil {
		return cannotRead(lsmFile, err)
	}
	ev := []string{lsmFile + ": " + line}
	for _, m := range strings.Split(line, ",") {
		switch m {
		case "apparmor":
			return Finding{Status: OK, Summary: "AppArmor is active", Evidence: ev}
		case "selinux":
			return Finding{Status: OK, Summary: "SELinux is active", Evidence: ev}
		}
	}
	return Finding{Status: Warn, Summary: "no AppArmor or SELinux", Evidence: ev,
		Fix: "enable AppArmor (apt-get install apparmor; apparmor in the kernel's lsm= list) or SELinux"}
}
