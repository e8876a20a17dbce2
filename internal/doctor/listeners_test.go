package doctor

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

// tcpLine is a /proc/net/tcp{,6} line of a socket at local in state st.
func tcpLine(n int, local, remote, st string) string {
	return fmt.Sprintf("%4d: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 1607 1 00000000dd701ab5 100 0 0 10 0\n", n, local, remote, st)
}

func TestProcAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"0100007F:0016":                         "127.0.0.1:22",
		"0201A8C0:1F90":                         "192.168.1.2:8080",
		"00000000000000000000000000000000:1FF5": "[::]:8181",
		"00000000000000000000000001000000:0277": "[::1]:631",
		"0000000000000000FFFF00000100007F:0050": "127.0.0.1:80",
		"B80D0120000000000000000001000000:01BB": "[2001:db8::1]:443",
	} {
		ip, port, err := procAddr(in)
		if got := joinHostPort(ip, port); err != nil || got != want {
			t.Errorf("%s: got %s %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"0100007F", "0100007:0016", "0100007F:XY", "0100007F:10000"} {
		if _, _, err := procAddr(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestListeners(t *testing.T) {
	t.Parallel()
	const fix = "bind them to 127.0.0.1 or firewall them; niod doctor names no process: see ss -ltnp"
	tcp := tcpHeader + tcpLine(0, "00000000:0016", "00000000:0000", "0A") +
		tcpLine(1, "0100007F:8047", "00000000:0000", "0A") +
		tcpLine(2, "0201A8C0:0016", "0501A8C0:DE84", "01") + // an established connection, no listener
		tcpLine(3, "00000000:0016", "00000000:0000", "0A") // SO_REUSEPORT: the same address again
	tcp6 := tcpHeader + tcpLine(0, "00000000000000000000000000000000:1FF5", "00000000000000000000000000000000:0000", "0A") +
		tcpLine(1, "00000000000000000000000001000000:0277", "00000000000000000000000000000000:0000", "0A") +
		tcpLine(2, "0000000000000000FFFF00000100007F:0050", "00000000000000000000000000000000:0000", "0A")
	f := runOne(t, ListenerChecks(), "exposure.listeners", hostLaidOut(t, map[string]string{"/proc/net/tcp": tcp, "/proc/net/tcp6": tcp6}))
	if want := []string{"0.0.0.0:22", "[::]:8181"}; f.Status != Warn || !reflect.DeepEqual(f.Evidence, want) || f.Fix != fix ||
		f.Summary != "2 services listen beyond loopback: check each is meant to be reachable" {
		t.Errorf("got %s %q %q %q", f.Status, f.Summary, f.Evidence, f.Fix)
	}

	loopback := tcpHeader + tcpLine(0, "0100007F:8047", "00000000:0000", "0A") + tcpLine(1, "0100007F:8047", "0100007F:DE84", "06")
	f = runOne(t, ListenerChecks(), "exposure.listeners", hostLaidOut(t, map[string]string{"/proc/net/tcp": loopback}))
	if f.Status != OK || f.Summary != "no TCP service listens beyond loopback" {
		t.Errorf("loopback only, no IPv6: got %s %q %q", f.Status, f.Summary, f.Evidence)
	}

	one := tcpHeader + tcpLine(0, "0201A8C0:1F90", "00000000:0000", "0A")
	f = runOne(t, ListenerChecks(), "exposure.listeners", hostLaidOut(t, map[string]string{"/proc/net/tcp": one, "/proc/net/tcp6": tcpHeader}))
	if f.Status != Warn || f.Summary != "1 service listens beyond loopback: check it is meant to be reachable" || !reflect.DeepEqual(f.Evidence, []string{"192.168.1.2:8080"}) {
		t.Errorf("one: got %s %q %q", f.Status, f.Summary, f.Evidence)
	}

	var many strings.Builder
	many.WriteString(tcpHeader)
	for i := 0; i < 60; i++ {
		many.WriteString(tcpLine(i, fmt.Sprintf("00000000:%04X", 1000+i), "00000000:0000", "0A"))
	}
	f = runOne(t, ListenerChecks(), "exposure.listeners", hostLaidOut(t, map[string]string{"/proc/net/tcp": many.String()}))
	if len(f.Evidence) != 51 || f.Evidence[0] != "0.0.0.0:1000" || f.Evidence[49] != "0.0.0.0:1049" || f.Evidence[50] != "... and 10 more" ||
		f.Summary != "60 services listen beyond loopback: check each is meant to be reachable" {
		t.Errorf("60: got %s %q, %d evidence lines, last %q", f.Status, f.Summary, len(f.Evidence), f.Evidence[len(f.Evidence)-1])
	}

	f = runOne(t, ListenerChecks(), "exposure.listeners", hostLaidOut(t, nil))
	if f.Status != Skip || f.Summary != "cannot read /proc/net/tcp: no such file or directory" {
		t.Errorf("no /proc/net/tcp: got %s %q", f.Status, f.Summary)
	}
}

func TestSecurityChecksOnThisMachine(t *testing.T) {
	t.Parallel()
	h := &Host{Root: "/"}
	h.InContainer, _ = DetectContainer(h)
	for _, group := range [][]Check{SSHChecks(), UpdateChecks(), SandboxChecks(), ListenerChecks()} {
		for _, c := range group {
			f := runOne(t, group, c.ID, h)
			t.Logf("%s: %s %q %q %q", c.ID, f.Status, f.Summary, f.Evidence, f.Fix)
			switch f.Status {
			case OK, Warn, Fail, Skip:
			default:
				t.Errorf("%s: status %q", c.ID, f.Status)
			}
		}
	}
}
