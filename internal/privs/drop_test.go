package privs

import (
	"os"
	"strings"
	"testing"
)

// SwapOn agrees with /proc/swaps read the ordinary way: a header, then a
// line a swap area.
func TestSwapOn(t *testing.T) {
	data, err := os.ReadFile("/proc/swaps")
	want := err == nil && strings.Count(strings.TrimSpace(string(data)), "\n") >= 1
	if got := SwapOn(); got != want {
		t.Errorf("SwapOn() = %v with /proc/swaps (%v):\n%s", got, err, data)
	}
}
