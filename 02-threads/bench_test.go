package main

import (
	"io"
	"testing"

	"goinparallel/fib/doctest"
)

// BenchmarkCPU measures the batch through the pool with one worker and with
// one per CPU, against what the machine allows: see doctest.Speedup.
func BenchmarkCPU(b *testing.B) {
	doctest.Speedup(b, func(workers int, input io.Reader) {
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
