package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"

	"goinparallel/fib"
)

// The protocol between the pool and a worker process is one line per message,
// in decimal, over the worker's standard input and output:
//
//	pool to worker:  SEQ N        compute fib(N) for task SEQ
//	worker to pool:  SEQ VALUE    fib(N) for task SEQ is VALUE
//
// A worker answers its tasks in the order it received them. When its
// standard input ends, it exits with status 0. A line it cannot read is a
// bug in the pool, not bad user input (the pool has checked every number
// already): the worker says so on standard error and exits with status 2.

// serve runs the worker's side of the protocol and returns its exit status.
func serve(in io.Reader, out, stderr io.Writer) int {
	// Ctrl-C sends SIGINT to the whole process group in a terminal: to the
	// pool and to every worker. The pool decides how workers end, so the
	// workers ignore it; if the pool itself dies, their input ends.
	signal.Ignore(os.Interrupt)

	tasks := bufio.NewReader(in)
	answers := bufio.NewWriter(out)
	for {
		line, err := tasks.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			return 0 // The pool closed our input: we are done.
		}
		if err != nil && err != io.EOF {
			fmt.Fprintf(stderr, "processes -worker: reading tasks: %v\n", err)
			return 2
		}
		seq, n, ok := parsePair(line)
		value, err := fib.Fib(n)
		if !ok || err != nil {
			fmt.Fprintf(stderr, "processes -worker: bad task line %q\n", line)
			return 2
		}
		answers.WriteString(strconv.Itoa(seq) + " " + strconv.Itoa(value) + "\n")
		// Send what we have when no more tasks are waiting, so that one task
		// typed at a terminal is answered at once, and a stream of tasks
		// is answered in large writes.
		if tasks.Buffered() == 0 {
			if err := answers.Flush(); err != nil {
				return 1 // The pool has gone; nobody is listening.
			}
		}
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
