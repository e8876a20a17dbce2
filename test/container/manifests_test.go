package container

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"niod/test/testbin"
)

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	root := moduleRoot
	if root == "" {
		var err error
		if root, err = testbin.ModuleRoot(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy", "docker", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// composeService is what the tests take from compose.yaml's one service.
type composeService struct {
	env             map[string]string
	stopGracePeriod string
	restart         string
	ports           []string
}

// readCompose reads services.nio of compose.yaml: a few plain keys and the
// environment map, by indentation (no YAML library in go.mod; the file
// keeps to block style).
func readCompose(t *testing.T) composeService {
	t.Helper()
	s := composeService{env: map[string]string{}}
	var section string
	for _, line := range strings.Split(readDeploy(t, "compose.yaml"), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 4:
			k, v, _ := strings.Cut(trimmed, ":")
			section = k
			v = strings.TrimSpace(v)
			switch k {
			case "stop_grace_period":
				s.stopGracePeriod = v
			case "restart":
				s.restart = v
			}
		case indent == 6 && section == "environment":
			k, v, _ := strings.Cut(trimmed, ":")
			s.env[k] = strings.Trim(strings.TrimSpace(v), `"`)
		case indent == 6 && section == "ports":
			s.ports = append(s.ports, strings.Trim(strings.TrimPrefix(trimmed, "- "), `"`))
		case indent < 4:
			section = ""
		}
	}
	if len(s.env) == 0 {
		t.Fatal("compose.yaml: no environment in services.nio")
	}
	return s
}

func duration(t *testing.T, where, text string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(text); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		t.Fatalf("%s: %q is not a duration", where, text)
	}
	return d
}

// TestManifests holds the examples to what they promise each other: the
// engine's grace period longer than niod's stop_timeout, the port on
// loopback, the probes and the healthcheck, the Kubernetes security
// context and the socket's directory.
func TestManifests(t *testing.T) {
	t.Parallel()
	docker := readDeploy(t, "Dockerfile")
	for _, want := range []string{
		`ENTRYPOINT ["niod"]`, `CMD ["niod", "status", "--live"]`, `--uid 999 --gid 999`,
		"ARG PYTHON_IMAGE=python:3.12-slim", "FROM base AS prebuilt", "COPY bin/niod /usr/local/bin/niod",
	} {
		if !strings.Contains(docker, want) {
			t.Errorf("Dockerfile: no %q", want)
		}
	}

	c := readCompose(t)
	stop := duration(t, "compose.yaml NIOD_STOP_TIMEOUT", c.env["NIOD_STOP_TIMEOUT"])
	if grace := duration(t, "compose.yaml stop_grace_period", c.stopGracePeriod); grace <= stop {
		t.Errorf("compose.yaml: stop_grace_period %s is not longer than NIOD_STOP_TIMEOUT %s", grace, stop)
	}
	if c.restart != "on-failure" {
		t.Errorf("compose.yaml: restart: %q, want on-failure", c.restart)
	}
	if len(c.ports) == 0 {
		t.Error("compose.yaml: no ports")
	}
	for _, p := range c.ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("compose.yaml: port %q is not bound to 127.0.0.1", p)
		}
	}
	if !strings.HasSuffix(c.env["NIOD_SETTINGS"], ",/run/secrets/secrets.conf") {
		t.Errorf("compose.yaml: NIOD_SETTINGS %q does not end with the secret", c.env["NIOD_SETTINGS"])
	}

	k := readDeploy(t, "kubernetes.yaml")
	env := func(name string) string {
		m := regexp.MustCompile(`- name: ` + name + `\n\s+value: (\S+)`).FindStringSubmatch(k)
		if m == nil {
			t.Fatalf("kubernetes.yaml: no env %s", name)
		}
		return m[1]
	}
	kstop := duration(t, "kubernetes.yaml NIOD_STOP_TIMEOUT", env("NIOD_STOP_TIMEOUT"))
	if m := regexp.MustCompile(`terminationGracePeriodSeconds: (\d+)`).FindStringSubmatch(k); m == nil {
		t.Error("kubernetes.yaml: no terminationGracePeriodSeconds")
	} else if grace := duration(t, "terminationGracePeriodSeconds", m[1]); grace <= kstop {
		t.Errorf("kubernetes.yaml: terminationGracePeriodSeconds %s is not longer than NIOD_STOP_TIMEOUT %s", grace, kstop)
	}
	xdg := env("XDG_RUNTIME_DIR")
	if !regexp.MustCompile(`- name: (\S+)\n\s+mountPath: ` + regexp.QuoteMeta(xdg) + `\n`).MatchString(k) {
		t.Errorf("kubernetes.yaml: XDG_RUNTIME_DIR %s is not a volume's mountPath", xdg)
	} else {
		vol := regexp.MustCompile(`- name: (\S+)\n\s+mountPath: ` + regexp.QuoteMeta(xdg) + `\n`).FindStringSubmatch(k)[1]
		if !regexp.MustCompile(`- name: ` + vol + `\n\s+emptyDir:\n\s+medium: Memory`).MatchString(k) {
			t.Errorf("kubernetes.yaml: volume %s at XDG_RUNTIME_DIR is not an emptyDir in memory", vol)
		}
	}
	for _, want := range []string{
		"runAsNonRoot: true", "runAsUser: 999", "runAsGroup: 999", "fsGroup: 999",
		"readOnlyRootFilesystem: true", "allowPrivilegeEscalation: false", `drop: ["ALL"]`,
		"defaultMode: 0400", `command: ["niod", "status", "--live"]`, `command: ["niod", "status", "--ready"]`,
	} {
		if !strings.Contains(k, want) {
			t.Errorf("kubernetes.yaml: no %q", want)
		}
	}
	if !strings.Contains(env("NIOD_SETTINGS"), "/run/secrets/nio/secrets.conf") ||
		!regexp.MustCompile(`mountPath: /run/secrets/nio\n\s+readOnly: true`).MatchString(k) {
		t.Error("kubernetes.yaml: NIOD_SETTINGS does not name secrets.conf in the Secret volume at /run/secrets/nio")
	}
}
