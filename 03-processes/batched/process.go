package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"example.com/goinparallel/fib"
)

// This file holds the life of one worker process, as the pool sees it:
// start it, send it tasks, hear what it says, and kill it.

// waitDelay bounds how long the pool waits for a worker's output to end
// once it has killed the worker. A process the worker started may hold that
// output open after the worker is gone; chapter 01's WaitDelay is the cure
// for the same hazard.
const waitDelay = time.Second

// workerProgram returns the program to start workers from: this one, as
// Python's multiprocessing, with its spawn start method, starts a new
// interpreter on the main module. On Linux, /proc/self/exe is the very file
// this process runs, even after the file at its path has been rebuilt or
// replaced. Elsewhere we can only go by the path, and a worker started
// after the file changed runs the new file.
func workerProgram() (string, error) {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe", nil
		}
	}
	return os.Executable()
}

// A workerProcess is a running worker process.
type workerProcess struct {
	cmd      *exec.Cmd
	kill     context.CancelFunc // stops the process, and every process it started, at once; messages closes no more than waitDelay later
	tasks    chan<- []byte      // task lines, for the goroutine that writes them to stdin
	messages <-chan []message   // what the worker says, as it comes; closed once it has exited
	exit     error              // how it ended: read it only after messages is closed
}

// A message is one line of a worker's output: `ready`, when it has
// started, or the answer "LINE VALUE" to the task for input line LINE.
// Any other line is nonsense, and arrives with neither ready nor answer set.
type message struct {
	ready       bool
	answer      bool
	line, value int
}

// startWorker starts a worker process from the program at path, and two
// goroutines: one writes its tasks, and ends when the feeder closes its
// input (closeInput); the other reads what it says, and ends when the
// process has exited and its output has ended, or waitDelay after it was
// killed.
func startWorker(path string, stderr io.Writer) (*workerProcess, error) {
	// Cancelling ctx kills the worker's process group (kill), and starts
	// the one wait of waitDelay for its output: exec's for the pipe of
	// stderr, and ours for stdout, below.
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, "-worker")
	var stdout io.ReadCloser
	cmd.Cancel = func() error {
		killProcessGroup(cmd.Process)
		// A process the worker started may hold its output open after
		// the worker is gone: then we close it ourselves.
		time.AfterFunc(waitDelay, func() { stdout.Close() })
		return nil
	}
	errors := &stderrLines{to: stderr}
	cmd.Stderr = errors
	cmd.WaitDelay = waitDelay
	// A terminal sends Ctrl-C to every process of its foreground process
	// group, and Windows to every process of its console. The pool alone
	// decides when its workers end, so each worker gets a process group of
	// its own, which keeps Ctrl-C away from it (see process_*.go).
	cmd.SysProcAttr = ownProcessGroup()
	// The pipes fail only when cmd.Stdin or cmd.Stdout is set already.
	stdin, _ := cmd.StdinPipe()
	stdout, _ = cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		kill()
		return nil, err
	}
	// The buffer holds more messages than a worker can owe us, so the
	// goroutine never waits for the feeder.
	messages := make(chan []message, maxHeld*maxBatch+2)
	// Task lines go to stdin through a goroutine of their own. A write to a
	// pipe waits while the pipe is full, which it stays when the worker is
	// stuck and reads nothing; the feeder must not wait with it, but watch
	// its clock, and Ctrl-C. A feeder sends no more batches than maxHeld
	// before they are answered, so it never waits for room in tasks. The
	// goroutine ends when the feeder closes tasks; once the worker is
	// dead, or killed, each write fails at once.
	tasks := make(chan []byte, maxHeld)
	go func() {
		for lines := range tasks {
			stdin.Write(lines) // If this fails, the worker has died: its messages tell the feeder.
		}
		stdin.Close()
	}()
	w := &workerProcess{cmd: cmd, kill: kill, tasks: tasks, messages: messages}
	go func() {
		defer close(messages)
		readMessages(stdout, messages)
		w.exit = cmd.Wait()
		kill() // Only to free ctx: the process has been waited for, and exec calls Cancel no more.
		errors.end()
	}()
	return w, nil
}

// maxStderrLines is how many lines of a worker's standard error the pool
// passes on. A worker says why it stops in one line; a Go runtime that
// crashes, as when the system has no thread left for it, says it in three,
// then prints hundreds of lines of stacks that nobody using the pool needs.
const maxStderrLines = 10

// stderrLines passes a worker's standard error on to the pool's, whole
// lines at a time, so that a line of the pool's never lands in the middle
// of one of the worker's; and no more than maxStderrLines of them.
type stderrLines struct {
	to      io.Writer
	partial []byte // the start of a line whose end has not come yet
	lines   int    // how many lines the worker has written
}

func (s *stderrLines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		end := bytes.IndexByte(p, '\n')
		if end < 0 {
			if len(s.partial) < fib.MaxLine { // A line without end is cut, not kept whole.
				s.partial = append(s.partial, p[:min(len(p), fib.MaxLine-len(s.partial))]...)
			}
			break
		}
		line := append(s.partial, p[:end+1]...)
		s.partial, p = nil, p[end+1:]
		s.lines++
		switch {
		case s.lines <= maxStderrLines:
			s.to.Write(line)
		case s.lines == maxStderrLines+1:
			io.WriteString(s.to, "processes: (the rest of a worker's standard error is not shown)\n")
		}
	}
	return n, nil // A report we cannot write must not kill the worker.
}

// end passes on a last line that the worker did not end with a newline.
func (s *stderrLines) end() {
	if len(s.partial) > 0 {
		s.Write([]byte("\n"))
	}
}

// readMessages sends on the lines that a worker writes, as messages, until
// its output ends or a line is nonsense. It sends them as they come: all
// the lines its buffer holds, together (a line cut in two by the end of
// the buffer, with its end), so that a batch of answers costs the feeder
// one receive, not one per line.
func readMessages(stdout io.Reader, messages chan<- []message) {
	out := bufio.NewReader(stdout)
	for {
		var ms []message
		for len(ms) == 0 || out.Buffered() > 0 {
			text, err := out.ReadSlice('\n')
			if err != nil && len(text) == 0 {
				if len(ms) > 0 {
					messages <- ms
				}
				return // The process has exited, or closed its output.
			}
			var m message
			if string(bytes.TrimSpace(text)) == "ready" {
				m.ready = true
			} else {
				m.line, m.value, m.answer = parsePair(text)
			}
			m.answer = m.answer && err == nil // A line cut short is nonsense too.
			ms = append(ms, m)
			if !m.ready && !m.answer {
				messages <- ms
				return
			}
		}
		messages <- ms
	}
}

// send sends the worker process the lines of results that were not
// rejected, as tasks, to be written in one write.
func (w *workerProcess) send(results []result) {
	var lines []byte
	for _, r := range results {
		if r.err == nil {
			lines = strconv.AppendInt(lines, int64(r.line.Number), 10)
			lines = append(lines, ' ')
			lines = strconv.AppendInt(lines, int64(r.line.N), 10)
			lines = append(lines, '\n')
		}
	}
	w.tasks <- lines
}

// closeInput tells the worker process that no more tasks will come: its
// input closes once the tasks sent are written, and it exits once it has
// answered them. The feeder calls it once for each worker, when it has no
// more tasks for it, or before it lets the worker go.
func (w *workerProcess) closeInput() {
	close(w.tasks)
}

// exitStatus says how the worker process ended, once messages is closed:
// "signal: killed", or "exit status 2", say.
func (w *workerProcess) exitStatus() string {
	if w.exit == nil {
		return "exit status 0"
	}
	return w.exit.Error()
}
