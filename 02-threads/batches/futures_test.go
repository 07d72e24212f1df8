package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"testing/synctest"

	"example.com/goinparallel/fib"
	"example.com/goinparallel/fib/fibtest"
)

// The tests of what this step keeps of chapter 02's pool, by what it does
// rather than by its text: a batch's future has room for its results, and
// a worker computes nothing once the pool has stopped. TestBatchesSharesThePool
// in ../ holds the shared code identical; these hold it working.

// oneLineAtATime serves one line per Read, and counts the lines it has
// served. As it never has a line waiting, the reader closes every batch
// after one line.
type oneLineAtATime struct {
	lines  []string
	served int
}

func (r *oneLineAtATime) Read(p []byte) (int, error) {
	if r.served == len(r.lines) {
		return 0, io.EOF
	}
	n := copy(p, r.lines[r.served]) // p has room: bufio reads 4096 bytes at a time.
	r.served++
	return n, nil
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
// and checks that the reader meanwhile reads inFlight batches of one line,
// which it can only do if the workers take them: each future has room for
// its batch's results, so a worker that finishes a batch before the printer
// wants it goes on to the next. Were a worker to wait until the printer
// takes its results, the workers would stop with the printer, and the
// reader a queue's length later, long before inFlight batches.
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
		in := &oneLineAtATime{lines: lines}
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
			t.Errorf("with the printer held at its first write, the reader read %d of %d lines and waits: the workers wait for the printer to take their results, as if a future had no room for them", in.served, len(lines))
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
// could not write, a worker takes the batches left in the queue without
// computing them. Nobody would print the results, and the queue may hold
// hundreds of slow lines.
func TestWorkerAfterTheOutputFailed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	batches := make(chan batch, 1)
	future := make(chan []result, 1)
	batches <- batch{results: []result{{line: fib.Line{Number: 1, N: 25}}}, future: future}
	close(batches)
	fibtest.Within(t, "a worker with its context done", func() { worker(ctx, batches) })
	select {
	case results := <-future:
		t.Errorf("with its context done, a worker computed line %d and sent %q, which nobody will print", results[0].line.Number, results[0].text)
	default:
	}
}
