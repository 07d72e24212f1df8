package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"example.com/goinparallel/fib"
	"example.com/goinparallel/fib/fibtest"
)

// runPool runs the pool on input and returns what it printed.
func runPool(t *testing.T, workers int, input string) (stdout, stderr string, ok bool) {
	t.Helper()
	var out, errOut strings.Builder
	ok, err := pool(workers, strings.NewReader(input), &out, &errOut)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	return out.String(), errOut.String(), ok
}

// TestRandomBatches sends random batches, with blank, padded and CRLF lines
// among the numbers, through pools of several sizes and checks that every
// number gets exactly its one correct line, in input order.
func TestRandomBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	decorations := []string{"%d\n", "%d\r\n", "  %d\t\n", "\n%d\n", "%d \r\n", "\t%d"}
	for batch := range 30 {
		var input, want strings.Builder
		size := rng.IntN(300)
		for i := range size {
			n := rng.IntN(21)
			format := decorations[rng.IntN(len(decorations))]
			if i == size-1 {
				format = strings.TrimSuffix(format, "\n") // no newline at the very end
			} else if !strings.HasSuffix(format, "\n") {
				format += "\n"
			}
			fmt.Fprintf(&input, format, n)
			v, _ := fib.Fib(n)
			fmt.Fprintf(&want, "fib(%d) = %d\n", n, v)
		}
		workers := 1 + batch%5
		stdout, stderr, ok := runPool(t, workers, input.String())
		if stdout != want.String() || stderr != "" || !ok {
			t.Fatalf("batch %d, %d workers: got ok=%v stderr=%q, stdout\n%s\nwant\n%s", batch, workers, ok, stderr, stdout, want.String())
		}
	}
}

// TestBadLines checks that each bad line gets one message in its place and
// that every good line around it is still answered.
func TestBadLines(t *testing.T) {
	long := strings.Repeat("1", 1<<20) // 1 MiB with no newline, at the end of input
	input := "5\nabc\n6\n-1\n\n46\n2.5\n7\n" + strings.Repeat("9", 30) + "\n8\n" + long
	stdout, stderr, ok := runPool(t, 3, input)
	wantOut := "fib(5) = 5\nfib(6) = 8\nfib(7) = 13\nfib(8) = 21\n"
	wantErr := `line 2: "abc" is not a whole number
line 4: "-1" is out of range: n must be from 0 to 45
line 6: "46" is out of range: n must be from 0 to 45
line 7: "2.5" is not a whole number
line 9: "999999999999999999999999999999" is out of range: n must be from 0 to 45
line 11: "1111111111111111111111111111111111111111"... (1048576 bytes) is too long to be a number
`
	if stdout != wantOut || stderr != wantErr || ok {
		t.Errorf("got ok=%v\nstdout:\n%s\nstderr:\n%s\nwant ok=false\nstdout:\n%s\nstderr:\n%s", ok, stdout, stderr, wantOut, wantErr)
	}
}

// TestShutdownWithWorkInFlight ends the input while slow tasks are still
// being computed: every one of them must still be printed.
func TestShutdownWithWorkInFlight(t *testing.T) {
	input := strings.Repeat("24\n1\n", 50) // the input ends long before the work does
	stdout, stderr, ok := runPool(t, 2, input)
	want := strings.Repeat("fib(24) = 46368\nfib(1) = 1\n", 50)
	if stdout != want || stderr != "" || !ok {
		t.Errorf("got ok=%v stderr=%q stdout=%q", ok, stderr, stdout)
	}
}

// TestManyMoreLinesThanInFlight sends far more lines than may be in flight,
// with a slow line first that holds all the others back.
func TestManyMoreLinesThanInFlight(t *testing.T) {
	input := "27\n" + strings.Repeat("2\n", 5*inFlight)
	stdout, _, ok := runPool(t, 2, input)
	want := "fib(27) = 196418\n" + strings.Repeat("fib(2) = 1\n", 5*inFlight)
	if stdout != want || !ok {
		t.Errorf("got ok=%v and %d bytes of output, want %d", ok, len(stdout), len(want))
	}
}

// TestAnswersWhileTheInputIsOpen: each typed number is answered before the
// next is typed, as at a terminal (see fibtest.Typing).
func TestAnswersWhileTheInputIsOpen(t *testing.T) {
	fibtest.Typing(t, func(in io.Reader, out io.Writer) bool {
		ok, err := pool(2, in, out, io.Discard)
		return ok && err == nil
	})
}

// TestNoGoroutineOutlivesThePool checks that when pool returns, its workers
// and its printer have ended.
func TestNoGoroutineOutlivesThePool(t *testing.T) {
	fibtest.NoGoroutineLeft(t, func() { runPool(t, 8, strings.Repeat("15\nx\n", 100)) })
}

// endless is an input that never ends: a line of 1 after another.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "1\n"[i%2]
	}
	return len(p) &^ 1, nil
}

// TestOutputThatCannotBeWritten: when stdout fails, the program says so in
// one line and exits 1, and the pool stops, even on input that never ends.
func TestOutputThatCannotBeWritten(t *testing.T) {
	for _, input := range []io.Reader{strings.NewReader(strings.Repeat("20\n", 10000)), endless{}} {
		var errOut strings.Builder
		status := run([]string{"-workers", "2"}, input, &fibtest.FullDisk{Room: 5000}, &errOut)
		if want := "threads: writing results: no space left on device\n"; status != 1 || errOut.String() != want {
			t.Errorf("%T: status %d, stderr %q; want 1, %q", input, status, errOut.String(), want)
		}
	}
}

// TestFailedFlushWhileWaiting: when a flush fails while the printer waits
// for the next line, which a user may never type, the pool reports it at
// once and returns; no worker takes another task, and every goroutine ends
// once the input does.
func TestFailedFlushWhileWaiting(t *testing.T) {
	fibtest.NoGoroutineLeft(t, func() {
		in, typing := io.Pipe()
		defer typing.Close() // Lets the reader, blocked in a read, end.
		go fmt.Fprint(typing, "1\n")
		returned := make(chan error, 1)
		go func() {
			_, err := pool(2, in, &fibtest.FullDisk{}, io.Discard)
			returned <- err
		}()
		select {
		case err := <-returned:
			if err == nil {
				t.Error("the pool reported no error")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the pool did not return while its input stayed open")
		}
	})
}
