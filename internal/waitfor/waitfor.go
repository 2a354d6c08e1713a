// Package waitfor is the one polling helper of the tests: wait until a
// condition holds or fail the test naming what did not happen.
package waitfor

import (
	"testing"
	"time"
)

// True polls ok every 20 ms (backing off to 200 ms) until it returns true,
// and fails t after d with "timed out waiting for <what>".
func True(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	sleep := 20 * time.Millisecond
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(sleep)
		sleep = min(sleep*2, 200*time.Millisecond)
	}
}
