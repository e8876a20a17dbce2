package logging

import (
	"fmt"
	"time"

	"go.uber.org/zap/zapcore"
)

// Logger writes structured entries through a zap core.
type Logger struct {
	core zapcore.Core
}

// Field is one key and value of an entry.
type Field = zapcore.Field

func (l *Logger) log(level zapcore.Level, msg string, fields []Field) {
	ent := zapcore.Entry{Level: level, Time: time.Now(), Message: msg}
	if ce := l.core.Check(ent, nil); ce != nil {
		ce.Write(fields...)
	}
}

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
