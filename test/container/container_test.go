package container

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// niodExits is niod's last log line's start for exit code code.
func niodExits(code int) string { return fmt.Sprintf(`"msg":"niod exits","code":%d`, code) }

// TestHealthy: the image's defaults (as root, dropping to nio) start the
// runtime; the engine's healthcheck passes and niod says it is ready.
func TestHealthy(t *testing.T) {
	need(t)
	t.Parallel()
	sec, _ := withSecrets(t)
	c := run(t, runOpts{podman: sec})
	status := c.waitHealthy()
	if !strings.Contains(status, "project /nio/project: running pid") {
		t.Errorf("niod status:\n%s", status)
	}
	st := c.statusJSON()
	if st["niod_pid"] != float64(1) || st["ready_rule"] != "probe" {
		t.Errorf("niod_pid %v (want 1: niod is PID 1), ready_rule %v (want probe)", st["niod_pid"], st["ready_rule"])
	}
	for _, p := range c.procs() {
		if p.uid != nioUID {
			t.Errorf("a process runs as uid %d, not nio's %d (niod drops for good):\n%s", p.uid, nioUID, describe(c.procs()))
			break
		}
	}
}

// TestStop: podman stop sends SIGTERM to niod; the runtime's handler runs
// and niod exits 143 before its stop_timeout (no kill), or the code
// stop_exit_code asks for.
func TestStop(t *testing.T) {
	need(t)
	for _, tc := range []struct {
		name, conf string
		code       int
	}{
		{"default", "", 143},
		{"stop_exit_code", "stop_exit_code = 0\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sec, _ := withSecrets(t)
			// podman's own timeout is well above niod's: what ends the
			// container is niod.
			conf, _ := withTestConf(t, "[niod]\nstop_timeout = 30s\n"+tc.conf)
			c := run(t, runOpts{podman: with(sec, conf)})
			c.waitHealthy()
			if _, err := podmanOK(exitTimeout, "stop", "-t", "120", c.name); err != nil {
				t.Fatal(err)
			}
			if code := c.exitCode(); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			out, errOut := c.streams()
			// The runtime's TERM handler: it logs the signal, stops its
			// workers and says so.
			if !linesInOrder(out, "signal TERM", "stopping", "stopped") {
				t.Errorf("the runtime's TERM handler did not run:\n%s", c.logs())
			}
			if !strings.Contains(errOut, niodExits(tc.code)) || strings.Contains(errOut, "did not stop in time") {
				t.Errorf("niod did not exit %d after the runtime stopped by itself:\n%s", tc.code, c.logs())
			}
		})
	}
}

// TestTermIgnored: a runtime that ignores SIGTERM is killed at
// stop_timeout, with its workers: the container ends, by niod's exit, long
// before podman's own timeout, and no process of it is left.
func TestTermIgnored(t *testing.T) {
	need(t)
	t.Parallel()
	sec, _ := withSecrets(t)
	conf, _ := withTestConf(t, "[niod]\nstop_timeout = 2s\n[runtime_test]\nignore_term = true\n")
	c := run(t, runOpts{podman: with(sec, conf)})
	c.waitHealthy()
	before := c.procs()
	if len(before) < 4 {
		t.Fatalf("want niod, the runtime and its 2 workers, got:\n%s", describe(before))
	}
	if _, err := podmanOK(exitTimeout, "stop", "-t", "120", c.name); err != nil {
		t.Fatal(err)
	}
	if code := c.exitCode(); code != 143 {
		t.Errorf("exit code %d, want 143 (niod's, not the engine's SIGKILL)", code)
	}
	out, errOut := c.streams()
	if !linesInOrder(out, "signal TERM ignored") ||
		!inOrder(errOut, "runtime did not stop in time; killing it", "killed by SIGKILL", niodExits(143)) {
		t.Errorf("the log does not say the runtime ignored SIGTERM and was killed at stop_timeout:\n%s", c.logs())
	}
	for _, p := range before {
		if q, ok := readProc(p.hostPID); ok && q.comm == p.comm {
			t.Errorf("%s (host pid %d) survived the container", p.comm, p.hostPID)
		}
	}
}

// TestOrphans: niod as PID 1 reaps 200 orphans of the runtime's tree.
func TestOrphans(t *testing.T) {
	need(t)
	t.Parallel()
	sec, _ := withSecrets(t)
	conf, _ := withTestConf(t, "[runtime_test]\norphans = 200\n")
	c := run(t, runOpts{podman: with(sec, conf)})
	c.waitHealthy()
	pids := orphanPIDs(t, c.waitRuntime(startTimeout, "\norphans "), 200)
	c.waitNoOrphans(pids)
	if !c.running() {
		t.Fatal("the container ended")
	}
}

// TestReload: HUP through the engine reaches niod (PID 1), not the
// runtime: niod reads the settings again and restarts the runtime only
// when they changed. After the drop it reads them as nio: a secrets file
// only root can read makes the reload fail, and the runtime keeps running.
func TestReload(t *testing.T) {
	need(t)
	t.Run("readable by nio", func(t *testing.T) {
		t.Parallel()
		path, _ := secretsFile(t, tempDir(t), nioUID, nioUID, 0o400)
		conf, confPath := withTestConf(t, "[user_defined]\nINSTANCE_NAME = first\n")
		c := run(t, runOpts{podman: with([]string{"-v", path + ":" + secretsTarget + ":ro"}, conf)})
		c.waitHealthy()
		if _, err := podmanOK(time.Minute, "kill", "-s", "HUP", c.name); err != nil {
			t.Fatal(err)
		}
		c.waitLog(startTimeout, "reloading the settings", "settings unchanged")
		// In place: the bind mount shows the same file.
		if err := os.WriteFile(confPath, []byte("[user_defined]\nINSTANCE_NAME = second\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := podmanOK(time.Minute, "kill", "-s", "HUP", c.name); err != nil {
			t.Fatal(err)
		}
		log := c.waitLog(startTimeout, "settings unchanged", "reloading the settings",
			"settings changed; restarting the runtime with them", `"msg":"runtime ready"`)
		if out, _ := c.streams(); strings.Contains(out, "signal HUP") {
			t.Errorf("the runtime got the HUP meant for niod:\n%s", log)
		}
		if reload, _ := c.statusJSON()["reload"].(map[string]any); reload["outcome"] != "restarted" {
			t.Errorf("niod status: reload %v, want outcome restarted", reload)
		}
	})
	t.Run("root's only", func(t *testing.T) {
		t.Parallel()
		sec, _ := withSecrets(t)
		c := run(t, runOpts{podman: sec})
		c.waitHealthy()
		if _, err := podmanOK(time.Minute, "kill", "-s", "HUP", c.name); err != nil {
			t.Fatal(err)
		}
		c.waitLog(startTimeout, "reloading the settings", secretsTarget, "settings not reloaded; the runtime keeps running with the old ones")
		c.waitHealthy()
	})
}

// TestSecretsHidden: secrets.conf passed as a podman secret reaches the
// runtime, but not podman inspect, podman logs, or any process's
// environment or command line in the container. A token passed as an
// environment secret reaches the runtime's settings but not its
// environment: niod moves it into the handoff. (podman itself shows an
// environment secret in the inspect of a running container, and it is in
// niod's own environment: the reason to pass secrets as a file.)
func TestSecretsHidden(t *testing.T) {
	need(t)
	t.Parallel()
	dir := tempDir(t)
	path, password := secretsFile(t, dir, 0, 0, 0o600)
	token := randomSecret()
	tokenPath := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenPath, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, s := range []struct{ name, file string }{{"conf", path}, {"token", tokenPath}} {
		name := uniqueName(t) + "-" + s.name
		if _, err := podmanOK(time.Minute, "secret", "create", name, s.file); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, name)
		t.Cleanup(func() { podman(time.Minute, "secret", "rm", name) })
	}
	c := run(t, runOpts{podman: []string{
		"--secret", secrets[0] + ",type=mount,target=secrets.conf,uid=999,gid=999,mode=0400",
		"--secret", secrets[1] + ",type=env,target=PK_TOKEN"}})
	c.waitHealthy()
	// The runtime has both: the password opens its API, and its settings
	// hold the token (compared by hash, so neither is on a command line).
	out, errOut, code := c.exec("python3", "-c", secretsClient)
	if code != 0 || strings.TrimSpace(out) != "200 "+sha256hex(token) {
		t.Fatalf("the runtime did not get the secrets: exit %d: %q %s (want 200 and the token's hash)", code, out, errOut)
	}
	records := map[string]string{}
	if out, err := podmanOK(time.Minute, "inspect", c.name); err != nil {
		t.Fatal(err)
	} else {
		records["podman inspect"] = out
	}
	records["podman logs"] = c.logs()
	for _, p := range c.procs() {
		for _, f := range []string{"environ", "cmdline"} {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", p.hostPID, f))
			if err != nil {
				continue // it ended meanwhile
			}
			records[fmt.Sprintf("/proc/%d/%s (%s, pid %d in the container)", p.hostPID, f, p.comm, p.pid)] = string(data)
		}
	}
	if len(records) < 6 {
		t.Fatalf("found too few processes to check: %v", describe(c.procs()))
	}
	for where, text := range records {
		if strings.Contains(text, password) {
			t.Errorf("the password is in %s", where)
		}
		if strings.Contains(text, token) && strings.HasPrefix(where, "/proc/") && !strings.Contains(where, "(niod, pid 1 ") {
			t.Errorf("the token is in %s", where)
		}
	}
}

// secretsClient runs in the container as root: it reads the password from
// the mounted secret, asks the runtime's API for its settings and prints
// the status and the SHA-256 of [pubkeeper_client] token.
const secretsClient = `
import base64, configparser, hashlib, json, urllib.request
p = configparser.RawConfigParser(); p.optionxform = str
p.read("/run/secrets/secrets.conf")
pw = p.get("user_defined", "ADMIN_PASSWORD")
req = urllib.request.Request("http://127.0.0.1:8181/settings",
    headers={"Authorization": "Basic " + base64.b64encode(("admin:" + pw).encode()).decode()})
with urllib.request.urlopen(req, timeout=10) as r:
    body = json.load(r)
    print(r.status, hashlib.sha256(body["pubkeeper_client"]["token"].encode()).hexdigest())
`

// TestCrashLoop: a runtime that keeps failing makes niod give up with 69
// after restart_limit (5 in 60 s), and the engine's restart policy takes
// over from there.
func TestCrashLoop(t *testing.T) {
	need(t)
	const conf = "[runtime_test]\nexit_code = 3\n"
	t.Run("gives up", func(t *testing.T) {
		t.Parallel()
		sec, _ := withSecrets(t)
		tc, _ := withTestConf(t, conf)
		c := run(t, runOpts{podman: with(sec, tc)})
		if code := c.exitCode(); code != 69 {
			t.Errorf("exit code %d, want 69", code)
		}
		gaveUp := regexp.MustCompile(`"msg":"niod exits","code":69,"why":"gave up after 5 failures in [^"]+ \(restart_limit\); last: exit code 3"`)
		if _, errOut := c.streams(); !gaveUp.MatchString(errOut) {
			t.Errorf("the log does not say niod gave up:\n%s", c.logs())
		}
	})
	t.Run("restart on-failure:2", func(t *testing.T) {
		t.Parallel()
		sec, _ := withSecrets(t)
		tc, _ := withTestConf(t, conf)
		c := run(t, runOpts{podman: with(sec, tc, []string{"--restart", "on-failure:2"})})
		deadline := time.Now().Add(3 * exitTimeout)
		for c.inspect("{{.State.Status}} {{.RestartCount}}") != "exited 2" {
			if time.Now().After(deadline) {
				t.Fatalf("not exited after 2 restarts: %s\n%s", c.inspect("{{.State.Status}} {{.RestartCount}}"), c.logs())
			}
			time.Sleep(300 * time.Millisecond)
		}
		if code := c.inspect("{{.State.ExitCode}}"); code != "69" {
			t.Errorf("exit code %s, want 69", code)
		}
		if n := strings.Count(c.logs(), `"msg":"niod starts"`); n != 3 {
			t.Errorf("niod started %d times, want 3 (the first run and 2 restarts)", n)
		}
	})
}

// TestHardened: the image runs, healthy and ready, read-only, without new
// privileges, as nio from the start, as an arbitrary uid without a passwd
// entry (as OpenShift runs it), and as kubernetes.yaml runs it.
func TestHardened(t *testing.T) {
	need(t)
	const arbitrary = 1000620000
	for _, tc := range []struct {
		name     string
		podman   []string
		cmd      []string
		uid, gid int    // of the secrets file
		runAs    int    // the runtime's uid
		socket   string // where the control socket must be
		emptyDir string // a memory emptyDir of the pod's fsGroup, mounted there
		deps     bool   // a read-only root: deps/, where pre_start installs, on a volume of its own
	}{
		{name: "read-only", podman: []string{"--read-only"}, runAs: nioUID, socket: "/run/niod/", deps: true},
		{name: "no-new-privileges", podman: []string{"--security-opt", "no-new-privileges"}, runAs: nioUID, socket: "/run/niod/"},
		// The image's CMD (run --user nio) names the user niod is already.
		{name: "user 999", podman: []string{"--user", "999:999"}, uid: nioUID, gid: nioUID, runAs: nioUID, socket: "/tmp/niod-999/"},
		// An arbitrary uid: CMD replaced by `run` (no user to become).
		{name: "arbitrary uid", podman: []string{"--user", fmt.Sprintf("%d:0", arbitrary)}, cmd: []string{"run"},
			uid: arbitrary, runAs: arbitrary, socket: fmt.Sprintf("/tmp/niod-%d/", arbitrary)},
		// kubernetes.yaml: runAsUser 999, read-only root, no capability,
		// no privilege escalation, XDG_RUNTIME_DIR on an emptyDir (a
		// tmpfs, 2777 and group fsGroup as the kubelet makes it).
		{name: "kubernetes", podman: []string{"--user", "999:999", "--read-only", "--cap-drop", "ALL",
			"--security-opt", "no-new-privileges", "-e", "XDG_RUNTIME_DIR=/run/nio"}, emptyDir: "/run/nio", deps: true,
			cmd: []string{"run"}, uid: nioUID, gid: nioUID, runAs: nioUID, socket: "/run/nio/niod/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mode := os.FileMode(0o600)
			if tc.uid != 0 {
				mode = 0o400
			}
			path, _ := secretsFile(t, tempDir(t), tc.uid, tc.gid, mode)
			opts := with([]string{"-v", path + ":" + secretsTarget + ":ro"}, tc.podman)
			if tc.emptyDir != "" {
				dir := hostTmpfs(t, 0o2777, nioUID)
				opts = append(opts, "-v", dir+":"+tc.emptyDir)
			}
			if tc.deps {
				opts = append(opts, "-v", hostTmpfs(t, 0o2777, nioUID)+":/nio/project/deps")
			}
			c := run(t, runOpts{podman: opts, cmd: tc.cmd})
			c.waitHealthy()
			if !regexp.MustCompile(`"msg":"control socket","path":"` + regexp.QuoteMeta(tc.socket)).MatchString(c.logs()) {
				t.Errorf("the control socket is not under %s:\n%s", tc.socket, c.logs())
			}
			for _, p := range c.procs() {
				if p.uid != tc.runAs {
					t.Errorf("a process runs as uid %d, not %d:\n%s", p.uid, tc.runAs, describe(c.procs()))
					break
				}
			}
		})
	}
}

// TestCapDropAll: root without SETUID, SETGID and SETPCAP cannot drop to
// nio: niod exits 77 and says what to do instead.
func TestCapDropAll(t *testing.T) {
	need(t)
	t.Parallel()
	sec, _ := withSecrets(t)
	c := run(t, runOpts{podman: with(sec, []string{"--cap-drop", "ALL"})})
	if code := c.exitCode(); code != 77 {
		t.Errorf("exit code %d, want 77", code)
	}
	log := c.logs()
	for _, want := range []string{"--user", "SETPCAP"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

// TestInit: under --init (catatonit as PID 1) niod is a child subreaper:
// it still reaps the runtime's orphans, and podman stop still ends with
// niod's exit code.
func TestInit(t *testing.T) {
	need(t)
	t.Parallel()
	sec, _ := withSecrets(t)
	conf, _ := withTestConf(t, "[runtime_test]\norphans = 200\n")
	c := run(t, runOpts{podman: with(sec, conf, []string{"--init"})})
	c.waitHealthy()
	if pid := c.statusJSON()["niod_pid"]; pid == float64(1) {
		t.Fatalf("niod is PID 1 under --init")
	}
	if _, errOut := c.streams(); strings.Contains(errOut, "cannot become child subreaper") {
		t.Fatalf("niod is no subreaper:\n%s", errOut)
	}
	var pid1 string
	for _, p := range c.procs() {
		if p.pid == 1 {
			pid1 = p.comm
		}
	}
	// podman copies catatonit in as /run/podman-init.
	if pid1 != "catatonit" && pid1 != "podman-init" {
		t.Fatalf("PID 1 is %q, not catatonit:\n%s", pid1, describe(c.procs()))
	}
	pids := orphanPIDs(t, c.waitRuntime(startTimeout, "\norphans "), 200)
	c.waitNoOrphans(pids)
	if _, err := podmanOK(exitTimeout, "stop", "-t", "120", c.name); err != nil {
		t.Fatal(err)
	}
	if code := c.exitCode(); code != 143 {
		t.Errorf("exit code %d, want niod's 143 through catatonit", code)
	}
}

// TestKubeletSecretVolume: a secrets.conf in a Kubernetes Secret volume's
// layout (on a read-only tmpfs: secrets.conf -> ..data/secrets.conf,
// ..data -> ..TIMESTAMP, the file root's and group- or world-readable)
// is accepted; the same file 0644 on an ordinary read-write mount is not.
func TestKubeletSecretVolume(t *testing.T) {
	need(t)
	const target = "/run/secrets/nio"
	settings := "NIOD_SETTINGS=nio.conf," + target + "/secrets.conf"
	t.Run("root drops, 0644", func(t *testing.T) {
		t.Parallel()
		dir := secretVolume(t, 0o644, 0)
		c := run(t, runOpts{podman: []string{"-v", dir + ":" + target + ":ro", "-e", settings}})
		c.waitHealthy()
	})
	t.Run("runAsUser 999 with fsGroup, 0440", func(t *testing.T) {
		t.Parallel()
		dir := secretVolume(t, 0o440, nioUID)
		c := run(t, runOpts{podman: []string{"-v", dir + ":" + target + ":ro", "-e", settings, "--user", "999:999"}, cmd: []string{"run"}})
		c.waitHealthy()
	})
	t.Run("read-write mount, 0644", func(t *testing.T) {
		t.Parallel()
		path, _ := secretsFile(t, tempDir(t), 0, 0, 0o644)
		c := run(t, runOpts{podman: []string{"-v", filepath.Dir(path) + ":" + target, "-e", settings}})
		if code := c.exitCode(); code != 78 {
			t.Errorf("exit code %d, want 78", code)
		}
		if log := c.logs(); !strings.Contains(log, "chmod") || !strings.Contains(log, target+"/secrets.conf") {
			t.Errorf("the log does not name the file and the chmod that fixes it:\n%s", log)
		}
	})
}

// secretVolume makes what the kubelet makes for a Secret volume: a tmpfs
// holding ..2026_01_01_00_00_00.000/secrets.conf (root's, gid, mode),
// ..data pointing to that directory and secrets.conf to ..data/secrets.conf,
// then made read-only. It is unmounted when the test ends.
func secretVolume(t *testing.T, mode os.FileMode, gid int) string {
	t.Helper()
	dir := hostTmpfs(t, 0o1777, 0)
	const stamp = "..2026_01_01_00_00_00.000"
	if err := os.Mkdir(filepath.Join(dir, stamp), 0o755); err != nil {
		t.Fatal(err)
	}
	path, _ := secretsFile(t, filepath.Join(dir, stamp), 0, gid, mode)
	if filepath.Base(path) != "secrets.conf" {
		t.Fatal(path)
	}
	if err := os.Symlink(stamp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/secrets.conf", filepath.Join(dir, "secrets.conf")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("make the tmpfs read-only: %v", err)
	}
	return dir
}

// hostTmpfs mounts a small tmpfs in this run's work directory, mode (as
// chmod takes it) and group gid, as the kubelet makes a volume in memory; it is unmounted when
// the test ends (after its containers are removed).
func hostTmpfs(t *testing.T, mode uint32, gid int) string {
	t.Helper()
	dir, err := os.MkdirTemp(work, "tmpfs-")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC,
		fmt.Sprintf("size=4m,mode=%o,gid=%d", mode, gid)); err != nil {
		t.Fatalf("mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	return dir
}

// TestPublishedPort runs the image as compose.yaml does (its environment,
// container.conf, a read-only root with tmpfs, the port published on
// loopback): the API answers from the host.
func TestPublishedPort(t *testing.T) {
	need(t)
	t.Parallel()
	compose := readCompose(t)
	sec, password := withSecrets(t)
	opts := with(sec, []string{
		"-v", filepath.Join(moduleRoot, "deploy", "docker", "container.conf") + ":/nio/project/container.conf:ro",
		"--read-only", "--read-only-tmpfs=false", "--tmpfs", "/run:mode=0755,size=16m", "--tmpfs", "/tmp:size=64m",
		"-v", hostTmpfs(t, 0o2777, nioUID) + ":/nio/project/deps", // compose.yaml's deps volume
		"--security-opt", "no-new-privileges",
		// slirp4netns forwards the port itself: no bridge, no firewall
		// rules on the host.
		"--network", "slirp4netns:port_handler=slirp4netns", "-p", "127.0.0.1::8181"})
	for k, v := range compose.env {
		opts = append(opts, "-e", k+"="+v)
	}
	c := run(t, runOpts{podman: opts, network: true})
	c.waitHealthy()
	out, err := podmanOK(time.Minute, "port", c.name, "8181/tcp")
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(out)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("published at %q, not on loopback", addr)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, auth := range []struct {
		header string
		want   int
	}{{"", 401}, {"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+password)), 200}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/nio", nil)
		if auth.header != "" {
			req.Header.Set("Authorization", auth.header)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET http://%s/nio: %v", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != auth.want {
			t.Errorf("GET http://%s/nio (auth %v): %d, want %d", addr, auth.header != "", resp.StatusCode, auth.want)
		}
	}
}

// niod doctor inside the container: it knows where it is, and the checks a
// container cannot see say so instead of judging the host.
func TestDoctorInside(t *testing.T) {
	need(t)
	t.Parallel()
	sec, _ := withSecrets(t)
	c := run(t, runOpts{podman: sec})
	c.waitHealthy()
	out, stderr, code := c.exec("niod", "doctor", "--json", "--only", "swap,clock,secrets,wifi,runtime")
	var d struct {
		Container bool `json:"container"`
		Findings  []struct {
			ID, Status, Summary string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil || (code != 0 && code != 1) {
		t.Fatalf("niod doctor --json in the container: exit %d %v\n%s%s", code, err, out, stderr)
	}
	if !d.Container {
		t.Errorf("doctor does not see it runs in a container: %s", out)
	}
	if !strings.Contains(out, `"id": "runtime.root"`) {
		t.Errorf("no runtime.root in %s", out)
	}
	for _, f := range d.Findings {
		switch f.ID {
		case "swap.encrypted", "wifi.security", "clock.daemon":
			if f.Status != "skip" || !strings.Contains(f.Summary, "container") {
				t.Errorf("%s in a container: %s %q, want a skip that says why", f.ID, f.Status, f.Summary)
			}
		case "secrets.permissions":
			if f.Status != "ok" {
				t.Errorf("%s: %s %q", f.ID, f.Status, f.Summary)
			}
		case "runtime.root":
			// The image's CMD drops to nio: doctor judges the runtime
			// that runs, not settings that name no user.
			if f.Status != "ok" || !strings.Contains(f.Summary, "the running runtime (pid ") || !strings.Contains(f.Summary, "runs as nio (uid 999") {
				t.Errorf("%s: %s %q", f.ID, f.Status, f.Summary)
			}
		}
	}
}

// The image installs its blocks' requirements with nio.conf's pre_start
// step, as nio, before the runtime starts: no entry script. The venv's
// python imports what the step installed.
func TestPreStartInImage(t *testing.T) {
	need(t)
	t.Parallel()
	sec, _ := withSecrets(t)
	c := run(t, runOpts{podman: sec})
	c.waitHealthy()
	logs := c.logs()
	started, done, runtime := strings.Index(logs, `"msg":"pre_start step started"`), strings.Index(logs, `"msg":"pre_start step done"`), strings.Index(logs, `"msg":"runtime started"`)
	if started < 0 || done < started || runtime < done {
		t.Fatalf("want the step started, done, then the runtime started, in that order:\n%s", logs)
	}
	out, stderr, code := c.exec("runuser", "-u", "nio", "--", "/nio/venv/bin/python", "-c", "import nio_greeting; print(nio_greeting.greet('nio'))")
	if code != 0 || strings.TrimSpace(out) != "hello, nio" {
		t.Errorf("the step's install is not importable: exit %d %q %s", code, out, stderr)
	}
	if out, _, _ := c.exec("stat", "-c", "%U", "/nio/project/deps/nio_greeting/__init__.py"); strings.TrimSpace(out) != "nio" {
		t.Errorf("deps/ installed as %q, want the runtime's user nio", out)
	}
}
