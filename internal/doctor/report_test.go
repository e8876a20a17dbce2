package doctor

import (
	"slices"
	"testing"
)

func TestText(t *testing.T) {
	got := Text([]Finding{
		{ID: "clock.sync", Status: OK, Summary: "synchronised"},
		{ID: "swap.encrypted", Status: Warn, Summary: "swap on /swapfile", Evidence: []string{"/proc/swaps: /swapfile"}, Fix: "swapoff /swapfile"},
		{ID: "wifi.security", Status: Skip, Summary: "no wireless interface"},
	})
	want := "ok    clock.sync      synchronised\n" +
		"warn  swap.encrypted  swap on /swapfile\n" +
		"                      /proc/swaps: /swapfile\n" +
		"                      fix: swapoff /swapfile\n" +
		"skip  wifi.security   no wireless interface\n" +
		"1 ok, 1 warn, 0 fail, 1 skipped\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestExitCode(t *testing.T) {
	warn := []Finding{{Status: OK}, {Status: Warn}, {Status: Skip}}
	if ExitCode(warn, false) != 0 || ExitCode(warn, true) != 1 || ExitCode([]Finding{{Status: Fail}}, false) != 1 || ExitCode(nil, true) != 0 {
		t.Error("exit codes")
	}
}

func TestSelect(t *testing.T) {
	checks := []Check{{ID: "core.pattern"}, {ID: "core.rlimit"}, {ID: "swap.encrypted"}, {ID: "corex.y"}}
	ids := func(cs []Check) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	if got, unknown := Select(checks, []string{"core"}, []string{"core.rlimit"}); !slices.Equal(ids(got), []string{"core.pattern"}) || unknown != nil {
		t.Errorf("only core, skip core.rlimit: %v %v", ids(got), unknown)
	}
	if got, _ := Select(checks, nil, []string{"swap"}); len(got) != 3 {
		t.Errorf("skip swap: %v", ids(got))
	}
	if _, unknown := Select(checks, []string{"nope"}, nil); !slices.Equal(unknown, []string{"nope"}) {
		t.Errorf("unknown: %v", unknown)
	}
}

func TestRunSkipsWhatAContainerCannotSee(t *testing.T) {
	checks := []Check{{ID: "a.host", Run: func(*Host) Finding { return Finding{Status: OK} }},
		{ID: "b.any", Container: true, Run: func(*Host) Finding { return Finding{Status: Warn} }}}
	got := Run(&Host{InContainer: true}, checks)
	if got[0].Status != Skip || got[0].ID != "a.host" || got[1].Status != Warn || got[1].ID != "b.any" {
		t.Errorf("%+v", got)
	}
}
