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
// A worker answers its tasks in the order it received them. When its
// standard input ends, it exits with status 0. A line it cannot read is a
// bug in the pool, not bad user input (the pool has checked every number
// already): the worker says so on standard error and exits with status 2.

// serve runs the worker's side of the protocol and returns its exit status.
func serve(stdin io.Reader, stdout, stderr io.Writer) int {
	in := bufio.NewReader(stdin)
	out := bufio.NewWriter(stdout)
	// Saying we are ready lets the pool start its clock now: the time
	// a worker takes to start is not a task's.
	out.WriteString("ready\n")
	for {
		// Answers wait in a buffer, to be written many at a time, but
		// never while we wait for a task: a task typed at a terminal is
		// answered at once.
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return writeFailed(err, stderr)
			}
		}
		text, err := in.ReadSlice('\n')
		if err == io.EOF && len(text) == 0 {
			return 0 // The pool closed our input: we are done.
		}
		if err != nil && err != io.EOF {
			return stop(out, stderr, fmt.Sprintf("reading tasks: %v", err))
		}
		line, n, ok := parsePair(text)
		if !ok || n < 0 || n > fib.Max {
			return stop(out, stderr, fmt.Sprintf("bad task line %q: want LINE N", bytes.TrimRight(text, "\r\n")))
		}
		// Nor do answers wait while we compute a slow task. The pool
		// wants them now, and hearing from us restarts its clock for
		// this task. If the pool has died, the write fails, and we stop
		// here, rather than compute every task still queued for us.
		if fib.Calls(n) > budget {
			if err := out.Flush(); err != nil {
				return writeFailed(err, stderr)
			}
		}
		value, _ := fib.Fib(n)
		out.WriteString(strconv.Itoa(line) + " " + strconv.Itoa(value) + "\n")
	}
}

// stop ends a worker that cannot go on, because of why: a line it cannot
// read, or that is not a task. The answers it owes still go out first, so
// that the pool loses no work it has done; then it says why it stops, and
// returns its exit status, 2.
func stop(out *bufio.Writer, stderr io.Writer, why string) int {
	if err := out.Flush(); err != nil {
		return writeFailed(err, stderr)
	}
	fmt.Fprintf(stderr, "processes -worker: %s\n", why)
	return 2
}

// writeFailed reports answers that could not be written, and returns the
// worker's exit status. When the pool has died, a worker on Linux or macOS
// is killed by SIGPIPE at that write before it gets here, and says nothing;
// on Windows the write fails, and it says so.
func writeFailed(err error, stderr io.Writer) int {
	fmt.Fprintf(stderr, "processes -worker: writing answers: %v\n", err)
	return 1
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
