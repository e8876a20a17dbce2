package health

import (
	"niod/internal/tlscheck"

	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// streamer answers every connection with prefix and then filler, written
// over and over until the peer goes away (or interval between writes).
// written counts the bytes the kernel took.
type streamer struct {
	addr    string
	written atomic.Int64
}

func stream(t *testing.T, prefix string, filler []byte, interval time.Duration) *streamer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &streamer{addr: ln.Addr().String()}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); close(done) })
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
				n, _ := c.Write([]byte(prefix))
				s.written.Add(int64(n))
				for {
					select {
					case <-done:
						return
					default:
					}
					c.SetWriteDeadline(time.Now().Add(10 * time.Second))
					n, err := c.Write(filler)
					s.written.Add(int64(n))
					if err != nil {
						return
					}
					if interval > 0 {
						time.Sleep(interval)
					}
				}
			}()
		}
	}()
	return s
}

// allocated runs f and returns the bytes the process allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestProbeCapsEndlessAnswers: peers that stream without ever ending a
// status line or a header block get a short error well within the timeout
// (which is long, so that only the caps can end the probe), and the probe
// allocates next to nothing.
func TestProbeCapsEndlessAnswers(t *testing.T) {
	chunk := func(c byte) []byte { return []byte(strings.Repeat(string(c), 32<<10)) }
	for _, c := range []struct {
		name, prefix string
		filler       []byte
		want         string
	}{
		{"garbage", "", chunk('a'), `not an HTTP answer: "aaaa`},
		{"endless status line", "HTTP/1.1 200 ", chunk('a'), "status line longer than 512 bytes"},
		{"endless reason of spaces", "HTTP/1.1 200 OK", chunk(' '), "status line longer than 512 bytes"},
		{"endless header", "HTTP/1.1 200 OK\r\nX: ", chunk('b'), "header block longer than 8192 bytes"},
		{"endless headers", "HTTP/1.1 200 OK\r\n", []byte(strings.Repeat("X-A: b\r\n", 4<<10)), "header block longer than 8192 bytes"},
		{"NUL bytes", "", make([]byte, 32<<10), "not an HTTP answer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := stream(t, c.prefix, c.filler, 0)
			p, err := New("http://"+s.addr+"/nio", time.Minute, "")
			if err != nil {
				t.Fatal(err)
			}
			var perr error
			alloc := allocated(func() { perr = p.Probe(context.Background(), func(int) bool { return true }) })
			if perr == nil || !strings.Contains(perr.Error(), c.want) {
				t.Fatalf("error %v, want %q", perr, c.want)
			}
			if len(perr.Error()) > 200 {
				t.Errorf("error of %d bytes", len(perr.Error()))
			}
			if alloc > 1<<20 {
				t.Errorf("the probe allocated %d bytes", alloc)
			}
			t.Logf("%v (server wrote %d bytes, probe allocated %d)", perr, s.written.Load(), alloc)
		})
	}
}

// infinite is a reader of endless bytes that counts what was read.
type infinite struct {
	fill  byte
	chunk int
	read  int
}

func (r *infinite) Read(p []byte) (int, error) {
	n := min(len(p), r.chunk)
	for i := range n {
		p[i] = r.fill
	}
	r.read += n
	return n, nil
}

// TestReadHeadReadsAtMostTheCaps counts the bytes taken from an endless
// source, whatever the sizes of the reads.
func TestReadHeadReadsAtMostTheCaps(t *testing.T) {
	for _, chunk := range []int{1, 7, 512, 4096, 1 << 20} {
		for _, src := range []io.Reader{
			&infinite{fill: 'a', chunk: chunk},
			io.MultiReader(strings.NewReader("HTTP/1.1 200 "), &infinite{fill: 'a', chunk: chunk}),
			io.MultiReader(strings.NewReader("HTTP/1.1 200 OK\r\nX: "), &infinite{fill: 'b', chunk: chunk}),
		} {
			_, err := readHead(src)
			if err == nil || errors.Is(err, ErrIncomplete) {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
			var r *infinite
			switch s := src.(type) {
			case *infinite:
				r = s
			}
			if r != nil && r.read > MaxHead {
				t.Errorf("chunk %d: read %d bytes", chunk, r.read)
			}
		}
		// The counted source alone past a valid beginning.
		r := &infinite{fill: 'b', chunk: chunk}
		pre := "HTTP/1.1 200 OK\r\nX: "
		if _, err := readHead(io.MultiReader(strings.NewReader(pre), r)); err == nil || len(pre)+r.read > MaxHead {
			t.Errorf("chunk %d: %v after %d bytes", chunk, err, len(pre)+r.read)
		}
	}
}

// TestProbeTrickle: a peer that keeps sending, slowly, within the caps is
// cut off by the timeout, which counts for the whole answer, not per read.
func TestProbeTrickle(t *testing.T) {
	s := stream(t, "HTTP/1.1 200 OK\r\n", []byte("X"), 20*time.Millisecond)
	p, _ := New("http://"+s.addr+"/nio", 300*time.Millisecond, "")
	done := make(chan error, 1)
	go func() { done <- p.Probe(context.Background(), nil) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no complete answer within 300ms") {
			t.Fatalf("trickle: %v", err)
		}
		t.Log(err)
	case <-time.After(20 * time.Second):
		t.Fatal("the probe never ended")
	}
}

// TestProbeCanceled: the caller's cancel ends a probe that waits.
func TestProbeCanceled(t *testing.T) {
	p, _ := New(serve(t, "")+"/nio", time.Minute, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Probe(ctx, nil) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Fatalf("canceled probe: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a canceled probe went on")
	}
}

// newWithin runs New with caFile, failing the test when it blocks.
func newWithin(t *testing.T, caFile string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := New("https://localhost:1/nio", time.Second, caFile)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("New blocked on %s", caFile)
		return nil
	}
}

func TestNewCAFileHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "ca.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := newWithin(t, fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v", err)
	}
	if err := newWithin(t, "/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, tlscheck.MaxPEMSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := newWithin(t, big); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("big file: %v", err)
	}
	if err := newWithin(t, dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	// A link to a FIFO is refused without blocking as well.
	link := filepath.Join(dir, "link.pem")
	os.Symlink(fifo, link)
	if err := newWithin(t, link); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("link to a FIFO: %v", err)
	}
}

func TestNewCAFileLinked(t *testing.T) {
	// A certificate behind a link, as in certbot's live/ directory.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive")
	os.Mkdir(archive, 0o755)
	target := filepath.Join(archive, "chain1.pem")
	os.WriteFile(target, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	link := filepath.Join(dir, "chain.pem")
	os.Symlink("archive/chain1.pem", link)
	for _, path := range []string{target, link} {
		if err := newWithin(t, path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	dangling := filepath.Join(dir, "dangling.pem")
	os.Symlink("archive/none.pem", dangling)
	if err := newWithin(t, dangling); err == nil || !strings.Contains(err.Error(), "dangling.pem") {
		t.Errorf("dangling link: %v", err)
	}
}
