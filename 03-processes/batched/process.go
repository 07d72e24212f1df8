package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"
)

// workerProgram returns the program to start workers from: this one. On
// Linux, /proc/self/exe is the very file this process runs, even after the
// file at its path has been rebuilt; elsewhere we can only go by the path.
func workerProgram() (string, error) {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe", nil
		}
	}
	return os.Executable()
}

// A worker is a running worker process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	ctx    context.Context         // done once the worker is to die; context.Cause says why
	stop   context.CancelCauseFunc // has exec kill it, and every process in its group
	killed <-chan struct{}         // closed once it has been killed
}

// errLate is why a worker is stopped at its deadline.
var errLate = errors.New("late")

// startWorker starts a worker process from program, and returns it once
// it has said that it is ready. When ctx is done, exec kills it.
func startWorker(ctx context.Context, program string, stderr io.Writer) (*worker, error) {
	ctx, stop := context.WithCancelCause(ctx)
	cmd := exec.CommandContext(ctx, program, "-worker")
	// Cancel kills the worker's process group by its number, the worker's,
	// which another process may take once the worker is reaped; end calls
	// Wait, which reaps it, only once Cancel has run.
	killed := make(chan struct{})
	var stdout io.ReadCloser
	cmd.Cancel = func() error {
		defer close(killed)
		// A process the worker started may hold its output open: exec
		// waits for its stderr no longer than WaitDelay, and we as long
		// for its stdout.
		time.AfterFunc(waitDelay, func() { stdout.Close() })
		return killGroup(cmd.Process)
	}
	cmd.WaitDelay = waitDelay
	cmd.Stderr = stderr
	// A process group of its own keeps the Ctrl-C of a terminal away from
	// the worker: the pool alone decides when it ends (process_*.go).
	cmd.SysProcAttr = workerAttr()
	// The pipes fail only when cmd.Stdin or cmd.Stdout is set already.
	stdin, _ := cmd.StdinPipe()
	stdout, _ = cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		stop(err)
		return nil, err
	}
	w := &worker{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout), ctx: ctx, stop: stop, killed: killed}
	// Starting is not a task: -timeout does not bound it.
	deadline := time.AfterFunc(startupLimit, func() { stop(errLate) })
	text, err := w.stdout.ReadSlice('\n')
	deadline.Stop()
	if err == nil && string(bytes.TrimSpace(text)) == "ready" {
		return w, nil
	}
	w.end(0)
	switch {
	case context.Cause(ctx) == errLate:
		return nil, fmt.Errorf("was not ready after %v", startupLimit)
	case err != nil:
		return nil, errors.New("died (" + cmd.ProcessState.String() + ")")
	}
	return nil, fmt.Errorf("said %.40q, not ready", text)
}

// answer has the worker compute the lines of results from the line in
// hand, next, on, and fills in their answers as they come. It returns ""
// once every line is answered, or else how the worker failed: it died, it
// was stopped at its deadline, or it said something other than the next
// answer. A kill, at the deadline or when ctx is done, ends its output and
// so our wait.
func (w *worker) answer(results []result, next *int, timeout time.Duration) (fault string) {
	// One write, which does not wait: the worker has read every task sent
	// before, and a batch's tasks (maxBatch lines of 14 bytes at most until
	// line ten billion) fit in a pipe, 4 KB on Windows. If it fails, the
	// worker has died, which the reads below find.
	var tasks []byte
	for _, r := range results[*next:] {
		if r.err == nil {
			tasks = strconv.AppendInt(tasks, int64(r.line.Number), 10)
			tasks = strconv.AppendInt(append(tasks, ' '), int64(r.line.N), 10)
			tasks = append(tasks, '\n')
		}
	}
	w.stdin.Write(tasks)
	deadline := time.AfterFunc(timeout, func() { w.stop(errLate) })
	defer deadline.Stop()
	for *next < len(results) {
		// Its silence starts afresh when we have taken in all it said.
		if w.stdout.Buffered() == 0 {
			deadline.Reset(timeout)
		}
		text, err := w.stdout.ReadSlice('\n')
		line, value, ok := parsePair(text)
		switch r := &results[*next]; {
		case err == nil && ok && line == r.line.Number:
			r.text = "fib(" + strconv.Itoa(r.line.N) + ") = " + strconv.Itoa(value) + "\n"
			*next = firstToCompute(results, *next+1)
		case err == nil || err == bufio.ErrBufferFull:
			return "was stopped for a wrong answer"
		case context.Cause(w.ctx) == errLate:
			return fmt.Sprintf("was stopped after %v", timeout)
		default:
			return "died" // Its output has ended.
		}
	}
	return ""
}

// end closes the worker's input, which tells it that no more tasks will
// come, gives it patience to exit, and kills it. It returns once the worker
// has exited and its output has ended, or waitDelay after the kill.
func (w *worker) end(patience time.Duration) {
	w.stdin.Close()
	kill := time.AfterFunc(patience, func() { w.stop(nil) })
	defer kill.Stop()
	io.Copy(io.Discard, w.stdout)
	w.stop(nil)
	<-w.killed
	w.cmd.Wait()
}
