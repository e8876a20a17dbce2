package securefile

import (
	"os"
	"syscall"
)

// Stamp is a file as it was when read: a change of size, modification
// time or inode, or a file that is gone, means it changed.
type Stamp struct {
	Path  string
	Size  int64
	MTime int64 // nanoseconds since the epoch
	Ino   uint64
}

// StampOf is path as it is now; a file that cannot be looked at has only
// its path.
func StampOf(path string) Stamp {
	st := Stamp{Path: path}
	if fi, err := os.Stat(path); err == nil {
		st.Size, st.MTime = fi.Size(), fi.ModTime().UnixNano()
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			st.Ino = sys.Ino
		}
	}
	return st
}

// Changed reports whether the file differs now from the stamp.
func (s Stamp) Changed() bool { return StampOf(s.Path) != s }
