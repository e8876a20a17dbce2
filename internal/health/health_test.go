package health

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// serve answers every connection with status and returns the base URL.
func serve(t *testing.T, status string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				c.Read(buf)
				if status != "" {
					fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status)
				} else {
					time.Sleep(2 * time.Second) // hang
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestProbeStatuses(t *testing.T) {
	for status, alive := range map[string]bool{
		"200 OK": true, "204 No Content": true, "401 Unauthorized": true, "403 Forbidden": true,
		"404 Not Found": false, "500 Internal Server Error": false, "302 Found": false,
	} {
		p, err := New(serve(t, status)+"/nio", 2*time.Second, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Probe(context.Background(), nil); (err == nil) != alive {
			t.Errorf("%s: err %v, want alive=%v", status, err, alive)
		}
	}
}

func TestProbeTimeoutAndRefused(t *testing.T) {
	p, _ := New(serve(t, "")+"/nio", 200*time.Millisecond, "")
	if err := p.Probe(context.Background(), nil); err == nil {
		t.Error("a hanging server counted as alive")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	p, _ = New("http://"+addr+"/nio", time.Second, "")
	if err := p.Probe(context.Background(), nil); err == nil {
		t.Error("a closed port counted as alive")
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://x/", "localhost:8181", "http://"} {
		if _, err := New(u, time.Second, ""); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if _, err := New("https://localhost:1/nio", time.Second, "/nonexistent/ca.pem"); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestDefaultURL(t *testing.T) {
	for _, c := range []struct {
		host, port string
		tls        bool
		want       string
	}{
		{"127.0.0.1", "8181", false, "http://127.0.0.1:8181/nio"},
		{"0.0.0.0", "8181", false, "http://127.0.0.1:8181/nio"},
		{"", "80", false, "http://127.0.0.1:80/nio"},
		{"::", "8181", false, "http://127.0.0.1:8181/nio"},
		{"127.0.0.1", "8181", true, "https://127.0.0.1:8181/nio"},
		{"0.0.0.0", "8181", true, "https://localhost:8181/nio"},
		{"edge.example.com", "443", true, "https://edge.example.com:443/nio"},
	} {
		if got := DefaultURL(c.host, c.port, c.tls); got != c.want {
			t.Errorf("%q %q %v: %s, want %s", c.host, c.port, c.tls, got, c.want)
		}
	}
}
