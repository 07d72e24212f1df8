package lines_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	// The doctest package defines the -update flag; importing it lets
	// `go test ./... -update` run in this package too.
	_ "goinparallel/fib/doctest"
	"goinparallel/fib/lines"
)

// read returns what a Reader makes of input, one string per Next.
func read(in io.Reader) []string {
	r := lines.NewReader(in)
	var got []string
	for {
		t, err := r.Next()
		switch {
		case err == io.EOF:
			return got
		case err != nil:
			got = append(got, lines.Message(lines.Result{Task: t, Err: err}))
		default:
			got = append(got, lines.Message(lines.Result{Task: t, Err: errors.New("ok")})+"n="+strings.Repeat("|", t.N))
		}
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name, input string
		want        []string
	}{
		{"empty", "", nil},
		{"no newline at the end", "3", []string{"line 1: ok\nn=|||"}},
		{"blank lines keep their numbers", "\n \t\r\n2\n", []string{"line 3: ok\nn=||"}},
		{"CRLF and padding", " 1 \r\n\t2\r\n", []string{"line 1: ok\nn=|", "line 2: ok\nn=||"}},
		{"exit ends the input", "1\n exit \r\n2\n", []string{"line 1: ok\nn=|"}},
		{"a byte order mark before the first line", "\ufeff3\n\ufeff4\n", []string{"line 1: ok\nn=|||", "line 2: \"\\ufeff4\" is not a whole number\n"}},
		{"Exit is not exit", "Exit\n", []string{"line 1: \"Exit\" is not a whole number\n"}},
		{"bad lines", "x\n-1\n", []string{"line 1: \"x\" is not a whole number\n", "line 2: \"-1\" is out of range: n must be from 0 to 45\n"}},
		{"a line just short enough", strings.Repeat(" ", lines.MaxLine-1) + "1\n", []string{"line 1: ok\nn=|"}},
		{"a line one byte too long", strings.Repeat(" ", lines.MaxLine) + "1\n2\n", []string{
			"line 1: \"                                        \"... (1025 bytes) is too long to be a number\n",
			"line 2: ok\nn=||"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, read(strings.NewReader(tt.input))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// A reader that hands over one byte at a time changes nothing.
			if diff := cmp.Diff(tt.want, read(iotest.OneByteReader(strings.NewReader(tt.input)))); diff != "" {
				t.Errorf("one byte at a time (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderError(t *testing.T) {
	in := io.MultiReader(strings.NewReader("1\n2"), iotest.ErrReader(errors.New("disk on fire")))
	want := []string{"line 1: ok\nn=|", "line 2: ok\nn=||", "line 3: reading input: disk on fire\n"}
	if diff := cmp.Diff(want, read(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestPrintOrder sends results in reverse and checks they come out in order,
// with failures on stderr.
func TestPrintOrder(t *testing.T) {
	results := make(chan lines.Result, 4)
	results <- lines.Result{Task: lines.Task{Seq: 3, Line: 5, N: 3}, Value: 2}
	results <- lines.Result{Task: lines.Task{Seq: 2, Line: 3}, Err: errors.New("bad")}
	results <- lines.Result{Task: lines.Task{Seq: 1, Line: 2, N: 1}, Value: 1}
	results <- lines.Result{Task: lines.Task{Seq: 0, Line: 1, N: 0}, Value: 0}
	close(results)
	var stdout, stderr strings.Builder
	printed := 0
	ok := lines.Print(&stdout, &stderr, results, func() { printed++ })
	if got, want := stdout.String(), "fib(0) = 0\nfib(1) = 1\nfib(3) = 2\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := stderr.String(), "line 3: bad\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if ok || printed != 4 {
		t.Errorf("ok = %v, printed = %d; want false, 4", ok, printed)
	}
}

// TestPrintReportsALostResult: a gap in the sequence is a bug, and Print
// says so instead of waiting or staying silent.
func TestPrintReportsALostResult(t *testing.T) {
	results := make(chan lines.Result, 1)
	results <- lines.Result{Task: lines.Task{Seq: 1, Line: 2, N: 1}, Value: 1}
	close(results)
	var stdout, stderr strings.Builder
	if lines.Print(&stdout, &stderr, results, func() {}) {
		t.Error("Print reported success")
	}
	if got, want := stderr.String(), "internal error: 1 results were never printed: no result came for task 0\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}
