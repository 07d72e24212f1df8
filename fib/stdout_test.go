package fib_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"example.com/goinparallel/fib"
)

// roleVar tells the test binary, started again by a test, to report what
// CheckStdout makes of its standard output rather than run the tests.
const roleVar = "FIB_TEST_ROLE"

func TestMain(m *testing.M) {
	if os.Getenv(roleVar) == "check stdout" {
		// Standard output is the thing under test, so the answer goes
		// to standard error.
		fmt.Fprint(os.Stderr, fib.CheckStdout(os.Stdout))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// checksStdout skips the test where CheckStdout makes no check.
func checksStdout(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skipf("CheckStdout makes no check on %s", runtime.GOOS)
	}
}

// A program started by a shell with `>&-` finds its standard output closed;
// one whose output goes to /dev/null on purpose, or to a pipe, does not.
func TestCheckStdoutStarted(t *testing.T) {
	checksStdout(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, redirect string
		want           error
	}{
		{"closed", ">&-", fib.ErrStdoutClosed},
		{"to /dev/null", ">/dev/null", nil},
		{"to a pipe", "", nil},
		// The false alarm that CheckStdout's comment owns up to: this
		// opens /dev/null as the runtime does.
		{"to /dev/null for reading and writing", "1<>/dev/null", fib.ErrStdoutClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", `exec "$0" `+tt.redirect, self)
			cmd.Env = append(os.Environ(), roleVar+"=check stdout")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr // Pipes, both.
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			if got, want := stderr.String(), fmt.Sprint(tt.want); got != want {
				t.Errorf("CheckStdout(os.Stdout) = %s, want %s", got, want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

// CheckStdout looks at the file it is given, so each kind of file can be
// tried here without starting a program.
func TestCheckStdout(t *testing.T) {
	checksStdout(t)
	open := func(name string, flag int) func(*testing.T) *os.File {
		return func(t *testing.T) *os.File {
			f, err := os.OpenFile(name, flag, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}
	}
	pipe := func(t *testing.T) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		return w
	}
	file := filepath.Join(t.TempDir(), "results")
	tests := []struct {
		name string
		file func(*testing.T) *os.File
		want error
	}{
		{"/dev/null for reading and writing, as the runtime opens it", open("/dev/null", os.O_RDWR), fib.ErrStdoutClosed},
		{"/dev/null for writing, as `> /dev/null` opens it", open("/dev/null", os.O_WRONLY), nil},
		{"/dev/null for reading", open("/dev/null", os.O_RDONLY), nil},
		{"another character device for reading and writing", open("/dev/zero", os.O_RDWR), nil},
		{"a file for reading and writing", open(file, os.O_RDWR|os.O_CREATE), nil},
		{"a pipe", pipe, nil},
		{"no file", func(*testing.T) *os.File { return nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := fib.CheckStdout(tt.file(t)); !errors.Is(err, tt.want) {
				t.Errorf("CheckStdout = %v, want %v", err, tt.want)
			}
		})
	}
}

// A closed file is not mistaken for a closed standard output.
func TestCheckStdoutClosedFile(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := fib.CheckStdout(f); err != nil {
		t.Errorf("CheckStdout of a closed file = %v, want nil", err)
	}
}
