// Package control is niod's control socket: a unix stream socket where
// niod status, restart, reload, stop, start, signal and wait ask a running
// niod. One JSON request a line, one JSON answer a line (docs/control.md).
// The server only carries requests to the supervisor's loop and answers
// back; it owns no state of its own.
package control

import (
	"time"

	"niod/internal/securefile"
)

// Version is the protocol version a request and an answer carry.
const Version = 1

// NotAllowed starts the error of an answer to a peer that may not control
// this niod.
const NotAllowed = "not allowed"

// MaxRequest is the longest request line accepted, newline included.
const MaxRequest = 4096

// The commands.
const (
	CmdStatus  = "status"
	CmdStop    = "stop"
	CmdStart   = "start"
	CmdRestart = "restart"
	CmdReload  = "reload"
	CmdSignal  = "signal"
)

// Request is one request line.
type Request struct {
	V   int    `json:"v"`
	Cmd string `json:"cmd"`
	// Signal is the signal name of CmdSignal (TERM, USR1, ...).
	Signal string `json:"signal,omitempty"`
}

// Answer is one answer line.
type Answer struct {
	V  int  `json:"v"`
	OK bool `json:"ok"`
	// Error says why the request was not done, one line.
	Error string `json:"error,omitempty"`
	// Status is niod's state after the request.
	Status *Status `json:"status,omitempty"`
	// ReloadAsk numbers a reload request: the reload whose
	// Status.Reload.Done reaches it has handled it.
	ReloadAsk int `json:"reload_ask,omitempty"`
}

// Status is what niod status shows; its JSON is stable (docs/control.md).
type Status struct {
	NiodPID int    `json:"niod_pid"`
	Version string `json:"version"`
	Root    string `json:"root"`
	// State is the supervisor's state (starting, running, ready,
	// unhealthy, backing-off, stopping-to-restart, stopping-to-idle,
	// stopping-to-exit, stopped, done); Text the STATUS= line.
	State string `json:"state"`
	Text  string `json:"text"`
	// Live is false once niod has given up or is exiting; Ready is
	// whether the runtime is ready now.
	Live  bool `json:"live"`
	Ready bool `json:"ready"`
	// ReadyRule is exec, notify or probe; ReadyBy how the running
	// runtime became ready ("" while it is not).
	ReadyRule string `json:"ready_rule"`
	ReadyBy   string `json:"ready_by,omitempty"`

	Runtime *Runtime `json:"runtime,omitempty"`
	// BackoffUntil is when the next start is due while backing off.
	BackoffUntil *time.Time `json:"backoff_until,omitempty"`
	// Restarts counts starts after the first; Failures the failures in a
	// row that the back-off counts.
	Restarts int       `json:"restarts"`
	Failures int       `json:"failures"`
	LastExit *LastExit `json:"last_exit,omitempty"`
	Probe    *Probe    `json:"probe,omitempty"`
	// Watchdog is whether the service manager's watchdog is on, and
	// WatchdogPinged whether niod pings it now (the runtime is healthy).
	Watchdog       bool       `json:"watchdog"`
	WatchdogPinged bool       `json:"watchdog_pinged"`
	CertNotAfter   *time.Time `json:"cert_not_after,omitempty"`
	Settings       []Settings `json:"settings"`
	Reload         Reload     `json:"reload"`

	// Stamps are the settings files as they were loaded; the server
	// compares them with the disk into Settings on the connection's
	// goroutine, not on the supervisor's loop.
	Stamps []securefile.Stamp `json:"-"`
}

// Runtime is the runtime that runs now.
type Runtime struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// UptimeSeconds is as of the answer.
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// LastExit is how the runtime last ended.
type LastExit struct {
	// Exit is "exit code N", "killed by SIGKILL" or why it did not start.
	Exit         string    `json:"exit"`
	Code         int       `json:"code"`
	Signal       string    `json:"signal,omitempty"`
	At           time.Time `json:"at"`
	AfterSeconds float64   `json:"after_seconds"`
}

// Probe is the last health probe's result.
type Probe struct {
	URL string `json:"url"`
	OK  bool   `json:"ok"`
	// Error is why it failed.
	Error     string    `json:"error,omitempty"`
	LatencyMS float64   `json:"latency_ms"`
	At        time.Time `json:"at"`
}

// Settings is one settings file and whether it changed on disk since niod
// loaded it.
type Settings struct {
	Path    string `json:"path"`
	Changed bool   `json:"changed"`
}

// Reload counts reload requests (HUP included) and says how the last
// reload ended.
type Reload struct {
	// Asked numbers the last request; Done the last request a finished
	// reload covered.
	Asked int `json:"asked"`
	Done  int `json:"done"`
	// Outcome of the last reload: unchanged, applied, restarted, failed
	// or refused ("" before the first).
	Outcome  string   `json:"outcome,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// CheckSettings fills Settings from Stamps: which settings files changed
// on disk since niod loaded them.
func (s *Status) CheckSettings() {
	s.Settings = make([]Settings, 0, len(s.Stamps))
	for _, st := range s.Stamps {
		s.Settings = append(s.Settings, Settings{Path: st.Path, Changed: st.Changed()})
	}
}
