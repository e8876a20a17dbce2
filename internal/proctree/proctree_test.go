package proctree

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestTreeFindsGrandchildren(t *testing.T) {
	// sh starts a sleep in the background, then waits: a child and a
	// grandchild of this test.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var tree []Proc
	for i := 0; i < 200; i++ {
		tree, _ = Tree(os.Getpid())
		if len(tree) >= 2 {
			break
		}
		exec.Command("sleep", "0.01").Run()
	}
	var pids []int
	for _, p := range tree {
		pids = append(pids, p.PID)
	}
	if !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("tree %v lacks the child %d", pids, cmd.Process.Pid)
	}
	grand := Descendants(tree, cmd.Process.Pid)
	if len(grand) != 1 || grand[0].PPID != cmd.Process.Pid {
		t.Errorf("grandchildren %+v", grand)
	}
	all, err := Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if got := Descendants(all, os.Getpid()); len(got) < 2 {
		t.Errorf("Snapshot-based descendants %+v", got)
	}
	for _, p := range tree {
		Signal([]Proc{p}, 9)
	}
}

func TestLivingDropsZombies(t *testing.T) {
	got := Living([]Proc{{PID: 1, State: 'S'}, {PID: 2, State: 'Z'}, {PID: 3, State: 'R'}})
	if len(got) != 2 || got[0].PID != 1 || got[1].PID != 3 {
		t.Errorf("got %+v", got)
	}
}

func TestAncestors(t *testing.T) {
	self, gone := Ancestors(os.Getpid(), 64)
	if gone || len(self) == 0 || self[0] != os.Getppid() || slices.Contains(self, 0) {
		t.Fatalf("own ancestors %v gone %v, parent %d", self, gone, os.Getppid())
	}

	// A grandchild: sh reports the pid of its background sleep.
	cmd := exec.Command("sh", "-c", "sleep 30 & echo $!; wait")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var grand int
	if _, err := fmt.Fscan(stdout, &grand); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(grand, syscall.SIGKILL) })
	chain, gone := Ancestors(grand, 64)
	if gone || len(chain) < 3 || chain[0] != cmd.Process.Pid || chain[1] != os.Getpid() || chain[2] != os.Getppid() {
		t.Errorf("grandchild %d: ancestors %v gone %v, want %d, %d, %d, ...", grand, chain, gone, cmd.Process.Pid, os.Getpid(), os.Getppid())
	}
	if chain, _ := Ancestors(grand, 1); len(chain) != 1 || chain[0] != cmd.Process.Pid {
		t.Errorf("max 1: %v", chain)
	}
	if !IsDescendant(grand, os.Getpid()) || !IsDescendant(grand, cmd.Process.Pid) {
		t.Error("grandchild not below this process")
	}
	if IsDescendant(os.Getpid(), grand) || IsDescendant(cmd.Process.Pid, grand) {
		t.Error("this process below its grandchild")
	}

	// A zombie keeps its entry and parent link; once reaped it is gone.
	z := exec.Command("true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	for i := 0; i < 500; i++ {
		if p, ok := readStat(z.Process.Pid, buf); ok && p.State == 'Z' {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if chain, gone := Ancestors(z.Process.Pid, 64); gone || len(chain) == 0 || chain[0] != os.Getpid() {
		t.Errorf("zombie: ancestors %v gone %v", chain, gone)
	}
	z.Wait()
	if chain, gone := Ancestors(z.Process.Pid, 64); !gone || len(chain) != 0 {
		t.Errorf("reaped: ancestors %v gone %v", chain, gone)
	}
	if chain, gone := Ancestors(0, 64); gone || len(chain) != 0 {
		t.Errorf("pid 0: ancestors %v gone %v", chain, gone)
	}
}

func TestStatStartTime(t *testing.T) {
	p, ok := Stat(os.Getpid())
	if !ok || p.PID != os.Getpid() || p.StartTime == 0 {
		t.Fatalf("Stat(self) = %+v, %v", p, ok)
	}
	if q, _ := Stat(os.Getpid()); q.StartTime != p.StartTime {
		t.Errorf("start time changed: %d then %d", p.StartTime, q.StartTime)
	}
	if _, ok := Stat(-1); ok {
		t.Errorf("Stat(-1) found a process")
	}
}

func TestHasChildren(t *testing.T) {
	if os.Getenv("PROCTREE_CHILDLESS") == "1" {
		// A fresh process of its own: no child yet, then one that
		// has ended and is not reaped, then none again.
		if HasChildren() {
			os.Exit(2)
		}
		cmd := exec.Command("true")
		if err := cmd.Start(); err != nil {
			os.Exit(3)
		}
		for i := 0; i < 1000 && !exited(cmd.Process.Pid); i++ {
			time.Sleep(time.Millisecond)
		}
		if !HasChildren() {
			os.Exit(4) // a zombie is a child still, and peeking did not reap it
		}
		if !HasChildren() || cmd.Wait() != nil {
			os.Exit(5)
		}
		if HasChildren() {
			os.Exit(6)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHasChildren$")
	cmd.Env = append(os.Environ(), "PROCTREE_CHILDLESS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// exited says whether pid is a zombie now.
func exited(pid int) bool {
	p, ok := Stat(pid)
	return ok && p.State == 'Z'
}

// readAll reads past its buffer's first size; readProc stops at it.
func TestReadAllGrows(t *testing.T) {
	want, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll("/proc/self/maps", make([]byte, 0, 8))
	if err != nil || len(got) < len(want)/2 || string(got[:20]) != string(want[:20]) {
		t.Errorf("readAll: %d bytes, %v (os.ReadFile: %d)", len(got), err, len(want))
	}
	if n, err := ReadFile("/proc/self/maps", make([]byte, 16)); n != 16 || err != nil {
		t.Errorf("readProc: %d, %v", n, err)
	}
	if _, err := readAll("/proc/self/no such file", nil); err == nil {
		t.Error("readAll of a missing file: no error")
	}
}
