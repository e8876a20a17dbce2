// Package exitcode names niod's exit codes. They follow sysexits.h so that a
// systemd unit can tell a broken configuration (78) from a runtime that could
// not be kept up (69) and stop restarting on the former.
package exitcode

// Exit codes of niod.
const (
	OK          = 0  // success
	Usage       = 64 // bad command line
	Unavailable = 69 // the runtime could not be kept up (restart limit)
	Software    = 70 // internal error
	NoPerm      = 77 // root refused, privilege drop failed
	Config      = 78 // configuration error; do not restart

	// SignalBase plus N is the exit code when niod ends on signal N's behalf.
	SignalBase = 128
)
