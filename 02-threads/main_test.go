package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"example.com/goinparallel/fib"
	"example.com/goinparallel/fib/fibtest"
)

// runPool runs the pool on input and returns what it printed.
func runPool(t *testing.T, workers int, input string) (stdout, stderr string, ok bool) {
	t.Helper()
	var out, errOut strings.Builder
	var err error
	fibtest.Within(t, "the pool", func() { ok, err = pool(workers, strings.NewReader(input), &out, &errOut) })
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

// lineByLine serves lines one per Read, so that how many lines it has served
// is how far the pool's reader has got, give or take the one line its
// buffer holds. Before serving each line it calls check with that count.
type lineByLine struct {
	lines  []string
	served int
	check  func(served int)
}

func (r *lineByLine) Read(p []byte) (int, error) {
	if r.served == len(r.lines) {
		return 0, io.EOF
	}
	r.check(r.served)
	n := copy(p, r.lines[r.served]) // p has room: bufio reads 4096 bytes at a time.
	r.served++
	return n, nil
}

// countingWriter counts the lines written to it, from the printer's
// goroutine, for the test's goroutine to read.
type countingWriter struct{ lines atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines.Add(int64(strings.Count(string(p), "\n")))
	return len(p), nil
}

// TestReaderStaysWithinInFlight holds the printer on a slow first line and
// checks that meanwhile the reader reads no further than the bound on lines
// in flight allows: inFlight lines, plus what the printer holds and has
// buffered but not written, which is less than another inFlight. Without
// the bound, the reader reads every line while fib(32) is computed.
func TestReaderStaysWithinInFlight(t *testing.T) {
	const total = 10 * inFlight
	lines := []string{"32\n"}
	for range total - 1 {
		lines = append(lines, "2\n")
	}
	var out countingWriter
	aheadMost := 0
	in := &lineByLine{lines: lines, check: func(served int) {
		aheadMost = max(aheadMost, served-int(out.lines.Load()))
	}}
	var ok bool
	var err error
	fibtest.Within(t, "the pool", func() { ok, err = pool(2, in, &out, io.Discard) })
	if !ok || err != nil || out.lines.Load() != total {
		t.Fatalf("pool: ok=%v, err=%v, %d lines printed; want true, nil, %d", ok, err, out.lines.Load(), total)
	}
	if aheadMost > 2*inFlight {
		t.Errorf("the reader read %d lines ahead of what was printed; the bound on lines in flight (inFlight = %d) allows fewer than %d", aheadMost, inFlight, 2*inFlight)
	}
}

// heldOutput is a stdout that takes no write until release is closed, as a
// terminal does whose user has paused it (Ctrl-S) or a pipe that nobody
// reads: a printer that writes to it is held there.
type heldOutput struct {
	release chan struct{}
	text    strings.Builder
}

func (w *heldOutput) Write(p []byte) (int, error) {
	<-w.release
	return w.text.Write(p)
}

// TestWorkersDoNotWaitForThePrinter holds the printer at its first write
// and checks that the reader meanwhile reads inFlight lines, which it can
// only do if the workers take them: each future has room for its result,
// so a worker that finishes a line before the printer wants it goes on to
// the next. Were a worker to wait until the printer takes its result, the
// workers would stop with the printer, and the reader a queue's length
// later, long before inFlight lines: a slow first line would leave one
// worker busy and the others idle.
//
// The test runs in a synctest bubble, so that synctest.Wait can tell when
// the pool has gone as far as it can with the printer held: when all of
// its goroutines wait for one another. No timing decides the result.
func TestWorkersDoNotWaitForThePrinter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lines := make([]string, inFlight) // All fit in futures' buffer.
		for i := range lines {
			lines[i] = "1\n"
		}
		in := &lineByLine{lines: lines, check: func(int) {}}
		out := &heldOutput{release: make(chan struct{})}
		type outcome struct {
			ok  bool
			err error
		}
		returned := make(chan outcome, 1)
		go func() {
			ok, err := pool(2, in, out, io.Discard)
			returned <- outcome{ok, err}
		}()
		synctest.Wait() // Until the printer, the reader and the workers all wait.
		if in.served < len(lines) {
			t.Errorf("with the printer held at its first write, the reader read %d of %d lines and waits: the workers wait for the printer to take their results, as if a future had no room for one", in.served, len(lines))
		}
		close(out.release)
		var p outcome
		fibtest.Within(t, "the pool, once its output was released", func() { p = <-returned })
		if want := strings.Repeat("fib(1) = 1\n", len(lines)); !p.ok || p.err != nil || out.text.String() != want {
			t.Errorf("pool: ok=%v, err=%v, %d bytes printed; want true, nil, %d", p.ok, p.err, out.text.Len(), len(want))
		}
	})
}

// TestWorkerAfterTheOutputFailed: once ctx is done, as when the printer
// could not write, a worker takes the tasks left in the queue without
// computing them. Nobody would print the results, and the queue may hold
// hundreds of slow lines.
func TestWorkerAfterTheOutputFailed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tasks := make(chan task, 1)
	future := make(chan result, 1)
	tasks <- task{line: fib.Line{Number: 1, N: 25}, result: future}
	close(tasks)
	fibtest.Within(t, "a worker with its context done", func() { worker(ctx, tasks) })
	select {
	case r := <-future:
		t.Errorf("with its context done, a worker computed line %d and sent %q, which nobody will print", r.line.Number, r.text)
	default:
	}
}

// terminal is one writer for stdout and stderr, as a terminal is: what it
// shows is in the order of the writes.
type terminal struct {
	mu   sync.Mutex
	text strings.Builder
}

func (w *terminal) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.Write(p)
}

// TestMessagesInPlace writes stdout and stderr to one terminal: each
// message about a bad line must appear among the results in that line's
// place, so stdout must be flushed before every message. Many lines make
// sure that the printer meets bad lines with results in its buffer.
func TestMessagesInPlace(t *testing.T) {
	var input, want strings.Builder
	for i := range 500 {
		fmt.Fprintf(&input, "%d\nx\n", i%20)
		v, _ := fib.Fib(i % 20)
		fmt.Fprintf(&want, "fib(%d) = %d\nline %d: \"x\" is not a whole number\n", i%20, v, 2*i+2)
	}
	var term terminal
	var ok bool
	var err error
	fibtest.Within(t, "the pool", func() { ok, err = pool(2, strings.NewReader(input.String()), &term, &term) })
	if ok || err != nil {
		t.Errorf("pool: ok=%v, err=%v; want false, nil", ok, err)
	}
	if got := term.text.String(); got != want.String() {
		gotLines, wantLines := strings.SplitAfter(got, "\n"), strings.SplitAfter(want.String(), "\n")
		for i := range min(len(gotLines), len(wantLines)) {
			if gotLines[i] != wantLines[i] {
				t.Fatalf("line %d on the terminal is %q, want %q: stdout and stderr are out of order", i+1, gotLines[i], wantLines[i])
			}
		}
		t.Fatalf("the terminal shows %d lines, want %d", len(gotLines), len(wantLines))
	}
}

// TestWorkersFlag checks both ends of -workers, and the message for a
// number of workers beyond them.
func TestWorkersFlag(t *testing.T) {
	tests := []struct {
		workers    string
		wantStatus int
		wantErr    string
	}{
		{"1", 0, ""},
		{"256", 0, ""},
		{"0", 2, "threads: -workers 0: want from 1 to 256 workers\n"},
		{"257", 2, "threads: -workers 257: want from 1 to 256 workers\n"},
		{"-1", 2, "threads: -workers -1: want from 1 to 256 workers\n"},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		var status int
		fibtest.Within(t, "the program", func() { status = run([]string{"-workers", tt.workers}, strings.NewReader("10\n"), &stdout, &stderr) })
		wantOut := "fib(10) = 55\n"
		if tt.wantStatus != 0 {
			wantOut = ""
		}
		if status != tt.wantStatus || stdout.String() != wantOut || stderr.String() != tt.wantErr {
			t.Errorf("-workers %s: status %d, stdout %q, stderr %q; want %d, %q, %q",
				tt.workers, status, stdout.String(), stderr.String(), tt.wantStatus, wantOut, tt.wantErr)
		}
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
// one line and exits 1, and the pool stops, even on input that never ends:
// every goroutine ends, the reader too, though nobody takes its lines.
func TestOutputThatCannotBeWritten(t *testing.T) {
	for _, input := range []io.Reader{strings.NewReader(strings.Repeat("20\n", 10000)), endless{}} {
		fibtest.NoGoroutineLeft(t, func() {
			var errOut strings.Builder
			var status int
			fibtest.Within(t, "the program", func() { status = run([]string{"-workers", "2"}, input, &fibtest.FullDisk{Room: 5000}, &errOut) })
			if want := "threads: writing results: no space left on device\n"; status != 1 || errOut.String() != want {
				t.Errorf("%T: status %d, stderr %q; want 1, %q", input, status, errOut.String(), want)
			}
		})
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

// TestDefaultWorkers: with more CPUs for Go than a pool may have workers,
// the default is the most it may have, not a usage error.
func TestDefaultWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(maxWorkers + 1))
	var stdout, stderr strings.Builder
	if status := run(nil, strings.NewReader("10\n"), &stdout, &stderr); status != 0 || stdout.String() != "fib(10) = 55\n" || stderr.Len() > 0 {
		t.Errorf("GOMAXPROCS %d: status %d, stdout %q, stderr %q; want 0, %q, nothing", maxWorkers+1, status, stdout.String(), stderr.String(), "fib(10) = 55\n")
	}
}
