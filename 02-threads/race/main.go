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

// unsynchronised lets every goroutine add its share to count directly: a
// data race. An update is a read, an add and a write back, and another
// goroutine can come between the read and the write; its update is then
// lost. A scheduler does that now and then. Here every goroutine reads the
// count, then waits until all have read it before it writes back: the
// unlucky order, on every run, on any machine. The waiting orders each
// read before the others' writes; nothing orders the writes, which is the
// race.
func unsynchronised() int {
	count := 0
	var read, done sync.WaitGroup
	read.Add(goroutines)
	done.Add(goroutines)
	for range goroutines {
		go func() {
			defer done.Done()
			seen := count // Read...
			read.Done()
			read.Wait()         // ...let every other goroutine read too...
			count = seen + adds // ...and write back: their adds are lost.
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
