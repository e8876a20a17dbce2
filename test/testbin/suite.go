package testbin

import (
	"os"
	"testing"
	"time"
)

// NeedSuite skips t when setupErr says the suite cannot run here, or fails
// it under CI=true: CI must run every suite.
func NeedSuite(t testing.TB, suite string, setupErr error) {
	t.Helper()
	if setupErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: the %s suite must run, but: %v", suite, setupErr)
	}
	t.Skipf("%s suite skipped: %v", suite, setupErr)
}

// Eventually polls cond every 200 ms until it holds; after timeout t fails
// with what cond said last.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
