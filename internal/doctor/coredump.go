package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// getrlimitCore is RLIMIT_CORE of this process, soft and hard, or the one
// RecordCoreLimit kept; tests substitute it.
var getrlimitCore = func() (soft, hard uint64, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		return 0, 0, err
	}
	return rl.Cur, rl.Max, nil
}

// RecordCoreLimit keeps RLIMIT_CORE as the process has it now for
// core.rlimit, which judges the limit niod was started with: niod's main
// calls it before it lowers its own limit to 0, first thing.
func RecordCoreLimit() {
	soft, hard, err := getrlimitCore()
	getrlimitCore = func() (uint64, uint64, error) { return soft, hard, err }
}

// coredumpFix is what the warnings of systemd-coredump's storage say.
const coredumpFix = "mkdir -p /etc/systemd/coredump.conf.d && printf '[Coredump]\\nStorage=none\\n' > /etc/systemd/coredump.conf.d/nio.conf"

// discardFix routes core dumps nowhere: sysctlFix("kernel.core_pattern=|/bin/false"),
// written out so that no niod start computes it.
const discardFix = `sysctl -w 'kernel.core_pattern=|/bin/false' && echo 'kernel.core_pattern=|/bin/false' >> ` + sysctlFile

// CoreChecks are the checks of core dumps: a dump of niod or of the
// runtime holds the secrets they had in memory.
func CoreChecks() []Check {
	return []Check{
		// kernel.core_pattern is the host's alone (the helper runs in
		// the host's namespaces): it is checked there.
		{ID: "core.pattern", Run: corePattern},
		{ID: "core.suid_dumpable", Container: true, Run: suidDumpable},
		{ID: "core.rlimit", Container: true, Run: func(*Host) Finding { return coreRlimit(getrlimitCore) }},
	}
}

// corePattern judges where the kernel sends core dumps.
func corePattern(h *Host) Finding {
	const p = "/proc/sys/kernel/core_pattern"
	pattern, err := h.Line(p)
	if err != nil {
		return cannotRead(p, err)
	}
	ev := []string{p + ": " + pattern}
	if pattern == "" {
		return Finding{Status: Warn, Summary: "kernel.core_pattern is empty", Evidence: ev, Fix: discardFix}
	}
	if helper, ok := strings.CutPrefix(pattern, "|"); ok {
		prog, _, _ := strings.Cut(strings.TrimSpace(helper), " ")
		switch path.Base(prog) {
		case "false", "true":
			return Finding{Status: OK, Summary: "core dumps are discarded", Evidence: ev}
		case "systemd-coredump":
			return coredumpStorage(h, ev)
		}
		return Finding{Status: Warn, Summary: "core dumps, with the secrets in them, go to " + prog, Evidence: ev, Fix: discardFix}
	}
	if !strings.HasPrefix(pattern, "/") {
		if h.Settings != nil {
			return Finding{
				Status:   Fail,
				Summary:  "core dumps of the runtime would land in the project",
				Evidence: append(ev, "project root: "+h.Settings.Root+" (the runtime's working directory)"),
				Fix:      discardFix,
			}
		}
		return Finding{Status: Warn, Summary: "core dumps are written in the crashing process's working directory", Evidence: ev, Fix: discardFix}
	}
	return Finding{Status: Warn, Summary: "core dumps are written to " + path.Dir(pattern), Evidence: ev, Fix: discardFix + ", or pipe them to systemd-coredump with Storage=none"}
}

// coredumpStorage judges systemd-coredump's Storage= setting.
func coredumpStorage(h *Host, ev []string) Finding {
	storage, origin, err := coredumpConf(h)
	if err != nil {
		return Finding{Status: Skip, Summary: err.Error(), Evidence: ev}
	}
	if origin == "" {
		ev = append(ev, "Storage= unset in coredump.conf (default external)")
	} else {
		ev = append(ev, origin+": Storage="+storage)
	}
	switch storage {
	case "none":
		return Finding{Status: OK, Summary: "systemd-coredump keeps no core dumps", Evidence: ev}
	case "journal":
		return Finding{Status: Warn, Summary: "core dumps of niod or the runtime, secrets in them, are kept in the journal", Evidence: ev, Fix: coredumpFix}
	}
	return Finding{Status: Warn, Summary: "core dumps of niod or the runtime, secrets in them, are kept under /var/lib/systemd/coredump", Evidence: ev, Fix: coredumpFix}
}

// coredumpDirs are where systemd looks for coredump.conf and its
// coredump.conf.d drop-ins, first wins among files of the same name.
var coredumpDirs = []string{"/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"}

// coredumpConf is systemd-coredump's Storage= value and its origin
// ("FILE:LINE", "" for the default external), read as systemd does: the
// first coredump.conf found, then every coredump.conf.d/*.conf in the
// order of their names, a later assignment winning.
func coredumpConf(h *Host) (storage, origin string, err error) {
	var files []string
	for _, d := range coredumpDirs {
		if _, err := os.Stat(h.Path(d + "/coredump.conf")); err == nil {
			files = append(files, d+"/coredump.conf")
			break
		}
	}
	dropins := map[string]string{}
	for _, d := range coredumpDirs {
		entries, err := os.ReadDir(h.Path(d + "/coredump.conf.d"))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if n := e.Name(); strings.HasSuffix(n, ".conf") && dropins[n] == "" {
				dropins[n] = d + "/coredump.conf.d/" + n
			}
		}
	}
	names := make([]string, 0, len(dropins))
	for n := range dropins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, dropins[n])
	}
	storage = "external"
	for _, f := range files {
		text, err := h.ReadFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return "", "", errors.New("cannot read " + f + ": " + errReason(err))
		}
		section := ""
		for i, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "" || line[0] == '#' || line[0] == ';':
				continue
			case line[0] == '[':
				section = strings.Trim(line, "[]")
				continue
			}
			key, value, ok := strings.Cut(line, "=")
			if !ok || section != "Coredump" || strings.TrimSpace(key) != "Storage" {
				continue
			}
			switch v := strings.TrimSpace(value); v {
			case "none", "external", "journal":
				storage, origin = v, fmt.Sprintf("%s:%d", f, i+1)
			case "":
				storage, origin = "external", "" // an empty assignment resets
			}
			// systemd ignores any other value, keeping the one before.
		}
	}
	return storage, origin, nil
}

// suidDumpable judges fs.suid_dumpable, which also decides whether a
// process that changed its uids (niod dropping root) may dump core.
func suidDumpable(h *Host) Finding {
	return sysctlCheck(h, "fs.suid_dumpable", "", "0", func(v int) (Status, string) {
		switch v {
		case 0:
			return OK, "processes that changed uid do not dump core"
		case 1:
			return Fail, "every process dumps core, those that changed uid too"
		case 2:
			return Warn, "processes that changed uid dump core, readable by root"
		}
		return Warn, "unknown fs.suid_dumpable mode"
	})
}

// coreRlimit judges the RLIMIT_CORE niod was started with. niod lowers
// its own to 0; the limit shows whether the environment it starts from
// (the unit, the shell) lets other processes dump core.
func coreRlimit(get func() (soft, hard uint64, err error)) Finding {
	soft, hard, err := get()
	if err != nil {
		return Finding{Status: Skip, Summary: "cannot read RLIMIT_CORE: " + errReason(err)}
	}
	ev := []string{fmt.Sprintf("RLIMIT_CORE inherited: soft %s, hard %s", rlimitText(soft), rlimitText(hard))}
	if soft == 0 {
		return Finding{Status: OK, Summary: "core dumps are off (RLIMIT_CORE 0)", Evidence: ev}
	}
	return Finding{Status: Warn, Summary: "the environment allows core dumps", Evidence: ev, Fix: "LimitCORE=0 in niod's unit, or ulimit -c 0 before starting niod"}
}

// rlimitText is a limit in bytes, or unlimited.
func rlimitText(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return fmt.Sprint(v)
}
