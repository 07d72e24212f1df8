// Race shows the danger the Python tutorial warns of: goroutines that read
// and write one variable without synchronisation. Run it with the race
// detector to see the race reported:
//
//	go run -race ./02-threads/race
//
// After the unsafe count come the two safe ones: a lock around the count,
// and a channel, so that only one goroutine ever touches the count.
package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Each of the goroutines adds to the count this many times.
const (
	goroutines = 4
	adds       = 1000
)

func main() {
	say("without synchronisation:", unsynchronised())
	say("with a mutex:", withMutex())
	say("with a channel:", withChannel())
}

// unsynchronised lets every goroutine add to count directly: a data race.
// Each adds all its share at once, so that the turns, which take a few
// nanoseconds each, never overlap, even on a busy machine, and the run
// prints the same on every machine; the race is there all the same.
func unsynchronised() int {
	count := 0
	var done sync.WaitGroup
	for i := range goroutines {
		done.Add(1)
		go func() {
			defer done.Done()
			// The goroutines take turns, so that the race detector reports
			// the same race first on every run. Sleeping orders them in time,
			// but it is not synchronisation, and the detector is not fooled.
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			count += adds // Read, add, write back: another goroutine can come between.
		}()
	}
	done.Wait()
	return count
}

// withMutex takes a lock around every update: one goroutine at a time.
func withMutex() int {
	count := 0
	var mu sync.Mutex
	var done sync.WaitGroup
	for range goroutines {
		done.Go(func() {
			for range adds {
				mu.Lock()
				count++
				mu.Unlock()
			}
		})
	}
	done.Wait()
	return count
}

// withChannel shares the count by communicating: the goroutines send their
// ones on a channel, and only this goroutine adds them up.
func withChannel() int {
	ones := make(chan int)
	var done sync.WaitGroup
	for range goroutines {
		done.Go(func() {
			for range adds {
				ones <- 1
			}
		})
	}
	go func() {
		done.Wait()
		close(ones) // The last sender is done: this ends the range below.
	}()
	count := 0
	for one := range ones {
		count += one
	}
	return count
}

// say prints one count. A count that cannot be written is reported, as in
// every program of the tutorial, and ends the program with status 1.
func say(what string, count int) {
	if _, err := fmt.Println(what, count); err != nil {
		fmt.Fprintf(os.Stderr, "race: writing results: %v\n", err)
		os.Exit(1)
	}
}
