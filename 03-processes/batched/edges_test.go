package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/goinparallel/fib"
)

// These tests try limits and forms at their edges: the smallest -timeout,
// a worker's start-up under it, and the separators of the protocol
// between the pool and its workers.

// TestStartUpIsNotATask: starting a worker is not a task, so -timeout does
// not bound it. Under the smallest -timeout, 1ms, far less than a worker
// process takes to start, every worker starts, one at a time, and none is
// stopped while it starts, which the pool would count as a failed start:
// after 3 in a row, it would start no more. The input stays open, and
// empty, until every worker has said it is ready: a worker that waits for
// a task owes nothing, whereas a task under -timeout 1ms may be late on a
// busy machine, and the worker stopped for it, rightly.
func TestStartUpIsNotATask(t *testing.T) {
	const workers = 8
	dir := tellDir(t)
	in, typing := pipe(t)
	var stdout, stderr lockedWriter
	exited, _ := goRun(t, []string{"-workers", strconv.Itoa(workers), "-timeout", "1ms"}, in, &stdout, &stderr)
	waitFor(t, fmt.Sprintf("%d workers say they are ready, or the pool reports a fault", workers), func() bool {
		return len(readyWorkers(dir)) == workers || stderr.String() != ""
	})
	if reports := stderr.String(); reports != "" {
		t.Fatalf("under -timeout 1ms, before any line, the pool reported:\n%s(a worker's start-up was timed as a task)", reports)
	}
	typing.Close()
	got := outcome{Status: exitStatus(t, exited), Stdout: stdout.String(), Stderr: stderr.String()}
	if diff := cmp.Diff(outcome{}, got); diff != "" {
		t.Errorf("with no line to answer (-want +got):\n%s", diff)
	}
	if started := readyWorkers(dir); len(started) != workers {
		t.Errorf("%d worker processes said they were ready, want %d: workers were stopped while they started, and replaced", len(started), workers)
	}
}

// readyWorkers returns the worker processes that have said they are ready,
// of those that tell what they do in dir (see tellVar).
func readyWorkers(dir string) []int {
	var pids []int
	files, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	for _, out := range files {
		if written, _ := os.ReadFile(out); strings.HasPrefix(string(written), "ready\n") {
			pid, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(out), ".out"))
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestSmallestTimeout: the usage message asks for a -timeout of 1ms or
// more. 1ms is taken, and the pool runs; a nanosecond less is a usage
// error, which says what was wrong, with exit status 2.
func TestSmallestTimeout(t *testing.T) {
	const tooShort = "processes: -timeout 999.999µs: want 1ms or more, such as 30s or 2m\n"
	tests := []struct {
		timeout string
		want    outcome
	}{
		{"1ms", outcome{Stdout: "", Stderr: `line 1: "x" is not a whole number` + "\n", Status: 1}},
		{"1000000ns", outcome{Stdout: "", Stderr: `line 1: "x" is not a whole number` + "\n", Status: 1}},
		{"999999ns", outcome{Stderr: tooShort, Status: 2}},
		{"0.999999ms", outcome{Stderr: tooShort, Status: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.timeout, func(t *testing.T) {
			// A line the reader rejects reaches no worker, so no task can
			// be late, and the pool has something to say.
			var stdout, stderr lockedWriter
			exited, _ := goRun(t, []string{"-workers", "1", "-timeout", tt.timeout}, strings.NewReader("x\n"), &stdout, &stderr)
			got := outcome{Status: exitStatus(t, exited), Stdout: stdout.String(), Stderr: stderr.String()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("-timeout %s, at the edge of the 1ms or more that the usage asks for (-want +got):\n%s", tt.timeout, diff)
			}
		})
	}
}

// TestWorkerProtocolForms gives a worker tasks in the forms the protocol
// takes (see worker.go) and some it does not. The worker answers
// "LINE VALUE": the line, one space, the value, a newline, whatever the
// form of the task. Any spaces, tabs and line ending will do around the two
// numbers of a task, so that a person can type tasks at a terminal;
// anything else is a bug in the pool, and ends the worker with status 2.
func TestWorkerProtocolForms(t *testing.T) {
	bad := func(task string) string {
		return fmt.Sprintf("processes -worker: bad task line %q: want LINE N\n", task)
	}
	tests := []struct {
		name, tasks string
		want        outcome
	}{
		{"one space, a newline", "1 25\n", outcome{Stdout: "ready\n1 75025\n"}},
		{"a tab", "1\t25\n", outcome{Stdout: "ready\n1 75025\n"}},
		{"two spaces", "1  25\n", outcome{Stdout: "ready\n1 75025\n"}},
		{"spaces and tabs around", " \t1 \t 25\t \n", outcome{Stdout: "ready\n1 75025\n"}},
		{"a Windows line ending", "1 25\r\n", outcome{Stdout: "ready\n1 75025\n"}},
		{"no newline at the end of the input", "1 25", outcome{Stdout: "ready\n1 75025\n"}},
		{"several, answered in order", "3 10\n1 25\n2 0\n", outcome{Stdout: "ready\n3 55\n1 75025\n2 0\n"}},
		{"no input", "", outcome{Stdout: "ready\n"}},
		{"a number missing", "1\n", outcome{Stdout: "ready\n", Stderr: bad("1"), Status: 2}},
		{"an empty line", "\n", outcome{Stdout: "ready\n", Stderr: bad(""), Status: 2}},
		{"three numbers", "1 2 3\n", outcome{Stdout: "ready\n", Stderr: bad("1 2 3"), Status: 2}},
		{"a comma", "1,25\n", outcome{Stdout: "ready\n", Stderr: bad("1,25"), Status: 2}},
		{"a line that is not a number", "x 25\n", outcome{Stdout: "ready\n", Stderr: bad("x 25"), Status: 2}},
		{"an n that is not a number", "1 x\n", outcome{Stdout: "ready\n", Stderr: bad("1 x"), Status: 2}},
		{"an n below 0", "1 -1\n", outcome{Stdout: "ready\n", Stderr: bad("1 -1"), Status: 2}},
		{"an n above fib.Max", fmt.Sprintf("1 %d\n", fib.Max+1), outcome{Stdout: "ready\n", Stderr: bad(fmt.Sprintf("1 %d", fib.Max+1)), Status: 2}},
		{"a task cut in two lines", "1\n25\n", outcome{Stdout: "ready\n", Stderr: bad("1"), Status: 2}},
		{"after a good task", "1 25\r\n2 x\r\n", outcome{Stdout: "ready\n1 75025\n", Stderr: bad("2 x"), Status: 2}},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		status := serve(strings.NewReader(tt.tasks), &stdout, &stderr)
		if diff := cmp.Diff(tt.want, outcome{stdout.String(), stderr.String(), status}); diff != "" {
			t.Errorf("%s: tasks %q: a worker answers LINE, one space, VALUE, a newline, or stops with status 2 at a line that is not LINE N (-want +got):\n%s", tt.name, tt.tasks, diff)
		}
	}
}

// TestPoolSideOfTheProtocol: the pool writes each task as the line, one
// space, n and a newline, and no task for a line the reader rejected. It
// reads the answers with any spaces, tabs and line ending around the two
// numbers. Output that ends before the last answer is a death; anything
// but the answer to the line in hand is a wrong answer.
func TestPoolSideOfTheProtocol(t *testing.T) {
	const slowest = "fib(45) = 1134903170\n"
	tests := []struct {
		said  string
		fault string
		texts []string
	}{
		{"1 13\n13 1134903170\n", "", []string{"fib(7) = 13\n", "", slowest}},
		{" 1\t13\r\n 13  1134903170 \r\n", "", []string{"fib(7) = 13\n", "", slowest}},
		{"1 13\n13 1134903170", "died", []string{"fib(7) = 13\n", "", ""}},
		{"1 13\n", "died", []string{"fib(7) = 13\n", "", ""}},
		{"1,13\n13 1134903170\n", "was stopped for a wrong answer", []string{"", "", ""}},
		{"1 13 x\n", "was stopped for a wrong answer", []string{"", "", ""}},
		{"\n1 13\n", "was stopped for a wrong answer", []string{"", "", ""}},
		{"13 1134903170\n1 13\n", "was stopped for a wrong answer", []string{"", "", ""}},
		{"ready\n1 13\n", "was stopped for a wrong answer", []string{"", "", ""}},
	}
	for _, tt := range tests {
		results := []result{
			{line: fib.Line{Number: 1, N: 7}},
			{line: fib.Line{Number: 2}, err: errors.New("rejected")},
			{line: fib.Line{Number: 13, N: 45}},
		}
		var tasks strings.Builder
		ctx, stop := context.WithCancelCause(context.Background())
		w := &worker{stdin: nopCloser{&tasks}, stdout: bufio.NewReader(strings.NewReader(tt.said)), ctx: ctx, stop: stop}
		next := 0
		fault := w.answer(results, &next, time.Hour)
		stop(nil)
		if got, want := tasks.String(), "1 7\n13 45\n"; got != want {
			t.Fatalf("the pool wrote the tasks %q, want %q", got, want)
		}
		var texts []string
		for _, r := range results {
			texts = append(texts, r.text)
		}
		if fault != tt.fault || !slices.Equal(texts, tt.texts) {
			t.Errorf("the worker said %q: got fault %q and answers %q, want %q and %q", tt.said, fault, texts, tt.fault, tt.texts)
		}
	}
}

// nopCloser is a worker's standard input in a test.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestBatchOfRejectedLines: a batch whose every line was rejected has
// nothing for a worker: the feeder leaves it as it is, and starts none.
// (The reader sends no such batch; the feeder does not count on it.)
func TestBatchOfRejectedLines(t *testing.T) {
	f := &feeder{pool: &pool{program: filepath.Join(t.TempDir(), "no-such-program")}, ctx: context.Background(), starts: &startRecord{}, reports: io.Discard}
	results := []result{{line: fib.Line{Number: 1}, err: errors.New("rejected")}, {line: fib.Line{Number: 2}, err: errors.New("rejected")}}
	f.compute(results)
	if f.starts.inARow.Load() != 0 || results[0].err.Error() != "rejected" || results[1].err.Error() != "rejected" {
		t.Errorf("a batch of rejected lines: %d starts tried, results %v; want none tried, the lines as they were", f.starts.inARow.Load(), results)
	}
}
