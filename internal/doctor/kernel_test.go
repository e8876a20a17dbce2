package doctor

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// runOne runs the check id of checks on h.
// wantFinding fails t unless got is want (the ID aside), evidence and all.
func wantFinding(t *testing.T, got, want Finding) {
	t.Helper()
	if got.Status != want.Status || got.Summary != want.Summary || got.Fix != want.Fix || !reflect.DeepEqual(got.Evidence, want.Evidence) {
		t.Errorf("got %s %q\n%q\nfix %q\nwant %s %q\n%q\nfix %q", got.Status, got.Summary, got.Evidence, got.Fix, want.Status, want.Summary, want.Evidence, want.Fix)
	}
}

func runOne(t *testing.T, checks []Check, id string, h *Host) Finding {
	t.Helper()
	for _, c := range checks {
		if c.ID == id {
			f := c.Run(h)
			if f.Summary == "" {
				t.Errorf("%s: empty summary: %+v", id, f)
			}
			if (f.Status == Warn || f.Status == Fail) && f.Fix == "" {
				t.Errorf("%s: %s without a fix: %+v", id, f.Status, f)
			}
			return f
		}
	}
	t.Fatalf("no check %s", id)
	return Finding{}
}

func TestHostCheckIDs(t *testing.T) {
	t.Parallel()
	want := map[string]bool{
		"clock.sync": true, "clock.daemon": false,
		"swap.encrypted":     false,
		"core.pattern":       false,
		"core.suid_dumpable": true, "core.rlimit": true,
		"kernel.randomize_va_space": false, "kernel.kptr_restrict": false, "kernel.dmesg_restrict": false,
		"kernel.yama_ptrace_scope": false, "fs.protected": false, "kernel.unprivileged_bpf_disabled": false,
		"wifi.security": false, "ssh.config": false, "updates.unattended": false,
		"sandbox.container": true, "sandbox.lsm": true, "exposure.listeners": true,
		"secrets.vcs": true, "secrets.permissions": true, "files.project": true, "runtime.root": true,
		"tls.api": true, "exposure.api": true, "credentials.weak": true,
	}
	got := map[string]bool{}
	for _, group := range [][]Check{All()} {
		for _, c := range group {
			if _, dup := got[c.ID]; dup {
				t.Errorf("%s twice", c.ID)
			}
			got[c.ID] = c.Container
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IDs and Container:\n got %v\nwant %v", got, want)
	}
}

func TestSysctlChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id, file, value string // value "" leaves the file out; "/" makes it a directory
		status          Status
		summary         string
		fix             string
	}{
		{"kernel.randomize_va_space", "kernel/randomize_va_space", "2", OK, "address space layout is randomised", ""},
		{"kernel.randomize_va_space", "kernel/randomize_va_space", "1", Warn, "address space randomisation leaves the heap (brk) in place",
			"sysctl -w kernel.randomize_va_space=2 && echo kernel.randomize_va_space=2 >> /etc/sysctl.d/90-nio.conf"},
		{"kernel.randomize_va_space", "kernel/randomize_va_space", "0", Fail, "address space randomisation is off",
			"sysctl -w kernel.randomize_va_space=2 && echo kernel.randomize_va_space=2 >> /etc/sysctl.d/90-nio.conf"},
		{"kernel.randomize_va_space", "kernel/randomize_va_space", "3", Warn, "unknown address space randomisation mode",
			"sysctl -w kernel.randomize_va_space=2 && echo kernel.randomize_va_space=2 >> /etc/sysctl.d/90-nio.conf"},
		{"kernel.randomize_va_space", "kernel/randomize_va_space", "", Skip, "cannot read /proc/sys/kernel/randomize_va_space: no such file or directory", ""},
		{"kernel.kptr_restrict", "kernel/kptr_restrict", "1", OK, "kernel addresses are hidden", ""},
		{"kernel.kptr_restrict", "kernel/kptr_restrict", "2", OK, "kernel addresses are hidden", ""},
		{"kernel.kptr_restrict", "kernel/kptr_restrict", "0", Warn, "every user sees kernel addresses (/proc/kallsyms)",
			"sysctl -w kernel.kptr_restrict=1 && echo kernel.kptr_restrict=1 >> /etc/sysctl.d/90-nio.conf"},
		{"kernel.kptr_restrict", "kernel/kptr_restrict", "", Skip, "cannot read /proc/sys/kernel/kptr_restrict: no such file or directory", ""},
		{"kernel.kptr_restrict", "kernel/kptr_restrict", "/", Skip, "cannot read /proc/sys/kernel/kptr_restrict: is a directory", ""},
		{"kernel.kptr_restrict", "kernel/kptr_restrict", "x\n", Skip, `cannot read /proc/sys/kernel/kptr_restrict: not a number: "x"`, ""},
		{"kernel.dmesg_restrict", "kernel/dmesg_restrict", "1", OK, "the kernel log is for privileged users", ""},
		{"kernel.dmesg_restrict", "kernel/dmesg_restrict", "0", Warn, "every user can read the kernel log",
			"sysctl -w kernel.dmesg_restrict=1 && echo kernel.dmesg_restrict=1 >> /etc/sysctl.d/90-nio.conf"},
		{"kernel.dmesg_restrict", "kernel/dmesg_restrict", "", Skip, "cannot read /proc/sys/kernel/dmesg_restrict: no such file or directory", ""},
		{"kernel.yama_ptrace_scope", "kernel/yama/ptrace_scope", "/", Skip, "cannot read /proc/sys/kernel/yama/ptrace_scope: is a directory", ""},
		{"kernel.yama_ptrace_scope", "kernel/yama/ptrace_scope", "1", OK, "ptrace is restricted (Yama)", ""},
		{"kernel.yama_ptrace_scope", "kernel/yama/ptrace_scope", "3", OK, "ptrace is restricted (Yama)", ""},
		{"kernel.yama_ptrace_scope", "kernel/yama/ptrace_scope", "0", Warn, "a process can trace and read any other of its user",
			"sysctl -w kernel.yama.ptrace_scope=1 && echo kernel.yama.ptrace_scope=1 >> /etc/sysctl.d/90-nio.conf"},
		{"kernel.yama_ptrace_scope", "kernel/yama/ptrace_scope", "", Skip, "no Yama: the kernel has no ptrace restriction", ""},
		{"kernel.unprivileged_bpf_disabled", "kernel/unprivileged_bpf_disabled", "2", OK, "unprivileged BPF is off", ""},
		{"kernel.unprivileged_bpf_disabled", "kernel/unprivileged_bpf_disabled", "1", OK, "unprivileged BPF is off", ""},
		{"kernel.unprivileged_bpf_disabled", "kernel/unprivileged_bpf_disabled", "0", Warn, "unprivileged users can load BPF programs",
			"sysctl -w kernel.unprivileged_bpf_disabled=2 && echo kernel.unprivileged_bpf_disabled=2 >> /etc/sysctl.d/90-nio.conf"},
		{"kernel.unprivileged_bpf_disabled", "kernel/unprivileged_bpf_disabled", "", Skip, "the kernel has no BPF system call", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id+"="+strings.TrimSpace(tt.value), func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"/proc/sys/kernel/ostype": "Linux\n"}
			switch tt.value {
			case "":
			case "/":
				files["/proc/sys/"+tt.file+"/x"] = ""
			default:
				files["/proc/sys/"+tt.file] = tt.value + "\n"
			}
			f := runOne(t, KernelChecks(), tt.id, hostLaidOut(t, files))
			if f.Status != tt.status || f.Summary != tt.summary || f.Fix != tt.fix {
				t.Errorf("got %s %q fix %q\nwant %s %q fix %q", f.Status, f.Summary, f.Fix, tt.status, tt.summary, tt.fix)
			}
			switch {
			case tt.status != Skip:
				if want := []string{"/proc/sys/" + tt.file + ": " + tt.value}; !reflect.DeepEqual(f.Evidence, want) {
					t.Errorf("evidence %q, want %q", f.Evidence, want)
				}
			case tt.value == "" && !strings.HasPrefix(f.Summary, "cannot"):
				if want := []string{"/proc/sys/" + tt.file + ": absent"}; !reflect.DeepEqual(f.Evidence, want) {
					t.Errorf("evidence %q, want %q", f.Evidence, want)
				}
			}
		})
	}
}

func TestFsProtected(t *testing.T) {
	t.Parallel()
	all := func(h, s, f, r string) map[string]string {
		files := map[string]string{}
		for name, v := range map[string]string{"hardlinks": h, "symlinks": s, "fifos": f, "regular": r} {
			if v != "" {
				files["/proc/sys/fs/protected_"+name] = v + "\n"
			}
		}
		files["/proc/sys/fs/file-max"] = "100\n"
		return files
	}
	tests := []struct {
		name     string
		files    map[string]string
		status   Status
		summary  string
		evidence []string
		fix      string
	}{
		{"all on", all("1", "1", "1", "2"), OK, "links, fifos and files in sticky directories are protected", []string{
			"/proc/sys/fs/protected_hardlinks: 1", "/proc/sys/fs/protected_symlinks: 1", "/proc/sys/fs/protected_fifos: 1", "/proc/sys/fs/protected_regular: 2"}, ""},
		{"some off", all("1", "0", "0", "0"), Warn, "off: fs.protected_symlinks, fs.protected_fifos, fs.protected_regular", []string{
			"/proc/sys/fs/protected_hardlinks: 1", "/proc/sys/fs/protected_symlinks: 0", "/proc/sys/fs/protected_fifos: 0", "/proc/sys/fs/protected_regular: 0"},
			`sysctl -w fs.protected_symlinks=1 fs.protected_fifos=1 fs.protected_regular=1 && printf '%s\n' fs.protected_symlinks=1 fs.protected_fifos=1 fs.protected_regular=1 >> /etc/sysctl.d/90-nio.conf`},
		{"before 4.19", all("1", "1", "", ""), OK, "links, fifos and files in sticky directories are protected", []string{
			"/proc/sys/fs/protected_hardlinks: 1", "/proc/sys/fs/protected_symlinks: 1", "/proc/sys/fs/protected_fifos: absent", "/proc/sys/fs/protected_regular: absent"}, ""},
		{"none", all("", "", "", ""), Skip, "the kernel has no fs.protected_* sysctls", []string{
			"/proc/sys/fs/protected_hardlinks: absent", "/proc/sys/fs/protected_symlinks: absent", "/proc/sys/fs/protected_fifos: absent", "/proc/sys/fs/protected_regular: absent"}, ""},
		{"unreadable", map[string]string{"/proc/sys/fs/protected_hardlinks/x": ""}, Skip, "cannot read /proc/sys/fs/protected_hardlinks: is a directory", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := runOne(t, KernelChecks(), "fs.protected", hostLaidOut(t, tt.files))
			wantFinding(t, f, Finding{Status: tt.status, Summary: tt.summary, Evidence: tt.evidence, Fix: tt.fix})
		})
	}
}

func TestSysctlFixQuotes(t *testing.T) {
	t.Parallel()
	got := sysctlFix("kernel.core_pattern=|/bin/false")
	want := `sysctl -w 'kernel.core_pattern=|/bin/false' && echo 'kernel.core_pattern=|/bin/false' >> /etc/sysctl.d/90-nio.conf`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if discardFix != sysctlFix("kernel.core_pattern=|/bin/false") {
		t.Errorf("discardFix %q is not sysctlFix's", discardFix)
	}
}

// TestHostChecksOnThisMachine runs every check of the host's clock, swap,
// core dumps and kernel on this machine: each gives a verdict.
func TestHostChecksOnThisMachine(t *testing.T) {
	t.Parallel()
	h := &Host{Root: "/", Euid: os.Geteuid()}
	var checks []Check
	for _, group := range [][]Check{ClockChecks(), SwapChecks(), CoreChecks(), KernelChecks()} {
		checks = append(checks, group...)
	}
	for i, f := range Run(h, checks) {
		if f.ID != checks[i].ID {
			t.Errorf("finding %d is %s, want %s", i, f.ID, checks[i].ID)
		}
		switch f.Status {
		case OK, Warn, Fail, Skip:
		default:
			t.Errorf("%s: status %q", f.ID, f.Status)
		}
		if f.Summary == "" {
			t.Errorf("%s: empty summary", f.ID)
		}
		if (f.Status == Warn || f.Status == Fail) && f.Fix == "" {
			t.Errorf("%s: %s without a fix", f.ID, f.Status)
		}
		t.Logf("%-32s %-4s %s %q fix: %s", f.ID, f.Status, f.Summary, f.Evidence, f.Fix)
	}
}

// TestDmesgRestrictFlipped flips kernel.dmesg_restrict on this machine
// (as root, where /proc/sys is writable), checks both values and puts the
// first back.
func TestDmesgRestrictFlipped(t *testing.T) {
	const p = "/proc/sys/kernel/dmesg_restrict"
	h := &Host{Root: "/"}
	check := func(value string) {
		t.Helper()
		want := map[string]Status{"0": Warn, "1": OK}[value]
		if f := runOne(t, KernelChecks(), "kernel.dmesg_restrict", h); f.Status != want || !reflect.DeepEqual(f.Evidence, []string{p + ": " + value}) {
			t.Errorf("dmesg_restrict %s: got %s %q, want %s", value, f.Status, f.Evidence, want)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	was := strings.TrimSpace(string(b))
	check(was)
	flipped := map[string]string{"0": "1", "1": "0"}[was]
	if err := os.WriteFile(p, []byte(flipped), 0); err != nil {
		// Not root, or a read-only /proc/sys: the value as it is was checked.
		t.Logf("dmesg_restrict stays %s: %v", was, err)
		return
	}
	t.Cleanup(func() {
		if err := os.WriteFile(p, []byte(was), 0); err != nil {
			t.Errorf("restoring %s to %s: %v", p, was, err)
		}
	})
	check(flipped)
}
