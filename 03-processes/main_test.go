package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"goinparallel/fib"
	"goinparallel/fib/doctest"
)

var program = doctest.Program{Name: "processes", Main: main, Dir: "03-processes"}

func TestMain(m *testing.M)    { doctest.Main(m, program) }
func TestScripts(t *testing.T) { doctest.Run(t, program) }

// self returns the program to start workers from. In a test binary,
// os.Executable is the test binary, which would run the tests again; the
// copy of it that doctest.Main puts on PATH as "processes" runs our main.
func self(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("processes")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedWriter lets the printer, the feeders and the worker processes'
// stderr share one buffer in a test, as they share os.Stderr in the program.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runPool runs the pool in this process on input and returns what it printed.
func runPool(t *testing.T, workers int, input io.Reader) (stdout, stderr string, ok bool) {
	t.Helper()
	var out strings.Builder
	var errOut lockedWriter
	ok = pool(context.Background(), self(t), workers, input, &out, &errOut)
	return out.String(), errOut.String(), ok
}

// TestRandomBatches: every number gets exactly its one correct line, in
// input order, whatever the number of workers.
func TestRandomBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for batch := range 8 {
		var input, want strings.Builder
		for range rng.IntN(500) {
			n := rng.IntN(21)
			fmt.Fprintf(&input, []string{"%d\n", " %d\r\n", "\n%d\t\n"}[rng.IntN(3)], n)
			v, _ := fib.Fib(n)
			fmt.Fprintf(&want, "fib(%d) = %d\n", n, v)
		}
		workers := 1 + batch%4
		stdout, stderr, ok := runPool(t, workers, strings.NewReader(input.String()))
		if diff := cmp.Diff(want.String(), stdout); diff != "" || stderr != "" || !ok {
			t.Fatalf("batch %d, %d workers: ok=%v stderr=%q, stdout (-want +got):\n%s", batch, workers, ok, stderr, diff)
		}
	}
}

// TestAnswersWhileTheInputIsOpen: each typed number is answered before the
// next is typed, as at a terminal (see doctest.Typing).
func TestAnswersWhileTheInputIsOpen(t *testing.T) {
	doctest.Typing(t, func(in io.Reader, out io.Writer) bool {
		return pool(context.Background(), self(t), 2, in, out, io.Discard)
	})
}

// TestWorkerCannotStart: if no worker process can start, every line still
// gets its one message and the pool ends.
func TestWorkerCannotStart(t *testing.T) {
	var out strings.Builder
	var errOut lockedWriter
	missing := filepath.Join(t.TempDir(), "no-such-program")
	ok := pool(context.Background(), missing, 2, strings.NewReader("1\n2\n3\n"), &out, &errOut)
	if ok || out.String() != "" {
		t.Errorf("ok = %v, stdout = %q; want false and nothing", ok, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr has %d lines, want 3:\n%s", len(lines), errOut.String())
	}
	for i, line := range lines {
		if want := fmt.Sprintf("line %d: cannot start a worker process: ", i+1); !strings.HasPrefix(line, want) {
			t.Errorf("stderr line %q, want it to start %q", line, want)
		}
	}
}

// TestNoGoroutineOutlivesThePool checks that when pool returns, its feeders,
// their readers and its printer have ended.
func TestNoGoroutineOutlivesThePool(t *testing.T) {
	before := runtime.NumGoroutine()
	runPool(t, 3, strings.NewReader(strings.Repeat("15\nx\n", 50)))
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before the pool, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// TestSameAsChapter02 runs chapter 02's program and this one on the same
// inputs, good and bad, and requires byte-identical stdout and stderr and
// the same exit status.
func TestSameAsChapter02(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chapter 02")
	}
	threads := filepath.Join(t.TempDir(), "threads")
	if runtime.GOOS == "windows" {
		threads += ".exe"
	}
	if out, err := exec.Command("go", "build", "-o", threads, "goinparallel/02-threads").CombinedOutput(); err != nil {
		t.Fatalf("building chapter 02: %v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var random strings.Builder
	for range 2000 {
		switch rng.IntN(10) {
		case 0:
			random.WriteString("\n")
		case 1:
			fmt.Fprintf(&random, " %d\r\n", rng.IntN(23))
		case 2:
			fmt.Fprintf(&random, "%d\n", []int{-1, 46, 1000}[rng.IntN(3)])
		case 3:
			random.WriteString("x" + strings.Repeat("y", rng.IntN(80)) + "\n")
		default:
			fmt.Fprintf(&random, "%d\n", rng.IntN(23))
		}
	}
	root := doctest.RepoRoot(t)
	numbers, _ := os.ReadFile(filepath.Join(root, "testdata", "numbers.txt"))
	mixed, _ := os.ReadFile(filepath.Join(root, "testdata", "mixed.txt"))
	inputs := map[string]string{
		"numbers.txt": string(numbers),
		"mixed.txt":   string(mixed),
		"empty":       "",
		"exit only":   "exit\n",
		"random":      random.String(),
		"1 MiB line":  "1\n" + strings.Repeat("2", 1<<20) + "\n3",
	}
	for name, input := range inputs {
		for _, workers := range []string{"1", "3"} {
			a := runProgram(t, threads, input, "-workers", workers)
			b := runProgram(t, self(t), input, "-workers", workers)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("%s, -workers %s: chapter 02 and 03 differ (-02 +03):\n%s", name, workers, diff)
			}
		}
	}
}

// outcome is what a run of a program shows its user.
type outcome struct {
	Stdout, Stderr string
	Status         int
}

func runProgram(t *testing.T, path, input string, args ...string) outcome {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return outcome{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}
