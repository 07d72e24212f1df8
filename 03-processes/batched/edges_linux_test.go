package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"example.com/goinparallel/fib"
)

// These tests try, on Linux, where they can signal one process, the edges
// of the deadline and what a person may do with a worker at a terminal.

// A worker process whose role, in roleVar, is "quiet worker" runs
// quietWorker. It is set up here, before TestMain runs, since it needs
// SIGUSR1, which Windows does not have.
func init() {
	if os.Getenv(roleVar) == "quiet worker" {
		quietWorker()
	}
}

// quietWorker is a worker that starts when the test sends it SIGUSR1, and
// not before: it makes the file PID.waiting in the directory of tellVar,
// and waits. Then it says it is ready, answers its first task, and falls
// silent for good, if it has another task; at the end of its input, it
// exits. A worker may take a minute to start, so the test has all the time
// it needs to send the signal, and knows that the worker spoke last after
// it did.
func quietWorker() {
	told := make(chan os.Signal, 1)
	signal.Notify(told, syscall.SIGUSR1)
	os.WriteFile(filepath.Join(os.Getenv(tellVar), strconv.Itoa(os.Getpid())+".waiting"), nil, 0o644)
	<-told
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	task, _ := in.ReadString('\n')
	line, n, ok := parsePair([]byte(task))
	if !ok {
		os.Exit(2)
	}
	value, _ := fib.Fib(n)
	fmt.Printf("%d %d\n", line, value)
	if _, err := in.ReadString('\n'); err == io.EOF {
		os.Exit(0)
	}
	time.Sleep(time.Hour)
}

// TestDeadlineIsNeverEarly: a worker that holds a task is stopped after
// -timeout of silence, at least. Each worker here answers a line at once
// when the test lets it, and then says nothing about the next line, until
// the pool stops it and tries the line in a new worker. The test measures
// from before it lets the worker speak to when the pool reports the stop:
// more than the silence the pool saw, never less, however busy the
// machine. So a deadline that counts from before the worker spoke shows,
// three times, and a pool that is right never fails.
func TestDeadlineIsNeverEarly(t *testing.T) {
	slow(t)
	t.Setenv(roleVar, "quiet worker")
	dir := tellDir(t)
	const timeout = time.Second
	var reports timedWriter
	done := goPool(t, &pool{workers: 1, timeout: timeout, stderr: &reports}, strings.NewReader("1\n2\n3\n4\n"))
	var workers []int
	var spoke []time.Time // when each worker was let speak
	for i := range 4 {
		what := "the first worker starts"
		if i > 0 {
			what = fmt.Sprintf("a new worker starts, after worker %d fell silent over line %d: a silent worker must be stopped after -timeout", workers[i-1], i+1)
		}
		var pid int
		waitFor(t, what, func() bool {
			files, _ := filepath.Glob(filepath.Join(dir, "*.waiting"))
			for _, f := range files {
				pid, _ = strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".waiting"))
				if !slices.Contains(workers, pid) {
					return true
				}
			}
			return false
		})
		workers = append(workers, pid)
		spoke = append(spoke, time.Now())
		syscall.Kill(pid, syscall.SIGUSR1)
	}
	got := poolOutcome(t, done)
	stopped := func(line, n int) string {
		return fmt.Sprintf("processes: line %d: the worker computing fib(%d) was stopped after %v; trying a new worker\n", line, n, timeout)
	}
	want := outcome{
		Stdout: "fib(1) = 1\nfib(2) = 1\nfib(3) = 2\nfib(4) = 3\n",
		Stderr: stopped(2, 2) + stopped(3, 3) + stopped(4, 4),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	for i, stop := range reports.times() {
		if silence := stop.Sub(spoke[i]); silence < timeout {
			t.Errorf("line %d: worker %d was stopped %v after it answered line %d, less than -timeout %v: the deadline came early", i+2, workers[i], silence.Round(time.Millisecond), i+1, timeout)
		}
	}
}

// A timedWriter keeps the time of each write, as a pool's stderr.
type timedWriter struct {
	mu     sync.Mutex
	writes []time.Time
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, time.Now())
	return len(p), nil
}

// times returns the time of each write so far.
func (w *timedWriter) times() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.writes)
}

// TestWorkerEndsAtCtrlC: README invites a reader to be the pool, and run a
// worker at a terminal, type a task, and see its answer. Ctrl-C, which a
// terminal sends to its foreground process group, must end that worker as
// it ends any program: at once, killed by SIGINT, with nothing more said,
// though its input is still open. (A worker that the pool starts is in a
// process group of its own, which a terminal's Ctrl-C does not reach.)
func TestWorkerEndsAtCtrlC(t *testing.T) {
	slow(t)
	if signal.Ignored(syscall.SIGINT) {
		// An ignored signal stays ignored in the programs we start.
		t.Skip("SIGINT is ignored here, and so in the worker")
	}
	t.Setenv(tellVar, "") // The worker starts as the program does, from main.
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	cmd, stdin, stderr := startProgram(t, self(t), outW, "-worker")
	outW.Close()
	defer stdin.Close()
	outR.SetReadDeadline(time.Now().Add(limit(t))) // Only a hang makes a read wait for so long.
	out := bufio.NewReader(outR)
	expect := func(want string) {
		t.Helper()
		if got, err := out.ReadString('\n'); got != want {
			t.Fatalf("the worker said %q (%v), want %q", got, err, want)
		}
	}
	expect("ready\n")
	fmt.Fprintln(stdin, "1 25")
	expect("1 75025\n")
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	if wait := limit(t); !exited(cmd, wait) {
		t.Fatalf("the worker still runs %v after Ctrl-C, with its input open: it ignores Ctrl-C", wait)
	}
	cmd.Wait()
	if status := cmd.ProcessState.Sys().(syscall.WaitStatus); !status.Signaled() || status.Signal() != syscall.SIGINT {
		t.Errorf("the worker ended with %v, want it killed by Ctrl-C (signal: interrupt), as any program is", cmd.ProcessState)
	}
	if said := contents(t, stderr); said != "" {
		t.Errorf("the worker said on stderr %q, want nothing", said)
	}
	if rest, _ := io.ReadAll(out); len(rest) > 0 {
		t.Errorf("the worker wrote %q after Ctrl-C, want nothing", rest)
	}
}
