// Package doctor checks the host a nio instance runs on against nio's
// secure-host checklist: each check reads the system (never the network,
// never changing anything) and reports ok, warn, fail or skip, with the
// evidence and, for warn and fail, one line of what to do.
package doctor

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"niod/internal/config"
)

// Status is a check's verdict.
type Status string

// The verdicts.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip" // the check cannot see (needs root, not visible from a container, nothing to check)
)

// Finding is one check's result. Its JSON is stable (README: niod doctor).
type Finding struct {
	// ID is stable: "area.what" (clock.sync, swap.encrypted, ...).
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Summary says in a few words what was found.
	Summary string `json:"summary"`
	// Evidence is what the finding rests on (a file and line, a value).
	Evidence []string `json:"evidence,omitempty"`
	// Fix is one line of what to do (warn and fail only).
	Fix string `json:"fix,omitempty"`
}

// Host is the system a check reads. Tests point Root at a directory laid
// out like a host's file system; /proc and /sys are read under it too.
type Host struct {
	// Root prefixes every path a check reads ("/" for the real host).
	Root string
	// InContainer says niod runs in a container (see DetectContainer).
	InContainer bool
	// Euid is the uid doctor runs as.
	Euid int
	// Settings are the project's loaded settings; nil without a project.
	Settings *config.Loaded
	// Running is the project's runtime when a niod supervises it now.
	Running *Running
}

// Path is p (absolute) under the host's root.
func (h *Host) Path(p string) string { return filepath.Join(h.Root, p) }

// ReadFile reads p under the host's root, at most 1 MiB.
func (h *Host) ReadFile(p string) (string, error) {
	f, err := os.Open(h.Path(p))
	if err != nil {
		return "", err
	}
	defer f.Close()
	// One read of a /proc file can stop at a page: read to the end.
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if len(b) > 0 {
		return string(b), nil
	}
	return "", err
}

// Line is the first line of p under the host's root, trimmed.
func (h *Host) Line(p string) (string, error) {
	s, err := h.ReadFile(p)
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line), err
}

// A Check is one item of the checklist.
type Check struct {
	ID string
	// Container says whether the check means something inside a container
	// (a container's swap is the host's: it skips there, saying so).
	Container bool
	Run       func(h *Host) Finding
}

// Run runs checks on h, in order; a check that does not mean anything in a
// container is skipped there.
func Run(h *Host, checks []Check) []Finding {
	out := make([]Finding, 0, len(checks))
	for _, c := range checks {
		if h.InContainer && !c.Container {
			out = append(out, Finding{ID: c.ID, Status: Skip, Summary: "not visible from a container: run niod doctor on the host"})
			continue
		}
		f := c.Run(h)
		f.ID = c.ID
		out = append(out, f)
	}
	return out
}
