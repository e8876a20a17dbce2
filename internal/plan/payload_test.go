package plan

import (
	"slices"
	"strings"
	"testing"

	"niod/internal/config"
)

// resolved parses text as nio.conf and resolves it against env.
func resolved(t *testing.T, text string, env []string) *config.Settings {
	t.Helper()
	s, ps := config.Parse("nio.conf", []byte(text))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	lookup := func(name string) (string, bool) { return envValue(env, name) }
	if ps := s.Resolve(lookup, "/srv/nio"); len(ps) > 0 {
		t.Fatal(ps)
	}
	return s
}

func TestPayloadMovesSecretVariables(t *testing.T) {
	env := []string{"API_TOKEN=tok-123", "HOSTNAME=edge", "DB=plain", "PK_TOKEN=pk-9"}
	s := resolved(t, "[niod]\nrestart = always\n[user_defined]\nPK_TOKEN = from-file\n"+
		"[svc]\ntoken = [[API_TOKEN]]\nhost = [[HOSTNAME]]\npk = [[PK_TOKEN]]\n", env)
	payload, moved := renderPayload(s, env)
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
		t.Error("renderPayload changed the settings it was given")
	}
}

func TestPayloadMovesVariablesFeedingSecrets(t *testing.T) {
	env := []string{"ADMIN_PW=p-1", "PK_RAW=r-2", "INNER=i-3", "HOST=h"}
	s := resolved(t, "[user_defined]\nPK_TOKEN = [[PK_RAW]]\nWRAP = x-[[INNER]]\n"+
		"[security]\nadmin_password = [[ADMIN_PW]]\n[pk]\nclient_token = [[PK_TOKEN]]\nkey_token = [[WRAP]]\nhost = [[HOST]]\n", env)
	payload, moved := renderPayload(s, env)
	if !slices.Equal(moved, []string{"ADMIN_PW", "INNER", "PK_RAW"}) {
		t.Errorf("moved %v, want ADMIN_PW, INNER, PK_RAW", moved)
	}
	for _, line := range []string{"ADMIN_PW = p-1", "PK_RAW = r-2", "INNER = i-3"} {
		if !strings.Contains(string(payload), line) {
			t.Errorf("payload lacks %q:\n%s", line, payload)
		}
	}
}
