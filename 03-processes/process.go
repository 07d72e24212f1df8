package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strconv"

	"example.com/goinparallel/fib"
)

// This file holds the life of one worker process, as the pool sees it:
// start it, send it tasks, read its answers, and end it, gently or not.

// A workerProcess is a running worker process.
type workerProcess struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	tasks   *bufio.Writer // buffers task lines on their way to stdin
	answers chan answer   // the answers read from stdout; closed when it ends
}

// An answer is one line of a worker's output: fib of the task for input
// line `line` is value. A line that is not an answer arrives as an answer
// with ok false.
type answer struct {
	line, value int
	ok          bool
}

// startWorker starts a worker process from the executable at self, and a
// goroutine that reads its answers. The goroutine ends when the process's
// output ends, which it does when the process exits.
func startWorker(self string, stderr io.Writer) (*workerProcess, error) {
	cmd := exec.Command(self, "-worker")
	cmd.Stderr = stderr
	// A terminal sends Ctrl-C to every process of its foreground process
	// group, and Windows to every process of its console. The pool alone
	// decides when its workers end, so each worker gets a process group of
	// its own, which keeps Ctrl-C away from it (see procattr_*.go).
	cmd.SysProcAttr = ownProcessGroup()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start a worker process: %w", err)
	}
	w := &workerProcess{cmd: cmd, stdin: stdin, tasks: bufio.NewWriter(stdin), answers: make(chan answer, maxSent)}
	go func() {
		defer close(w.answers)
		out := bufio.NewReader(stdout)
		for {
			text, err := out.ReadSlice('\n')
			if err != nil && len(text) == 0 {
				return // The process has exited, or closed its output.
			}
			line, value, ok := parsePair(text)
			w.answers <- answer{line: line, value: value, ok: ok && err == nil}
			if !ok || err != nil {
				return
			}
		}
	}()
	return w, nil
}

// send queues a task line for the worker process; flush writes it. A write
// to a process that has died fails; we ignore that here, because its closed
// output tells the feeder.
func (w *workerProcess) send(line fib.Line) {
	w.tasks.WriteString(strconv.Itoa(line.Number) + " " + strconv.Itoa(line.N) + "\n")
}

func (w *workerProcess) flush() {
	w.tasks.Flush()
}

// finish closes the process's input, which tells it to exit once it has
// answered every task, and waits for it.
func (w *workerProcess) finish() {
	w.stdin.Close()
	w.wait()
}

// kill stops the process at once and waits for it. It returns how the
// process ended.
func (w *workerProcess) kill() error {
	w.cmd.Process.Kill()
	return w.wait()
}

// wait waits until the process has exited and its output is read to the
// end, and returns how it ended.
func (w *workerProcess) wait() error {
	for range w.answers { // Let the reading goroutine finish.
	}
	if err := w.cmd.Wait(); err != nil {
		return err
	}
	return fmt.Errorf("exit status 0")
}
