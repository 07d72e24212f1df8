package fibtest

import (
	"bufio"
	"fmt"
	"io"
	"testing"
	"time"

	"example.com/goinparallel/fib"
)

// Typing checks that a pool answers like a program used at a terminal: it
// types numbers one at a time into pool's input and expects each answer
// before it types the next, so no answer may wait in a buffer for more
// input. Then it types exit and expects the pool to end, with nothing more
// printed and every line answered.
func Typing(t *testing.T, pool func(in io.Reader, out io.Writer) bool) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	// A pool that holds an answer back would leave us reading forever.
	// After Limit, ending the output makes the read fail, with an error
	// that says why.
	expired := make(chan struct{})
	timer := time.AfterFunc(Limit, func() {
		outW.CloseWithError(fmt.Errorf("no more output from the pool after %v", Limit))
		close(expired)
	})
	defer timer.Stop()
	done := make(chan bool, 1)
	go func() {
		ok := pool(inR, outW)
		outW.Close() // The reader below sees the end of the output...
		done <- ok   // ...and then the pool's answer.
	}()
	answers := bufio.NewReader(outR)
	for _, n := range []int{10, 20, 3, 1} {
		fmt.Fprintf(inW, "%d\n", n)
		line, err := answers.ReadString('\n')
		v, _ := fib.Fib(n)
		if want := fmt.Sprintf("fib(%d) = %d\n", n, v); line != want || err != nil {
			t.Fatalf("after typing %d: read %q, %v; want %q", n, line, err, want)
		}
	}
	fmt.Fprintln(inW, "exit")
	if rest, _ := io.ReadAll(answers); len(rest) > 0 {
		t.Errorf("unexpected output after exit: %q", rest)
	}
	select {
	case ok := <-done:
		if !ok {
			t.Error("pool reported a rejected line")
		}
	case <-expired:
		t.Errorf("the pool has not returned %v after exit was typed: it hangs", Limit)
	}
}
