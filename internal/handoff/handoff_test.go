package handoff

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"niod/internal/config"
)

func load(t *testing.T, text string, env []string) *config.Settings {
	t.Helper()
	s, ps := config.Parse("nio.conf", []byte(text))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	lookup := func(name string) (string, bool) {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v, true
			}
		}
		return "", false
	}
	if ps := s.Resolve(lookup, "/srv/nio"); len(ps) > 0 {
		t.Fatal(ps)
	}
	return s
}

func TestPayloadMovesSecretVariables(t *testing.T) {
	env := []string{"API_TOKEN=tok-123", "HOSTNAME=edge", "DB=plain", "PK_TOKEN=pk-9"}
	s := load(t, "[niod]\nrestart = always\n[user_defined]\nPK_TOKEN = from-file\n"+
		"[svc]\ntoken = [[API_TOKEN]]\nhost = [[HOSTNAME]]\npk = [[PK_TOKEN]]\n", env)
	payload, moved := Payload(s, env)
	text := string(payload)
	if strings.Contains(text, "[niod]") {
		t.Errorf("payload holds [niod]:\n%s", text)
	}
	if !strings.Contains(text, "token = tok-123") || !strings.Contains(text, "API_TOKEN = tok-123") {
		t.Errorf("payload lacks the secret or its [user_defined] copy:\n%s", text)
	}
	if strings.Contains(text, "HOSTNAME =") {
		t.Errorf("a plain variable was moved:\n%s", text)
	}
	// The environment wins over [user_defined], and the file's own
	// [user_defined] entry is kept as written.
	if !strings.Contains(text, "pk = pk-9") || !strings.Contains(text, "PK_TOKEN = from-file") {
		t.Errorf("PK_TOKEN handling wrong:\n%s", text)
	}
	if !slices.Equal(moved, []string{"API_TOKEN", "PK_TOKEN"}) {
		t.Errorf("moved %v", moved)
	}
	if s.Section("niod") == nil {
		t.Error("Payload changed the settings it was given")
	}
}

func TestEnvironment(t *testing.T) {
	in := []string{"PATH=/bin", "API_TOKEN=x", "NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=1", "WATCHDOG_PID=2",
		"LISTEN_FDS=1", "NIOD_LOG_LEVEL=debug", "HOME=/root", "PYTHONHOME=/x"}
	got := Environment(in, []string{"API_TOKEN"}, map[string]string{"PATH": "/venv/bin:/bin", "NIO_ROOT": "/srv", "PYTHONHOME": ""})
	want := []string{"HOME=/root", "NIO_ROOT=/srv", "PATH=/venv/bin:/bin"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestMemfdIsSealed(t *testing.T) {
	h, err := NewMemfd([]byte("[s]\nk = v\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.File.Write([]byte("x")); err == nil {
		t.Error("write to a sealed memfd succeeded")
	}
	seals, err := unix.FcntlInt(h.File.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SEAL == 0 {
		t.Errorf("seals %x, %v", seals, err)
	}
	data, err := io.ReadAll(h.File)
	if err != nil || string(data) != "[s]\nk = v\n" {
		t.Errorf("read back %q, %v", data, err)
	}
}

func TestFileHandoff(t *testing.T) {
	base := t.TempDir()
	var warned []string
	h, err := NewFile([]byte("secret"), base, func(m string) { warned = append(warned, m) })
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(h.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v", st.Mode(), err)
	}
	dir, _ := os.Stat(h.dir)
	if dir.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", dir.Mode())
	}
	if onMemoryFS(base) == (len(warned) > 0) {
		t.Errorf("warning %v does not match tmpfs=%v", warned, onMemoryFS(base))
	}
	h.Close()
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Errorf("directory left after Close: %v", err)
	}
}

func TestFileBase(t *testing.T) {
	env := map[string]string{"RUNTIME_DIRECTORY": "/run/niod:/run/other", "XDG_RUNTIME_DIR": "/run/user/1"}
	if got := FileBase(func(k string) string { return env[k] }); got != "/run/niod" {
		t.Errorf("got %s", got)
	}
	delete(env, "RUNTIME_DIRECTORY")
	if got := FileBase(func(k string) string { return env[k] }); got != "/run/user/1" {
		t.Errorf("got %s", got)
	}
}

func TestPayloadMovesVariablesFeedingSecrets(t *testing.T) {
	env := []string{"ADMIN_PW=p-1", "PK_RAW=r-2", "INNER=i-3", "HOST=h"}
	s := load(t, "[user_defined]\nPK_TOKEN = [[PK_RAW]]\nWRAP = x-[[INNER]]\n"+
		"[security]\nadmin_password = [[ADMIN_PW]]\n[pk]\nclient_token = [[PK_TOKEN]]\nkey_token = [[WRAP]]\nhost = [[HOST]]\n", env)
	payload, moved := Payload(s, env)
	if !slices.Equal(moved, []string{"ADMIN_PW", "INNER", "PK_RAW"}) {
		t.Errorf("moved %v, want ADMIN_PW, INNER, PK_RAW", moved)
	}
	for _, line := range []string{"ADMIN_PW = p-1", "PK_RAW = r-2", "INNER = i-3"} {
		if !strings.Contains(string(payload), line) {
			t.Errorf("payload lacks %q:\n%s", line, payload)
		}
	}
}

// A failure names the base directory, not the random one below it, so the
// same failure reads the same at every try.
func TestNewFileErrorIsStable(t *testing.T) {
	base := filepath.Join(t.TempDir(), "missing")
	var msgs []string
	for range 2 {
		_, err := NewFile([]byte("x"), base, func(string) {})
		if err == nil {
			t.Fatal("NewFile under a missing directory worked")
		}
		msgs = append(msgs, err.Error())
	}
	if msgs[0] != msgs[1] || !strings.Contains(msgs[0], base) || strings.Contains(msgs[0], "niod-") {
		t.Errorf("errors %q", msgs)
	}
}
