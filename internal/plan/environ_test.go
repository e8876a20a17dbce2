package plan

import (
	"slices"
	"testing"
)

func TestEnvironment(t *testing.T) {
	in := []string{"PATH=/bin", "API_TOKEN=x", "NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=1", "WATCHDOG_PID=2",
		"LISTEN_FDS=1", "NIOD_LOG_LEVEL=debug", "HOME=/root", "PYTHONHOME=/x"}
	got := runtimeEnviron(in, []string{"API_TOKEN"}, map[string]string{"PATH": "/venv/bin:/bin", "NIO_ROOT": "/srv", "PYTHONHOME": ""})
	want := []string{"HOME=/root", "NIO_ROOT=/srv", "PATH=/venv/bin:/bin"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
