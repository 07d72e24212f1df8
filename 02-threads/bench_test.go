package main

import (
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// cpuBatch is CPU-bound work for the speedup benchmarks: 24 times fib(30),
// about 5 ms each, so that a batch takes about a tenth of a second and a second
// worker has plenty to share.
var cpuBatch = strings.Repeat("30\n", 24)

// BenchmarkCPU measures the same CPU-bound batch through the pool with one
// worker and with one per CPU. The side-by-side case runs two independent
// one-worker pools at once, each on the whole batch, and counts the time per
// batch: it shows how much faster two batches go on this machine when
// nothing is shared, which is the most the pool can hope for.
func BenchmarkCPU(b *testing.B) {
	b.Run("workers=1", func(b *testing.B) { benchPool(b, 1, cpuBatch) })
	b.Run("workers=NumCPU", func(b *testing.B) { benchPool(b, runtime.NumCPU(), cpuBatch) })
	b.Run("side-by-side=NumCPU", func(b *testing.B) {
		n := runtime.NumCPU()
		for b.Loop() {
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { pool(1, strings.NewReader(cpuBatch), io.Discard, io.Discard) })
			}
			wg.Wait()
		}
		// Report the time for one batch, to compare with the pool's.
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/batch")
	})
}

// BenchmarkTrivial measures what the pool itself costs per task: every task
// is fib(1), so nearly all the time goes to reading, handing over, ordering
// and printing. One op is one task.
func BenchmarkTrivial(b *testing.B) {
	for _, workers := range []int{1, runtime.NumCPU()} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			input := strings.Repeat("1\n", b.N)
			b.ResetTimer()
			if !pool(workers, strings.NewReader(input), io.Discard, io.Discard) {
				b.Fatal("a line was rejected")
			}
		})
	}
}

// benchPool runs input through a pool of the given size once per iteration
// and also reports the time per batch.
func benchPool(b *testing.B, workers int, input string) {
	for b.Loop() {
		if !pool(workers, strings.NewReader(input), io.Discard, io.Discard) {
			b.Fatal("a line was rejected")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/batch")
}
