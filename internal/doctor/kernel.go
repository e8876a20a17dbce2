package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"niod/internal/shell"
	"strconv"
	"strings"
)

// sysctlFile is where the fix lines of the checks put a sysctl for good:
// after the distributions' own (systemd-coredump's 50-coredump.conf sets
// fs.suid_dumpable=2), so it wins.
const sysctlFile = "/etc/sysctl.d/90-nio.conf"

// KernelChecks are the kernel settings that matter on a device running
// user-editable code: they decide what one compromised process learns of
// the kernel and of the others. Each sysctl is global, not per namespace:
// a container sees the host's, so the checks run on the host only.
func KernelChecks() []Check {
	return []Check{
		{ID: "kernel.randomize_va_space", Run: func(h *Host) Finding {
			return sysctlCheck(h, "kernel.randomize_va_space", "", "2", func(v int) (Status, string) {
				switch v {
				case 2:
					return OK, "address space layout is randomised"
				case 1:
					return Warn, "address space randomisation leaves the heap (brk) in place"
				case 0:
					return Fail, "address space randomisation is off"
				}
				return Warn, "unknown address space randomisation mode"
			})
		}},
		{ID: "kernel.kptr_restrict", Run: func(h *Host) Finding {
			return sysctlCheck(h, "kernel.kptr_restrict", "", "1", atLeastOne(
				"kernel addresses are hidden", "every user sees kernel addresses (/proc/kallsyms)"))
		}},
		{ID: "kernel.dmesg_restrict", Run: func(h *Host) Finding {
			return sysctlCheck(h, "kernel.dmesg_restrict", "", "1", atLeastOne(
				"the kernel log is for privileged users", "every user can read the kernel log"))
		}},
		{ID: "kernel.yama_ptrace_scope", Run: func(h *Host) Finding {
			return sysctlCheck(h, "kernel.yama.ptrace_scope", "no Yama: the kernel has no ptrace restriction", "1", atLeastOne(
				"ptrace is restricted (Yama)", "a process can trace and read any other of its user"))
		}},
		{ID: "fs.protected", Run: protectedLinks},
		{ID: "kernel.unprivileged_bpf_disabled", Run: func(h *Host) Finding {
			return sysctlCheck(h, "kernel.unprivileged_bpf_disabled", "the kernel has no BPF system call", "2", atLeastOne(
				"unprivileged BPF is off", "unprivileged users can load BPF programs"))
		}},
	}
}

// atLeastOne judges a sysctl that is on at 1 or more.
func atLeastOne(on, off string) func(int) (Status, string) {
	return func(v int) (Status, string) {
		if v >= 1 {
			return OK, on
		}
		return Warn, off
	}
}

// sysctlPath is the /proc/sys file of a sysctl name.
func sysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// readSysctl reads an integer sysctl; the evidence line is "FILE: VALUE".
func readSysctl(h *Host, name string) (v int, evidence string, err error) {
	p := sysctlPath(name)
	line, err := h.Line(p)
	if err != nil {
		return 0, "", err
	}
	v, err = strconv.Atoi(line)
	if err != nil {
		return 0, "", fmt.Errorf("not a number: %q", line)
	}
	return v, p + ": " + line, nil
}

// sysctlCheck is the finding of one integer sysctl judged by judge; want
// is the value the fix sets. A sysctl that does not exist skips with
// missing when that is not empty (a kernel without the feature).
func sysctlCheck(h *Host, name, missing, want string, judge func(int) (Status, string)) Finding {
	v, ev, err := readSysctl(h, name)
	if err != nil {
		if missing != "" && errors.Is(err, fs.ErrNotExist) {
			return Finding{Status: Skip, Summary: missing, Evidence: []string{sysctlPath(name) + ": absent"}}
		}
		return cannotRead(sysctlPath(name), err)
	}
	st, summary := judge(v)
	f := Finding{Status: st, Summary: summary, Evidence: []string{ev}}
	if st != OK {
		f.Fix = sysctlFix(name + "=" + want)
	}
	return f
}

// sysctlFix sets the sysctls ("NAME=VALUE") now and for the next boots.
func sysctlFix(assignments ...string) string {
	words := shell.Join(assignments)
	if len(assignments) == 1 {
		return fmt.Sprintf("sysctl -w %s && echo %s >> %s", words, words, sysctlFile)
	}
	return fmt.Sprintf("sysctl -w %s && printf '%%s\\n' %s >> %s", words, words, sysctlFile)
}

// protectedFiles are the fs.protected_* sysctls and the value each should
// have at least; hard and symbolic links know only 0 and 1.
var protectedFiles = []struct {
	name string
	want int
}{
	{"fs.protected_hardlinks", 1},
	{"fs.protected_symlinks", 1},
	{"fs.protected_fifos", 1},
	{"fs.protected_regular", 1},
}

// protectedLinks checks the protections against link and file planting in
// world-writable sticky directories (/tmp), where user code and the
// runtime meet. protected_fifos and protected_regular came with Linux
// 4.19: an older kernel lacks them, which is no reason to warn.
func protectedLinks(h *Host) Finding {
	var evidence, off, fix []string
	seen := 0
	for _, p := range protectedFiles {
		v, ev, err := readSysctl(h, p.name)
		if errors.Is(err, fs.ErrNotExist) {
			evidence = append(evidence, sysctlPath(p.name)+": absent")
			continue
		}
		if err != nil {
			return cannotRead(sysctlPath(p.name), err)
		}
		seen++
		evidence = append(evidence, ev)
		if v < p.want {
			off = append(off, p.name)
			fix = append(fix, p.name+"="+strconv.Itoa(p.want))
		}
	}
	switch {
	case seen == 0:
		return Finding{Status: Skip, Summary: "the kernel has no fs.protected_* sysctls", Evidence: evidence}
	case len(off) > 0:
		return Finding{Status: Warn, Summary: "off: " + strings.Join(off, ", "), Evidence: evidence, Fix: sysctlFix(fix...)}
	}
	return Finding{Status: OK, Summary: "links, fifos and files in sticky directories are protected", Evidence: evidence}
}

// cannotRead is the skip of a check whose file cannot be read: the path
// as the host names it and the reason, without the test root's prefix.
func cannotRead(p string, err error) Finding {
	return Finding{Status: Skip, Summary: "cannot read " + p + ": " + errReason(err)}
}

// errReason is err without the path a *fs.PathError repeats.
func errReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
