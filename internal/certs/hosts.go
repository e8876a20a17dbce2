package certs

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"niod/internal/health"
)

// Hosts checks the hosts a certificate is to be for (CheckHost) and returns
// them in canonical form, in order, each once; none means DefaultHosts.
func Hosts(given []string) ([]string, error) {
	if len(given) == 0 {
		given = DefaultHosts()
	}
	var hosts []string
	for _, h := range given {
		name, err := CheckHost(h)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(hosts, name) {
			hosts = append(hosts, name)
		}
	}
	return hosts, nil
}

// ClientHost is the host a client on this machine puts in the URL of the
// API the certificate is for: localhost when it is one of hosts, else the
// first of them (an IPv6 address in brackets).
func ClientHost(hosts []string) string {
	if slices.Contains(hosts, "localhost") {
		return "localhost"
	}
	if ip := net.ParseIP(hosts[0]); ip != nil && ip.To4() == nil {
		return "[" + hosts[0] + "]"
	}
	return hosts[0]
}

// ClientURL is the URL of the runtime's API, GET /nio, that a client on
// this machine tries with a certificate for hosts: on restHost ([rest]
// host) when the certificate names it and it is not a wildcard address,
// else on ClientHost; on port ([rest] port), or the word PORT when it is not
// a port number.
func ClientURL(hosts []string, restHost, port string) string {
	host := ClientHost(hosts)
	if !health.IsWildcard(restHost) {
		if h, err := CheckHost(restHost); err == nil && slices.Contains(hosts, h) {
			host = h
			if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
				host = "[" + h + "]"
			}
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		port = "PORT"
	}
	return "https://" + host + ":" + port + "/nio"
}

// DefaultHosts are the names a certificate gets without --host: this
// machine's host name, then localhost and the loopback addresses.
func DefaultHosts() []string {
	var hosts []string
	if name, err := os.Hostname(); err == nil {
		if h, err := CheckHost(name); err == nil {
			hosts = append(hosts, h)
		}
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if len(hosts) == 0 || hosts[0] != h {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// CheckHost checks a --host value and returns it in canonical form: an IP
// address as Go prints it (brackets around IPv6 allowed on input), a DNS
// name in lower case without a final dot. "*.example.com" is allowed.
func CheckHost(h string) (string, error) {
	in := h
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.String(), nil
	}
	if h != in {
		return "", fmt.Errorf("host %q: not an IP address", in)
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "" {
		return "", fmt.Errorf("host %q: empty (give a DNS name or an IP address)", in)
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host %q: longer than 253 characters", in)
	}
	for i, label := range strings.Split(h, ".") {
		if label == "*" && i == 0 && strings.Contains(h, ".") {
			continue
		}
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", fmt.Errorf("host %q: not a DNS name or an IP address", in)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("host %q: not a DNS name or an IP address (%q is not allowed)", in, r)
			}
		}
	}
	return h, nil
}

// splitHosts sorts canonical hosts into DNS names and IP addresses.
func splitHosts(hosts []string) (dns []string, ips []net.IP, err error) {
	for _, h := range hosts {
		c, err := CheckHost(h)
		if err != nil {
			return nil, nil, err
		}
		if ip := net.ParseIP(c); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, c)
		}
	}
	return dns, ips, nil
}
