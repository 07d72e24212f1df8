package fib_test

import (
	"fmt"

	"example.com/goinparallel/fib"
)

func ExampleFib() {
	for _, n := range []int{0, 1, 25} {
		v, _ := fib.Fib(n)
		fmt.Printf("fib(%d) = %d\n", n, v)
	}
	// The first n refused on either side of the range.
	for _, n := range []int{-1, fib.Max + 1} {
		_, err := fib.Fib(n)
		fmt.Println(err)
	}
	// Output:
	// fib(0) = 0
	// fib(1) = 1
	// fib(25) = 75025
	// "-1" is out of range: n must be from 0 to 45
	// "46" is out of range: n must be from 0 to 45
}

func ExampleParse() {
	_, err := fib.Parse("abc")
	fmt.Println(err)
	// Output:
	// "abc" is not a whole number
}
