// Fib prints the nth Fibonacci number. It is the Go counterpart of the Python
// tutorial's fibonacci.py, and chapter 01 runs it as a child process.
//
// Usage:
//
//	fib N       N as the one argument
//	fib         N on the first line of standard input
//
// N is a decimal whole number from 0 to 45. Exit status: 0 when fib(N) was
// printed (or -h asked for the usage), 1 when N was rejected or the result
// could not be written, 2 for a usage error (no N, or more than one
// argument). Every error is one line on
// standard error that names the input.
package main

import (
	"fmt"
	"io"
	"os"

	"example.com/goinparallel/fib"
)

// The exit statuses, the same in every program of this repository.
const (
	exitRejected = 1 // the input was read but not accepted, or the output not written
	exitUsage    = 2 // the program was called the wrong way
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run does the work of main with its inputs and outputs as parameters, so
// that it reads like main and tests need no global state. It returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var n int
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		if _, err := fmt.Fprintln(stdout, "usage: fib N, or fib with N on standard input; N is a whole number from 0 to 45"); err != nil {
			fmt.Fprintf(stderr, "fib: writing the usage: %v\n", err)
			return exitRejected
		}
		return 0
	case len(args) == 1:
		var err error
		if n, err = fib.Parse(args[0]); err != nil {
			fmt.Fprintf(stderr, "fib: %v\n", err)
			return exitRejected
		}
	case len(args) == 0:
		// Like Python's input(), we read one line: a user typing at a
		// terminal gets the answer on Enter, without having to end the
		// input. The reader is the one chapters 02 and 03 use, so a line
		// is read the same way everywhere: spaces, a Windows line ending
		// and blank lines before it do not matter, and a huge line is
		// not held in memory.
		line, err := fib.NewReader(stdin).Next()
		switch {
		case err == io.EOF:
			fmt.Fprintln(stderr, "fib: no N given: standard input is empty (usage: fib N)")
			return exitUsage
		case err != nil:
			fmt.Fprintf(stderr, "fib: %v\n", err)
			return exitRejected
		}
		n = line.N
	default:
		fmt.Fprintf(stderr, "fib: %d arguments given, want one number N (usage: fib N)\n", len(args))
		return exitUsage
	}
	// Parse has checked the range, so Fib cannot fail here.
	v, _ := fib.Fib(n)
	if _, err := fmt.Fprintln(stdout, v); err != nil {
		fmt.Fprintf(stderr, "fib: writing the result: %v\n", err)
		return exitRejected
	}
	return 0
}
