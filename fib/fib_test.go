package fib_test

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"example.com/goinparallel/fib"
)

func TestFib(t *testing.T) {
	tests := []struct {
		n, want int
	}{
		{0, 0}, {1, 1}, {2, 1}, {3, 2}, {10, 55}, {25, 75025}, {30, 832040},
	}
	for _, tt := range tests {
		got, err := fib.Fib(tt.n)
		if err != nil || got != tt.want {
			t.Errorf("Fib(%d) = %d, %v; want %d, nil", tt.n, got, err, tt.want)
		}
	}
}

// TestFibRange checks the edges of the accepted range without running the
// slow recursion for large n: out-of-range n must fail at once.
func TestFibRange(t *testing.T) {
	for _, n := range []int{-1, fib.Max + 1, 93, 100} {
		_, err := fib.Fib(n)
		var rangeErr *fib.RangeError
		if !errors.As(err, &rangeErr) {
			t.Errorf("Fib(%d) error = %v; want a *RangeError", n, err)
		}
	}
}

// TestFibAtTheEdges checks the smallest and largest n that Fib accepts and
// the first it refuses on either side, against the range the package and
// the programs' usage document: 0 to 45. Fib, Calls and Parse share one
// check of the range (inRange); the largest n is tried through Calls and
// Parse, which answer at once, where Fib(45) would take seconds.
func TestFibAtTheEdges(t *testing.T) {
	const outOfRange = "is out of range: n must be from 0 to 45"
	for _, tt := range []struct {
		n       int
		wantErr string // the whole error message
	}{
		{-1, `"-1" ` + outOfRange},
		{46, `"46" ` + outOfRange},
	} {
		got, err := fib.Fib(tt.n)
		var rangeErr *fib.RangeError
		if !errors.As(err, &rangeErr) || err.Error() != tt.wantErr {
			t.Errorf("Fib(%d) = %d, %v; want a *RangeError: %s", tt.n, got, err, tt.wantErr)
		}
	}
	if got, err := fib.Fib(0); got != 0 || err != nil {
		t.Errorf("Fib(0) = %d, %v; want 0, nil", got, err)
	}
	if n, err := fib.Parse("45"); n != 45 || err != nil {
		t.Errorf("Parse(%q) = %d, %v; want 45, nil", "45", n, err)
	}
	if got := fib.Calls(45); got == 0 {
		t.Errorf("Calls(45) = 0, as for an n out of range; want 3.7 billion calls")
	}
}

func TestParse(t *testing.T) {
	long := strings.Repeat("7", 1<<20)
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "25", want: 25},
		{in: "0", want: 0},
		{in: "45", want: 45},
		{in: " \t25 \r", want: 25},
		{in: "+7", want: 7},
		{in: "", wantErr: `"" is not a whole number`},
		{in: "abc", wantErr: `"abc" is not a whole number`},
		{in: "2.5", wantErr: `"2.5" is not a whole number`},
		{in: "0x10", wantErr: `"0x10" is not a whole number`},
		{in: "1_000", wantErr: `"1_000" is not a whole number`},
		{in: "-1", wantErr: `"-1" is out of range: n must be from 0 to 45`},
		{in: "46", wantErr: `"46" is out of range: n must be from 0 to 45`},
		{in: "99999999999999999999999", wantErr: `"99999999999999999999999" is out of range: n must be from 0 to 45`},
		{in: long, wantErr: `"7777777777777777777777777777777777777777"... (1048576 bytes) is out of range: n must be from 0 to 45`},
		{in: "a" + strings.Repeat("é", 30), wantErr: `"aééééééééééééééééééé"... (61 bytes) is not a whole number`},
	}
	for _, tt := range tests {
		got, err := fib.Parse(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("Parse(%.50q) error = %v; want %s", tt.in, err, tt.wantErr)
		}
	}
}

// TestCalls counts the calls of the recursive definition and compares, then
// checks every n up to Max against the count's recurrence in 64 bits: on a
// 32-bit system, where Calls(44) and Calls(45) do not fit an int, Calls must
// say "at least math.MaxInt", never a small or negative count that would
// make the longest tasks look like the quickest.
func TestCalls(t *testing.T) {
	var count func(n int) int
	count = func(n int) int {
		if n < 2 {
			return 1
		}
		return 1 + count(n-1) + count(n-2)
	}
	for n := range 26 {
		if got, want := fib.Calls(n), count(n); got != want {
			t.Errorf("Calls(%d) = %d, want %d", n, got, want)
		}
	}
	calls := []uint64{1, 1}
	for n := 2; n <= fib.Max; n++ {
		calls = append(calls, 1+calls[n-1]+calls[n-2])
	}
	if calls[fib.Max] != 3672623805 {
		t.Fatalf("the recurrence gives %d calls for n = %d, want 3672623805", calls[fib.Max], fib.Max)
	}
	for n, c := range calls {
		want := min(c, math.MaxInt)
		if got := fib.Calls(n); got < 0 || uint64(got) != want {
			t.Errorf("Calls(%d) = %d, want %d (%d calls, with %d-bit ints)", n, got, want, c, strconv.IntSize)
		}
	}
	for _, n := range []int{-1, fib.Max + 1} {
		if got := fib.Calls(n); got != 0 {
			t.Errorf("Calls(%d) = %d, want 0", n, got)
		}
	}
}
