package completion

import (
	"strings"
	"testing"
)

func TestScriptsCompleteWhatTheyAreGiven(t *testing.T) {
	cmds := []Command{
		{Name: "run", Summary: "run it", Args: ArgsCommandLine, Flags: []Flag{
			{Long: "log-format", TakesValue: true, Kind: Values, Values: []string{"json", "console"}},
			{Long: "settings", Short: "s", TakesValue: true, Repeatable: true, Kind: Files},
		}},
		{Name: "signal", Summary: "send a signal", Args: ArgsValues, Values: []string{"TERM", "USR1"}},
	}
	bash, zsh := Bash(cmds), Zsh(cmds)
	for _, want := range []string{"run", "signal", "--log-format", "-s", "json console", "TERM USR1"} {
		if !strings.Contains(bash, want) {
			t.Errorf("bash script has no %q", want)
		}
	}
	for _, want := range []string{"'run:run it'", "--log-format", "json console", "TERM USR1"} {
		if !strings.Contains(zsh, want) {
			t.Errorf("zsh script has no %q", want)
		}
	}
	if !strings.HasPrefix(bash, "# bash completion for niod(1)") || !strings.HasPrefix(zsh, "#compdef niod") {
		t.Errorf("headers: %q / %q", bash[:40], zsh[:20])
	}
}
