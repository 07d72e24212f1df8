package main

import (
	"strings"
	"testing"

	"example.com/goinparallel/fib/fibtest"
)

// TestOutputThatCannotBeWritten: the usage and the result are both output,
// and a failed write of either is reported, with exit status 1, never lost
// behind a status of 0.
func TestOutputThatCannotBeWritten(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"10"}} {
		var stderr strings.Builder
		status := run(args, strings.NewReader(""), &fibtest.FullDisk{}, &stderr)
		want := "fib: writing the result: no space left on device\n"
		if args[0] == "-h" {
			want = "fib: writing the usage: no space left on device\n"
		}
		if status != exitRejected || stderr.String() != want {
			t.Errorf("fib %s: status %d, stderr %q; want %d, %q", args[0], status, stderr.String(), exitRejected, want)
		}
	}
}
