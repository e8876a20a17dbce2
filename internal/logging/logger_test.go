package logging

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoggerFields(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRedactor()
	r.Add("hunter22")
	l, err := New(Options{Format: FormatJSON, Output: f, Redactor: r})
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden at info")
	l.Info("started", Int("pid", 42), String("who", "nio"), Duration("after", 1500*time.Millisecond),
		Strings("command", []string{"python3", "run.py"}), Stringer("user", stringerFunc("nio (uid 9)")))
	l.Warn("careful", Err(errors.New("password hunter22 rejected")), Err(nil))
	l.Error("failed")
	data, _ := os.ReadFile(f.Name())
	out := string(data)
	for _, want := range []string{`"msg":"started"`, `"pid":42`, `"who":"nio"`, `"after":"1.5s"`,
		`"command":["python3","run.py"]`, `"user":"nio (uid 9)"`, `"level":"warn"`, `"level":"error"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") || strings.Contains(out, "hunter22") || strings.Count(out, "\n") != 3 {
		t.Errorf("log:\n%s", out)
	}
}

type stringerFunc string

func (s stringerFunc) String() string { return string(s) }
