package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"example.com/goinparallel/fib/fibtest"
)

// The tests of the chapter's last step, ./batches, which hands the lines to
// the workers in batches: it must answer as this pool does, byte for byte,
// and as promptly at a terminal.

// buildBatches builds ./batches as a user builds it, and returns its path.
func buildBatches(t testing.TB) string {
	if testing.Short() {
		t.Skip("builds ./batches")
	}
	// The test cache knows only the files a test opens: reading the
	// program's makes an edit to it run this test again.
	fibtest.DependOn(t, "batches", "../fib", "../go.mod")
	exe := filepath.Join(t.TempDir(), "batches")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", exe, "example.com/goinparallel/02-threads/batches").CombinedOutput(); err != nil {
		t.Fatalf("building ./batches: %v\n%s", err, out)
	}
	return exe
}

// A shown is what a program shows its user.
type shown struct {
	Stdout, Stderr string
	Status         int
}

// TestBatchesSameAsThePool runs ./batches and this pool, through run, on the
// same inputs, good and bad, quick and slow, and requires the same stdout,
// stderr and exit status.
func TestBatchesSameAsThePool(t *testing.T) {
	program := buildBatches(t)
	rng := rand.New(rand.NewPCG(7, 8))
	var random strings.Builder
	for range 5000 {
		switch rng.IntN(20) {
		case 0:
			random.WriteString("\n")
		case 1:
			fmt.Fprintf(&random, " %d\r\n", rng.IntN(23))
		case 2:
			fmt.Fprintf(&random, "%d\n", []int{-1, 46, 1000}[rng.IntN(3)])
		case 3:
			random.WriteString("x" + strings.Repeat("y", rng.IntN(80)) + "\n")
		case 4:
			fmt.Fprintf(&random, "%d\n", 24+rng.IntN(6)) // A slow line, now and then.
		default:
			fmt.Fprintf(&random, "%d\n", rng.IntN(3))
		}
	}
	numbers, _ := os.ReadFile("../testdata/numbers.txt")
	mixed, _ := os.ReadFile("../testdata/mixed.txt")
	inputs := map[string]string{
		"numbers.txt": string(numbers),
		"mixed.txt":   string(mixed),
		"empty":       "",
		"random":      random.String(),
		"ones":        strings.Repeat("1\n", 20_000),
		"1 MiB line":  "1\n" + strings.Repeat("2", 1<<20) + "\n3",
	}
	type call struct{ input, args string }
	var calls []call
	for name := range inputs {
		calls = append(calls, call{name, "-workers 1"}, call{name, "-workers 3"})
	}
	// Usage errors too: the same messages, in the same program name.
	for _, args := range []string{"-x", "-h", "-workers 0", "a.txt b.txt"} {
		calls = append(calls, call{"empty", args})
	}
	for _, c := range calls {
		args := strings.Fields(c.args)
		var stdout, stderr strings.Builder
		want := shown{Status: run(args, strings.NewReader(inputs[c.input]), &stdout, &stderr)}
		want.Stdout, want.Stderr = stdout.String(), stderr.String()
		cmd := exec.Command(program, args...)
		cmd.Stdin = strings.NewReader(inputs[c.input])
		stdout.Reset()
		stderr.Reset()
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		var exitErr *exec.ExitError
		if err := cmd.Run(); err != nil && !errors.As(err, &exitErr) {
			t.Fatal(err)
		}
		got := shown{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s, %s: the pool and ./batches differ (-pool +batches):\n%s", c.input, c.args, diff)
		}
	}
}

// TestBatchesAnswerAsTyped: at a terminal, ./batches answers each number
// before the next is typed, as the pool does (see fibtest.Typing).
func TestBatchesAnswerAsTyped(t *testing.T) {
	program := buildBatches(t)
	fibtest.Typing(t, func(in io.Reader, out io.Writer) bool {
		cmd := exec.Command(program)
		cmd.Stdout, cmd.Stderr = out, io.Discard
		// We copy the typing ourselves: os/exec's own copy would keep
		// Wait waiting for the end of in, which the typist never closes.
		stdin, err := cmd.StdinPipe()
		if err != nil || cmd.Start() != nil {
			return false
		}
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			io.Copy(stdin, in)
		}()
		err = cmd.Wait()
		in.(io.Closer).Close() // This ends the copy.
		<-copied
		return err == nil
	})
}

// TestBatchesSharesThePool holds what ./batches copies from this pool
// identical to it, comments included: the step changes how lines travel,
// and nothing else of the program.
func TestBatchesSharesThePool(t *testing.T) {
	ours, theirs := fibtest.Declarations(t, "main.go"), fibtest.Declarations(t, "batches/main.go")
	for _, name := range []string{"maxWorkers", "result", "main", "receiveOrFlush"} {
		if ours[name] == "" || ours[name] != theirs[name] {
			t.Errorf("%s in batches/main.go differs from main.go's (-pool +batches):\n%s", name, cmp.Diff(ours[name], theirs[name]))
		}
	}
}

// TestDiscardedOutput gives this pool, through run, and ./batches a
// standard output that is /dev/null open for reading and writing, as
// Python's subprocess.DEVNULL, a service manager and Go's runtime (for a
// stdout closed at start) give it. The caller chose to throw the results
// away: each must answer every line as ever, and exit with status 0.
func TestDiscardedOutput(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	const input = "1\n2\n3\n"
	var stderr strings.Builder
	if status := run(nil, strings.NewReader(input), devNull, &stderr); status != 0 || stderr.Len() > 0 {
		t.Errorf("this pool: exit status %d, stderr %q; want 0 and nothing", status, stderr.String())
	}
	cmd := exec.Command(buildBatches(t))
	cmd.Stdin, cmd.Stdout = strings.NewReader(input), devNull
	var batchesStderr strings.Builder
	cmd.Stderr = &batchesStderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // If it hangs.
	fibtest.Within(t, "./batches", func() { cmd.Wait() })
	if status := cmd.ProcessState.ExitCode(); status != 0 || batchesStderr.Len() > 0 {
		t.Errorf("./batches: exit status %d, stderr %q; want 0 and nothing", status, batchesStderr.String())
	}
}
