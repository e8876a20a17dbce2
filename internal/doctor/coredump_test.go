package doctor

import (
	"reflect"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"niod/internal/config"
)

const systemdPattern = "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h %d %F"

func TestCorePattern(t *testing.T) {
	t.Parallel()
	const (
		pat       = "/proc/sys/kernel/core_pattern: "
		storedFix = "mkdir -p /etc/systemd/coredump.conf.d && printf '[Coredump]\\nStorage=none\\n' > /etc/systemd/coredump.conf.d/nio.conf"
		discard   = "sysctl -w 'kernel.core_pattern=|/bin/false' && echo 'kernel.core_pattern=|/bin/false' >> /etc/sysctl.d/90-nio.conf"
		kept      = "core dumps of niod or the runtime, secrets in them, are kept under /var/lib/systemd/coredump"
	)
	systemd := func(conf map[string]string) map[string]string {
		files := map[string]string{"/proc/sys/kernel/core_pattern": systemdPattern + "\n"}
		for k, v := range conf {
			files[k] = v
		}
		return files
	}
	tests := []struct {
		name     string
		files    map[string]string
		settings *config.Loaded
		want     Status
		summary  string
		evidence []string
		fix      string
	}{
		{"systemd, Storage=none", systemd(map[string]string{
			"/etc/systemd/coredump.conf": "#  This file is part of systemd.\n[Coredump]\n#Storage=external\nStorage=none\nProcessSizeMax=0\n",
		}), nil, OK, "systemd-coredump keeps no core dumps", []string{pat + systemdPattern, "/etc/systemd/coredump.conf:4: Storage=none"}, ""},
		{"systemd, default", systemd(map[string]string{
			"/etc/systemd/coredump.conf": "[Coredump]\n#Storage=external\n#Compress=yes\n",
		}), nil, Warn, kept, []string{pat + systemdPattern, "Storage= unset in coredump.conf (default external)"}, storedFix},
		{"systemd, no files", systemd(nil), nil, Warn, kept, []string{pat + systemdPattern, "Storage= unset in coredump.conf (default external)"}, storedFix},
		{"systemd, journal", systemd(map[string]string{
			"/etc/systemd/coredump.conf": "[Coredump]\nStorage = journal\n",
		}), nil, Warn, "core dumps of niod or the runtime, secrets in them, are kept in the journal",
			[]string{pat + systemdPattern, "/etc/systemd/coredump.conf:2: Storage=journal"}, storedFix},
		{"drop-in wins over the main file", systemd(map[string]string{
			"/etc/systemd/coredump.conf":            "[Coredump]\nStorage=external\n",
			"/etc/systemd/coredump.conf.d/nio.conf": "[Coredump]\nStorage=none\n",
		}), nil, OK, "systemd-coredump keeps no core dumps", []string{pat + systemdPattern, "/etc/systemd/coredump.conf.d/nio.conf:2: Storage=none"}, ""},
		{"later drop-in wins", systemd(map[string]string{
			"/etc/systemd/coredump.conf.d/nio.conf":           "[Coredump]\nStorage=none\n",
			"/usr/lib/systemd/coredump.conf.d/zz-vendor.conf": "\n[Coredump]\nStorage=external\n",
		}), nil, Warn, kept, []string{pat + systemdPattern, "/usr/lib/systemd/coredump.conf.d/zz-vendor.conf:3: Storage=external"}, storedFix},
		{"/etc masks a vendor drop-in of the same name", systemd(map[string]string{
			"/usr/lib/systemd/coredump.conf.d/50-vendor.conf": "[Coredump]\nStorage=external\n",
			"/etc/systemd/coredump.conf.d/50-vendor.conf":     "[Coredump]\nStorage=none\n",
		}), nil, OK, "systemd-coredump keeps no core dumps", []string{pat + systemdPattern, "/etc/systemd/coredump.conf.d/50-vendor.conf:2: Storage=none"}, ""},
		{"the main file of /etc hides /usr/lib's", systemd(map[string]string{
			"/usr/lib/systemd/coredump.conf": "[Coredump]\nStorage=none\n",
			"/etc/systemd/coredump.conf":     "[Coredump]\n",
		}), nil, Warn, kept, []string{pat + systemdPattern, "Storage= unset in coredump.conf (default external)"}, storedFix},
		{"a bad value and another section are ignored", systemd(map[string]string{
			"/etc/systemd/coredump.conf.d/a.conf": "[Coredump]\nStorage=none\n",
			"/etc/systemd/coredump.conf.d/b.conf": "[Coredump]\nStorage=nowhere\n[Other]\nStorage=external\n; Storage=external\n",
			"/etc/systemd/coredump.conf.d/c.txt":  "[Coredump]\nStorage=external\n",
		}), nil, OK, "systemd-coredump keeps no core dumps", []string{pat + systemdPattern, "/etc/systemd/coredump.conf.d/a.conf:2: Storage=none"}, ""},
		{"an empty assignment resets", systemd(map[string]string{
			"/etc/systemd/coredump.conf":            "[Coredump]\nStorage=none\n",
			"/etc/systemd/coredump.conf.d/nio.conf": "[Coredump]\nStorage=\n",
		}), nil, Warn, kept, []string{pat + systemdPattern, "Storage= unset in coredump.conf (default external)"}, storedFix},
		{"unreadable coredump.conf", systemd(map[string]string{"/etc/systemd/coredump.conf/x": ""}), nil, Skip,
			"cannot read /etc/systemd/coredump.conf: is a directory", []string{pat + systemdPattern}, ""},
		{"apport", map[string]string{"/proc/sys/kernel/core_pattern": "|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E\n"}, nil, Warn,
			"core dumps, with the secrets in them, go to /usr/share/apport/apport",
			[]string{pat + "|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E"}, discard},
		{"discarded", map[string]string{"/proc/sys/kernel/core_pattern": "|/bin/false\n"}, nil, OK, "core dumps are discarded", []string{pat + "|/bin/false"}, ""},
		{"absolute file", map[string]string{"/proc/sys/kernel/core_pattern": "/var/crash/core.%e.%p\n"}, nil, Warn, "core dumps are written to /var/crash",
			[]string{pat + "/var/crash/core.%e.%p"}, discard + ", or pipe them to systemd-coredump with Storage=none"},
		{"relative, no project", map[string]string{"/proc/sys/kernel/core_pattern": "core\n"}, nil, Warn,
			"core dumps are written in the crashing process's working directory", []string{pat + "core"}, discard},
		{"relative, a project", map[string]string{"/proc/sys/kernel/core_pattern": "core.%p\n"}, &config.Loaded{Root: "/opt/nio/project"}, Fail,
			"core dumps of the runtime would land in the project",
			[]string{pat + "core.%p", "project root: /opt/nio/project (the runtime's working directory)"}, discard},
		{"empty", map[string]string{"/proc/sys/kernel/core_pattern": "\n"}, nil, Warn, "kernel.core_pattern is empty", []string{pat}, discard},
		{"unreadable", map[string]string{"/proc/sys/kernel/core_pattern/x": ""}, nil, Skip, "cannot read /proc/sys/kernel/core_pattern: is a directory", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := hostLaidOut(t, tt.files)
			h.Settings = tt.settings
			f := runOne(t, CoreChecks(), "core.pattern", h)
			wantFinding(t, f, Finding{Status: tt.want, Summary: tt.summary, Evidence: tt.evidence, Fix: tt.fix})
		})
	}
}

func TestSuidDumpable(t *testing.T) {
	t.Parallel()
	const fix = "sysctl -w fs.suid_dumpable=0 && echo fs.suid_dumpable=0 >> /etc/sysctl.d/90-nio.conf"
	tests := []struct {
		value   string
		want    Status
		summary string
	}{
		{"0", OK, "processes that changed uid do not dump core"},
		{"1", Fail, "every process dumps core, those that changed uid too"},
		{"2", Warn, "processes that changed uid dump core, readable by root"},
		{"4", Warn, "unknown fs.suid_dumpable mode"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			f := runOne(t, CoreChecks(), "core.suid_dumpable", hostLaidOut(t, map[string]string{"/proc/sys/fs/suid_dumpable": tt.value + "\n"}))
			wantFix := fix
			if tt.want == OK {
				wantFix = ""
			}
			if f.Status != tt.want || f.Summary != tt.summary || f.Fix != wantFix || !reflect.DeepEqual(f.Evidence, []string{"/proc/sys/fs/suid_dumpable: " + tt.value}) {
				t.Errorf("got %s %q %q fix %q", f.Status, f.Summary, f.Evidence, f.Fix)
			}
		})
	}
	f := runOne(t, CoreChecks(), "core.suid_dumpable", hostLaidOut(t, nil))
	if f.Status != Skip || f.Summary != "cannot read /proc/sys/fs/suid_dumpable: no such file or directory" {
		t.Errorf("missing: got %s %q", f.Status, f.Summary)
	}
}

func TestCoreRlimit(t *testing.T) {
	t.Parallel()
	const fix = "LimitCORE=0 in niod's unit, or ulimit -c 0 before starting niod"
	tests := []struct {
		name       string
		soft, hard uint64
		err        error
		want       Status
		summary    string
		evidence   []string
		fix        string
	}{
		{"off", 0, unix.RLIM_INFINITY, nil, OK, "core dumps are off (RLIMIT_CORE 0)", []string{"RLIMIT_CORE inherited: soft 0, hard unlimited"}, ""},
		{"unlimited", unix.RLIM_INFINITY, unix.RLIM_INFINITY, nil, Warn, "the environment allows core dumps",
			[]string{"RLIMIT_CORE inherited: soft unlimited, hard unlimited"}, fix},
		{"a size", 4096, 8192, nil, Warn, "the environment allows core dumps", []string{"RLIMIT_CORE inherited: soft 4096, hard 8192"}, fix},
		{"error", 0, 0, syscall.EINVAL, Skip, "cannot read RLIMIT_CORE: invalid argument", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := coreRlimit(func() (uint64, uint64, error) { return tt.soft, tt.hard, tt.err })
			wantFinding(t, f, Finding{Status: tt.want, Summary: tt.summary, Evidence: tt.evidence, Fix: tt.fix})
		})
	}
}

// TestCoreRlimitOfThisProcess sets this process's RLIMIT_CORE to 0 and to
// its hard limit (raising that as root) and puts it back.
func TestCoreRlimitOfThisProcess(t *testing.T) {
	var was unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &was); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &was); err != nil {
			t.Errorf("restoring RLIMIT_CORE %+v: %v", was, err)
		}
	})
	check := func(rl unix.Rlimit, want Status) {
		t.Helper()
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &rl); err != nil {
			t.Fatalf("setrlimit %+v: %v", rl, err)
		}
		f := runOne(t, CoreChecks(), "core.rlimit", &Host{Root: "/"})
		if f.Status != want {
			t.Errorf("RLIMIT_CORE %+v: got %s %q %q, want %s", rl, f.Status, f.Summary, f.Evidence, want)
		}
	}
	check(unix.Rlimit{Cur: 0, Max: was.Max}, OK)
	high := unix.Rlimit{Cur: was.Max, Max: was.Max}
	if high.Max == 0 {
		// Raising the hard limit takes root (CAP_SYS_RESOURCE).
		high = unix.Rlimit{Cur: 1 << 20, Max: 1 << 20}
		if unix.Setrlimit(unix.RLIMIT_CORE, &high) != nil {
			t.Logf("RLIMIT_CORE's hard limit is 0 and stays so: only 0 was checked")
			return
		}
	}
	check(high, Warn)
}

// TestRecordCoreLimit: the limit kept before niod lowers its own is the
// one core.rlimit judges.
func TestRecordCoreLimit(t *testing.T) {
	var was unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &was); err != nil {
		t.Fatal(err)
	}
	get := getrlimitCore
	t.Cleanup(func() {
		getrlimitCore = get
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &was); err != nil {
			t.Errorf("restoring RLIMIT_CORE %+v: %v", was, err)
		}
	})
	if was.Max == 0 {
		// As root the hard limit may be raised; otherwise 0 stays 0 and
		// what is kept is still what core.rlimit says.
		_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 1 << 20, Max: 1 << 20})
	} else {
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: was.Max, Max: was.Max}); err != nil {
			t.Fatal(err)
		}
	}
	var started unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &started); err != nil {
		t.Fatal(err)
	}
	RecordCoreLimit()
	// niod's main lowers both limits; only the soft one here, so that the
	// first can be put back without CAP_SYS_RESOURCE.
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: started.Max}); err != nil {
		t.Fatal(err)
	}
	f := runOne(t, CoreChecks(), "core.rlimit", &Host{Root: "/"})
	want := []string{"RLIMIT_CORE inherited: soft " + rlimitText(started.Cur) + ", hard " + rlimitText(started.Max)}
	if !reflect.DeepEqual(f.Evidence, want) || (started.Cur == 0) != (f.Status == OK) {
		t.Errorf("got %s %q, want %q", f.Status, f.Evidence, want)
	}
}
