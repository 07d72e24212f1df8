// Package lines holds what chapters 02 and 03 share, so that the two can
// differ only in their workers: the input format (one number per line), the
// tasks and results that pass between reader, workers and printer, and the
// printer that puts results back into input order.
package lines

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"goinparallel/fib"
)

// A Task is one line of input to answer.
type Task struct {
	Seq  int // its place among the lines to answer, from 0: the output order
	Line int // its line number in the input, from 1
	N    int // the number on it
}

// A Result answers a Task: fib(N), or the error that rejected the line or
// failed the task.
type Result struct {
	Task
	Value int
	Err   error
}

// MaxWorkers is the most workers a pool may have: far more than any machine
// has CPUs, and few enough that asking for too many is a clear error rather
// than a program that runs out of memory.
const MaxWorkers = 256

// MaxLine is the longest line, in bytes, that a Reader keeps. No number
// that fib accepts comes anywhere near it; a longer line is rejected without
// being held in memory.
const MaxLine = 1024

// A Reader reads the chapters' input: one decimal whole number per line.
// Blank lines are skipped; spaces and tabs around a number, and the carriage
// return of a Windows line ending, are ignored; a line `exit` ends the input
// like the end of the file does.
type Reader struct {
	in    *bufio.Reader
	line  int   // the number of the last line read
	seq   int   // the Seq of the next task
	err   error // a read error to return after the line that came with it
	ended bool
}

// NewReader returns a Reader that reads from in.
func NewReader(in io.Reader) *Reader {
	return &Reader{in: bufio.NewReader(in)}
}

// Next returns the next line to answer as a Task. For a line that is not a
// number fib accepts, it returns the Task with a non-nil error that names
// the line; the caller reports it and goes on. At the end of the input it
// returns io.EOF; after a failed read, the read error, with the Task it
// belongs to, and io.EOF from then on.
func (r *Reader) Next() (Task, error) {
	for !r.ended {
		text, size, err := r.readLine()
		if err != nil {
			r.ended = true
			if err == io.EOF {
				break
			}
			r.line++ // The line we failed to read.
			return r.task(), fmt.Errorf("reading input: %w", err)
		}
		if r.line == 1 {
			// Some Windows editors and PowerShell start a UTF-8 file
			// with a byte order mark.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		s := strings.TrimSpace(text) // TrimSpace also drops the \r of "\r\n".
		switch {
		case size > MaxLine:
			return r.task(), fmt.Errorf("%s is too long to be a number", fib.QuotePrefix(text, size))
		case s == "":
			continue
		case s == "exit":
			r.ended = true
			return Task{}, io.EOF
		}
		t := r.task()
		n, err := fib.Parse(s)
		if err != nil {
			return t, err
		}
		t.N = n
		return t, nil
	}
	return Task{}, io.EOF
}

// task returns a Task for the line just read, with the next Seq.
func (r *Reader) task() Task {
	t := Task{Seq: r.seq, Line: r.line}
	r.seq++
	return t
}

// readLine reads the next line and returns its first MaxLine+1 bytes at
// most, without the line ending, and its full size. A last line without a
// newline is a line too; a read error that comes with part of a line is
// returned by the following call.
func (r *Reader) readLine() (text string, size int, err error) {
	if r.err != nil {
		return "", 0, r.err
	}
	var kept []byte
	for {
		chunk, err := r.in.ReadSlice('\n')
		size += len(chunk)
		if room := MaxLine + 1 - len(kept); room > 0 {
			kept = append(kept, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // The line goes on; ReadSlice's buffer is full.
		}
		if err != nil && size == 0 {
			return "", 0, err
		}
		r.err = err // nil, or an error to return on the next call.
		if bytes.HasSuffix(chunk, []byte("\n")) {
			size-- // The newline ends the line but is not part of it.
			kept = bytes.TrimSuffix(kept, []byte("\n"))
		}
		r.line++
		return string(kept), size, nil
	}
}

// Dispatch reads every line of in and hands it on: a task to tasks, for a
// worker, and a rejected line straight to results, for the printer, so that
// its message comes out in its place among the results. Before it hands on a
// line, it puts a token into free, which waits while free is full: the
// printer takes a token out for every line it prints, so free bounds how
// many lines are between the reader and the printer. Dispatch returns at the
// end of the input; closing tasks is the caller's part.
func Dispatch(in io.Reader, tasks chan<- Task, results chan<- Result, free chan<- struct{}) {
	input := NewReader(in)
	for {
		task, err := input.Next()
		if err == io.EOF {
			return
		}
		free <- struct{}{}
		if err != nil {
			results <- Result{Task: task, Err: err}
			continue
		}
		tasks <- task
	}
}

// Open opens the input the chapters' programs read: the one file named in
// args, or stdin when args is empty.
func Open(args []string, stdin io.Reader) (io.ReadCloser, error) {
	switch len(args) {
	case 0:
		return io.NopCloser(stdin), nil
	case 1:
		f, err := os.Open(args[0])
		if err != nil {
			return nil, err
		}
		// Opening a directory works; reading it fails. Say so now.
		if info, err := f.Stat(); err == nil && info.IsDir() {
			f.Close()
			return nil, fmt.Errorf("%s is a directory, not a file", args[0])
		}
		return f, nil
	default:
		return nil, fmt.Errorf("%d files given, want at most one", len(args))
	}
}

// Message returns the line that reports a failed Result on stderr.
func Message(r Result) string {
	return fmt.Sprintf("line %d: %v\n", r.Line, r.Err)
}

// Print writes each Result as soon as it and every Result before it (by Seq)
// have arrived, until results is closed: fib(N) = V lines on stdout, failures
// on stderr. Results arrive in any order, because workers finish in any
// order; holding the early arrivals back until their turn makes the output
// the same on every run. After writing each Result it calls printed, which
// lets the caller bound how many tasks are waiting. Print reports whether
// every Result was a success.
func Print(stdout, stderr io.Writer, results <-chan Result, printed func()) (ok bool) {
	// Writing stdout through a buffer saves a system call per line; we flush
	// whenever no result is waiting, so a user typing numbers sees each
	// answer at once, and before writing stderr, so that the two streams
	// appear in a terminal in input order.
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	ok = true
	waiting := map[int]Result{} // results that arrived before their turn, by Seq
	next := 0                   // the Seq to print next
	for {
		r, open := receive(results, out)
		if !open {
			break
		}
		waiting[r.Seq] = r
		for r, found := waiting[next]; found; r, found = waiting[next] {
			delete(waiting, next)
			next++
			if r.Err != nil {
				ok = false
				out.Flush()
				io.WriteString(stderr, Message(r))
			} else {
				fmt.Fprintf(out, "fib(%d) = %d\n", r.N, r.Value)
			}
			printed()
		}
	}
	if len(waiting) > 0 {
		// A gap in Seq means a task was lost: a bug, and never silent.
		out.Flush()
		fmt.Fprintf(stderr, "internal error: %d results were never printed: no result came for task %d\n", len(waiting), next)
		return false
	}
	return ok
}

// receive returns the next result, flushing out first if none is waiting.
func receive(results <-chan Result, out *bufio.Writer) (Result, bool) {
	select {
	case r, open := <-results:
		return r, open
	default:
		out.Flush()
		r, open := <-results
		return r, open
	}
}
