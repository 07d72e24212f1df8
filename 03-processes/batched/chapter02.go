package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"example.com/goinparallel/fib"
)

// This file holds the code that this chapter copies from chapter 02's last
// step, ../02-threads/batches, word for word: the reader, which hands out
// lines in batches, and the printer. TestSharedWithChapter02 holds the
// copies identical.

// read reads every line of in and hands the lines on in batches: each batch
// to the workers, and its future to the printer. A rejected line's result
// holds its error at once, in its place in its batch. read returns at the
// end of the input, or when ctx is done, even while it waits for the
// printer or the workers to take a batch.
func read(ctx context.Context, in io.Reader, batches chan<- batch, futures chan<- (<-chan []result)) {
	input := fib.NewReader(in)
	var results []result // the batch being gathered
	cost := 0            // what its lines cost, in calls of fib
	for ctx.Err() == nil {
		if len(results) > 0 && (cost >= budget || len(results) == maxBatch || !input.Ready()) {
			if !send(ctx, results, batches, futures) {
				return
			}
			results, cost = nil, 0
		}
		line, err := input.Next()
		if err == io.EOF {
			break
		}
		calls := 0
		if err == nil {
			calls = fib.Calls(line.N)
		}
		if len(results) > 0 && cost+calls > budget {
			if !send(ctx, results, batches, futures) { // A slow line starts a batch of its own.
				return
			}
			results, cost = nil, 0
		}
		results = append(results, result{line: line, err: err})
		cost += calls
	}
	if len(results) > 0 {
		send(ctx, results, batches, futures)
	}
}

// send hands a batch on: its future to the printer, in input order, and
// the batch to the workers, unless every line in it was rejected. It
// reports false when ctx is done first.
func send(ctx context.Context, results []result, batches chan<- batch, futures chan<- (<-chan []result)) bool {
	future := make(chan []result, 1)
	select {
	case futures <- future: // Waits while inFlight batches are unprinted.
	case <-ctx.Done():
		return false
	}
	for _, r := range results {
		if r.err == nil {
			select {
			case batches <- batch{results: results, future: future}:
				return true
			case <-ctx.Done():
				return false
			}
		}
	}
	future <- results // Nothing to compute.
	return true
}

// printInOrder waits on each future in turn and prints its result: fib(N) =
// value on stdout, a rejected line on stderr. It returns when futures is
// closed, when stdout fails, or when ctx is done, and reports whether every
// line was answered.
func printInOrder(ctx context.Context, futures <-chan (<-chan []result), stdout, stderr io.Writer) (allAnswered bool, err error) {
	// Writing stdout through a buffer saves a system call per line. We flush
	// whenever we would wait, so that a user typing numbers sees each answer
	// at once, and before we write stderr, so that in a terminal a message
	// appears in its place among the results.
	out := bufio.NewWriter(stdout)
	allAnswered = true
	for {
		future, open, err := receiveOrFlush(ctx, futures, out)
		if err != nil {
			return allAnswered, err
		}
		if !open {
			break
		}
		results, _, err := receiveOrFlush(ctx, future, out)
		if err != nil {
			return allAnswered, err
		}
		for _, r := range results {
			if r.err != nil {
				allAnswered = false
				if err := out.Flush(); err != nil {
					return allAnswered, err
				}
				fmt.Fprintf(stderr, "line %d: %v\n", r.line.Number, r.err)
				continue
			}
			// A failed write shows here, or at the next flush: a
			// bufio.Writer keeps its first error.
			if _, err := out.WriteString(r.text); err != nil {
				return allAnswered, err
			}
		}
	}
	return allAnswered, out.Flush()
}

// receiveOrFlush receives from ch. When nothing is there yet, it first
// flushes out, so that what is printed is seen while we wait. It gives up
// when the flush fails, or when ctx is done: nobody would see what we
// waited for. (In chapter 02 nothing ends ctx while the printer waits; the
// code is chapter 03's too, where an interruption does.)
func receiveOrFlush[T any](ctx context.Context, ch <-chan T, out *bufio.Writer) (value T, open bool, err error) {
	select {
	case value, open = <-ch:
		return value, open, nil
	default:
	}
	if err := out.Flush(); err != nil {
		return value, false, err
	}
	select {
	case value, open = <-ch:
		return value, open, nil
	case <-ctx.Done():
		return value, false, ctx.Err()
	}
}
