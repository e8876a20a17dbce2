package logging

import (
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// journalStreamMatches reports whether stream, the value of JOURNAL_STREAM,
// names out. systemd sets JOURNAL_STREAM to "DEV:INO" (both decimal) of the
// stream socket it connects to a service's stdout/stderr. The variable is
// inherited by child processes whose output may go elsewhere, so it only
// counts when it matches out's own device and inode numbers.
func journalStreamMatches(out *os.File, stream string) bool {
	devText, inoText, ok := strings.Cut(stream, ":")
	if !ok {
		return false
	}
	dev, err := strconv.ParseUint(devText, 10, 64)
	if err != nil {
		return false
	}
	ino, err := strconv.ParseUint(inoText, 10, 64)
	if err != nil {
		return false
	}
	var st unix.Stat_t
	var statErr error
	if err := withFd(out, func(fd int) { statErr = unix.Fstat(fd, &st) }); err != nil || statErr != nil {
		return false
	}
	// The conversions are needed on architectures where these fields are
	// narrower than 64 bits.
	return uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// journalPriority maps a zap level to the syslog priority that journald
// reads from a "<N>" line prefix (see sd-daemon(3)): debug 7, info 6,
// warning 4, error 3, and critical 2 for the panic and fatal levels.
func journalPriority(l zapcore.Level) int {
	switch {
	case l <= zapcore.DebugLevel:
		return 7
	case l == zapcore.InfoLevel:
		return 6
	case l == zapcore.WarnLevel:
		return 4
	case l == zapcore.ErrorLevel:
		return 3
	default:
		return 2
	}
}
