package control

import (
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cert := now.Add(395*24*time.Hour + time.Hour)
	backoff := now.Add(1500 * time.Millisecond)
	st := Status{NiodPID: 41, Version: "v1", Root: "/srv/p", State: "backing-off", Text: "restarting at ...", Live: true,
		ReadyRule: "probe", BackoffUntil: &backoff, Restarts: 3, Failures: 2,
		LastExit: &LastExit{Exit: "exit code 3", At: now.Add(-time.Second), AfterSeconds: 0.25},
		Probe:    &Probe{URL: "http://127.0.0.1:8181/nio", Error: "connection refused", LatencyMS: 0.4, At: now.Add(-2 * time.Second)},
		Watchdog: true, CertNotAfter: &cert,
		Settings: []Settings{{Path: "/srv/p/nio.conf"}, {Path: "/srv/p/secrets.conf", Changed: true}},
		Reload:   Reload{Asked: 2, Done: 1, Outcome: "failed", Problems: []string{"nio.conf:3: bad"}}}
	out := st.Render(now)
	for _, want := range []string{
		"niod 41 (v1), project /srv/p: restarting at ...\n",
		"state     backing-off; not ready\n",
		"runtime   none running\n",
		"backoff   next start at ",
		"(in 2s)\n",
		"restarts  3, failures in a row 2; last: exit code 3 at ",
		" after 250ms\n",
		"probe     failed: connection refused in 0.4 ms, 2s ago (http://127.0.0.1:8181/nio)\n",
		"watchdog  not pinged: the runtime is unhealthy\n",
		"cert      ends 2027-12-31 (in 395 days)\n",
		"settings  /srv/p/nio.conf, /srv/p/secrets.conf; changed on disk since loaded: secrets.conf (niod reload applies them)\n",
		"reload    last: failed; one under way\n",
		"          nio.conf:3: bad\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	ready := Status{State: "ready", Ready: true, Live: true, ReadyRule: "exec", ReadyBy: "exec",
		Runtime: &Runtime{PID: 52, UptimeSeconds: 3725}}
	out = ready.Render(now)
	for _, want := range []string{"state     ready\n", "runtime   pid 52, up 1h2m5s, ready by exec (ready = exec)\n", "probe     none\n", "watchdog  off\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "cert") || strings.Contains(out, "reload") {
		t.Errorf("lines for what is not there:\n%s", out)
	}
}

func TestDaysLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * 24 * time.Hour:           "in 10 days",
		10*24*time.Hour - time.Second: "in 10 days",
		36 * time.Hour:                "in 2 days",
		30 * time.Hour:                "in 1 day",
		5 * time.Hour:                 "in 5 hours",
		-time.Minute:                  "ended",
	} {
		if got := daysLeft(d); got != want {
			t.Errorf("daysLeft(%v) = %q, want %q", d, got, want)
		}
	}
}
