package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"example.com/goinparallel/fib"
	"example.com/goinparallel/fib/fibtest"
)

// BenchmarkCPU measures the batch through the pool with one worker and with
// one per CPU, against what the machine allows: see fibtest.Speedup.
func BenchmarkCPU(b *testing.B) {
	fibtest.Speedup(b, func(workers int, input io.Reader) {
		pool(workers, input, io.Discard, io.Discard)
	})
}

// BenchmarkTrivial measures what the pool itself costs per line, against a
// plain loop: see fibtest.PerTask.
func BenchmarkTrivial(b *testing.B) {
	fibtest.PerTask(b, func(workers int, input io.Reader) bool {
		ok, err := pool(workers, input, io.Discard, io.Discard)
		return ok && err == nil
	})
	// Go by Example's worker pool, on the same input and output, with one
	// worker per CPU: the simplest pool there is, with results in any order.
	b.Run("gobyexample", func(b *testing.B) {
		input := strings.Repeat("1\n", b.N)
		b.ResetTimer()
		gobyexample(runtime.NumCPU(), strings.NewReader(input), io.Discard)
	})
}

// gobyexample is the worker pool of gobyexample.com/worker-pools, adapted to
// read the same lines and print the same results as the chapter's pool: a
// channel of jobs, a channel of results, and results printed with fmt as
// they come, in any order.
func gobyexample(workers int, in io.Reader, out io.Writer) {
	jobs := make(chan int, 100)
	results := make(chan string, 100)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for n := range jobs {
				v, _ := fib.Fib(n)
				results <- fmt.Sprintf("fib(%d) = %d", n, v)
			}
		})
	}
	go func() {
		input := fib.NewReader(in)
		for {
			line, err := input.Next()
			if err == io.EOF {
				break
			}
			jobs <- line.N
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	for r := range results {
		fmt.Fprintln(out, r)
	}
}
