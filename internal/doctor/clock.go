package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// maxClockError is the kernel's error bound above which clock.sync warns:
// beyond a second, certificate and token lifetimes start to slip.
const maxClockError = time.Second

// adjtimex asks the kernel for the clock's synchronisation state: the
// STA_* status bits and the maximum error in microseconds. Modes 0 reads
// and changes nothing. (clockSync takes it as a function: tests give it
// their own.)
func adjtimex() (status int32, maxerror int64, err error) {
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		return 0, 0, err
	}
	return tx.Status, int64(tx.Maxerror), nil
}

// ClockChecks are the checks of the system clock, which TLS certificates,
// tokens and logs rely on.
func ClockChecks() []Check {
	return []Check{
		// The clock is the host's, but a container reads it all the same.
		{ID: "clock.sync", Container: true, Run: func(*Host) Finding { return clockSync(adjtimex) }},
		// A container's processes are not the host's: the daemon is not
		// visible from it.
		{ID: "clock.daemon", Run: clockDaemon},
	}
}

// clockSync judges the kernel's own view of the clock: a time daemon
// clears STA_UNSYNC and keeps the maximum error small.
func clockSync(get func() (int32, int64, error)) Finding {
	status, maxerror, err := get()
	if err != nil {
		return Finding{Status: Skip, Summary: "cannot ask the kernel: adjtimex: " + errReason(err)}
	}
	bound := time.Duration(maxerror) * time.Microsecond
	if status&unix.STA_UNSYNC != 0 {
		return Finding{
			Status:   Fail,
			Summary:  "the clock is not synchronised",
			Evidence: []string{fmt.Sprintf("adjtimex(2): status %#04x, STA_UNSYNC set, maximum error %s", status, bound)},
			Fix:      "enable one of systemd-timesyncd, chrony or ntpd: timedatectl set-ntp true",
		}
	}
	ev := []string{fmt.Sprintf("adjtimex(2): status %#04x, synchronised, maximum error %s", status, bound)}
	if bound > maxClockError {
		return Finding{
			Status:   Warn,
			Summary:  "the clock is synchronised but its error may exceed " + maxClockError.String(),
			Evidence: ev,
			Fix:      "check that the time daemon reaches its servers: timedatectl timesync-status, chronyc tracking or ntpq -p",
		}
	}
	return Finding{Status: OK, Summary: "the clock is synchronised", Evidence: ev}
}

// timeDaemons are the /proc/PID/comm names of the daemons that keep the
// clock, and the daemon each names; comm is cut at 15 bytes. ntpsec and
// most builds of OpenNTPD call their binary ntpd too.
var timeDaemons = map[string]string{
	"systemd-timesyn": "systemd-timesyncd",
	"chronyd":         "chronyd",
	"ntpd":            "ntpd",
	"openntpd":        "openntpd",
	"htpdate":         "htpdate",
}

// clockDaemon says which time daemon runs, from the processes' names.
func clockDaemon(h *Host) Finding {
	entries, err := os.ReadDir(h.Path("/proc"))
	if err != nil {
		return cannotRead("/proc", err)
	}
	// With /proc mounted hidepid, others' processes (PID 1's, the time
	// daemon's) are hidden: finding none would prove nothing.
	if _, err := h.ReadFile("/proc/1/comm"); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return Finding{Status: Skip, Summary: "other users' processes are hidden (/proc hidepid): run niod doctor as root", Evidence: []string{"/proc/1/comm: " + errReason(err)}}
		}
	}
	found := map[string]string{} // daemon → evidence of its first process
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		p := "/proc/" + e.Name()
		comm, err := h.Line(p + "/comm")
		if err != nil {
			continue // it ended while we looked
		}
		daemon := timeDaemons[comm]
		if comm == "busybox" {
			// busybox ntpd started as "busybox ntpd" keeps busybox's name.
			if argv, err := h.ReadFile(p + "/cmdline"); err == nil {
				if args := strings.Split(argv, "\x00"); len(args) > 1 && args[1] == "ntpd" {
					daemon, comm = "busybox ntpd", "busybox ntpd"
				}
			}
		}
		if daemon != "" && found[daemon] == "" {
			found[daemon] = p + "/comm: " + comm
		}
	}
	names := make([]string, 0, len(found))
	for d := range found {
		names = append(names, d)
	}
	sort.Strings(names)
	ev := make([]string, len(names))
	for i, d := range names {
		ev[i] = found[d]
	}
	switch len(names) {
	case 0:
		return Finding{
			Status:   Warn,
			Summary:  "no time daemon runs",
			Evidence: []string{"/proc/*/comm: no systemd-timesyn, chronyd, ntpd, openntpd or htpdate"},
			Fix:      "enable one of systemd-timesyncd, chrony or ntpd: timedatectl set-ntp true",
		}
	case 1:
		return Finding{Status: OK, Summary: names[0] + " keeps the clock", Evidence: ev}
	}
	count := "two"
	if len(names) > 2 {
		count = strconv.Itoa(len(names))
	}
	return Finding{
		Status:   Warn,
		Summary:  count + " time daemons fight over the clock: " + strings.Join(names, ", "),
		Evidence: ev,
		Fix:      "keep one: systemctl disable --now " + strings.Join(units(names[1:]), " "),
	}
}

// units are the systemd units of time daemons.
func units(daemons []string) []string {
	out := make([]string, len(daemons))
	for i, d := range daemons {
		out[i] = strings.TrimPrefix(d, "busybox ")
	}
	return out
}
