// Fib prints the nth Fibonacci number. It is the Go counterpart of the Python
// tutorial's fibonacci.py, and chapter 01 runs it as a child process.
//
// Usage:
//
//	fib N       N as the one argument
//	fib         N on the first line of standard input
//
// N is a decimal whole number from 0 to 45. Exit status: 0 when fib(N) was
// printed, 1 when N was rejected, 2 for a usage error (no N, or more than one
// argument). Every error is one line on standard error that names the input.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"goinparallel/fib"
)

// The exit statuses, the same in every program of this repository.
const (
	exitRejected = 1 // the input was read but not accepted
	exitUsage    = 2 // the program was called the wrong way
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run does the work of main with its inputs and outputs as parameters, so
// that it reads like main and tests need no global state. It returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var input string
	switch len(args) {
	case 0:
		// Like Python's input(), we read one line: a user typing at a
		// terminal gets the answer on Enter, without having to end the input.
		line, err := firstLine(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "fib: %v\n", err)
			return exitUsage
		}
		input = line
	case 1:
		input = args[0]
	default:
		fmt.Fprintf(stderr, "fib: %d arguments given, want one number N (usage: fib N)\n", len(args))
		return exitUsage
	}

	n, err := fib.Parse(input)
	if err != nil {
		fmt.Fprintf(stderr, "fib: %v\n", err)
		return exitRejected
	}
	// Parse has checked the range, so Fib cannot fail here.
	v, _ := fib.Fib(n)
	fmt.Fprintln(stdout, v)
	return 0
}

// maxLine bounds how much of standard input we read: no number in range is
// anywhere near this long, and a bound means a huge input cannot exhaust
// memory.
const maxLine = 4096

// firstLine returns the first line of r, without its line ending. A last line
// without a newline counts as a line.
func firstLine(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64), maxLine)
	if sc.Scan() {
		return sc.Text(), nil
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return "", fmt.Errorf("the first line of standard input is over %d bytes long", maxLine)
	case err != nil:
		return "", fmt.Errorf("reading standard input: %v", err)
	default:
		return "", errors.New("no N given: standard input is empty (usage: fib N)")
	}
}
