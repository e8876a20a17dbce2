package doctor

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
)

// maxListeners is how many listeners the evidence names before it counts.
const maxListeners = 50

// ListenerChecks are the checks of what the device offers the network.
func ListenerChecks() []Check {
	return []Check{{ID: "exposure.listeners", Container: true, Run: listeners}}
}

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// procAddr decodes an address of /proc/net/tcp{,6} ("0100007F:0016"):
// the kernel prints the address as 32-bit words in host order (little
// endian on the machines nio runs on) and the port in network order.
func procAddr(s string) (net.IP, int, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, fmt.Errorf("no port in %q", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("bad port %q", s)
	}
	ip := make(net.IP, len(raw))
	for w := 0; w < len(raw); w += 4 {
		for i := 0; i < 4; i++ {
			ip[w+i] = raw[w+3-i]
		}
	}
	return ip, int(port), nil
}

// joinHostPort is "ADDRESS:PORT", an IPv6 address in brackets.
func joinHostPort(ip net.IP, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

// exposedListeners are the listening TCP sockets of one /proc/net file
// bound beyond loopback, as "ADDRESS:PORT".
func exposedListeners(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != tcpListen {
			continue
		}
		ip, port, err := procAddr(f[1])
		if err != nil || ip.IsLoopback() {
			continue
		}
		out = append(out, joinHostPort(ip, port))
	}
	return out
}

// listeners lists the TCP services reachable from beyond the machine (or
// the container's network namespace).
func listeners(h *Host) Finding {
	var exposed []string
	seen := map[string]bool{}
	for _, p := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		text, err := h.ReadFile(p)
		if err != nil {
			// A kernel without IPv6 has no tcp6.
			if p == "/proc/net/tcp6" && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return cannotRead(p, err)
		}
		// SO_REUSEPORT lets several sockets share an address.
		for _, l := range exposedListeners(text) {
			if !seen[l] {
				seen[l] = true
				exposed = append(exposed, l)
			}
		}
	}
	if len(exposed) == 0 {
		return Finding{Status: OK, Summary: "no TCP service listens beyond loopback"}
	}
	evidence := exposed
	if len(exposed) > maxListeners {
		evidence = append(exposed[:maxListeners:maxListeners], fmt.Sprintf("... and %d more", len(exposed)-maxListeners))
	}
	summary := fmt.Sprintf("%d services listen beyond loopback: check each is meant to be reachable", len(exposed))
	if len(exposed) == 1 {
		summary = "1 service listens beyond loopback: check it is meant to be reachable"
	}
	return Finding{Status: Warn, Summary: summary, Evidence: evidence,
		Fix: "bind them to 127.0.0.1 or firewall them; niod doctor names no process: see ss -ltnp"}
}
