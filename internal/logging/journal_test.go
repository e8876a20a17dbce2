package logging

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestJournalPriority(t *testing.T) {
	tests := []struct {
		level zapcore.Level
		want  int
	}{
		{zapcore.DebugLevel, 7},
		{zapcore.InfoLevel, 6},
		{zapcore.WarnLevel, 4},
		{zapcore.ErrorLevel, 3},
		{zapcore.DPanicLevel, 2},
		{zapcore.PanicLevel, 2},
		{zapcore.FatalLevel, 2},
	}
	for _, tt := range tests {
		if got := journalPriority(tt.level); got != tt.want {
			t.Errorf("journalPriority(%v) = %d, want %d", tt.level, got, tt.want)
		}
	}
}

func TestJournalLines(t *testing.T) {
	l, read := newFileLogger(t, Options{Format: FormatJournal, Level: zapcore.DebugLevel})

	type entry struct {
		log  func()
		prio int
	}
	entries := []entry{
		{func() { l.Debug("debug msg") }, 7},
		{func() { l.Info("info msg", zap.String("k", "v")) }, 6},
		{func() { l.Warn("warn msg") }, 4},
		{func() { l.Error("error msg") }, 3},
		{func() { l.DPanic("dpanic msg") }, 2},
		{func() {
			defer func() { _ = recover() }()
			l.Panic("panic msg")
		}, 2},
		{func() { l.Info("first\nsecond\r\nthird") }, 6},
		{func() { l.Warn("field", zap.String("v", "a\nb")) }, 4},
		{func() { l.Error("err", zap.Error(errors.New("line1\nline2"))) }, 3},
		{func() { l.With(zap.String("ctx", "x\ny")).Info("ctx") }, 6},
		{func() { l.Info("", zap.Strings("list", []string{"p\nq"})) }, 6},
		{func() { l.Named("a\nb").Info("named") }, 6},
	}
	for _, e := range entries {
		e.log()
	}

	got := lines(read())
	if len(got) != len(entries) {
		t.Fatalf("got %d lines for %d entries (a newline escaped the encoder?):\n%s", len(got), len(entries), strings.Join(got, "\n"))
	}
	prefix := regexp.MustCompile(`^<([0-7])>`)
	for i, line := range got {
		m := prefix.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("line %d has no priority prefix: %q", i, line)
			continue
		}
		if p, _ := strconv.Atoi(m[1]); p != entries[i].prio {
			t.Errorf("line %d priority = %d, want %d: %q", i, p, entries[i].prio, line)
		}
	}

	exact := map[int]string{
		1:  "<6>info msg k=v",
		6:  `<6>first\nsecond\r\nthird`,
		7:  `<4>field v="a\nb"`,
		8:  `<3>err error="line1\nline2"`,
		9:  `<6>ctx ctx="x\ny"`,
		10: `<6>list=["p\nq"]`,
		11: `<6>a\nb: named`,
	}
	for i, want := range exact {
		if got[i] != want {
			t.Errorf("line %d = %q, want %q", i, got[i], want)
		}
	}
}
