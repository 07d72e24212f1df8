package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"example.com/goinparallel/fib"
)

// The protocol between the pool and a worker process is one line per message,
// in decimal, over the worker's standard input and output:
//
//	worker to pool:  ready        once, when it has started
//	pool to worker:  LINE N       compute fib(N) for input line LINE
//	worker to pool:  LINE VALUE   fib(N) for input line LINE is VALUE
//
// A worker answers its tasks in order, and exits with status 0 when its
// standard input ends. A line it cannot read is a bug in the pool, which
// has checked every number: the worker says so and exits with status 2.

// serve runs the worker's side of the protocol and returns its exit status.
func serve(stdin io.Reader, stdout, stderr io.Writer) int {
	in := bufio.NewReader(stdin)
	out := bufio.NewWriter(stdout)
	// Answers wait in out, to be written many at a time, but never while
	// we wait for a task, so that a task typed at a terminal is answered
	// at once; nor while we compute a slow one: the pool's deadline starts
	// afresh when it hears from us. If the pool has died, the write fails,
	// and we stop, rather than compute every task still queued for us.
	flush := func() bool {
		if err := out.Flush(); err != nil {
			fmt.Fprintf(stderr, "processes -worker: writing answers: %v\n", err)
			return false
		}
		return true
	}
	// A worker that cannot go on still writes the answers it owes, so that
	// the pool loses no work it has done, then says why it stops.
	stop := func(why string) int {
		if !flush() {
			return 1
		}
		fmt.Fprintf(stderr, "processes -worker: %s\n", why)
		return 2
	}
	out.WriteString("ready\n")
	for {
		if in.Buffered() == 0 && !flush() {
			return 1
		}
		text, err := in.ReadSlice('\n')
		if err == io.EOF && len(text) == 0 {
			return 0 // The pool closed our input: we are done.
		}
		if err != nil && err != io.EOF {
			return stop(fmt.Sprintf("reading tasks: %v", err))
		}
		line, n, ok := parsePair(text)
		if !ok || n < 0 || n > fib.Max {
			return stop(fmt.Sprintf("bad task line %q: want LINE N", bytes.TrimRight(text, "\r\n")))
		}
		if fib.Calls(n) > budget && !flush() {
			return 1
		}
		value, _ := fib.Fib(n)
		out.WriteString(strconv.Itoa(line) + " " + strconv.Itoa(value) + "\n")
	}
}

// parsePair reads a line of two decimal whole numbers. Any spaces, tabs and
// line ending will do around them, so that a person can type tasks at a
// terminal, Windows's included.
func parsePair(line []byte) (a, b int, ok bool) {
	line = bytes.TrimSpace(line)
	gap := bytes.IndexAny(line, " \t")
	if gap < 0 {
		return 0, 0, false
	}
	a, errA := strconv.Atoi(string(line[:gap]))
	b, errB := strconv.Atoi(string(bytes.TrimSpace(line[gap:])))
	return a, b, errA == nil && errB == nil
}
