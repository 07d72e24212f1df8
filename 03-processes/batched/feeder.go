package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
)

// A feeder keeps one worker process busy, one batch at a time, and
// replaces it when it fails.
type feeder struct {
	*pool
	ctx     context.Context
	starts  *startRecord
	reports io.Writer // the pool's stderr, which we stop waiting for once ctx is done
	worker  *worker   // the running worker process, or nil
}

// feed is a feeder's goroutine: it has its worker compute each batch it
// takes. It returns when batches is closed or ctx is done, once its worker
// process has exited.
func (p *pool) feed(ctx context.Context, starts *startRecord, batches <-chan batch) {
	f := &feeder{pool: p, ctx: ctx, starts: starts, reports: untilDone{ctx, p.stderr}}
	defer func() {
		if f.worker != nil {
			f.worker.end(f.timeout) // Its input ends: it exits, or is killed at its deadline.
		}
	}()
	f.start() // Now, so that its start-up overlaps with reading the input.
	for {
		select {
		case b, open := <-batches:
			if !open {
				return
			}
			f.compute(b.results)
			b.future <- b.results
		case <-ctx.Done():
			return
		}
	}
}

// compute has the worker compute every line of results that was not
// rejected. When a worker fails, the line it was computing is tried once
// more, in a new worker; after a second failure, that line fails, and the
// rest go on. When no worker can be started, the lines left fail.
func (f *feeder) compute(results []result) {
	next := firstToCompute(results, 0) // the line in hand, which the worker answers next
	retried := -1                      // the line last tried once more
	for next < len(results) && f.ctx.Err() == nil {
		if f.worker != nil && f.worker.ctx.Err() != nil {
			// Killed at its deadline just as it gave its last answer: it
			// owes us nothing, and goes without a word.
			f.worker.end(0)
			f.worker = nil
		}
		if f.worker == nil && !f.start() {
			failAll(results, next)
			return
		}
		w := f.worker
		fault := w.answer(results, &next, f.timeout)
		if fault != "" {
			f.worker = nil
			w.end(0)
		}
		if fault == "died" {
			fault = "died (" + w.cmd.ProcessState.String() + ")"
		}
		switch {
		case fault == "" || f.ctx.Err() != nil:
			// Answered; or interrupted, which is not the worker's fault.
		case retried != next:
			retried = next
			f.report(results[next].line.Number, results[next].line.N, fault, "trying a new worker")
		default:
			f.report(results[next].line.Number, results[next].line.N, fault, "giving up on it")
			results[next].err = fmt.Errorf("fib(%d) failed in 2 worker processes", results[next].line.N)
			next = firstToCompute(results, next+1)
		}
	}
}

// report says how the worker computing a line failed, and what then.
func (f *feeder) report(line, n int, how, then string) {
	fmt.Fprintf(f.reports, "processes: line %d: the worker computing fib(%d) %s; %s\n", line, n, how, then)
}

// start starts a worker process, or reports false when the pool has given
// up starting them.
func (f *feeder) start() bool {
	for !f.starts.givenUp() && f.ctx.Err() == nil {
		w, err := startWorker(f.ctx, f.program, f.stderr)
		if err != nil {
			if f.ctx.Err() == nil { // Else it was killed, as it started, by the interruption.
				f.starts.fail(err.Error(), f.reports)
			}
			continue
		}
		f.starts.succeed()
		f.worker = w
		return true
	}
	return false
}

// A startRecord counts the worker processes that failed to start in a row,
// in any of the pool's feeders. At maxFailedStarts, the pool gives up
// starting them, for good.
type startRecord struct {
	inARow atomic.Int32
	gaveUp atomic.Bool
}

// fail counts a worker process that failed to start: why says how. When
// the pool gives up, it says so, once.
func (s *startRecord) fail(why string, reports io.Writer) {
	if s.inARow.Add(1) >= maxFailedStarts && s.gaveUp.CompareAndSwap(false, true) {
		fmt.Fprintf(reports, "processes: %d worker processes in a row failed to start (the last: %s); starting no more\n", maxFailedStarts, why)
	}
}

func (s *startRecord) succeed()      { s.inARow.Store(0) }
func (s *startRecord) givenUp() bool { return s.gaveUp.Load() }

// firstToCompute returns the index of the first line of results, from i on,
// that was not rejected, or len(results) when there is none.
func firstToCompute(results []result, i int) int {
	for i < len(results) && results[i].err != nil {
		i++
	}
	return i
}

// failAll fails, for want of a worker process, every line of results from
// the first on that was not rejected already.
func failAll(results []result, first int) {
	for i := first; i < len(results); i++ {
		if r := &results[i]; r.err == nil {
			r.err = fmt.Errorf("fib(%d) not computed: no worker process could be started to compute it", r.line.N)
		}
	}
}
