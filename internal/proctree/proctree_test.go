package proctree

import (
	"os"
	"os/exec"
	"slices"
	"testing"
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
