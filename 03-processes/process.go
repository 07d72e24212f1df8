package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"strconv"
	"time"

	"example.com/goinparallel/fib"
)

// This file holds the life of one worker process, as the pool sees it:
// start it, send it tasks, hear what it says, and kill it.

// waitDelay bounds how long the pool waits for a worker's output to end
// once the worker has exited. A process the worker started may hold that
// output open after the worker is gone; chapter 01's WaitDelay is the cure
// for the same hazard.
const waitDelay = time.Second

// A workerProcess is a running worker process.
type workerProcess struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	input    *bufio.Writer  // buffers task lines on their way to stdin
	messages <-chan message // what the worker says; closed once it has exited
	exit     error          // how it ended: read it only after messages is closed
}

// A message is one line of a worker's output: `ready`, when it has
// started, or the answer "LINE VALUE" to the task for input line LINE.
// Any other line is nonsense, and arrives with neither ready nor answer set.
type message struct {
	ready       bool
	answer      bool
	line, value int
}

// startWorker starts a worker process from the program at path, and a
// goroutine that waits for it to exit. That goroutine ends when the process
// has exited and its output has ended, or waitDelay after it exited.
func startWorker(path string, stderr io.Writer) (*workerProcess, error) {
	cmd := exec.Command(path, "-worker")
	cmd.Stderr = stderr
	// A terminal sends Ctrl-C to every process of its foreground process
	// group, and Windows to every process of its console. The pool alone
	// decides when its workers end, so each worker gets a process group of
	// its own, which keeps Ctrl-C away from it (see process_*.go).
	cmd.SysProcAttr = ownProcessGroup()
	cmd.WaitDelay = waitDelay
	// The worker's output goes through a messageWriter, which turns each
	// line into a message. Its buffer holds more messages than a worker
	// can owe us, so the worker's output never waits for the feeder.
	messages := make(chan message, maxSent+2)
	cmd.Stdout = &messageWriter{messages: messages}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &workerProcess{cmd: cmd, stdin: stdin, input: bufio.NewWriter(stdin), messages: messages}
	go func() {
		w.exit = cmd.Wait()
		close(messages)
	}()
	return w, nil
}

// send queues a task line for the worker process; flush writes it. A write
// to a process that has died fails; we ignore that here, because its
// messages channel, closed, tells the feeder.
func (w *workerProcess) send(line fib.Line) {
	w.input.WriteString(strconv.Itoa(line.Number) + " " + strconv.Itoa(line.N) + "\n")
}

func (w *workerProcess) flush() {
	w.input.Flush()
}

// closeInput tells the worker that no more tasks will come: it exits once
// it has answered the ones it has.
func (w *workerProcess) closeInput() {
	w.input.Flush()
	w.stdin.Close()
}

// kill stops the worker process, and every process it started, at once.
// Its messages channel is closed soon after.
func (w *workerProcess) kill() {
	killProcessGroup(w.cmd.Process)
}

// exitStatus says how the worker process ended, once messages is closed:
// "signal: killed", or "exit status 2", say.
func (w *workerProcess) exitStatus() string {
	if w.exit == nil {
		return "exit status 0"
	}
	return w.exit.Error()
}

// A messageWriter is a worker process's standard output: it cuts what the
// worker writes into lines, and sends each on as a message. After a line
// that is nonsense, it sends nothing more, and drops the rest.
type messageWriter struct {
	messages chan<- message
	partial  []byte // the start of a line whose end has not come yet
	broken   bool   // a line was nonsense
}

func (w *messageWriter) Write(p []byte) (int, error) {
	for rest := p; !w.broken && len(rest) > 0; {
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			w.partial = append(w.partial, rest...)
			// No message is this long: a line that goes on is nonsense.
			if len(w.partial) > 64 {
				w.send(w.partial)
			}
			break
		}
		w.send(append(w.partial, rest[:end]...))
		w.partial, rest = w.partial[:0], rest[end+1:]
	}
	return len(p), nil
}

func (w *messageWriter) send(line []byte) {
	var m message
	if text := string(bytes.TrimSpace(line)); text == "ready" {
		m.ready = true
	} else {
		m.line, m.value, m.answer = parsePair(line)
	}
	w.broken = !m.ready && !m.answer
	w.messages <- m
}
