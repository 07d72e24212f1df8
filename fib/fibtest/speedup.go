package fibtest

import (
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Speedup measures how much faster a pool answers a CPU-bound batch with one
// worker per CPU than with one worker, against what the machine allows: the same
// number of independent one-worker pools started side by side, each on the
// whole batch, share nothing and so show the most that more workers can
// give. The three runs take turns in every iteration, so that a machine
// whose speed drifts during the benchmark affects them all alike.
//
// It reports the time per batch of each, the speedup, the speedup allowed
// and the first as a percentage of the second.
func Speedup(b *testing.B, pool func(workers int, input io.Reader)) {
	// The batch is 96 times fib(30), about 4.5 ms each: almost half a second
	// with one worker. A long batch makes the fixed costs of a pool, such as
	// starting worker processes and waiting for the last task, small beside
	// the work. Chapters 02 and 03 are measured on the same batch.
	batch := strings.Repeat("30\n", 96)
	n := runtime.NumCPU()
	var one, many, sideBySide time.Duration
	runs := []func(){
		func() { one += timed(func() { pool(1, strings.NewReader(batch)) }) },
		func() { many += timed(func() { pool(n, strings.NewReader(batch)) }) },
		func() {
			sideBySide += timed(func() {
				var running sync.WaitGroup
				for range n {
					running.Go(func() { pool(1, strings.NewReader(batch)) })
				}
				running.Wait()
			})
		},
	}
	// Each iteration runs all three, starting with a different one each
	// time, so that no run always follows the same other.
	for i := 0; b.Loop(); i++ {
		for k := range runs {
			runs[(i+k)%len(runs)]()
		}
	}
	perBatch := func(d time.Duration, batches int) float64 {
		return float64(d.Nanoseconds()) / float64(b.N*batches)
	}
	speedup := perBatch(one, 1) / perBatch(many, 1)
	allowed := perBatch(one, 1) / perBatch(sideBySide, n)
	b.ReportMetric(perBatch(one, 1), "ns/batch-1-worker")
	b.ReportMetric(perBatch(many, 1), "ns/batch-NumCPU-workers")
	b.ReportMetric(perBatch(sideBySide, n), "ns/batch-side-by-side")
	b.ReportMetric(speedup, "speedup")
	b.ReportMetric(allowed, "allowed")
	b.ReportMetric(100*speedup/allowed, "%-of-allowed")
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// PerTask measures what a pool costs per line when the lines cost nothing:
// every line is `1`, so nearly all the time goes to reading, handing tasks
// to workers, ordering and printing. One op is one line. It runs [Loop],
// for comparison, then the pool with one worker and with one per CPU.
func PerTask(b *testing.B, pool func(workers int, input io.Reader) bool) {
	b.Run("loop", func(b *testing.B) {
		input := strings.Repeat("1\n", b.N)
		b.ResetTimer()
		if err := Loop(strings.NewReader(input), io.Discard); err != nil {
			b.Fatal(err)
		}
	})
	for _, workers := range []int{1, runtime.NumCPU()} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			input := strings.Repeat("1\n", b.N)
			b.ResetTimer()
			if !pool(workers, strings.NewReader(input)) {
				b.Fatal("a line was rejected")
			}
		})
	}
}
