package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"example.com/goinparallel/fib"
)

// This file holds the code that this chapter copies from chapter 02, word
// for word: the reader and the printer. TestSharedWithChapter02 holds the
// copies identical.

// read reads every line of in and hands it on: a number to the workers, as a
// task, and every line's future to the printer. A rejected line's future
// holds its error at once, so that its message comes out in its place among
// the results. read returns at the end of the input, or when ctx is done,
// even while it waits for the printer or the workers to take a line.
func read(ctx context.Context, in io.Reader, tasks chan<- task, futures chan<- (<-chan result)) {
	input := fib.NewReader(in)
	for ctx.Err() == nil {
		line, err := input.Next()
		if err == io.EOF {
			return
		}
		future := make(chan result, 1)
		select {
		case futures <- future: // Waits while inFlight lines are unprinted.
		case <-ctx.Done():
			return
		}
		if err != nil {
			future <- result{line: line, err: err}
			continue
		}
		select {
		case tasks <- task{line: line, result: future}:
		case <-ctx.Done():
			return
		}
	}
}

// printInOrder waits on each future in turn and prints its result: fib(N) =
// value on stdout, a rejected line on stderr. It returns when futures is
// closed, when stdout fails, or when ctx is done, and reports whether every
// line was answered.
func printInOrder(ctx context.Context, futures <-chan (<-chan result), stdout, stderr io.Writer) (allAnswered bool, err error) {
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
		r, _, err := receiveOrFlush(ctx, future, out)
		if err != nil {
			return allAnswered, err
		}
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
