package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/goinparallel/fib"
	"example.com/goinparallel/fib/fibtest"
)

// CPU, Trivial and OneTask are chapter 02's benchmarks, on the same work, so
// that the two pools can be compared line for line; the others are this
// chapter's. Every pool here starts its worker processes afresh, and that
// cost is counted.

// benchPool returns a pool of worker processes that discards its output.
func benchPool(b *testing.B, workers int) *pool {
	return &pool{program: self(b), workers: workers, timeout: defaultTimeout, stderr: io.Discard}
}

// BenchmarkCPU measures the batch through the pool with one worker and with
// one per CPU, against what the machine allows: see fibtest.Speedup.
func BenchmarkCPU(b *testing.B) {
	fibtest.Speedup(b, func(workers int, input io.Reader) {
		benchPool(b, workers).answerAll(context.Background(), input, io.Discard)
	})
}

// BenchmarkTrivial measures what the pool itself costs per line, against a
// plain loop: see fibtest.PerTask.
func BenchmarkTrivial(b *testing.B) {
	fibtest.PerTask(b, func(workers int, input io.Reader) bool {
		allAnswered, err := benchPool(b, workers).answerAll(context.Background(), input, io.Discard)
		return allAnswered && err == nil
	})
}

// BenchmarkOneTask measures what a pool of one worker process costs for a
// single trivial task: starting the worker process, one round trip through
// its pipes, and waiting for it to exit. Chapter 02's pool has no such cost.
func BenchmarkOneTask(b *testing.B) {
	for b.Loop() {
		allAnswered, err := benchPool(b, 1).answerAll(context.Background(), strings.NewReader("1\n"), io.Discard)
		if !allAnswered || err != nil {
			b.Fatal("the line was not answered")
		}
	}
}

// BenchmarkSuddenSwitch runs this program and blocked, the step before, which
// hands out one line at a time, on thousands of quick lines followed by
// dozens of slow ones, and reports how long this one takes against blocked,
// in all and until the first slow answer: batches must not hold back a
// slow line. The two take turns, so that a machine whose speed drifts
// affects both alike.
func BenchmarkSuddenSwitch(b *testing.B) {
	blocked := build(b, "03-processes/blocked")
	input := strings.Repeat("1\n", 2000) + strings.Repeat("36\n", 64)
	var ours, theirs [2]time.Duration // in all, and until the first slow answer
	for b.Loop() {
		for _, run := range []struct {
			program string
			times   *[2]time.Duration
		}{{self(b), &ours}, {blocked, &theirs}} {
			total, first := timeRun(b, run.program, input, "fib(36)")
			run.times[0] += total
			run.times[1] += first
		}
	}
	b.ReportMetric(float64(ours[0])/float64(theirs[0]), "x-total-of-blocked")
	b.ReportMetric(float64(ours[1])/float64(theirs[1]), "x-first-slow-of-blocked")
	b.ReportMetric(float64(ours[0].Milliseconds())/float64(b.N), "ms-total")
	b.ReportMetric(float64(ours[1].Milliseconds())/float64(b.N), "ms-first-slow")
}

// timeRun runs program with two workers on input and returns how long it
// took in all, and until it printed a line that starts with marker.
func timeRun(b *testing.B, program, input, marker string) (total, first time.Duration) {
	cmd := exec.Command(program, "-workers", "2")
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if first == 0 && strings.HasPrefix(lines.Text(), marker) {
			first = time.Since(start)
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), first
}

// BenchmarkSteps runs each step of the chapter, built as a user builds it,
// on the same 100,000 lines of `1` with two workers, and reports what each
// costs per line, start and end included. The steps take turns, in an
// order that rotates, so that a machine whose speed drifts affects all
// alike. Only the chapter's pool, the last step, sends quick tasks in
// batches; the steps before it pay a round trip through the pipes per line.
func BenchmarkSteps(b *testing.B) {
	steps := []string{".", "retry", "deadline", "interrupt", "restarts", "blocked", "batched"}
	programs := make([]string, len(steps))
	for i, step := range steps {
		programs[i] = build(b, filepath.ToSlash(filepath.Join("03-processes", step)))
	}
	const lines = 100_000
	input := strings.Repeat("1\n", lines)
	took := make([]time.Duration, len(steps))
	turn := 0
	for b.Loop() {
		for k := range steps {
			i := (turn + k) % len(steps)
			total, _ := timeRun(b, programs[i], input, "")
			took[i] += total
		}
		turn++
	}
	for i, step := range steps {
		if step == "." {
			step = "first"
		}
		b.ReportMetric(float64(took[i].Nanoseconds())/float64(b.N*lines), "ns/line-"+step)
	}
}

// BenchmarkMillionOnes runs a plain sequential loop (this test binary in the
// role "plain loop") and each pool, with and without batches, built as a
// user builds it, on a million lines of `1` from a file, with two workers,
// and reports each one's cost per line, and each pool's against the loop's.
// The pools without batches are chapter 02's and blocked, the step before
// this chapter's pool; blocked, which pays a round trip through the pipes
// per line, gets the first 100,000 lines only, or it would take minutes.
// They take turns, in an order that rotates.
func BenchmarkMillionOnes(b *testing.B) {
	dir := b.TempDir()
	programs := []struct {
		name, pkg string
		lines     int
	}{
		{"loop", "", 1_000_000},
		{"02", "02-threads", 1_000_000},
		{"02-batches", "02-threads/batches", 1_000_000},
		{"03-blocked", "03-processes/blocked", 100_000},
		{"03", "03-processes/batched", 1_000_000},
	}
	paths := make([]string, len(programs))
	inputs := map[int]string{}
	for i, p := range programs {
		paths[i] = self(b)
		if p.pkg != "" {
			paths[i] = build(b, p.pkg)
		}
		if inputs[p.lines] == "" {
			inputs[p.lines] = filepath.Join(dir, fmt.Sprint(p.lines))
			if err := os.WriteFile(inputs[p.lines], []byte(strings.Repeat("1\n", p.lines)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	took := make([]time.Duration, len(programs))
	turn := 0
	for b.Loop() {
		for k := range programs {
			i := (turn + k) % len(programs)
			in, err := os.Open(inputs[programs[i].lines])
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(paths[i], "-workers", "2")
			if programs[i].name == "loop" {
				cmd = exec.Command(paths[i])
				cmd.Env = append(os.Environ(), roleVar+"=plain loop")
			}
			cmd.Stdin = in
			start := time.Now()
			if out, err := cmd.Output(); err != nil || len(out) != programs[i].lines*len("fib(1) = 1\n") {
				b.Fatalf("%s: %v, %d bytes of output", programs[i].name, err, len(out))
			}
			took[i] += time.Since(start)
			in.Close()
		}
		turn++
	}
	perLine := func(i int) float64 {
		return float64(took[i].Nanoseconds()) / float64(b.N*programs[i].lines)
	}
	for i, p := range programs {
		b.ReportMetric(perLine(i), "ns/line-"+p.name)
		if i > 0 {
			b.ReportMetric(perLine(i)/perLine(0), "x-loop-"+p.name)
		}
	}
}

// BenchmarkPipeRoundTrip measures what blocked pays per line beside the work,
// and what a batch pays once: a task line written to a worker process and
// its answer read back, through two pipes, a system call at each end and
// a wake-up of each process. One op is one round trip; the worker starts
// before the timer does.
func BenchmarkPipeRoundTrip(b *testing.B) {
	w, err := startWorker(context.Background(), self(b), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer w.end(time.Minute)
	task := []result{{line: fib.Line{Number: 1, N: 1}}}
	for b.Loop() {
		next := 0
		if fault := w.answer(task, &next, time.Minute); fault != "" {
			b.Fatalf("the worker %s", fault)
		}
	}
}
