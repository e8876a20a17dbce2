// Package health probes the runtime's REST API: one GET, and the status
// line decides. 2xx, 401 and 403 mean the runtime answered (a 401 without
// credentials is what a healthy nio API says). It speaks HTTP/1.0 by hand:
// a probe needs only the status line, and net/http would add to niod's
// start-up and memory more than the rest of niod.
//
// Whatever answers on the probed port is not trusted: a probe reads at most
// MaxHead bytes of the answer within its timeout, and, given an owner, it
// believes an answer on a port of this host only when the socket listening
// there belongs to a process the owner accepts (the runtime's tree): any
// local user can bind the runtime's port while the runtime restarts.
package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"niod/internal/tlscheck"
)

// Prober checks one URL.
type Prober struct {
	URL     *url.URL
	Timeout time.Duration
	// TLS is used for https URLs.
	TLS *tls.Config

	proc   string       // where procfs is mounted; "" is /proc
	holder atomic.Int64 // the pid that held the port at the last check
}

// New makes a prober for rawURL; caFile, when set, holds the certificates
// that verify an https server (else the system's roots are used). caFile is
// read as the TLS files are (tlscheck.ReadFile): a regular file of at most
// tlscheck.MaxPEMSize bytes; a FIFO, a device or a larger file is refused
// without blocking.
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
			f, err := tlscheck.ReadFile(caFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM([]byte(f.Text)) {
				return nil, fmt.Errorf("%s: no PEM certificate in it", caFile)
			}
			p.TLS.RootCAs = pool
		}
	}
	return p, nil
}

// Probe sends one request and reports whether the runtime is alive;
// the error says why not. All of it, connecting, the ownership check, the
// TLS handshake, the request and every read, ends within p.Timeout (or
// earlier when ctx ends). It reads at most MaxHead bytes of the answer, and
// only the status line decides: 2xx, 401 and 403 are alive.
//
// owner, when not nil, decides who may answer, when the probed address is
// one of this host (loopback, or an address of its own): right after the
// connection is made, before anything is sent, the probe finds in
// /proc/net/tcp and tcp6 every listening socket the kernel may have handed
// the connection to (bound to the address itself, else to the wildcard),
// and in /proc/PID/fd the processes that hold it; each such socket must be
// held by a process owner accepts. A socket held only by processes owner
// refuses fails with ErrForeignListener; one whose holder is not visible
// (no /proc/net, another user's process that /proc hides, a cap reached)
// fails with ErrOwnerUnknown: not proven is not accepted. niod runs as the
// runtime's user, so the runtime's own descriptors are always visible. A
// remote target is not checked (nothing of the remote host can be
// inspected: verify it with https). A nil owner skips the check. The
// holder found is looked at first next time, so a steady runtime costs one
// process's descriptors per probe.
func (p *Prober) Probe(ctx context.Context, owner func(pid int) bool) error {
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
	// A caller's cancel ends a read or write at once, too.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if owner != nil {
		proc := p.proc
		if proc == "" {
			proc = "/proc"
		}
		pid, err := checkOwner(ctx, proc, conn, owner, int(p.holder.Load()))
		if err != nil {
			return err
		}
		p.holder.Store(int64(pid))
	}
	if p.TLS != nil {
		tc := tls.Client(conn, p.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return p.ioError(ctx, "TLS handshake", err)
		}
		conn = tc
	}
	path := p.URL.RequestURI()
	req := "GET " + path + " HTTP/1.0\r\nHost: " + p.URL.Host + "\r\nUser-Agent: niod-health\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return p.ioError(ctx, "sending the request", err)
	}
	code, err := readHead(conn)
	var re *readError
	if errors.As(err, &re) {
		return p.readFailure(ctx, re)
	}
	if err != nil {
		return err // a malformed or too long answer: final
	}
	if code/100 == 2 || code == 401 || code == 403 {
		return nil
	}
	return fmt.Errorf("answered %d", code)
}

// readHead reads an answer's head from r, at most MaxHead bytes, and
// returns its status code.
func readHead(r io.Reader) (int, error) {
	buf := make([]byte, MaxHead)
	n := 0
	for {
		m, rerr := r.Read(buf[n:])
		n += m
		if m > 0 {
			code, _, err := ParseResponse(buf[:n])
			if err == nil {
				return code, nil
			}
			if !errors.Is(err, ErrIncomplete) {
				return 0, err
			}
			if n == len(buf) { // ParseResponse never asks for more at MaxHead
				return 0, fmt.Errorf("answer longer than %d bytes", MaxHead)
			}
		}
		if rerr != nil {
			return 0, &readError{n: n, got: buf[:n], err: rerr}
		}
	}
}

// readError is a read that failed before a complete head.
type readError struct {
	n   int // bytes read
	got []byte
	err error
}

func (e *readError) Error() string {
	return fmt.Sprintf("%v after %d bytes of an incomplete answer", e.err, e.n)
}

func (e *readError) Unwrap() error { return e.err }

// readFailure words a read that failed before a complete head.
func (p *Prober) readFailure(ctx context.Context, e *readError) error {
	got := ""
	if e.n > 0 {
		got = fmt.Sprintf(" (%d bytes: %s)", e.n, excerpt(e.got))
	}
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("probe canceled while waiting for the answer%s", got)
	case errors.As(e.err, &ne) && ne.Timeout():
		return fmt.Errorf("no complete answer within %v%s", p.Timeout, got)
	case errors.Is(e.err, io.EOF):
		return fmt.Errorf("connection closed before a complete answer%s", got)
	}
	return fmt.Errorf("reading the answer: %s%s", shortText(e.err.Error()), got)
}

// ioError words a failed step before the answer: a deadline as the timeout
// it is, anything else cut to a short, printable text (a peer's
// certificate may name thousands of hosts in an error).
func (p *Prober) ioError(ctx context.Context, step string, err error) error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%s: probe canceled", step)
	case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: timed out after %v", step, p.Timeout)
	}
	return fmt.Errorf("%s: %s", step, shortText(err.Error()))
}

// shortText cuts an error text that may hold what a peer sent to 200
// bytes, with control characters replaced.
func shortText(s string) string {
	const max = 200
	more := ""
	if len(s) > max {
		s, more = s[:max], "..."
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b) + more
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
