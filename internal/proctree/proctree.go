// Package proctree finds the processes below a process by reading /proc, so
// that a stop can reach every descendant, including those that left the
// runtime's process group or session.
package proctree

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Proc is one process as /proc/PID/stat describes it.
type Proc struct {
	PID, PPID, PGID int
	State           byte // R, S, D, Z, T, ...
	// StartTime is when it started, in clock ticks since boot: with the
	// pid, it names one process even after the pid is reused.
	StartTime uint64
}

// Snapshot reads every process of the PID namespace niod sees.
func Snapshot() ([]Proc, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	procs := make([]Proc, 0, len(names))
	buf := make([]byte, 512)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if p, ok := readStat(pid, buf); ok {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// readStat parses /proc/PID/stat: "pid (comm) state ppid pgrp ...", where
// comm may itself hold spaces and parentheses.
func readStat(pid int, buf []byte) (Proc, bool) {
	n, err := ReadFile("/proc/"+strconv.Itoa(pid)+"/stat", buf)
	if err != nil {
		return Proc{}, false // gone meanwhile
	}
	s := string(buf[:n])
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return Proc{}, false
	}
	fields := strings.Fields(s[i+2:])
	if len(fields) < 3 {
		return Proc{}, false
	}
	ppid, err1 := strconv.Atoi(fields[1])
	pgid, err2 := strconv.Atoi(fields[2])
	if err1 != nil || err2 != nil {
		return Proc{}, false
	}
	p := Proc{PID: pid, PPID: ppid, PGID: pgid, State: fields[0][0]}
	if len(fields) > 19 { // start time is field 22 of stat, 20th after the command
		p.StartTime, _ = strconv.ParseUint(fields[19], 10, 64)
	}
	return p, true
}

// Stat reads one process's /proc/PID/stat; false when it is gone.
func Stat(pid int) (Proc, bool) { return readStat(pid, make([]byte, 512)) }

// Descendants returns the processes below root in procs (not root itself).
func Descendants(procs []Proc, root int) []Proc {
	children := map[int][]int{}
	byPID := map[int]Proc{}
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p.PID)
		byPID[p.PID] = p
	}
	var out []Proc
	queue := append([]int(nil), children[root]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		out = append(out, byPID[pid])
		queue = append(queue, children[pid]...)
	}
	return out
}

// Tree returns the processes below root by following the children lists
// of /proc/PID/task/TID/children, which is far cheaper than reading all of
// /proc; without them (a kernel built without CONFIG_PROC_CHILDREN) it falls
// back to a full Snapshot.
func Tree(root int) ([]Proc, error) {
	if unix.Access("/proc/self/task/"+strconv.Itoa(os.Getpid())+"/children", unix.R_OK) != nil {
		all, err := Snapshot()
		if err != nil {
			return nil, err
		}
		return Descendants(all, root), nil
	}
	var out []Proc
	buf := make([]byte, 512)
	queue := children(root)
	seen := map[int]bool{}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		if p, ok := readStat(pid, buf); ok {
			out = append(out, p)
			queue = append(queue, children(pid)...)
		}
	}
	return out, nil
}

// children lists the children of every thread of pid.
func children(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	buf := make([]byte, 4096)
	for _, t := range tasks {
		data, err := readAll(dir+"/"+t.Name()+"/children", buf)
		if err != nil {
			continue
		}
		buf = data[:0]
		for _, f := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// HasChildren reports whether the calling process has a child at all,
// ended or not. It peeks (waitid with WNOWAIT) and reaps nothing, so the
// one reaper still gets every status.
func HasChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED|unix.WNOHANG|unix.WNOWAIT, nil)
	return !errors.Is(err, unix.ECHILD)
}

// ReadFile reads a /proc file of one page or less into buf with plain
// system calls: open, read, close. (os.File would register it with the
// poller first, seven system calls more a file.)
func ReadFile(path string, buf []byte) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Read(fd, buf)
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}

// readAll reads a /proc file whole, growing buf as it needs; children
// lists have no bound but the number of processes.
func readAll(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// Living drops zombies: they are dead and only wait to be reaped.
func Living(procs []Proc) []Proc {
	out := procs[:0:0]
	for _, p := range procs {
		if p.State != 'Z' && p.State != 'X' {
			out = append(out, p)
		}
	}
	return out
}

// Signal sends sig to each process; one that is gone already is no error.
func Signal(procs []Proc, sig syscall.Signal) {
	for _, p := range procs {
		_ = syscall.Kill(p.PID, sig)
	}
}

// Ancestors returns pid's chain of parents read from /proc, nearest first,
// at most max long; it stops at a process without a parent (pid 1, or one
// whose parent is outside niod's PID namespace) or at one that is gone. gone
// says pid itself could not be read: it has exited and been reaped already,
// so nothing is known of where it came from. A zombie still has its entry
// and its parent link. pid <= 0 (no sender known) gives nothing, not gone.
func Ancestors(pid int, max int) (chain []int, gone bool) {
	buf := make([]byte, 512)
	for i := 0; pid > 0 && len(chain) < max; i++ {
		p, ok := readStat(pid, buf)
		if !ok {
			return chain, i == 0
		}
		if p.PPID <= 0 {
			break
		}
		chain = append(chain, p.PPID)
		pid = p.PPID
	}
	return chain, false
}

// maxDepth bounds a walk up the tree; real trees are far shallower.
const maxDepth = 64

// IsDescendant reports whether pid is below ancestor, following parent
// links in /proc.
func IsDescendant(pid, ancestor int) bool {
	chain, _ := Ancestors(pid, maxDepth)
	return slices.Contains(chain, ancestor)
}
