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
	"runtime"
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
// Each adds all its share at once, and the goroutines take turns: main
// starts each only once the one before has ended, so that the run prints
// the same on every machine, however busy. The race is there all the same.
func unsynchronised() int {
	count := 0
	var done sync.WaitGroup
	alone := runtime.NumGoroutine()
	for range goroutines {
		done.Add(1)
		go func() {
			defer done.Done()
			count += adds // Read, add, write back: another goroutine can come between.
		}()
		// Main learns that the goroutine has ended by counting goroutines,
		// which orders the turns in time but is not synchronisation: the
		// race detector is not fooled, and reports the same race first on
		// every run.
		for runtime.NumGoroutine() > alone {
			time.Sleep(time.Millisecond)
		}
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
