// Subprocess runs another program, the fib program beside it, in the ways
// that os/exec offers, and then shows the three ways such a call goes wrong.
// It is the Go counterpart of the Python tutorial's invoke_another_script.py.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	// The report goes through a buffer, and the one write that can fail is
	// the flush at the end, which we check: output that cannot be written
	// (a full disk, say) is an error like any other.
	out := bufio.NewWriter(os.Stdout)
	err := run(out)
	if flushErr := out.Flush(); err == nil && flushErr != nil {
		err = fmt.Errorf("writing the report: %w", flushErr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "subprocess: %v\n", err)
		os.Exit(1)
	}
}

// run builds the fib program, makes seven calls of it or of a program that
// does not exist, and reports each on w.
func run(w io.Writer) error {
	// Python runs fibonacci.py from source every time. Go compiles, so we
	// build the fib program once, into a directory of our own that we remove
	// at the end, and then run the binary: `go run` on every call would pay
	// for the go command each time.
	dir, err := os.MkdirTemp("", "fib-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fib, err := buildFib(dir)
	if err != nil {
		return err
	}

	// The counterpart of subprocess.run(..., capture_output=True): Output
	// starts the program, collects its standard output and waits for it.
	section(w, "Run fib with a command-line argument and collect its output",
		`out, err := exec.Command(fib, "25").Output()`)
	out, err := exec.Command(fib, "25").Output()
	report(w, string(out), err)

	// The counterpart of run(..., input="25"): whatever reader we put in
	// cmd.Stdin becomes the child's standard input.
	section(w, "Pass the argument on standard input",
		`cmd := exec.Command(fib)`,
		`cmd.Stdin = strings.NewReader("25")`,
		`out, err = cmd.Output()`)
	cmd := exec.Command(fib)
	cmd.Stdin = strings.NewReader("25")
	out, err = cmd.Output()
	report(w, string(out), err)

	// The counterpart of Popen(...).communicate(): Start and Wait with pipes
	// of our own, written in communicate below.
	section(w, "Start it with pipes, then wait: the counterpart of Popen",
		`text, err := communicate(exec.Command(fib, "25"), "")`)
	text, err := communicate(exec.Command(fib, "25"), "")
	report(w, text, err)

	section(w, "Start it with pipes and write the argument to its stdin",
		`text, err = communicate(exec.Command(fib), "25")`)
	text, err = communicate(exec.Command(fib), "25")
	report(w, text, err)

	// Now the three ways a call goes wrong in real programs. First, the
	// child runs but fails: Output returns an *exec.ExitError, which holds
	// the exit code and, because Output captured it, the child's stderr.
	section(w, "When the child fails: *exec.ExitError",
		`_, err = exec.Command(fib, "abc").Output()`)
	_, err = exec.Command(fib, "abc").Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		fmt.Fprintf(w, "exit code: %d\n", exitErr.ExitCode())
		fmt.Fprintf(w, "stderr: %s", exitErr.Stderr)
	}

	// Second, there is no such program: the lookup in PATH fails before
	// anything starts.
	section(w, "When there is no such program: exec.ErrNotFound",
		`_, err = exec.Command("no-such-program").Output()`)
	_, err = exec.Command("no-such-program").Output()
	fmt.Fprintf(w, "errors.Is(err, exec.ErrNotFound): %v\n", errors.Is(err, exec.ErrNotFound))

	// Third, the child runs too long. fib(45) takes seconds; the context
	// kills the child after 100 ms. WaitDelay bounds how long Wait then
	// waits for the child's output pipes to close, in case the child left a
	// grandchild behind that still holds them.
	section(w, "When the child runs too long: a context with a timeout",
		`ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)`,
		`defer cancel()`,
		`cmd = exec.CommandContext(ctx, fib, "45")`,
		`cmd.WaitDelay = time.Second`,
		`_, err = cmd.Output()`)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	cmd = exec.CommandContext(ctx, fib, "45")
	cmd.WaitDelay = time.Second
	_, err = cmd.Output()
	fmt.Fprintf(w, "err: %v\n", err)
	fmt.Fprintf(w, "ctx.Err(): %v\n", ctx.Err())
	return nil
}

// section prints a heading and the Go statements that the next lines of
// run execute. A test checks that the statements are printed exactly as
// they stand in this file, right after the call.
func section(w io.Writer, heading string, statements ...string) {
	fmt.Fprintf(w, "\n--- %s\n", heading)
	for _, s := range statements {
		fmt.Fprintf(w, "> %s\n", s)
	}
}

// report prints what a run returned.
func report(w io.Writer, stdout string, err error) {
	if err != nil {
		fmt.Fprintf(w, "err: %v\n", err)
		return
	}
	fmt.Fprintf(w, "stdout: %s", stdout)
}

// communicate is the Go counterpart of Popen(...).communicate(input): it
// starts cmd with pipes to its stdin and stdout, sends stderr into the same
// pipe (stderr=STDOUT), writes input to the child and closes its stdin, and
// returns everything the child printed once the child has exited.
func communicate(cmd *exec.Cmd, input string) (string, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", err
	}
	// A child may print before it has read all its input. If we wrote all
	// the input before reading, both sides could block on full pipes, so a
	// goroutine writes while we read. It ends when the input is written or
	// when Wait closes the pipe, and we wait for it before returning.
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(stdin, input)
		stdin.Close() // The child sees end of input.
		written <- err
	}()
	out, readErr := io.ReadAll(stdout)
	// Wait must come after the last read: it closes the pipes.
	waitErr := cmd.Wait()
	writeErr := <-written
	// A child may exit without reading all its input. Like Python's
	// communicate, we do not call that an error: Wait reports whether the
	// child succeeded.
	if stdinGone(writeErr) {
		writeErr = nil
	}
	return string(out), errors.Join(readErr, waitErr, writeErr)
}

// stdinGone reports whether err, from writing to the child's stdin, only
// says that nobody reads it any more. It is the rule os/exec applies when it
// copies cmd.Stdin (skipStdinCopyError in exec_unix.go and exec_windows.go):
// a broken pipe is EPIPE on Unix, and ERROR_BROKEN_PIPE or ERROR_NO_DATA on
// Windows, which errors.Is(err, syscall.EPIPE) does not match. We add
// os.ErrClosed, which os/exec never sees because it closes its pipe itself:
// we see it when Wait, after the child has exited, closes the pipe under a
// write that is still waiting.
func stdinGone(err error) bool {
	const errorBrokenPipe, errorNoData = syscall.Errno(109), syscall.Errno(232) // Windows error codes
	var errno syscall.Errno
	switch {
	case errors.Is(err, syscall.EPIPE), errors.Is(err, os.ErrClosed):
		return true
	case runtime.GOOS == "windows" && errors.As(err, &errno):
		return errno == errorBrokenPipe || errno == errorNoData
	}
	return false
}

// buildFib compiles the fib program into dir and returns its path. It asks
// for the package by import path, which works from any directory of this
// module. It builds with -buildvcs=false: go build would otherwise ask git
// about the checkout, and git refuses a checkout that belongs to another
// user, such as a shared one or a container's bind mount.
func buildFib(dir string) (string, error) {
	fib := filepath.Join(dir, "fib")
	if runtime.GOOS == "windows" {
		fib += ".exe"
	}
	build := exec.Command("go", "build", "-buildvcs=false", "-o", fib, "example.com/goinparallel/01-subprocess/fib")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the fib program: %v\n%s", err, out)
	}
	return fib, nil
}
