// Package debpackage tests the Debian package `make deb` builds: its
// contents and metadata (dpkg-deb -c, -f, -I), lintian, that two builds
// give the same bytes, and (install_test.go) a real install, start, reload,
// stop and purge under systemd.
//
// The install runs in a container of its own, booted with
// test/systemd/harness.sh under another machine name, not in the one the
// systemd suite boots: that container lives inside the systemd suite's own
// test binary (go test ./test/... runs both packages at once, and its
// start removes any container of its name), it has /usr/local/bin/niod and
// /etc/systemd/system/niod.service, which would shadow the package's
// units, and its /usr is the host's, read-only. A boot takes about a
// second.
//
// It needs make, dpkg-deb and lintian for the package; root,
// systemd-nspawn, apt-get, python3 3.11+ and bash-completion for the
// install. Without them the tests skip, or fail when CI=true. Run:
// go test -count=1 ./test/package/ (about 30 s).
package debpackage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"niod/test/testbin"
)

var (
	moduleRoot string
	stage      string
	// deb is the package make deb built, buildErr why it could not.
	deb      string
	buildErr error
	// toolErr says why the package cannot be built here at all.
	toolErr error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if moduleRoot, err = testbin.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		return 2
	}
	if stage, err = os.MkdirTemp("", "niod-package-test-"); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		return 2
	}
	defer os.RemoveAll(stage)
	if toolErr = tools("make", "dpkg-deb", "git"); toolErr == nil {
		deb, buildErr = makeDeb(filepath.Join(stage, "build1"))
	}
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "package: teardown:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func tools(names ...string) error {
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not installed", strings.Join(missing, ", "))
	}
	return nil
}

// makeDeb runs make deb with the binary and the package in dir, so the
// checkout's bin/ and dist/ stay as they are, and returns the .deb.
func makeDeb(dir string) (string, error) {
	cmd := exec.Command("make", "--no-print-directory", "-C", moduleRoot, "deb",
		"BIN="+filepath.Join(dir, "bin", "niod"), "DIST="+filepath.Join(dir, "dist"))
	// Run from make test, the outer make's jobserver is no business of
	// this one.
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "dist", "niod_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("make deb made %v in %s/dist, want one niod_VERSION_ARCH.deb\n%s", debs, dir, out)
	}
	return debs[0], nil
}

// needDeb skips without the tools (fails under CI=true) and fails when
// make deb did.
func needDeb(t *testing.T) {
	t.Helper()
	testbin.NeedSuite(t, "package", toolErr)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, ee.Stderr)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// fileOf returns one file of the package's data.
func fileOf(t *testing.T, path string) []byte {
	t.Helper()
	cmd := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xOf - "$2"`, "sh", deb, "."+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s from the package: %v", path, err)
	}
	return out
}

func gunzip(t *testing.T, data []byte) string {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The files of the package and their modes; directories are drwxr-xr-x.
var wantFiles = map[string]string{
	"/usr/bin/niod":                               "-rwxr-xr-x",
	"/usr/lib/systemd/system/niod.service":        "-rw-r--r--",
	"/usr/lib/systemd/system/niod@.service":       "-rw-r--r--",
	"/usr/lib/sysusers.d/niod.conf":               "-rw-r--r--",
	"/usr/lib/tmpfiles.d/niod.conf":               "-rw-r--r--",
	"/usr/share/man/man1/niod.1.gz":               "-rw-r--r--",
	"/usr/share/bash-completion/completions/niod": "-rw-r--r--",
	"/usr/share/zsh/vendor-completions/_niod":     "-rw-r--r--",
	"/usr/share/doc/niod/copyright":               "-rw-r--r--",
	"/usr/share/doc/niod/changelog.Debian.gz":     "-rw-r--r--",
	"/usr/share/lintian/overrides/niod":           "-rw-r--r--",
}

// TestContents: dpkg-deb -c lists exactly the package's files, every one
// root's with its mode, one mtime for all, nothing in /etc or /opt.
func TestContents(t *testing.T) {
	needDeb(t)
	seen := map[string]bool{}
	var mtime string
	for _, line := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(line)
		if len(f) != 6 {
			t.Errorf("dpkg-deb -c: unexpected line %q", line)
			continue
		}
		mode, owner, when, path := f[0], f[1], f[3]+" "+f[4], strings.TrimPrefix(f[5], ".")
		if owner != "root/root" {
			t.Errorf("%s is %s, want root/root", path, owner)
		}
		if mtime == "" {
			mtime = when
		} else if when != mtime {
			t.Errorf("%s: mtime %s, others %s (SOURCE_DATE_EPOCH)", path, when, mtime)
		}
		if strings.HasPrefix(mode, "d") {
			if mode != "drwxr-xr-x" {
				t.Errorf("directory %s: %s, want drwxr-xr-x", path, mode)
			}
			if path != "/" && path != "/usr/" && !strings.HasPrefix(path, "/usr/") {
				t.Errorf("directory %s outside /usr", path)
			}
			continue
		}
		want, ok := wantFiles[path]
		switch {
		case !ok:
			t.Errorf("unexpected file in the package: %s", line)
		case mode != want:
			t.Errorf("%s: %s, want %s", path, mode, want)
		}
		seen[path] = true
	}
	for p := range wantFiles {
		if !seen[p] {
			t.Errorf("missing from the package: %s", p)
		}
	}
}

// TestControl: the control fields (dpkg-deb -f), no Depends, the control
// members (dpkg-deb -I): maintainer scripts and md5sums, no conffiles.
func TestControl(t *testing.T) {
	needDeb(t)
	fields := map[string]string{}
	var key string
	for _, line := range strings.Split(run(t, "dpkg-deb", "-f", deb), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
			key = k
			fields[k] = v
		} else if strings.HasPrefix(line, " ") {
			fields[key] += "\n" + line
		}
	}
	m := regexp.MustCompile(`^niod_([^_]+)_([^_]+)\.deb$`).FindStringSubmatch(filepath.Base(deb))
	if m == nil {
		t.Fatalf("%s: not niod_VERSION_ARCH.deb", filepath.Base(deb))
	}
	want := map[string]string{
		"Package": "niod", "Version": m[1], "Architecture": m[2],
		"Recommends": "systemd", "Section": "admin", "Priority": "optional",
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("%s: %q, want %q", k, fields[k], v)
		}
	}
	for _, k := range []string{"Depends", "Pre-Depends", "Conflicts", "Breaks"} {
		if v, ok := fields[k]; ok {
			t.Errorf("%s: %q, want none (a static binary)", k, v)
		}
	}
	if !regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*-1$`).MatchString(m[1]) {
		t.Errorf("version %q: want an upstream version and Debian revision 1", m[1])
	}
	if !regexp.MustCompile(`^.+ <[^@>]+@[^>]+>$`).MatchString(fields["Maintainer"]) {
		t.Errorf("Maintainer: %q", fields["Maintainer"])
	}
	if d := fields["Description"]; !strings.Contains(d, "nio runtime") || !strings.Contains(d, "\n ") {
		t.Errorf("Description: %q, want a synopsis naming the nio runtime and a long description", d)
	}
	if host := strings.TrimSpace(run(t, "dpkg", "--print-architecture")); m[2] != host {
		t.Errorf("Architecture %s, the host's (which built bin/niod) is %s", m[2], host)
	}
	info := run(t, "dpkg-deb", "-I", deb)
	for _, member := range []string{"control", "md5sums", "postinst", "prerm", "postrm"} {
		if !regexp.MustCompile(`(?m)^\s+\d+ bytes,\s+\d+ lines\s+\*?\s+` + member + `\b`).MatchString(info) {
			t.Errorf("dpkg-deb -I: no %s member:\n%s", member, info)
		}
	}
	if strings.Contains(info, "conffiles") {
		t.Errorf("the package has conffiles, it ships nothing in /etc:\n%s", info)
	}
	if changelog := gunzip(t, fileOf(t, "/usr/share/doc/niod/changelog.Debian.gz")); !strings.HasPrefix(changelog, "niod ("+m[1]+") ") {
		t.Errorf("changelog.Debian's first entry is not version %s:\n%s", m[1], changelog)
	}
	if c := string(fileOf(t, "/usr/share/doc/niod/copyright")); !strings.HasPrefix(c, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n") {
		t.Errorf("copyright is not machine-readable (DEP-5):\n%s", c)
	}
}

// TestUnits: the packaged units are deploy/systemd's, with ExecStart= on
// /usr/bin/niod, a Documentation= line and comments of their own, and
// nothing else changed.
func TestUnits(t *testing.T) {
	needDeb(t)
	settings := func(text string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "Documentation=") {
				out = append(out, l)
			}
		}
		return out
	}
	for _, name := range []string{"niod.service", "niod@.service"} {
		src, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		got := string(fileOf(t, "/usr/lib/systemd/system/"+name))
		if !regexp.MustCompile(`(?m)^ExecStart=/usr/bin/niod -r /opt/nio/`).MatchString(got) {
			t.Errorf("%s: no ExecStart=/usr/bin/niod -r /opt/nio/...:\n%s", name, got)
		}
		if !strings.Contains(got, "\nDocumentation=man:niod(1)\n") {
			t.Errorf("%s: no Documentation=man:niod(1)", name)
		}
		want := settings(strings.ReplaceAll(string(src), "ExecStart=/usr/local/bin/niod ", "ExecStart=/usr/bin/niod "))
		if g := settings(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: settings differ from deploy/systemd/%s beyond ExecStart=:\n got %q\nwant %q", name, name, g, want)
		}
	}
}

// TestBinary: /usr/bin/niod is static (no interpreter, no shared
// library), built with -trimpath and CGO_ENABLED=0, and runs.
func TestBinary(t *testing.T) {
	needDeb(t)
	bin := filepath.Join(stage, "niod-from-deb")
	if err := os.WriteFile(bin, fileOf(t, "/usr/bin/niod"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("/usr/bin/niod has a program interpreter: not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("/usr/bin/niod needs %v", libs)
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["-trimpath"] != "true" || settings["CGO_ENABLED"] != "0" {
		t.Errorf("built with -trimpath=%q CGO_ENABLED=%q, want true and 0", settings["-trimpath"], settings["CGO_ENABLED"])
	}
	if out := run(t, bin, "version"); !strings.HasPrefix(out, "niod ") {
		t.Errorf("niod version: %q", out)
	}
}

// TestReproducible: a second make deb (same tree, same SOURCE_DATE_EPOCH)
// gives the same bytes.
func TestReproducible(t *testing.T) {
	needDeb(t)
	again, err := makeDeb(filepath.Join(stage, "build2"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(again) != filepath.Base(deb) {
		t.Fatalf("second build %s, first %s", filepath.Base(again), filepath.Base(deb))
	}
	if a, b := sum(t, deb), sum(t, again); a != b {
		t.Errorf("two builds differ: %s %s (diffoscope shows where)", a, b)
	}
}

func sum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

// TestLintian: no E: line, and no W: either (an override in
// packaging/lintian-overrides says why for each tag it hides).
func TestLintian(t *testing.T) {
	needDeb(t)
	testbin.NeedSuite(t, "package", tools("lintian"))
	cmd := exec.Command("lintian", "--info", deb)
	out, err := cmd.CombinedOutput()
	t.Logf("lintian --info %s:\n%s", filepath.Base(deb), out)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "W: ") {
			t.Errorf("lintian: %s", l)
		}
	}
	if err != nil {
		t.Errorf("lintian: %v", err)
	}
}
