package doctor

import (
	"fmt"
	"strings"
)

// Text renders findings for a terminal: one line a check, the fix on the
// next line for warn and fail, and a count at the end.
func Text(findings []Finding) string {
	var b strings.Builder
	width := 0
	for _, f := range findings {
		width = max(width, len(f.ID))
	}
	count := map[Status]int{}
	for _, f := range findings {
		count[f.Status]++
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", f.Status, width, f.ID, f.Summary)
		if f.Status == Warn || f.Status == Fail {
			for _, e := range f.Evidence {
				fmt.Fprintf(&b, "      %-*s  %s\n", width, "", e)
			}
			if f.Fix != "" {
				fmt.Fprintf(&b, "      %-*s  fix: %s\n", width, "", f.Fix)
			}
		}
	}
	fmt.Fprintf(&b, "%d ok, %d warn, %d fail, %d skipped\n", count[OK], count[Warn], count[Fail], count[Skip])
	return b.String()
}

// ExitCode is doctor's exit code: 1 when a check failed (or, strict,
// warned), else 0.
func ExitCode(findings []Finding, strict bool) int {
	for _, f := range findings {
		if f.Status == Fail || strict && f.Status == Warn {
			return 1
		}
	}
	return 0
}

// Select keeps the checks whose IDs only names (all when empty) and skip
// does not; an ID may be given by its area alone ("core" for core.*). It
// returns the names that match no check.
func Select(checks []Check, only, skip []string) ([]Check, []string) {
	match := func(id, name string) bool { return id == name || strings.HasPrefix(id, name+".") }
	var unknown []string
	for _, n := range append(append([]string(nil), only...), skip...) {
		found := false
		for _, c := range checks {
			found = found || match(c.ID, n)
		}
		if !found {
			unknown = append(unknown, n)
		}
	}
	var out []Check
	for _, c := range checks {
		in := len(only) == 0
		for _, n := range only {
			in = in || match(c.ID, n)
		}
		for _, n := range skip {
			in = in && !match(c.ID, n)
		}
		if in {
			out = append(out, c)
		}
	}
	return out, unknown
}
