package main

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"goinparallel/fib/doctest"
)

// The benchmarks are chapter 02's, on the same work, so that the two pools
// can be compared line for line; every pool here starts its worker
// processes afresh, and that cost is counted.

// cpuBatch is 24 times fib(30), about 5 ms each.
var cpuBatch = strings.Repeat("30\n", 24)

// BenchmarkCPU measures the batch through the pool with one worker and with
// one per CPU, against what the machine allows: see doctest.Speedup.
func BenchmarkCPU(b *testing.B) {
	exe := self(b)
	doctest.Speedup(b, cpuBatch, func(workers int, input io.Reader) {
		pool(context.Background(), exe, workers, input, io.Discard, io.Discard)
	})
}

// BenchmarkTrivial measures the cost per task of the pool itself, on fib(1):
// reading, sending to a worker process and back, ordering and printing. One
// op is one task.
func BenchmarkTrivial(b *testing.B) {
	exe := self(b)
	for _, workers := range []int{1, runtime.NumCPU()} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			input := strings.Repeat("1\n", b.N)
			b.ResetTimer()
			if !pool(context.Background(), exe, workers, strings.NewReader(input), io.Discard, io.Discard) {
				b.Fatal("a line was rejected")
			}
		})
	}
}
