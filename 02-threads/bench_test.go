package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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

// BenchmarkBatchesSuddenSwitch runs ./batches and the pool, both built, on
// thousands of quick lines followed by dozens of slow ones, in turn, and
// reports how long ./batches takes against the pool, in all and until the
// first slow answer: batches of quick lines must not hold back the first
// slow one.
func BenchmarkBatchesSuddenSwitch(b *testing.B) {
	program := buildBatches(b)
	threads := filepath.Join(b.TempDir(), "threads")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", threads, "example.com/goinparallel/02-threads").CombinedOutput(); err != nil {
		b.Fatalf("building chapter 02: %v\n%s", err, out)
	}
	input := strings.Repeat("1\n", 2000) + strings.Repeat("36\n", 64)
	var ours, theirs [2]time.Duration // in all, and until the first slow answer
	for b.Loop() {
		for _, run := range []struct {
			program string
			times   *[2]time.Duration
		}{{program, &ours}, {threads, &theirs}} {
			start := time.Now()
			cmd := exec.Command(run.program, "-workers", "2")
			cmd.Stdin = strings.NewReader(input)
			out, err := cmd.StdoutPipe()
			if err != nil || cmd.Start() != nil {
				b.Fatal("cannot start ", run.program)
			}
			var first time.Duration
			for lines := bufio.NewScanner(out); lines.Scan(); {
				if first == 0 && strings.HasPrefix(lines.Text(), "fib(36)") {
					first = time.Since(start)
				}
			}
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			run.times[0] += time.Since(start)
			run.times[1] += first
		}
	}
	b.ReportMetric(float64(ours[0])/float64(theirs[0]), "x-total-of-pool")
	b.ReportMetric(float64(ours[1])/float64(theirs[1]), "x-first-slow-of-pool")
}

// BenchmarkHandOver measures what the pool pays per line beside the work:
// a value sent on a buffered channel to a goroutine that keeps up, as a task
// goes from the reader to a busy worker; and a round trip, a future sent to
// another goroutine, filled there and waited for at once, as when a worker
// sleeps between trivial lines and each line must wake it. A batch pays
// them once for all its lines.
func BenchmarkHandOver(b *testing.B) {
	b.Run("channel", func(b *testing.B) {
		ch := make(chan int, queue)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range ch {
			}
		}()
		for i := 0; b.Loop(); i++ {
			ch <- i
		}
		close(ch)
		<-done
	})
	b.Run("round trip", func(b *testing.B) {
		futures := make(chan chan int, queue)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for future := range futures {
				future <- 1
			}
		}()
		for b.Loop() {
			future := make(chan int, 1)
			futures <- future
			<-future
		}
		close(futures)
		<-done
	})
}
