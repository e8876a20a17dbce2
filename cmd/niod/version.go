package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"niod/internal/exitcode"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func newVersionFlags(inv *invocation) (*pflag.FlagSet, *bool) {
	fs := pflag.NewFlagSet("niod version", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(inv.stderr)
	fs.Usage = func() {}
	verbose := fs.BoolP("verbose", "v", false, "also print the Go version, the modules and the build settings niod was built with (as go version -m shows them)")
	return fs, verbose
}

func versionCmd(inv *invocation, args []string) int {
	c := commandNamed("version")
	fs, verbose := newVersionFlags(inv)
	if code, done := parseFlags(c, inv, fs, args, true, ""); done {
		return code
	}
	fmt.Fprintf(inv.stdout, "niod %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if *verbose {
		fmt.Fprint(inv.stdout, buildInfo())
	}
	return exitcode.OK
}

// buildInfo is what the binary records of its build, one tab-indented line
// each, as go version -m prints it: the Go version, the main package and
// module, every dependency (path, version, sum) and the build settings
// (CGO_ENABLED, GOOS, GOARCH, -trimpath, vcs.revision, ...).
func buildInfo() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "\t(no build information in this binary)\n"
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimSuffix(bi.String(), "\n"), "\n") {
		b.WriteString("\t" + line)
	}
	b.WriteString("\n")
	return b.String()
}

// versionString is the version set at build time, else devel and the
// commit the build info names.
func versionString() string {
	if version != "" {
		return version
	}
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}
