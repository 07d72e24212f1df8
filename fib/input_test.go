package fib_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"example.com/goinparallel/fib"
)

// read returns what a Reader makes of input, one string per Next.
func read(in io.Reader) []string {
	r := fib.NewReader(in)
	var got []string
	for {
		line, err := r.Next()
		switch {
		case err == io.EOF:
			return got
		case err != nil:
			got = append(got, fmt.Sprintf("line %d: %v", line.Number, err))
		default:
			got = append(got, fmt.Sprintf("line %d: n=%d", line.Number, line.N))
		}
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name, input string
		want        []string
	}{
		{"empty", "", nil},
		{"no newline at the end", "3", []string{"line 1: n=3"}},
		{"blank lines keep their numbers", "\n \t\r\n2\n", []string{"line 3: n=2"}},
		{"CRLF and padding", " 1 \r\n\t2\r\n", []string{"line 1: n=1", "line 2: n=2"}},
		{"exit ends the input", "1\n exit \r\n2\n", []string{"line 1: n=1"}},
		{"a byte order mark before the first line", "\ufeff3\n\ufeff4\n", []string{"line 1: n=3", `line 2: "\ufeff4" is not a whole number`}},
		// Windows PowerShell 5.1's `>` writes UTF-16, little-endian, with
		// a byte order mark: "25\r\n" and a surrogate pair.
		{"UTF-16LE", "\xff\xfe2\x005\x00\r\x00\n\x00\x3d\xd8\x00\xde\n\x00", []string{"line 1: n=25", `line 2: "😀" is not a whole number`}},
		{"UTF-16BE", "\xfe\xff\x001\x00\nx", []string{"line 1: n=1", "line 2: \"\ufffd\" is not a whole number"}},
		// A lone surrogate becomes U+FFFD, and the unit after it is read
		// as itself, as Python's decode("utf-16", "replace") does: the
		// newline after it still ends the line.
		{"a lone surrogate in UTF-16", "\xff\xfe\x3d\xd87\x00", []string{"line 1: \"\ufffd7\" is not a whole number"}},
		{"a lone high surrogate before a newline in UTF-16LE", "\xff\xfe1\x00\n\x00\x3d\xd8\n\x002\x00\n\x00", []string{
			"line 1: n=1", "line 2: \"\ufffd\" is not a whole number", "line 3: n=2"}},
		{"a lone high surrogate before a newline in UTF-16BE", "\xfe\xff\x001\xd8\x3d\x00\n\x002", []string{
			"line 1: \"1\ufffd\" is not a whole number", "line 2: n=2"}},
		{"a lone low surrogate in UTF-16", "\xff\xfe\x00\xdc\n\x002\x00", []string{"line 1: \"\ufffd\" is not a whole number", "line 2: n=2"}},
		{"a high surrogate before a pair in UTF-16", "\xff\xfe\x3d\xd8\x3d\xd8\x00\xde\n\x002\x00", []string{
			"line 1: \"\ufffd😀\" is not a whole number", "line 2: n=2"}},
		{"a high surrogate at the end of UTF-16", "\xff\xfe1\x00\n\x00\x3d\xd8", []string{"line 1: n=1", "line 2: \"\ufffd\" is not a whole number"}},
		{"a high surrogate and an odd byte at the end of UTF-16", "\xff\xfe1\x00\n\x00\x3d\xd87", []string{
			"line 1: n=1", "line 2: \"\ufffd\" is not a whole number"}},
		{"an odd last byte in UTF-16", "\xff\xfe1\x00\n\x002", []string{"line 1: n=1", "line 2: \"\ufffd\" is not a whole number"}},
		{"UTF-16's mark anywhere else is not one", "1\n\xff\xfe2\x00\n", []string{"line 1: n=1", `line 2: "\xff\xfe2\x00" is not a whole number`}},
		{"Exit is not exit", "Exit\n", []string{`line 1: "Exit" is not a whole number`}},
		{"bad lines", "x\n-1\n", []string{`line 1: "x" is not a whole number`, `line 2: "-1" is out of range: n must be from 0 to 45`}},
		{"a line just short enough", strings.Repeat(" ", fib.MaxLine-1) + "1\n", []string{"line 1: n=1"}},
		{"a line one byte too long", strings.Repeat(" ", fib.MaxLine) + "1\n2\n", []string{
			`line 1: "                                        "... (1025 bytes) is too long to be a number`,
			"line 2: n=2"}},
		{"a 1 MiB line", strings.Repeat("7", 1<<20) + "\n5", []string{
			`line 1: "7777777777777777777777777777777777777777"... (1048576 bytes) is too long to be a number`,
			"line 2: n=5"}},
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
	want := []string{"line 1: n=1", "line 2: n=2", "line 3: reading input: disk on fire"}
	if diff := cmp.Diff(want, read(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// failOnce fails its first Read with err, and then ends.
type failOnce struct {
	err    error
	failed bool
}

func (r *failOnce) Read([]byte) (int, error) {
	if r.failed {
		return 0, io.EOF
	}
	r.failed = true
	return 0, r.err
}

// A read error that comes where the second half of a surrogate pair should
// be is reported, not taken for the end of the input, even when the input
// would end after it.
func TestReaderErrorAfterSurrogate(t *testing.T) {
	in := io.MultiReader(strings.NewReader("\xff\xfe1\x00\n\x00\x3d\xd8"), &failOnce{err: errors.New("disk on fire")})
	want := []string{"line 1: n=1", "line 2: \"\ufffd\" is not a whole number", "line 3: reading input: disk on fire"}
	if diff := cmp.Diff(want, read(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestReady: Ready tells whether a whole line that is not blank waits in
// the buffer, or the input has ended, and so whether Next would return
// without a read that waits.
func TestReady(t *testing.T) {
	r, w := io.Pipe()
	in := fib.NewReader(r)
	if in.Ready() {
		t.Error("Ready before anything was read")
	}
	go func() {
		io.WriteString(w, "1\n2\n \n3")
	}()
	if line, err := in.Next(); err != nil || line.N != 1 {
		t.Fatalf("Next = %v, %v; want n=1", line, err)
	}
	// The pipe gave us "1\n2\n \n3" in one read: 2 waits, whole.
	if !in.Ready() {
		t.Error("not Ready with a whole line of 2 in the buffer")
	}
	in.Next()
	// A blank line and the start of one: Next would wait for its end.
	if in.Ready() {
		t.Error("Ready with only a blank line and part of a line in the buffer")
	}
	w.Close()
	if line, err := in.Next(); err != nil || line.N != 3 {
		t.Fatalf("Next = %v, %v; want n=3", line, err)
	}
	in.Next()
	if !in.Ready() {
		t.Error("not Ready at the end of the input")
	}
}
