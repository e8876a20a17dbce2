package logging

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// Queue bounds of an asynchronous logger. 1024 lines absorb any burst the
// supervisor produces; 1 MiB caps the memory whatever the line length.
const (
	queueLines = 1024
	queueBytes = 1 << 20
)

// syncWait bounds how long the asynchronous sink's Sync waits for the queue
// to drain. zapcore calls Sync after panic and fatal entries, just before
// the process panics or exits, when a short wait is worth the last lines.
const syncWait = time.Second

// droppedMessage is the message of the warning that reports dropped lines,
// with the count in a "dropped" field. It is constant so it can be searched.
const droppedMessage = "log lines dropped (output too slow)"

// asyncSink is a zapcore.WriteSyncer that queues each line and returns at
// once; a single writer goroutine, started when there is work and ending
// when there is none (so an idle or abandoned sink holds no goroutine),
// writes the lines in order, each with one Write call.
//
// Lines that do not fit in the queue are dropped. The count is reported,
// after the batch being written when the drops happened, by a warning
// encoded like every other line. The first failed write abandons the
// output: the writer discards what is queued and Write discards from then
// on, so a dead output costs neither a spin nor a wait.
type asyncSink struct {
	out zapcore.WriteSyncer
	enc atomic.Pointer[zapcore.Encoder] // encodes the dropped-lines warning

	// maxLines and maxBytes bound the lines queued or being written; they
	// are fields so tests can make them small.
	maxLines, maxBytes int

	mu       sync.Mutex
	queue    []*buffer.Buffer // lines waiting, oldest first
	spare    []*buffer.Buffer // the last batch's array, reused by the queue
	lines    int              // lines queued or being written
	bytes    int              // their size
	running  bool             // the writer goroutine exists
	err      error            // the failed write that abandoned the output
	accepted uint64           // lines ever queued
	done     uint64           // of those, lines written or discarded
	dropped  uint64           // lines that found the queue full
	reported uint64           // of those, lines a warning has accounted for
	lost     uint64           // lines discarded because the output failed
	progress chan struct{}    // closed when done or reported grows; nil if nobody waits
}

func newAsyncSink(out zapcore.WriteSyncer) *asyncSink {
	return &asyncSink{out: out, maxLines: queueLines, maxBytes: queueBytes}
}

// setEncoder sets the encoder of the dropped-lines warning, so the warning
// has the format of the lines around it.
func (s *asyncSink) setEncoder(enc zapcore.Encoder) { s.enc.Store(&enc) }

// Write queues a copy of p, or drops it. It never blocks on the output and
// never fails: an error would make zap report it on stderr, synchronously,
// which is the very output that may be stuck.
func (s *asyncSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		s.lost++
	case s.lines >= s.maxLines || s.bytes+len(p) > s.maxBytes:
		s.dropped++
		// Usually the writer is busy with the full queue, but a single
		// line bigger than the whole queue is dropped with nothing queued,
		// and the writer must still report it.
		s.start()
	default:
		b := bufferPool.Get()
		b.AppendBytes(p)
		s.queue = append(s.queue, b)
		s.lines++
		s.bytes += len(p)
		s.accepted++
		s.start()
	}
	return len(p), nil
}

// Sync waits up to syncWait for the queue to drain, then syncs the output.
func (s *asyncSink) Sync() error {
	if err := s.flush(syncWait); err != nil {
		return err
	}
	return s.out.Sync()
}

// start starts the writer unless it is running; s.mu must be held.
func (s *asyncSink) start() {
	if !s.running {
		s.running = true
		go s.run()
	}
}

// wake tells waiting flushes that the writer made progress; s.mu must be
// held.
func (s *asyncSink) wake() {
	if s.progress != nil {
		close(s.progress)
		s.progress = nil
	}
}

// run is the writer goroutine. It takes the whole queue at a time, so
// producers only contend with it for a moment per line, and returns when
// there is nothing left to write or report.
func (s *asyncSink) run() {
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue, s.spare = s.spare, nil
		unreported := s.dropped - s.reported
		if len(batch) == 0 && unreported == 0 {
			s.running = false
			s.wake()
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()

		for i, b := range batch {
			err := s.write(b.Bytes())
			n := b.Len()
			b.Free()
			batch[i] = nil
			s.mu.Lock()
			s.lines--
			s.bytes -= n
			s.done++
			if err != nil {
				s.lost++
				s.fail(err, batch[i+1:])
				s.mu.Unlock()
				return
			}
			s.wake()
			s.mu.Unlock()
		}

		var err error
		if unreported > 0 {
			buf := s.droppedWarning(unreported)
			err = s.write(buf.Bytes())
			buf.Free()
		}
		s.mu.Lock()
		if err != nil {
			s.fail(err, nil)
			s.mu.Unlock()
			return
		}
		s.reported += unreported
		s.spare = batch[:0]
		s.wake()
		s.mu.Unlock()
	}
}

// fail abandons the output after err: it discards rest (the unwritten part
// of the current batch) and the queue, and stops the writer. s.mu must be
// held.
func (s *asyncSink) fail(err error, rest []*buffer.Buffer) {
	s.err = err
	for _, q := range [][]*buffer.Buffer{rest, s.queue} {
		for _, b := range q {
			s.lines--
			s.bytes -= b.Len()
			s.done++
			s.lost++
			b.Free()
		}
	}
	s.queue, s.spare = nil, nil
	s.running = false
	s.wake()
}

// write writes p with one Write call. Only EAGAIN is retried, after a
// pause: a descriptor another process made non-blocking, which Go's poller
// could not take over, returns it when full, and that is a slow output
// rather than a dead one.
func (s *asyncSink) write(p []byte) error {
	pause := time.Millisecond
	for {
		n, err := s.out.Write(p)
		if err == nil || !errors.Is(err, syscall.EAGAIN) {
			return err
		}
		p = p[n:]
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// droppedWarning encodes the warning that n lines were dropped with the
// current encoder, so it reads like the other lines; should that fail, it
// falls back to plain text.
func (s *asyncSink) droppedWarning(n uint64) *buffer.Buffer {
	ent := zapcore.Entry{Level: zapcore.WarnLevel, Time: time.Now(), Message: droppedMessage}
	fields := []zapcore.Field{{Key: "dropped", Type: zapcore.Uint64Type, Integer: int64(n)}}
	if enc := s.enc.Load(); enc != nil {
		if buf, err := (*enc).EncodeEntry(ent, fields); err == nil {
			return buf
		}
	}
	buf := bufferPool.Get()
	buf.AppendString("niod: ")
	buf.AppendUint(n)
	buf.AppendString(" log lines dropped (output too slow)\n")
	return buf
}

// flush waits up to timeout until the lines queued and dropped before the
// call are written and reported; see Logger.Flush.
func (s *asyncSink) flush(timeout time.Duration) error {
	var expired <-chan time.Time
	s.mu.Lock()
	lines, drops := s.accepted, s.dropped
	for {
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return fmt.Errorf("log output failed: %w", err)
		}
		if s.done >= lines && s.reported >= drops {
			s.mu.Unlock()
			return nil
		}
		if expired == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			expired = t.C
		}
		if s.progress == nil {
			s.progress = make(chan struct{})
		}
		progress := s.progress
		s.mu.Unlock()
		select {
		case <-progress:
		case <-expired:
			s.mu.Lock()
			n := s.lines
			s.mu.Unlock()
			return fmt.Errorf("log output stuck: %d lines still queued after %v", n, timeout)
		}
		s.mu.Lock()
	}
}

// droppedLines returns the lines dropped for lack of room plus those lost
// to a failed output.
func (s *asyncSink) droppedLines() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped + s.lost
}
