package fibtest

import (
	"runtime"
	"testing"
	"time"
)

// NoGoroutineLeft runs pool, which must return only when every goroutine it
// started has ended, and fails the test if more goroutines run afterwards
// than before.
func NoGoroutineLeft(t *testing.T, pool func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	pool()
	// A goroutine that has signalled that it is done may still be on its
	// way out; give the scheduler a moment, but no more than that.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before the pool, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
