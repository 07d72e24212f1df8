package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/goinparallel/fib/fibtest"
)

// roleVar tells the test binary, started by a test as a child, to be the
// program it names rather than run the tests: "cat" copies its standard
// input to its standard output, as cat does, on every system, Windows too.
const roleVar = "SUBPROCESS_TEST_ROLE"

func TestMain(m *testing.M) {
	if os.Getenv(roleVar) == "cat" {
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "cat:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCommunicate runs the fib program through communicate. The cases with
// 1 MiB of input are the ones Python's communicate is careful about: the
// pipe holds far less than that, so fib, which takes its N from the argument
// and never reads its stdin, exits while our goroutine is still writing. The
// write then fails with a broken pipe, or with a closed file once Wait has
// closed the pipe, and neither is the caller's problem.
func TestCommunicate(t *testing.T) {
	fibtest.DependOn(t, "fib", "../fib", "../go.mod")
	fib, err := buildFib(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name    string
		args    []string
		input   string
		want    string
		wantErr string // the whole error message; "" for no error
	}{
		{"argument, no input", []string{"25"}, "", "75025\n", ""},
		{"N on stdin", nil, "25\n", "75025\n", ""},
		{"child exits without reading 1 MiB", []string{"25"}, big, "75025\n", ""},
		{"child reads one line of 1 MiB", nil, "25\n" + big, "75025\n", ""},
		// The child's failure is still reported, and only the failure: the
		// input it left unread adds nothing to the error.
		{"child fails without reading 1 MiB", []string{"abc"}, big,
			"fib: \"abc\" is not a whole number\n", "exit status 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := communicate(exec.Command(fib, tt.args...), tt.input)
			if out != tt.want {
				t.Errorf("output %q, want %q", out, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestStdinGone checks the rule communicate applies to the error from
// writing the child's stdin: a pipe with no reader, or one that Wait has
// closed, is not an error; anything else is.
func TestStdinGone(t *testing.T) {
	// The write errors as os.File reports them, with the pipe's name.
	write := func(err error) error { return &fs.PathError{Op: "write", Path: "|1", Err: err} }
	windows := runtime.GOOS == "windows"
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"broken pipe", write(syscall.EPIPE), true},
		{"closed by Wait", write(os.ErrClosed), true},
		{"ERROR_BROKEN_PIPE", write(syscall.Errno(109)), windows},
		{"ERROR_NO_DATA", write(syscall.Errno(232)), windows},
		{"I/O error", write(syscall.EIO), false},
		{"other error", errors.New("disk on fire"), false},
	}
	for _, tt := range tests {
		if got := stdinGone(tt.err); got != tt.want {
			t.Errorf("%s: stdinGone(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// echoPatience is how long TestCommunicateWithAnEcho waits before it calls
// communicate hung. 8 MiB through two pipes takes milliseconds, even under
// the race detector on a busy machine: ten seconds is a hang. The test of
// README's exercise, which plants that hang, waits for less.
var echoPatience = flag.Duration("echo-patience", 10*time.Second, "how long TestCommunicateWithAnEcho waits for communicate")

// TestCommunicateWithAnEcho sends 8 MiB through a child that prints what
// it reads as it reads it, as cat does, and wants all of it back. The child
// fills its stdout pipe long before it has read its input, and then waits
// for us to read; if we wrote all the input before reading, we would wait
// for it to read, and neither would ever go on. communicate's goroutine
// that writes while we read is what makes this work.
func TestCommunicateWithAnEcho(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var input strings.Builder
	for i := 0; input.Len() < 8<<20; i++ {
		fmt.Fprintf(&input, "line %d\n", i) // Every line differs, so a lost or repeated piece shows.
	}
	// Cancelling ctx kills the child: when it hangs, and in any case
	// before the test ends, so that no child outlives it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Were the role not taken, -test.run=^$ would have the child run no
	// test, rather than this one again.
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), roleVar+"=cat")
	type answer struct {
		out string
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		out, err := communicate(cmd, input.String())
		answered <- answer{out, err}
	}()
	patience := *echoPatience
	timer := time.NewTimer(patience)
	defer timer.Stop()
	var a answer
	select {
	case a = <-answered:
	case <-timer.C:
		cancel() // The child dies, its pipes close, and communicate returns.
		select {
		case <-answered:
		case <-time.After(fibtest.Limit):
			t.Errorf("communicate has not returned %v after its child was killed", fibtest.Limit)
		}
		t.Fatalf("communicate with a child that echoes %d MiB has not returned after %v: it waits for the child to read its input while the child waits for it to read the output", input.Len()>>20, patience)
	}
	if a.err != nil {
		t.Errorf("communicate: %v", a.err)
	}
	if a.out != input.String() {
		i := 0
		for i < min(len(a.out), input.Len()) && a.out[i] == input.String()[i] {
			i++
		}
		t.Errorf("the child echoed %d bytes of %d, the same up to byte %d", len(a.out), input.Len(), i)
	}
}
