package debpackage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"niod/test/nspawn"
	"niod/test/testbin"
)

const (
	machine     = "niod-package-test"
	python      = "/usr/bin/python3"
	runtimePath = "/opt/nio/runtime/nio_runtime.py"
	unit        = "niod.service"
)

// container is the harness's container under this suite's machine name,
// and whether this run booted it.
type container struct {
	nspawn.Container
	mu sync.Mutex
	up bool
}

var ct = &container{Container: nspawn.Container{Machine: machine}}

// boot removes a container a killed run left, then boots a fresh one.
func (c *container) boot() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up = true
	if err := c.Container.Down(); err != nil {
		return err
	}
	return c.Up()
}

// down powers the container off, once.
func (c *container) down() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up {
		return nil
	}
	if err := c.Container.Down(); err != nil {
		return err
	}
	c.up = false
	return nil
}

// teardown powers the container off, if a test booted it.
func teardown() error { return ct.down() }

// must runs a command in the container that has to succeed; it returns
// stdout and stderr together.
func must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code, err := ct.Run(nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("%s: exit %d:\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out + errOut
}

// ok says whether a command in the container exits 0.
func ok(t *testing.T, args ...string) bool {
	t.Helper()
	_, _, code, err := ct.Run(nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return code == 0
}

// write puts data into a file of the container, through stdin.
func write(t *testing.T, path string, data []byte, mode, owner string) {
	t.Helper()
	if err := ct.Write(path, data, mode, owner); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func show(t *testing.T, prop string) string {
	t.Helper()
	return strings.TrimSpace(must(t, "systemctl", "show", "-P", prop, unit))
}

func props(t *testing.T, names ...string) map[string]string {
	t.Helper()
	return nspawn.ParseProps(must(t, "systemctl", "show", "-p", strings.Join(names, ","), unit))
}

// niodState is what the installed niod status --json says of the service.
func niodState(t *testing.T) (pid int, state string) {
	t.Helper()
	out, _, code, err := ct.Run(nil, "/usr/bin/niod", "status", "--json", "-r", "/opt/nio/project")
	if err != nil || code != 0 {
		return 0, fmt.Sprintf("exit %d %v", code, err)
	}
	var st struct {
		NiodPID int    `json:"niod_pid"`
		State   string `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("niod status --json: %v\n%s", err, out)
	}
	return st.NiodPID, st.State
}

// progress is dpkg's "(Reading database ... 5%" without a terminal.
var progress = regexp.MustCompile(`\(Reading database \.\.\. (\d+%)?`)

// installPrerequisites says what is missing to install the package in a
// container here.
func installPrerequisites() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (systemd-nspawn boots a container)")
	}
	if err := tools("apt-get", "dpkg", "tar"); err != nil {
		return err
	}
	ct.Harness = filepath.Join(moduleRoot, "test", "systemd", "harness.sh")
	if out, err := exec.Command("bash", ct.Harness, "check").CombinedOutput(); err != nil {
		return fmt.Errorf("%s(install with: %s deps)", out, ct.Harness)
	}
	v, err := exec.Command(python, "-c", "import sys; print(sys.version_info >= (3, 11))").Output()
	if err != nil || strings.TrimSpace(string(v)) != "True" {
		return fmt.Errorf("needs %s, Python 3.11 or later, for the reference runtime: %v %s", python, err, v)
	}
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err != nil {
		return errors.New("needs bash-completion (apt-get install bash-completion)")
	}
	return nil
}

// The reference runtime on the unit's port, ready once its API answers.
const nioConf = `[rest]
host = 127.0.0.1
port = 8181

[instance]
name = packaged

[security]
users = admin
admin_password = [[ADMIN_PASSWORD]]

[niod]
command = ` + python + ` ` + runtimePath + `
ready = probe
`

// TestInstall: the package installed with apt-get in a booted systemd:
// the user, the directories, the units (not enabled, not started); a
// project makes niod.service start ready, reload and stop; the bash
// completion loads; enabled and running, apt-get purge stops it and
// takes the package's files and links away but leaves the operator's.
func TestInstall(t *testing.T) {
	needDeb(t)
	testbin.NeedSuite(t, "package", installPrerequisites())

	// Ctrl-C or a kill: power the container off before going.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "package: %v: tearing the container down\n", sig)
		ct.down()
		os.Exit(1)
	}()
	if err := ct.boot(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _, _, _ := ct.Run(nil, "journalctl", "-q", "--no-pager", "-u", unit, "-n", "80",
				"--grep", "unit-root|mount|sd-userns", "--invert-grep")
			t.Logf("journal of %s:\n%s", unit, out)
		}
		if err := ct.down(); err != nil {
			t.Error(err)
		}
	})
	prepare(t)

	pkg := "/var/cache/niod-test/" + filepath.Base(deb)
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	write(t, pkg, data, "644", "root:root")
	out := must(t, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", pkg)
	t.Logf("apt-get install -y ./%s:\n%s", filepath.Base(deb), progress.ReplaceAllString(out, ""))
	if st := must(t, "dpkg-query", "-W", "-f", "${Status}", "niod"); st != "install ok installed" {
		t.Fatalf("dpkg-query: %q", st)
	}

	// What postinst made.
	if pw := strings.TrimSpace(must(t, "getent", "passwd", "nio")); !strings.HasSuffix(pw, ":/opt/nio:/usr/sbin/nologin") {
		t.Errorf("user nio: %q, want home /opt/nio and /usr/sbin/nologin", pw)
	}
	must(t, "getent", "group", "nio")
	for path, want := range map[string]string{
		"/etc/nio": "700 root:root", "/opt/nio": "755 root:root",
		"/opt/nio/project": "755 root:root", "/opt/nio/project/logs": "750 nio:nio",
	} {
		if got := strings.TrimSpace(must(t, "stat", "-c", "%a %U:%G", path)); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	// The units: loaded from the package, verified, neither enabled nor
	// started.
	if got := show(t, "FragmentPath"); !strings.HasSuffix(got, "/lib/systemd/system/niod.service") {
		t.Errorf("niod.service loaded from %q", got)
	}
	if out, errOut, code, _ := ct.Run(nil, "systemd-analyze", "verify", "--man=no", unit, "niod@demo.service"); code != 0 || strings.TrimSpace(out+errOut) != "" {
		t.Errorf("systemd-analyze verify: exit %d:\n%s%s", code, out, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(must(t, "systemctl", "list-unit-files", "--no-legend", "niod*")), "\n") {
		if f := strings.Fields(l); len(f) < 2 || f[1] != "disabled" {
			t.Errorf("systemctl list-unit-files niod*: %q, want disabled", l)
		}
	}
	if ok(t, "systemctl", "is-enabled", "--quiet", unit) || ok(t, "systemctl", "is-active", "--quiet", unit) {
		t.Errorf("installing enabled or started %s", unit)
	}

	// A project, as the README's steps lay it out.
	secret := "[user_defined]\nADMIN_PASSWORD = niod-package-test-secret\n"
	runtime, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "runtime", "nio_runtime.py"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, runtimePath, runtime, "644", "root:root")
	write(t, "/opt/nio/project/nio.conf", []byte(nioConf), "644", "root:root")
	write(t, "/etc/nio/secrets.conf", []byte(secret), "600", "root:root")

	t0 := time.Now()
	must(t, "systemctl", "start", unit)
	t.Logf("systemctl start %s: %v", unit, time.Since(t0).Round(time.Millisecond))
	p := props(t, "ActiveState", "SubState", "NRestarts", "StatusText", "MainPID")
	if p["ActiveState"] != "active" || p["SubState"] != "running" || p["NRestarts"] != "0" || !strings.HasPrefix(p["StatusText"], "running") {
		t.Fatalf("after start: %v", p)
	}
	pid, state := niodState(t)
	if state != "ready" || fmt.Sprint(pid) != p["MainPID"] {
		t.Errorf("niod status: pid %d state %q, want %s ready", pid, state, p["MainPID"])
	}
	t.Logf("started: %v", p)

	must(t, "systemctl", "reload", unit)
	testbin.Eventually(t, 15*time.Second, "ready again after reload", func() (bool, string) {
		_, state := niodState(t)
		return state == "ready", state
	})
	if q := props(t, "ActiveState", "MainPID", "NRestarts"); q["ActiveState"] != "active" || q["MainPID"] != p["MainPID"] || q["NRestarts"] != "0" {
		t.Errorf("after reload: %v, want active, MainPID %s, NRestarts 0", q, p["MainPID"])
	}

	must(t, "systemctl", "stop", unit)
	if q := props(t, "ActiveState", "Result"); q["ActiveState"] != "inactive" || q["Result"] != "success" {
		t.Errorf("after stop: %v", q)
	}

	// The completion, as bash-completion loads it on first use.
	comp := must(t, "bash", "-c", `. /usr/share/bash-completion/bash_completion && __load_completion niod && complete -p niod &&
		f=$(complete -p niod | sed -n 's/.* -F \([^ ]*\) .*/\1/p') && COMP_WORDS=(niod sta) COMP_CWORD=1 COMP_LINE="niod sta" COMP_POINT=8 && "$f" niod sta niod && echo "${COMPREPLY[*]}"`)
	t.Logf("bash completion:\n%s", comp)
	if !strings.Contains(comp, "status") || !strings.Contains(comp, "start") {
		t.Errorf("niod sta<TAB> does not offer start and status:\n%s", comp)
	}

	// Enabled and running when it goes: prerm stops it, postrm purge
	// removes the link.
	must(t, "systemctl", "enable", "--now", unit)
	out = must(t, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "niod")
	t.Logf("apt-get purge -y niod:\n%s", progress.ReplaceAllString(out, ""))
	if strings.Contains(out, "dpkg: warning") {
		t.Errorf("dpkg warned on purge")
	}
	if st := show(t, "ActiveState"); st != "inactive" {
		t.Errorf("ActiveState=%s after purge: prerm did not stop it", st)
	}
	for path := range wantFiles {
		if ok(t, "test", "-e", path) {
			t.Errorf("%s still there after purge", path)
		}
	}
	// (It exits 1 when it lists none.)
	if lf, _, _, err := ct.Run(nil, "systemctl", "list-unit-files", "niod*"); err != nil || !strings.Contains(lf, "0 unit files listed.") {
		t.Errorf("systemctl list-unit-files niod* after purge: %v\n%s", err, lf)
	}
	if links := must(t, "sh", "-c", "ls -l /etc/systemd/system/*.wants/ | grep niod || true"); strings.TrimSpace(links) != "" {
		t.Errorf("enablement links left: %s", links)
	}
	if ls := show(t, "LoadState"); ls != "not-found" {
		t.Errorf("LoadState=%s after purge", ls)
	}
	// What the operator made stays; the empty directory postinst made goes.
	if got := must(t, "cat", "/etc/nio/secrets.conf"); got != secret {
		t.Errorf("/etc/nio/secrets.conf after purge: %q", got)
	}
	if got := must(t, "cat", "/opt/nio/project/nio.conf"); got != nioConf {
		t.Errorf("/opt/nio/project/nio.conf after purge: %q", got)
	}
	if ok(t, "test", "-e", "/opt/nio/project/logs") {
		t.Errorf("the empty /opt/nio/project/logs is still there after purge")
	}
	// The system user stays, as Debian leaves system users.
	must(t, "getent", "passwd", "nio")
}

// prepare makes the container's /usr writable and gives it the host's
// package database, so dpkg can install into it as into the host; all of
// it lives in the container's tmpfs and goes with it.
func prepare(t *testing.T) {
	t.Helper()
	must(t, "sh", "-c", `set -e
		mkdir -p /run/niod-test/usr/upper /run/niod-test/usr/work
		mount -t overlay overlay -o lowerdir=/usr,upperdir=/run/niod-test/usr/upper,workdir=/run/niod-test/usr/work /usr
		# A build host's policy-rc.d that refuses every service action
		# (Docker's exit 101) would keep prerm from stopping niod: a host
		# that runs services has none.
		rm -f /usr/sbin/policy-rc.d
		mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates /var/lib/dpkg/triggers \
			/var/lib/apt/lists/partial /var/cache/apt/archives/partial \
			/etc/apt/apt.conf.d /etc/apt/sources.list.d /etc/apt/preferences.d /etc/dpkg/dpkg.cfg.d
		: >/etc/apt/sources.list`)
	// The host's package list (which packages own which files), but no
	// triggers and no stat overrides: other packages' maintainer scripts
	// and overrides need their /etc (users, groups, configuration), which
	// the container does not have.
	files := []string{"var/lib/dpkg/status"}
	for _, f := range []string{"diversions", "arch"} {
		if _, err := os.Stat("/var/lib/dpkg/" + f); err == nil {
			files = append(files, "var/lib/dpkg/"+f)
		}
	}
	lists, _ := filepath.Glob("/var/lib/dpkg/info/*.list")
	for _, l := range lists {
		files = append(files, strings.TrimPrefix(l, "/"))
	}
	tarCmd := exec.Command("tar", "-C", "/", "-cf", "-", "--files-from", "-")
	tarCmd.Stdin = strings.NewReader(strings.Join(files, "\n") + "\n")
	db, err := tarCmd.Output()
	if err != nil {
		t.Fatalf("tar of /var/lib/dpkg: %v", err)
	}
	if _, errOut, code, err := ct.Run(db, "tar", "-C", "/", "-xf", "-"); err != nil || code != 0 {
		t.Fatalf("the package database into the container: exit %d %v %s", code, err, errOut)
	}
}
