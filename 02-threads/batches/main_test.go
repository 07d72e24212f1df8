package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"example.com/goinparallel/fib"
	"example.com/goinparallel/fib/fibtest"
)

// TestBatchRule: the reader closes a batch when it is full, when the next
// line would take it over budget, and after a line that costs the budget
// alone; a batch of rejected lines goes straight to its future.
func TestBatchRule(t *testing.T) {
	tests := []struct {
		name  string
		input string
		sizes []int // the number of lines in each batch, in input order
	}{
		{"quick lines fill batches", strings.Repeat("1\n", 600), []int{maxBatch, maxBatch, 600 - 2*maxBatch}},
		{"a slow line goes alone", "1\n1\n36\n1\n", []int{2, 1, 1}},
		{"two slow lines, one batch each", "36\n36\n", []int{1, 1}},
		{"lines that add up to the budget", "25\n25\n25\n25\n25\n", []int{4, 1}},
		{"a rejected line keeps its place", "x\n1\n", []int{2}},
		{"rejected lines only", "x\ny\n", []int{2}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batches := make(chan batch, 1000)
			futures := make(chan (<-chan []result), 1000)
			read(context.Background(), strings.NewReader(tt.input), batches, futures)
			close(batches)
			close(futures)
			for b := range batches {
				b.future <- b.results // A worker that computes nothing.
			}
			var sizes []int
			for future := range futures {
				sizes = append(sizes, len(<-future))
			}
			if !slices.Equal(sizes, tt.sizes) {
				t.Errorf("batches of %v lines, want %v", sizes, tt.sizes)
			}
		})
	}
}

// TestBudget: the rule above depends on what the lines cost: fib(25)
// costs a quarter of the budget or more, four of them fit, and fib(36)
// costs more than the budget alone.
func TestBudget(t *testing.T) {
	if c := fib.Calls(25); 4*c > budget || 5*c <= budget {
		t.Errorf("fib(25) costs %d calls: want four, and not five, within the budget of %d", c, budget)
	}
	if c := fib.Calls(36); c <= budget {
		t.Errorf("fib(36) costs %d calls, within the budget of %d", c, budget)
	}
}

// BenchmarkCPU measures the batch through the pool with one worker and with
// one per CPU, against what the machine allows, as chapter 02's benchmark
// of the same name does: each fib(30) costs more than a batch's budget, so
// each goes alone.
func BenchmarkCPU(b *testing.B) {
	fibtest.Speedup(b, func(workers int, input io.Reader) {
		pool(workers, input, io.Discard, io.Discard)
	})
}

// BenchmarkTrivial measures what the pool costs per line, against a plain
// loop, as chapter 02's benchmark of the same name does.
func BenchmarkTrivial(b *testing.B) {
	fibtest.PerTask(b, func(workers int, input io.Reader) bool {
		ok, err := pool(workers, input, io.Discard, io.Discard)
		return ok && err == nil
	})
}
