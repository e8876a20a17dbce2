package certs

import (
	"slices"
	"strings"
	"testing"
)

func TestCertHosts(t *testing.T) {
	got, err := Hosts([]string{"Edge.Example.", "[::1]", "edge.example", "127.0.0.1", "0:0::1"})
	if want := []string{"edge.example", "::1", "127.0.0.1"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Hosts = %q, %v; want %q", got, err, want)
	}
	got, err = Hosts(nil)
	if want := DefaultHosts(); err != nil || !slices.Equal(got, want) {
		t.Errorf("Hosts(nil) = %q, %v; want DefaultHosts() %q", got, err, want)
	}
	if _, err := Hosts([]string{"localhost", "two words"}); err == nil || !strings.HasPrefix(err.Error(), `host "two words": `) {
		t.Errorf("err = %v, want the bad host named", err)
	}
}

func TestCertClientHost(t *testing.T) {
	for _, tt := range []struct {
		hosts []string
		want  string
	}{
		{[]string{"edge.example.com", "localhost", "127.0.0.1"}, "localhost"},
		{[]string{"edge.example.com", "127.0.0.1"}, "edge.example.com"},
		{[]string{"10.0.0.1", "edge.example.com"}, "10.0.0.1"},
		{[]string{"::1", "localhost"}, "localhost"},
		{[]string{"fd00::1", "edge"}, "[fd00::1]"},
	} {
		if got := ClientHost(tt.hosts); got != tt.want {
			t.Errorf("ClientHost(%q) = %q, want %q", tt.hosts, got, tt.want)
		}
	}
}
