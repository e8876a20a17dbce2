package fdlimit

import (
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		soft, hard uint64
		ok         bool
	}{
		{1024, 524288, true}, {16, 16, true}, {6, 6, false}, {3, 15, false}, {15, 1 << 20, true},
	} {
		err := judge(c.soft, c.hard)
		if (err == nil) != c.ok {
			t.Errorf("soft %d hard %d: %v", c.soft, c.hard, err)
		}
		if err != nil && !strings.Contains(err.Error(), "ulimit -n") {
			t.Errorf("the error does not say what to do: %v", err)
		}
	}
}
