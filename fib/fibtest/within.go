package fibtest

import (
	"testing"
	"time"
)

// Limit is how long a test waits for a pool that should return: far longer
// than any test's input takes, even under the race detector on a busy
// machine, and far shorter than go test's limit of ten minutes for the
// whole package.
const Limit = time.Minute

// Within runs f in a goroutine of its own and fails the test, naming what
// f does, if f has not returned within Limit: a pool that hangs fails its
// own test with a message that says so, instead of holding up the package
// until go test gives up on all of it. After such a failure f runs on, so
// f must not call t's methods.
func Within(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(Limit)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s has not returned after %v: it hangs", what, Limit)
	}
}
