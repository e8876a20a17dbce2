package doctor

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestClockSync(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int32
		maxerror int64
		err      error
		want     Status
		summary  string
		evidence []string
		fix      string
	}{
		{"synchronised", unix.STA_PLL, 12500, nil, OK, "the clock is synchronised",
			[]string{"adjtimex(2): status 0x0001, synchronised, maximum error 12.5ms"}, ""},
		{"large error", unix.STA_PLL | unix.STA_NANO, 1500000, nil, Warn, "the clock is synchronised but its error may exceed 1s",
			[]string{"adjtimex(2): status 0x2001, synchronised, maximum error 1.5s"},
			"check that the time daemon reaches its servers: timedatectl timesync-status, chronyc tracking or ntpq -p"},
		{"unsynchronised", unix.STA_UNSYNC, 16000000, nil, Fail, "the clock is not synchronised",
			[]string{"adjtimex(2): status 0x0040, STA_UNSYNC set, maximum error 16s"},
			"enable one of systemd-timesyncd, chrony or ntpd: timedatectl set-ntp true"},
		{"refused", 0, 0, syscall.EPERM, Skip, "cannot ask the kernel: adjtimex: operation not permitted", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := clockSync(func() (int32, int64, error) { return tt.status, tt.maxerror, tt.err })
			wantFinding(t, f, Finding{Status: tt.want, Summary: tt.summary, Evidence: tt.evidence, Fix: tt.fix})
		})
	}
}

// TestAdjtimexOnThisMachine asks this machine's kernel: the verdict
// follows its STA_UNSYNC bit.
func TestAdjtimexOnThisMachine(t *testing.T) {
	t.Parallel()
	status, maxerror, err := adjtimex()
	f := runOne(t, ClockChecks(), "clock.sync", &Host{Root: "/"})
	t.Logf("adjtimex: status %#x, maxerror %d µs, %v: %s %s %q", status, maxerror, err, f.Status, f.Summary, f.Evidence)
	switch {
	case err != nil:
		// A seccomp filter may refuse even a read-only adjtimex.
		if f.Status != Skip {
			t.Errorf("adjtimex failed (%v) but clock.sync says %s", err, f.Status)
		}
	case maxerror < 0:
		t.Errorf("maxerror %d", maxerror)
	case status&unix.STA_UNSYNC != 0 && f.Status != Fail:
		t.Errorf("STA_UNSYNC set but clock.sync says %s", f.Status)
	case status&unix.STA_UNSYNC == 0 && f.Status != OK && f.Status != Warn:
		t.Errorf("synchronised but clock.sync says %s", f.Status)
	}
}

func TestClockDaemon(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"/proc/1/comm":       "systemd\n",
		"/proc/1/cmdline":    "/sbin/init\x00splash\x00",
		"/proc/2/comm":       "kthreadd\n",
		"/proc/self/comm":    "chronyd\n", // not a PID: ignored
		"/proc/sys/fs/x":     "",
		"/proc/431/comm":     "sshd\n",
		"/proc/431/cmdline":  "sshd: /usr/sbin/sshd -D\x00",
		"/proc/4000/comm":    "python3\n",
		"/proc/4000/cmdline": "python3\x00ntpd\x00",
	}
	with := func(more map[string]string) map[string]string {
		files := map[string]string{}
		for k, v := range base {
			files[k] = v
		}
		for k, v := range more {
			if v == "-" {
				delete(files, k)
				continue
			}
			files[k] = v
		}
		return files
	}
	tests := []struct {
		name     string
		files    map[string]string
		want     Status
		summary  string
		evidence []string
		fix      string
	}{
		{"timesyncd", with(map[string]string{"/proc/512/comm": "systemd-timesyn\n"}), OK, "systemd-timesyncd keeps the clock",
			[]string{"/proc/512/comm: systemd-timesyn"}, ""},
		{"chronyd", with(map[string]string{"/proc/612/comm": "chronyd\n"}), OK, "chronyd keeps the clock",
			[]string{"/proc/612/comm: chronyd"}, ""},
		{"ntpd and its resolver", with(map[string]string{"/proc/700/comm": "ntpd\n", "/proc/701/comm": "ntpd\n"}), OK, "ntpd keeps the clock",
			[]string{"/proc/700/comm: ntpd"}, ""},
		{"busybox ntpd", with(map[string]string{"/proc/90/comm": "busybox\n", "/proc/90/cmdline": "busybox\x00ntpd\x00-n\x00"}), OK, "busybox ntpd keeps the clock",
			[]string{"/proc/90/comm: busybox ntpd"}, ""},
		{"busybox sh", with(map[string]string{"/proc/90/comm": "busybox\n", "/proc/90/cmdline": "busybox\x00sh\x00"}), Warn, "no time daemon runs",
			[]string{"/proc/*/comm: no systemd-timesyn, chronyd, ntpd, openntpd or htpdate"},
			"enable one of systemd-timesyncd, chrony or ntpd: timedatectl set-ntp true"},
		{"two", with(map[string]string{"/proc/512/comm": "systemd-timesyn\n", "/proc/612/comm": "chronyd\n"}), Warn,
			"two time daemons fight over the clock: chronyd, systemd-timesyncd",
			[]string{"/proc/612/comm: chronyd", "/proc/512/comm: systemd-timesyn"}, "keep one: systemctl disable --now systemd-timesyncd"},
		{"three", with(map[string]string{"/proc/512/comm": "systemd-timesyn\n", "/proc/612/comm": "chronyd\n", "/proc/88/comm": "openntpd\n"}), Warn,
			"3 time daemons fight over the clock: chronyd, openntpd, systemd-timesyncd",
			[]string{"/proc/612/comm: chronyd", "/proc/88/comm: openntpd", "/proc/512/comm: systemd-timesyn"},
			"keep one: systemctl disable --now openntpd systemd-timesyncd"},
		{"none", with(nil), Warn, "no time daemon runs",
			[]string{"/proc/*/comm: no systemd-timesyn, chronyd, ntpd, openntpd or htpdate"},
			"enable one of systemd-timesyncd, chrony or ntpd: timedatectl set-ntp true"},
		{"hidepid", with(map[string]string{"/proc/1/comm": "-", "/proc/1/cmdline": "-"}), Skip,
			"other users' processes are hidden (/proc hidepid): run niod doctor as root",
			[]string{"/proc/1/comm: no such file or directory"}, ""},
		{"no /proc", map[string]string{"/etc/hostname": "h\n"}, Skip, "cannot read /proc: no such file or directory", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := runOne(t, ClockChecks(), "clock.daemon", hostLaidOut(t, tt.files))
			wantFinding(t, f, Finding{Status: tt.want, Summary: tt.summary, Evidence: tt.evidence, Fix: tt.fix})
		})
	}
}

// TestClockInContainer: a container reads the host's clock but not its
// processes.
func TestClockInContainer(t *testing.T) {
	t.Parallel()
	h := &Host{Root: t.TempDir(), InContainer: true}
	got := Run(h, []Check{
		{ID: "clock.sync", Container: true, Run: func(*Host) Finding { return clockSync(func() (int32, int64, error) { return 0, 1000, nil }) }},
		ClockChecks()[1],
	})
	if got[0].Status != OK || got[1].Status != Skip || got[1].ID != "clock.daemon" {
		t.Errorf("got %+v", got)
	}
	if ClockChecks()[0].ID != "clock.sync" || !ClockChecks()[0].Container {
		t.Errorf("clock.sync must run in a container")
	}
}
