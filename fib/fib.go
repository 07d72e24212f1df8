// Package fib computes Fibonacci numbers the slow way, on purpose.
//
// Every chapter of the tutorial needs work that keeps a CPU busy for a
// predictable time, and the textbook recursive definition is exactly that:
// Fib(n) makes about 1.6^n calls, so each step up in n costs about 60% more.
// Fib(30) takes milliseconds, Fib(40) about half a second and Fib(45), the
// largest n this package accepts, several seconds.
package fib

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Max is the largest n that [Fib] accepts. Fib(45) = 1134903170 takes
// several seconds with the recursive definition; every further step costs
// another 60%, so Fib(50) would keep a user waiting for over a minute.
// The result also fits an int on every platform Go supports, so no
// accepted n can overflow.
const Max = 45

// Fib returns the nth Fibonacci number: Fib(0) = 0, Fib(1) = 1 and
// Fib(n) = Fib(n-1) + Fib(n-2). It returns a [*RangeError] for n outside
// 0 to [Max].
func Fib(n int) (int, error) {
	if !inRange(n) {
		return 0, &RangeError{Input: strconv.Itoa(n)}
	}
	return fib(n), nil
}

// Calls returns how many calls of the recursive definition Fib(n) makes:
// 1 for n < 2, and otherwise 1 + Calls(n-1) + Calls(n-2), which is
// 2*Fib(n+1) - 1. The time Fib(n) takes is in proportion to it, so a program
// can know what a task will cost before it runs it: Calls(30) is 2.7
// million, Calls(45) 3.7 billion. It returns 0 for n outside 0 to [Max].
//
// Where an int has 32 bits, as on 386 and arm, Calls(44) and Calls(45) do
// not fit, and Calls returns [math.MaxInt] for them: still more than for
// any smaller n, so that the longest tasks never look like the quickest.
func Calls(n int) int {
	if !inRange(n) {
		return 0
	}
	var a, b uint64 = 0, 1 // Fib(i) and Fib(i+1), for i from 0 to n
	for range n {
		a, b = b, a+b
	}
	return int(min(2*b-1, math.MaxInt))
}

// inRange reports whether n is from 0 to [Max]. Fib, Calls and Parse all
// ask it, so that they agree on the range, and a test of one edge through
// the quick Calls and Parse holds for the slow Fib too.
func inRange(n int) bool {
	return 0 <= n && n <= Max
}

// fib is the recursive definition itself, deliberately left slow.
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// Parse reads n from s, the way a user typed it: a decimal whole number from
// 0 to [Max], with surrounding spaces, tabs and a trailing carriage return
// (from Windows line endings) ignored. Its errors quote the input, shortened
// when it is long, so that a message can name what was wrong.
func Parse(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	switch {
	case err == nil && !inRange(n):
		return 0, &RangeError{Input: s}
	case err == nil:
		return n, nil
	case err.(*strconv.NumError).Err == strconv.ErrRange:
		// The digits are fine but the number does not even fit an int.
		return 0, &RangeError{Input: s}
	default:
		return 0, &SyntaxError{Input: s}
	}
}

// A SyntaxError reports input that is not a decimal whole number.
type SyntaxError struct {
	Input string // what the user typed
}

func (e *SyntaxError) Error() string {
	return Quote(e.Input) + " is not a whole number"
}

// A RangeError reports a whole number outside 0 to [Max].
type RangeError struct {
	Input string // what the user typed
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("%s is out of range: n must be from 0 to %d", Quote(e.Input), Max)
}

// quoteLimit is how many bytes of an input [Quote] shows before it shortens it.
const quoteLimit = 40

// Quote returns s as a Go string literal for an error message. An input
// longer than 40 bytes is cut, and the message says how long it was, so that
// a 1 MiB line makes a one-line message, not a 1 MiB one.
func Quote(s string) string {
	return QuotePrefix(s, len(s))
}

// QuotePrefix is [Quote] for an input of which only the first bytes were
// kept: prefix is its start, size its full length in bytes.
func QuotePrefix(prefix string, size int) string {
	if size <= quoteLimit && len(prefix) == size {
		return strconv.Quote(prefix)
	}
	cut := min(quoteLimit, len(prefix))
	for cut < len(prefix) && !utf8.RuneStart(prefix[cut]) { // Never cut a character in half.
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(prefix[:cut]), size)
}
