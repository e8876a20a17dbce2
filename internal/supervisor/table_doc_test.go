package supervisor

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/supervisor.md's table from the machine's test table")

const (
	tableBegin = "<!-- table: made by go test ./internal/supervisor -run TestStateTableDoc -update -->"
	tableEnd   = "<!-- end of table -->"
)

// renderTable draws the test table as markdown: a row per event, a column
// per state, the state it leads to in each cell ("·" for staying).
func renderTable() string {
	var b strings.Builder
	b.WriteString("| event \\ state |")
	for s := range State(numStates) {
		b.WriteString(" " + s.String() + " |")
	}
	b.WriteString("\n|---|")
	for range numStates {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range table {
		b.WriteString("| " + r.name + " |")
		for from := range State(numStates) {
			cell := "·"
			if to := r.next[from]; to != from {
				cell = to.String()
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestStateTableDoc keeps the drawing in docs/supervisor.md the same as the
// table TestMachineTable checks.
func TestStateTableDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "supervisor.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no table markers", path)
	}
	want := doc[:i+len(tableBegin)] + "\n" + renderTable() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's table differs from the machine's; run go test ./internal/supervisor -run TestStateTableDoc -update", path)
}
