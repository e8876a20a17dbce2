package main

import (
	"fmt"

	"niod/internal/exitcode"
)

// runCmd merges the settings and supervises the runtime.
func runCmd(inv *invocation, args []string) int {
	c := commandNamed("run")
	sf := newFlagSet(c, inv)
	if code, done := sf.parse(c, inv, args); done {
		return code
	}
	l, code := load(inv, sf.request(inv))
	if l == nil {
		return code
	}
	fmt.Fprintln(inv.stderr, "niod run: the supervisor is not built yet; the settings are valid (niod config shows them)")
	return exitcode.Unavailable
}

func certCmd(inv *invocation, _ []string) int {
	fmt.Fprintln(inv.stderr, "niod cert: not built yet")
	return exitcode.Unavailable
}

func doctorCmd(inv *invocation, _ []string) int {
	fmt.Fprintln(inv.stderr, "niod doctor: not built yet")
	return exitcode.Unavailable
}
