package control

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"niod/internal/tlscheck"
)

// Render is niod status for a terminal: one line of what niod does, then
// one line per topic, each short enough for 80 columns but paths.
func (s *Status) Render(now time.Time) string {
	var b strings.Builder
	line := func(topic, format string, args ...any) {
		fmt.Fprintf(&b, "%-9s %s\n", topic, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(&b, "niod %d (%s), project %s: %s\n", s.NiodPID, s.Version, s.Root, s.Text)
	state := s.State
	switch {
	case !s.Live:
		state += "; niod is ending"
	case !s.Ready && s.State != "ready":
		state += "; not ready"
	}
	line("state", "%s", state)
	if r := s.Runtime; r != nil {
		how := "ready = " + s.ReadyRule
		if s.ReadyBy != "" {
			how = "ready by " + s.ReadyBy + " (" + how + ")"
		}
		line("runtime", "pid %d, up %s, %s", r.PID, roundDuration(time.Duration(r.UptimeSeconds*float64(time.Second))), how)
	} else {
		line("runtime", "none running")
	}
	if s.BackoffUntil != nil {
		line("backoff", "next start at %s (in %s)", s.BackoffUntil.Local().Format("15:04:05"), roundDuration(s.BackoffUntil.Sub(now)))
	}
	restarts := fmt.Sprintf("%d, failures in a row %d", s.Restarts, s.Failures)
	if x := s.LastExit; x != nil {
		restarts += fmt.Sprintf("; last: %s at %s after %s", x.Exit, x.At.Local().Format("15:04:05"),
			roundDuration(time.Duration(x.AfterSeconds*float64(time.Second))))
	}
	line("restarts", "%s", restarts)
	if p := s.Probe; p != nil {
		result := "ok"
		if !p.OK {
			result = "failed: " + p.Error
		}
		line("probe", "%s in %.1f ms, %s ago (%s)", result, p.LatencyMS, roundDuration(now.Sub(p.At)), p.URL)
	} else {
		line("probe", "none")
	}
	switch {
	case !s.Watchdog:
		line("watchdog", "off")
	case s.WatchdogPinged:
		line("watchdog", "pinged")
	default:
		line("watchdog", "not pinged: the runtime is unhealthy")
	}
	if s.CertNotAfter != nil {
		line("cert", "ends %s (%s)", s.CertNotAfter.UTC().Format(time.DateOnly), daysLeft(s.CertNotAfter.Sub(now)))
	}
	var files, changed []string
	for _, f := range s.Settings {
		files = append(files, f.Path)
		if f.Changed {
			changed = append(changed, filepath.Base(f.Path))
		}
	}
	settings := strings.Join(files, ", ")
	if len(changed) > 0 {
		settings += "; changed on disk since loaded: " + strings.Join(changed, ", ") + " (niod reload applies them)"
	}
	line("settings", "%s", settings)
	if r := s.Reload; r.Outcome != "" {
		reload := "last: " + r.Outcome
		if r.Done < r.Asked {
			reload += "; one under way"
		}
		line("reload", "%s", reload)
		for _, p := range r.Problems {
			line("", "%s", p)
		}
	}
	return b.String()
}

// roundDuration shows d to the second (to the millisecond under one).
func roundDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// daysLeft says how long until an end, as niod check does.
func daysLeft(d time.Duration) string {
	if d <= 0 {
		return "ended"
	}
	return "in " + tlscheck.Remaining(d)
}
