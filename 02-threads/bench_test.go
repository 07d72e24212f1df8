package main

import (
	"io"
	"strings"
	"testing"

	"goinparallel/fib/doctest"
)

// cpuBatch is CPU-bound work for the speedup benchmark: 48 times fib(30),
// about 4.5 ms each, so that a batch takes about a fifth of a second with one
// worker and a second worker has plenty to share. Chapters 02 and 03 use the
// same batch.
var cpuBatch = strings.Repeat("30\n", 48)

// BenchmarkCPU measures the batch through the pool with one worker and with
// one per CPU, against what the machine allows: see doctest.Speedup.
func BenchmarkCPU(b *testing.B) {
	doctest.Speedup(b, cpuBatch, func(workers int, input io.Reader) {
		pool(workers, input, io.Discard, io.Discard)
	})
}

// BenchmarkTrivial measures what the pool itself costs per task: see
// doctest.PerTask.
func BenchmarkTrivial(b *testing.B) {
	doctest.PerTask(b, func(workers int, input io.Reader) bool {
		return pool(workers, input, io.Discard, io.Discard)
	})
}
