package main

import (
	"fmt"
	"sync"
)

// Example_warmUp is the Python tutorial's warm-up in Go: one worker
// goroutine takes numbers from a channel until the channel is closed, and
// the main goroutine waits for it. README quotes it.
func Example_warmUp() {
	numbers := make(chan int, 10)
	var worker sync.WaitGroup
	worker.Go(func() {
		for n := range numbers {
			fmt.Println(n)
		}
	})

	for i := range 10 {
		numbers <- i
	}
	close(numbers)
	worker.Wait()
	// Output:
	// 0
	// 1
	// 2
	// 3
	// 4
	// 5
	// 6
	// 7
	// 8
	// 9
}
