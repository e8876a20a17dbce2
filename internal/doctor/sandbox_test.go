package doctor

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// listenUnix makes p under h's root a socket file, as an engine's is.
func listenUnix(t *testing.T, h *Host, p string) {
	t.Helper()
	full := h.Path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", full)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

func TestSandboxContainer(t *testing.T) {
	t.Parallel()
	status := func(bnd string) string {
		return "Name:\tniod\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapBnd:\t" + bnd + "\nCapAmb:\t0000000000000000\n"
	}
	confined := map[string]string{"/proc/self/status": status("00000000a80425fb"), "/proc/sys/kernel/cap_last_cap": "40\n"}
	h := hostLaidOut(t, confined)
	h.InContainer = true
	f := runOne(t, SandboxChecks(), "sandbox.container", h)
	if want := []string{"/proc/self/status: CapBnd 00000000a80425fb", "/proc/sys/kernel/cap_last_cap: 40"}; f.Status != OK || !reflect.DeepEqual(f.Evidence, want) {
		t.Errorf("a confined container: got %s %q %q", f.Status, f.Summary, f.Evidence)
	}

	// An ordinary file of the socket's name is no socket.
	h = hostLaidOut(t, map[string]string{"/proc/self/status": status("000001ffffffffff"), "/proc/sys/kernel/cap_last_cap": "40\n",
		"/run/podman/podman.sock": ""})
	h.InContainer = true
	listenUnix(t, h, "/var/run/docker.sock")
	f = runOne(t, SandboxChecks(), "sandbox.container", h)
	wantSummary := "/var/run/docker.sock is root-equivalent: whoever reaches it controls the host; every capability is kept: a privileged container"
	wantEvidence := []string{"/var/run/docker.sock: a socket", "/proc/self/status: CapBnd 000001ffffffffff", "/proc/sys/kernel/cap_last_cap: 40"}
	if f.Status != Fail || f.Summary != wantSummary || !reflect.DeepEqual(f.Evidence, wantEvidence) {
		t.Errorf("privileged with docker's socket: got %s %q %q", f.Status, f.Summary, f.Evidence)
	}

	// A kernel older than the capabilities a newer engine asks for: all it knows is all.
	h = hostLaidOut(t, map[string]string{"/proc/self/status": status("0000003fffffffff"), "/proc/sys/kernel/cap_last_cap": "37\n"})
	h.InContainer = true
	if f = runOne(t, SandboxChecks(), "sandbox.container", h); f.Status != Fail || f.Summary != "every capability is kept: a privileged container" {
		t.Errorf("privileged on an older kernel: got %s %q", f.Status, f.Summary)
	}

	h = hostLaidOut(t, nil)
	h.InContainer = true
	listenUnix(t, h, "/run/containerd/containerd.sock")
	if f = runOne(t, SandboxChecks(), "sandbox.container", h); f.Status != Fail || !reflect.DeepEqual(f.Evidence, []string{"/run/containerd/containerd.sock: a socket"}) {
		t.Errorf("containerd's socket, no /proc: got %s %q %q", f.Status, f.Summary, f.Evidence)
	}
	h = hostLaidOut(t, nil)
	h.InContainer = true
	if f = runOne(t, SandboxChecks(), "sandbox.container", h); f.Status != OK || f.Summary != "no engine socket (the capability bounding set is unknown)" {
		t.Errorf("nothing readable: got %s %q", f.Status, f.Summary)
	}

	if f = runOne(t, SandboxChecks(), "sandbox.container", hostLaidOut(t, confined)); f.Status != Skip || f.Summary != "not in a container" {
		t.Errorf("on a host: got %s %q", f.Status, f.Summary)
	}
}

func TestSandboxLSM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lsm     string // "" leaves the file out
		status  Status
		summary string
	}{
		{"lockdown,capability,landlock,yama,apparmor,bpf\n", OK, "AppArmor is active"},
		{"capability,yama,selinux,bpf", OK, "SELinux is active"},
		{"lockdown,capability,landlock,yama,bpf\n", Warn, "no AppArmor or SELinux"},
		{"", Skip, "cannot read /sys/kernel/security/lsm: no such file or directory"},
	}
	for _, tt := range tests {
		files := map[string]string{}
		if tt.lsm != "" {
			files[lsmFile] = tt.lsm
		}
		f := runOne(t, SandboxChecks(), "sandbox.lsm", hostLaidOut(t, files))
		if f.Status != tt.status || f.Summary != tt.summary {
			t.Errorf("%q: got %s %q, want %s %q", tt.lsm, f.Status, f.Summary, tt.status, tt.summary)
		}
	}
}
