package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func versionCmd(inv *invocation, args []string) int {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		c := commandNamed("version")
		fmt.Fprintf(inv.stdout, "Usage: niod %s\n\n%s.\n", c.usage, upperFirst(c.summary))
		return 0
	}
	fmt.Fprintf(inv.stdout, "niod %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
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
