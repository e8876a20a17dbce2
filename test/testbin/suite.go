package testbin

import (
	"os"
	"testing"
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
