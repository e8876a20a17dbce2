// Package container runs the image of deploy/docker/Dockerfile under a real
// container engine: rootful podman with runc, with niod as the container's
// entrypoint (PID 1) supervising the reference runtime (examples/runtime)
// of the example project. It checks what deploy/docker/README.md promises:
// health and readiness through the engine, podman stop and its exit code, a
// runtime that ignores SIGTERM, orphans reaped, HUP, secrets kept out of the
// engine's records, a crash loop handed to the engine's restart policy, the
// hardened ways to run it, --cap-drop ALL, --init, and secrets in a
// Kubernetes Secret volume's layout.
//
// No registry is needed: the Python base is built with debootstrap
// (minbase + python3, python3-venv) and imported; niod is built from this
// checkout and copied in (the Dockerfile's prebuilt target). Both images are
// cached in podman's storage under /var/cache/niod-test (NIOD_TEST_CACHE),
// keyed by a hash of their inputs: the first run builds the base (about a
// minute), later ones only what changed. Each run writes its own
// CONTAINERS_CONF and CONTAINERS_STORAGE_CONF (runc, ulimits the calling
// shell can grant), podman's run-time state in /run/niod-test, so
// /etc/containers and the default podman are not touched.
//
// It needs root, podman, runc, debootstrap, catatonit and slirp4netns (for
// the published port, without touching the host's firewall); without them
// the tests skip, or fail when CI=true (which installs them first).
// Run: go test -count=1 ./test/container/ (20 s with the cache).
package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"niod/test/testbin"
)

const (
	// label marks the containers of this suite: a run that was killed
	// leaves them, and the next run removes them.
	label = "niod-test"
	// baseRepo and niodRepo name the cached images; the tag is the key.
	baseRepo = "localhost/debian-python"
	niodRepo = "localhost/niod-test"
	// baseRecipe changes when buildBase changes what it makes.
	baseRecipe = "debootstrap minbase v1"
	// engineRun holds podman's run-time state for the suite.
	engineRun = "/run/niod-test"
	// workPrefix names a run's work directory in the temporary directory.
	workPrefix = "niod-container-test-"
	suiteName  = "bookworm"
)

// basePackages go into the Python base on top of minbase: python3 (not
// python3-minimal, which lacks modules the runtime uses, such as hmac) and
// python3-venv for the Dockerfile's venv.
var basePackages = []string{"python3", "python3-venv"}

// needed are the commands the suite runs, with their Debian packages.
var needed = []struct{ cmd, pkg string }{
	{"podman", "podman"}, {"runc", "runc"}, {"debootstrap", "debootstrap"},
	{"catatonit", "catatonit"}, {"slirp4netns", "slirp4netns"},
}

var (
	// setupErr says why the suite cannot run; every test reports it.
	setupErr error
	// moduleRoot holds go.mod.
	moduleRoot string
	// image is the niod image every test runs.
	image string
	// work is this run's directory: the engine's configuration, the
	// mounts the tests make (so that a killed run's are found).
	work string
)

func inCI() bool { return os.Getenv("CI") == "true" }

// need skips the test when the suite cannot run, or fails it under CI=true.
func need(t *testing.T) {
	t.Helper()
	testbin.NeedSuite(t, "container", setupErr)
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if moduleRoot, err = testbin.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
		return 2
	}
	if setupErr = prerequisites(); setupErr != nil {
		return m.Run()
	}
	cache := cacheDir()
	if err := os.MkdirAll(cache, 0o700); err != nil {
		setupErr = err
		return m.Run()
	}
	// One run at a time uses the cache: a second waits here, before it
	// makes anything, so that the sweep below removes only what a killed
	// run left.
	unlock, err := lockDir(cache)
	if err != nil {
		setupErr = err
		return m.Run()
	}
	defer unlock()
	if work, err = os.MkdirTemp("", workPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "container:", err)
		return 2
	}
	defer os.RemoveAll(work)
	if setupErr = configureEngine(cache); setupErr != nil {
		return m.Run()
	}
	sweep()
	// Ctrl-C or a kill: remove the containers and mounts before going.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "container: %v: removing the containers\n", sig)
		sweep()
		unmountUnder(work)
		os.RemoveAll(work)
		unlock()
		os.Exit(1)
	}()
	start := time.Now()
	base, err := baseImage(cache)
	if err != nil {
		setupErr = err
		return m.Run()
	}
	if image, err = niodImage(base); err != nil {
		setupErr = err
		return m.Run()
	}
	fmt.Fprintf(os.Stderr, "container: images ready in %s: %s on %s\n", time.Since(start).Round(100*time.Millisecond), image, base)
	code := m.Run()
	sweep()
	unmountUnder(work)
	return code
}

// cacheDir holds podman's storage (the images) between runs.
func cacheDir() string {
	if d := os.Getenv("NIOD_TEST_CACHE"); d != "" {
		return d
	}
	return "/var/cache/niod-test"
}

// prerequisites returns what is missing to run the suite. Under CI=true it
// first installs the missing packages.
func prerequisites() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (rootful podman)")
	}
	missing := func() []string {
		var pkgs []string
		for _, n := range needed {
			if _, err := exec.LookPath(n.cmd); err != nil {
				pkgs = append(pkgs, n.pkg)
			}
		}
		return pkgs
	}
	if pkgs := missing(); len(pkgs) > 0 && inCI() {
		if out, err := exec.Command("apt-get", "update", "-qq").CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get update: %v: %s", err, out)
		}
		install := exec.Command("apt-get", append([]string{"install", "-y", "-qq"}, pkgs...)...)
		install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := install.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get install %s: %v: %s", strings.Join(pkgs, " "), err, out)
		}
	}
	if pkgs := missing(); len(pkgs) > 0 {
		return fmt.Errorf("needs %s (apt-get install %s)", strings.Join(pkgs, ", "), strings.Join(pkgs, " "))
	}
	return nil
}

// lockDir takes an exclusive lock on dir, waiting for another run.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "container: waiting for another run to release %s\n", dir)
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
	}
	return func() { f.Close() }, nil
}

// configureEngine writes this process's containers.conf and storage.conf:
// runc (crun refuses this host's hybrid cgroups), default ulimits the
// caller can grant (podman's defaults exceed a shell without
// CAP_SYS_RESOURCE), and storage under the cache directory.
func configureEngine(cache string) error {
	var nofile, nproc unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		return err
	}
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &nproc); err != nil {
		return err
	}
	nf := min(uint64(1024), nofile.Max)
	np := min(uint64(4096), nproc.Max)
	// podman's state of the running containers is the suite's own, in
	// engineRun (fixed: podman's database remembers it; /run is a tmpfs,
	// emptied at boot like the state it holds), and no events log grows.
	containers := fmt.Sprintf(`[containers]
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]
[engine]
runtime = "runc"
tmp_dir = %q
events_logger = "none"
[network]
network_config_dir = %q
`, nf, nf, np, np, filepath.Join(engineRun, "libpod"), filepath.Join(engineRun, "networks"))
	storage := fmt.Sprintf(`[storage]
driver = "overlay"
graphroot = %q
runroot = %q
`, filepath.Join(cache, "storage"), filepath.Join(engineRun, "storage"))
	cc, sc := filepath.Join(work, "containers.conf"), filepath.Join(work, "storage.conf")
	if err := os.WriteFile(cc, []byte(containers), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(sc, []byte(storage), 0o644); err != nil {
		return err
	}
	os.Setenv("CONTAINERS_CONF", cc)
	os.Setenv("CONTAINERS_STORAGE_CONF", sc)
	if out, err := podmanCmd(context.Background(), "info", "--format", "{{.Host.OCIRuntime.Name}}").CombinedOutput(); err != nil {
		return fmt.Errorf("podman info: %v: %s", err, out)
	} else if strings.TrimSpace(string(out)) != "runc" {
		return fmt.Errorf("podman runs %q, not runc", strings.TrimSpace(string(out)))
	}
	return nil
}

func podmanCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// podman runs podman and returns its stdout, stderr and exit code; err is
// for podman not running or not ending in time.
func podman(timeout time.Duration, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stdout, stderr, code, err = testbin.Output(ctx, podmanCmd(ctx, args...))
	if err != nil {
		err = fmt.Errorf("podman %s: %v (stderr: %s)", strings.Join(args, " "), err, engineNoise(stderr))
	}
	return stdout, stderr, code, err
}

// podmanOK is podman that must exit 0.
func podmanOK(timeout time.Duration, args ...string) (string, error) {
	out, errOut, code, err := podman(timeout, args...)
	if err != nil {
		return out, err
	}
	if code != 0 {
		return out, fmt.Errorf("podman %s: exit %d: %s%s", strings.Join(args, " "), code, out, engineNoise(errOut))
	}
	return out, nil
}

// systemdNoise is what podman logs for want of systemd (its healthcheck
// timers); the container starts all the same.
var systemdNoise = regexp.MustCompile(`(?m)^.*unable to get systemd connection.*\n?`)

// engineNoise drops systemdNoise from podman's stderr.
func engineNoise(stderr string) string { return systemdNoise.ReplaceAllString(stderr, "") }

// sweep removes every container of this suite: those of a run that was
// killed, or of this one when it ends.
func sweep() {
	out, err := podmanOK(time.Minute, "ps", "-a", "-q", "--filter", "label="+label)
	if err != nil {
		fmt.Fprintln(os.Stderr, "container: sweep:", err)
		return
	}
	if ids := strings.Fields(out); len(ids) > 0 {
		if _, err := podmanOK(2*time.Minute, append([]string{"rm", "-f", "-t", "0"}, ids...)...); err != nil {
			fmt.Fprintln(os.Stderr, "container: sweep:", err)
		}
	}
	// slirp4netns's sockets, which podman leaves behind its containers.
	nets, _ := filepath.Glob(filepath.Join(engineRun, "libpod", "*.net"))
	for _, n := range nets {
		os.Remove(n)
	}
	// Secrets of a killed run.
	if out, err := podmanOK(time.Minute, "secret", "ls", "--format", "{{.Name}}"); err == nil {
		for _, name := range strings.Fields(out) {
			if strings.HasPrefix(name, label+"-") {
				podman(time.Minute, "secret", "rm", name)
			}
		}
	}
	// The work directories (mounts, files) of runs that were killed.
	stale, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	for _, dir := range stale {
		if dir != work {
			unmountUnder(dir)
			os.RemoveAll(dir)
		}
	}
}

// mountPoints lists this mount namespace's mount points.
func mountPoints() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out = append(out, unescapeMount(f[4]))
		}
	}
	return out
}

var mountEscape = regexp.MustCompile(`\\[0-7]{3}`)

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	return mountEscape.ReplaceAllStringFunc(s, func(e string) string {
		var b byte
		fmt.Sscanf(e[1:], "%o", &b)
		return string(b)
	})
}

// unmountUnder unmounts every mount at or below dir, deepest first.
func unmountUnder(dir string) {
	if dir == "" {
		return
	}
	var under []string
	for _, m := range mountPoints() {
		if m == dir || strings.HasPrefix(m, dir+"/") {
			under = append(under, m)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(under)))
	for _, m := range under {
		if err := unix.Unmount(m, 0); err != nil {
			unix.Unmount(m, unix.MNT_DETACH)
		}
	}
}

// ---------------------------------------------------------------- images

// debianMirror is the host's Debian mirror (NIOD_TEST_MIRROR, else the
// first URIs of /etc/apt/sources.list.d/debian.sources or the first deb
// line of /etc/apt/sources.list).
func debianMirror() string {
	if m := os.Getenv("NIOD_TEST_MIRROR"); m != "" {
		return m
	}
	if data, err := os.ReadFile("/etc/apt/sources.list.d/debian.sources"); err == nil {
		if m := regexp.MustCompile(`(?m)^URIs:\s*(\S+)`).FindSubmatch(data); m != nil {
			return string(m[1])
		}
	}
	if data, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		if m := regexp.MustCompile(`(?m)^deb\s+(?:\[[^]]*\]\s+)?(\S+)`).FindSubmatch(data); m != nil {
			return string(m[1])
		}
	}
	return "http://deb.debian.org/debian"
}

// key is a short hash of the parts, for an image tag.
func key(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func imageExists(ref string) bool {
	_, _, code, err := podman(time.Minute, "image", "exists", ref)
	return err == nil && code == 0
}

// baseImage returns the Python base, built with debootstrap when the cache
// lacks it: minbase plus basePackages, the package lists and caches
// removed, imported without a registry. It is also tagged
// localhost/debian-python:bookworm for bench/container.sh and for trying
// the Dockerfile by hand.
func baseImage(cache string) (string, error) {
	mirror := debianMirror()
	ref := baseRepo + ":" + suiteName + "-" + key([]byte(baseRecipe), []byte(suiteName), []byte(mirror), []byte(strings.Join(basePackages, ",")))
	if imageExists(ref) {
		return ref, nil
	}
	fmt.Fprintf(os.Stderr, "container: building %s with debootstrap from %s (once; cached in %s)\n", ref, mirror, cache)
	tmp, err := os.MkdirTemp(cache, "rootfs-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	boot := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(basePackages, ","), suiteName, rootfs, mirror)
	if out, err := boot.CombinedOutput(); err != nil {
		return "", fmt.Errorf("debootstrap: %v: %s", err, tail(out, 20))
	}
	for _, pattern := range []string{"var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb", "var/log/*.log", "var/log/apt/*"} {
		matches, _ := filepath.Glob(filepath.Join(rootfs, pattern))
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
	imp := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", `tar -C "$1" --numeric-owner -c . | podman import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/bash"]' - "$2"`, "import", rootfs, ref)
	if out, err := imp.CombinedOutput(); err != nil {
		return "", fmt.Errorf("podman import: %v: %s", err, tail(out, 20))
	}
	if _, err := podmanOK(time.Minute, "tag", ref, baseRepo+":"+suiteName); err != nil {
		return "", err
	}
	return ref, nil
}

// niodImage builds deploy/docker/Dockerfile's prebuilt target on base, with
// niod built from this checkout, unless the cache holds it; the build runs
// with --network none. Older niod-test images are removed.
// imageFiles are the repository's files the Dockerfile copies (besides
// bin/niod).
var imageFiles = []string{
	"examples/project/nio.conf", "examples/project/secrets.conf.example", "examples/project/make_wheels.py",
	"examples/project/blocks/greeting/requirements.txt", "examples/project/blocks/greeting/greeting.py",
	"examples/project/vendor/nio_greeting/__init__.py", "examples/runtime/nio_runtime.py",
}

func niodImage(base string) (string, error) {
	ctxDir := filepath.Join(work, "context")
	bin := filepath.Join(ctxDir, "bin", "niod")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	if _, err := testbin.BuildNiod(moduleRoot, bin); err != nil {
		return "", err
	}
	// The build context holds what the Dockerfile copies, laid out as in
	// the repository, and nothing else (not the example's secrets.conf).
	for _, f := range imageFiles {
		data, err := os.ReadFile(filepath.Join(moduleRoot, f))
		if err != nil {
			return "", err
		}
		dst := filepath.Join(ctxDir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return "", err
		}
	}
	dockerfile := filepath.Join(moduleRoot, "deploy", "docker", "Dockerfile")
	ignore := dockerfile + ".dockerignore"
	parts := [][]byte{[]byte(base)}
	keyed := []string{dockerfile, ignore, bin}
	for _, f := range imageFiles {
		keyed = append(keyed, filepath.Join(ctxDir, f))
	}
	for _, f := range keyed {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		parts = append(parts, data)
	}
	ref := niodRepo + ":" + key(parts...)
	if !imageExists(ref) {
		fmt.Fprintf(os.Stderr, "container: building %s\n", ref)
		if _, err := podmanOK(10*time.Minute, "build", "--format", "docker", "--network", "none",
			"-f", dockerfile, "--ignorefile", ignore, "--target", "prebuilt",
			"--build-arg", "PYTHON_IMAGE="+base, "-t", ref, ctxDir); err != nil {
			return "", err
		}
	}
	if out, err := podmanOK(time.Minute, "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference="+niodRepo); err == nil {
		for _, old := range strings.Fields(out) {
			if old != ref {
				podman(time.Minute, "rmi", old)
			}
		}
	}
	return ref, nil
}

// tail is the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
