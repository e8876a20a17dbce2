// Package descriptors looks after niod's file descriptors before it opens
// its first file: that the open-file limit leaves room for niod to work,
// and that nothing niod inherited reaches the runtime.
package descriptors

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Min is the fewest descriptors niod runs with: its standard streams, the
// poller, the notify socket, the handoff, /dev/null for the runtime's
// stdin, and a few for /proc, probes and reloads.
const Min = 16

// CheckLimit returns an error saying what to do when the open-file limit
// is below Min: below a few descriptors Go's runtime cannot even set up its
// poller and aborts with a stack trace.
// Go raises the soft limit to the hard one at start, so the hard limit is
// what counts.
func CheckLimit() error {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return nil // cannot tell: let the open calls report
	}
	return judge(rl.Cur, rl.Max)
}

func judge(soft, hard uint64) error {
	if max(soft, hard) >= Min {
		return nil
	}
	return fmt.Errorf("the open-file limit is %d (ulimit -n); niod needs at least %d (raise it: ulimit -n %d, LimitNOFILE= in the unit, --ulimit nofile= for a container)", hard, Min, Min*64)
}
