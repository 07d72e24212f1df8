package fib

import (
	"errors"
	"os"
)

// ErrStdoutClosed is the error [CheckStdout] returns. Its text names the
// problem in the words a user knows from the shell.
var ErrStdoutClosed = errors.New("standard output is closed")

// CheckStdout returns [ErrStdoutClosed] when f, a program's standard output,
// was closed when the program started, as `prog >&-` in a shell starts it,
// and nil otherwise, or when it cannot tell.
//
// We need the check because such a program would otherwise never learn of
// it. On Unix, Go's runtime opens /dev/null, for reading and writing, on
// each of the standard descriptors 0, 1 and 2 that is closed at start
// (checkfds in runtime/fds_unix.go), so that a file the program opens later
// cannot take the place of one of them. Every write to it then succeeds:
// the results go nowhere and the program exits 0, saying nothing.
//
// So the check looks for that /dev/null: f is /dev/null, and it is open for
// reading and writing. A shell's `> /dev/null` opens it for writing only, so
// a user who throws the results away on purpose is not stopped. The one
// false alarm is `1<>/dev/null`, which opens /dev/null just as the runtime
// does; nothing tells the two apart. The check is made on Linux and macOS
// (only Linux is tested); elsewhere CheckStdout returns nil. The runtime
// opens nothing in place of a closed descriptor on Windows
// (runtime/fds_nonunix.go), so there is nothing of this kind to find there.
func CheckStdout(f *os.File) error {
	if f != nil && startedClosed(f) {
		return ErrStdoutClosed
	}
	return nil
}
