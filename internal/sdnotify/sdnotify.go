// Package sdnotify tells systemd how niod is doing (sd_notify): ready,
// status, reloading, stopping, watchdog pings. Messages go through
// go-systemd's daemon package without unsetting NOTIFY_SOCKET: unsetting it
// would make every later message a silent no-op. Outside systemd every
// method does nothing.
package sdnotify

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends state changes to the service manager.
type Notifier struct {
	enabled  bool
	stopping bool
	status   string
	// Sent records every message when set (for tests and debugging).
	Sent func(state string)
}

// New returns a Notifier for niod's environment.
func New() *Notifier {
	return &Notifier{enabled: os.Getenv("NOTIFY_SOCKET") != ""}
}

func (n *Notifier) send(state string) {
	if !n.enabled {
		return
	}
	if n.Sent != nil {
		n.Sent(state)
	}
	// Errors are not fatal: systemd may have gone away during shutdown.
	_, _ = daemon.SdNotify(false, state)
}

// Ready says the runtime is ready (again, after a reload).
func (n *Notifier) Ready() { n.send(daemon.SdNotifyReady) }

// Reloading says niod is reloading its settings; READY=1 must follow.
func (n *Notifier) Reloading() {
	n.send(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}

// Status shows text in systemctl status; repeats are not sent.
func (n *Notifier) Status(text string) {
	if text == n.status {
		return
	}
	n.status = text
	n.send("STATUS=" + text)
}

// Stopping says niod is stopping; only the first call sends.
func (n *Notifier) Stopping() {
	if n.stopping {
		return
	}
	n.stopping = true
	n.send(daemon.SdNotifyStopping)
}

// ExtendTimeout asks for d more before systemd's start or stop timeout.
func (n *Notifier) ExtendTimeout(d time.Duration) {
	n.send("EXTEND_TIMEOUT_USEC=" + strconv.FormatInt(d.Microseconds(), 10))
}

// Errno reports why niod ends with a failure.
func (n *Notifier) Errno(code int) { n.send("ERRNO=" + strconv.Itoa(code)) }

// Watchdog pings systemd's watchdog.
func (n *Notifier) Watchdog() { n.send(daemon.SdNotifyWatchdog) }

// WatchdogInterval returns how often to ping: half of WATCHDOG_USEC, or 0
// and the reason when the watchdog is off for niod.
func WatchdogInterval() (time.Duration, string) {
	usec := os.Getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, "WATCHDOG_USEC is not set (no WatchdogSec= in the unit)"
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, fmt.Sprintf("WATCHDOG_PID=%s is not niod's pid %d", pid, os.Getpid())
	}
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, "WATCHDOG_USEC is not valid: " + err.Error()
	}
	if d == 0 {
		return 0, "the watchdog is off"
	}
	return d / 2, ""
}
