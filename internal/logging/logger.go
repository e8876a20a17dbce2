package logging

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"
)

// Logger writes structured entries through a zap core. Its methods are safe
// for concurrent use.
type Logger struct {
	// core is swapped whole by Reconfigure, so a log call sees either the
	// old or the new format, never a mix.
	core  atomic.Pointer[zapcore.Core]
	level levelEnabler // shared by every core the logger builds

	// The output, its sink and the redactor stay for the logger's
	// lifetime: a reconfiguration must not lose or reorder queued lines.
	out      *os.File
	sink     zapcore.WriteSyncer
	async    *asyncSink // the sink when Options.Async, else nil
	redactor *Redactor
	mu       sync.Mutex // serialises Reconfigure
}

// Field is one key and value of an entry.
type Field = zapcore.Field

// Log logs at level (for callers that carry the level as data).
func (l *Logger) Log(level zapcore.Level, msg string, fields ...Field) { l.log(level, msg, fields) }

func (l *Logger) log(level zapcore.Level, msg string, fields []Field) {
	ent := zapcore.Entry{Level: level, Time: time.Now(), Message: msg}
	if ce := (*l.core.Load()).Check(ent, nil); ce != nil {
		ce.Write(fields...)
	}
}

// setEncoder installs a core writing through enc to the logger's sink.
func (l *Logger) setEncoder(enc zapcore.Encoder) {
	core := zapcore.NewCore(enc, l.sink, &l.level)
	if l.async != nil {
		l.async.setEncoder(enc)
	}
	l.core.Store(&core)
}

// SetLevel changes the minimum level written, for entries logged from then
// on.
func (l *Logger) SetLevel(level zapcore.Level) { l.level.set(level) }

// Reconfigure applies o's Format, Level and Env in place, as New would have,
// for entries logged from then on (auto is resolved again against the
// output). o's Output, Redactor and Async are ignored: the logger keeps its
// output, sink and redactor, so lines already queued are neither lost nor
// reordered. On error the logger is left unchanged.
func (l *Logger) Reconfigure(o Options) error {
	enc, err := newEncoder(o, l.out, l.redactor)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.level.set(o.Level)
	l.setEncoder(enc)
	return nil
}

// Flush waits up to timeout for the lines logged before the call (and the
// report of any lines dropped before it) to be written. It returns nil once
// they are, and an error if the timeout passes first, because the output is
// stuck or slow, or if the output has failed. It never waits longer than
// timeout: lines still queued then are lost if the process exits. A
// synchronous logger has nothing queued, so Flush returns nil at once.
func (l *Logger) Flush(timeout time.Duration) error {
	if l.async == nil {
		return nil
	}
	return l.async.flush(timeout)
}

// Dropped returns how many lines an asynchronous logger has not written:
// those that found the queue full and those discarded because the output
// failed. It is 0 for a synchronous logger.
func (l *Logger) Dropped() uint64 {
	if l.async == nil {
		return 0
	}
	return l.async.droppedLines()
}

// levelEnabler is a zapcore.LevelEnabler whose level can change while
// other goroutines log; zap.AtomicLevel would do, but it lives in the zap
// package this package avoids.
type levelEnabler struct{ v atomic.Int32 }

func (e *levelEnabler) set(l zapcore.Level) { e.v.Store(int32(l)) }

// Level lets zapcore.LevelOf report the level without probing.
func (e *levelEnabler) Level() zapcore.Level { return zapcore.Level(e.v.Load()) }

// Enabled implements zapcore.LevelEnabler.
func (e *levelEnabler) Enabled(l zapcore.Level) bool { return l >= e.Level() }

// Debug logs at debug level.
func (l *Logger) Debug(msg string, fields ...Field) { l.log(zapcore.DebugLevel, msg, fields) }

// Info logs at info level.
func (l *Logger) Info(msg string, fields ...Field) { l.log(zapcore.InfoLevel, msg, fields) }

// Warn logs at warn level.
func (l *Logger) Warn(msg string, fields ...Field) { l.log(zapcore.WarnLevel, msg, fields) }

// Error logs at error level.
func (l *Logger) Error(msg string, fields ...Field) { l.log(zapcore.ErrorLevel, msg, fields) }

// String is a string field.
func String(key, value string) Field {
	return Field{Key: key, Type: zapcore.StringType, String: value}
}

// Int is an integer field.
func Int(key string, value int) Field {
	return Field{Key: key, Type: zapcore.Int64Type, Integer: int64(value)}
}

// Duration is a duration field.
func Duration(key string, value time.Duration) Field {
	return Field{Key: key, Type: zapcore.DurationType, Integer: int64(value)}
}

// Err is an "error" field; nil gives an empty field.
func Err(err error) Field {
	if err == nil {
		return Field{Type: zapcore.SkipType}
	}
	return Field{Key: "error", Type: zapcore.ErrorType, Interface: err}
}

// Stringer is a field holding value's String().
func Stringer(key string, value fmt.Stringer) Field {
	return String(key, value.String())
}

// Strings is a field holding a list of strings.
func Strings(key string, values []string) Field {
	return Field{Key: key, Type: zapcore.ArrayMarshalerType, Interface: stringArray(values)}
}

type stringArray []string

func (a stringArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, s := range a {
		enc.AppendString(s)
	}
	return nil
}
