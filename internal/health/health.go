// Package health probes the runtime's REST API: one GET, and the status
// line decides. 2xx, 401 and 403 mean the runtime answered (a 401 without
// credentials is what a healthy nio API says). It speaks HTTP/1.0 by hand:
// a probe needs only the status line, and net/http would add to niod's
// start-up and memory more than the rest of niod.
package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Prober checks one URL.
type Prober struct {
	URL     *url.URL
	Timeout time.Duration
	// TLS is used for https URLs.
	TLS *tls.Config
}

// New makes a prober for rawURL; caFile, when set, holds the certificates
// that verify an https server (else the system's roots are used).
func New(rawURL string, timeout time.Duration, caFile string) (*Prober, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("health_url %s: must be an http:// or https:// URL", rawURL)
	}
	p := &Prober{URL: u, Timeout: timeout}
	if u.Scheme == "https" {
		p.TLS = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate in it", caFile)
			}
			p.TLS.RootCAs = pool
		}
	}
	return p, nil
}

// Probe sends one request and reports whether the runtime is alive; the
// error says why not.
func (p *Prober) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	host := p.URL.Host
	if p.URL.Port() == "" {
		host = net.JoinHostPort(p.URL.Hostname(), map[string]string{"http": "80", "https": "443"}[p.URL.Scheme])
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if p.TLS != nil {
		tc := tls.Client(conn, p.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		conn = tc
	}
	path := p.URL.RequestURI()
	req := "GET " + path + " HTTP/1.0\r\nHost: " + p.URL.Host + "\r\nUser-Agent: niod-health\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	code, err := statusCode(line)
	if err != nil {
		return err
	}
	if code/100 == 2 || code == 401 || code == 403 {
		return nil
	}
	return fmt.Errorf("answered %d", code)
}

// statusCode reads "HTTP/1.1 200 OK".
func statusCode(line string) (int, error) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, fmt.Errorf("not an HTTP answer: %q", strings.TrimSpace(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", strings.TrimSpace(line))
	}
	return code, nil
}

// IsWildcard reports whether a listen address means every address: empty,
// 0.0.0.0, :: or *.
func IsWildcard(host string) bool {
	switch strings.Trim(host, "[]") {
	case "", "0.0.0.0", "::", "*":
		return true
	}
	return false
}

// DefaultURL is the probe URL for a [rest] host and port: GET /nio, https
// when TLS is configured, and a wildcard address probed on loopback.
func DefaultURL(host, port string, tlsOn bool) string {
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	if IsWildcard(host) {
		// A wildcard is probed on loopback (a dual-stack :: takes IPv4
		// too); by name over TLS, since certificates name localhost.
		host = "127.0.0.1"
		if tlsOn {
			host = "localhost"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/nio"
}
