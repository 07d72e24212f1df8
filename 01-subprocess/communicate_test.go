package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"example.com/goinparallel/fib/fibtest"
)

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
