package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"goinparallel/fib/doctest"
)

// The benchmarks are chapter 02's, on the same work, so that the two pools
// can be compared line for line; every pool here starts its worker
// processes afresh, and that cost is counted.

// BenchmarkCPU measures the batch through the pool with one worker and with
// one per CPU, against what the machine allows: see doctest.Speedup.
func BenchmarkCPU(b *testing.B) {
	exe := self(b)
	doctest.Speedup(b, func(workers int, input io.Reader) {
		pool(context.Background(), exe, workers, input, io.Discard, io.Discard)
	})
}

// BenchmarkTrivial measures what the pool itself costs per task: see
// doctest.PerTask.
func BenchmarkTrivial(b *testing.B) {
	exe := self(b)
	doctest.PerTask(b, func(workers int, input io.Reader) bool {
		return pool(context.Background(), exe, workers, input, io.Discard, io.Discard)
	})
}

// BenchmarkOneTask measures what a pool of one worker process costs for a
// single trivial task: starting the worker process, one round trip through
// its pipes, and waiting for it to exit. Chapter 02's pool has no such cost.
func BenchmarkOneTask(b *testing.B) {
	exe := self(b)
	for b.Loop() {
		if !pool(context.Background(), exe, 1, strings.NewReader("1\n"), io.Discard, io.Discard) {
			b.Fatal("the line was rejected")
		}
	}
}
