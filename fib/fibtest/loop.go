// Package fibtest holds what the tests and benchmarks of the fib pools in
// chapters 02 and 03 share: a test that a pool answers like a program typed
// at, the benchmarks that measure a pool against what the machine allows,
// and the plain sequential loop that a pool's cost per line is measured
// against.
package fibtest

import (
	"bufio"
	"fmt"
	"io"

	"example.com/goinparallel/fib"
)

// Loop is the fib pools' work without a pool: it reads in, computes fib for
// each line and writes the results to out, one line after another, with no
// goroutine. A pool's cost per line is measured against it.
func Loop(in io.Reader, out io.Writer) error {
	input := fib.NewReader(in)
	w := bufio.NewWriter(out)
	for {
		line, err := input.Next()
		if err == io.EOF {
			return w.Flush()
		}
		if err != nil {
			return fmt.Errorf("line %d: %v", line.Number, err)
		}
		v, _ := fib.Fib(line.N)
		fmt.Fprintf(w, "fib(%d) = %d\n", line.N, v)
	}
}
