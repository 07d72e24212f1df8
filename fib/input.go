package fib

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the input format that every fib program of the tutorial
// reads: one decimal whole number per line.

// MaxLine is the longest line, in bytes, that a [Reader] keeps. No number
// that [Parse] accepts comes anywhere near it; a longer line is rejected
// without being held in memory, so a 1 MiB line costs no more than a short
// one.
const MaxLine = 1024

// A Line is one line of input that holds a number: its line number, counting
// from 1, and the number on it.
type Line struct {
	Number int
	N      int
}

// A Reader reads one decimal whole number per line. Blank lines are skipped;
// spaces and tabs around a number, the carriage return of a Windows line
// ending and a byte order mark at the start of the input are ignored; a
// line `exit` ends the input like the end of the file does. Input that
// starts with a UTF-16 byte order mark, as a file written by Windows
// PowerShell 5.1's `>` does, is read as UTF-16.
type Reader struct {
	in      *bufio.Reader
	started bool  // the start of the input has been checked for UTF-16
	number  int   // the number of the last line read
	err     error // a read error to return after the line that came with it
	ended   bool
}

// NewReader returns a Reader that reads from in.
func NewReader(in io.Reader) *Reader {
	return &Reader{in: bufio.NewReader(in)}
}

// Next returns the next line that is not blank. For a line that does not
// hold a number [Fib] accepts, it returns the Line, with its number, and an
// error that names what was on it; the caller reports it and goes on. At the
// end of the input, or at `exit`, it returns io.EOF; after a failed read, the
// read error once, and io.EOF from then on.
func (r *Reader) Next() (Line, error) {
	for !r.ended {
		text, size, err := r.readLine()
		if err != nil {
			r.ended = true
			if err == io.EOF {
				break
			}
			r.number++ // The line we failed to read.
			return Line{Number: r.number}, fmt.Errorf("reading input: %w", err)
		}
		if r.number == 1 {
			// Some Windows editors and PowerShell start a UTF-8 file
			// with a byte order mark.
			text = strings.TrimPrefix(text, "\ufeff")
		}
		line := Line{Number: r.number}
		s := strings.TrimSpace(text) // TrimSpace also drops the \r of "\r\n".
		switch {
		case size > MaxLine:
			return line, fmt.Errorf("%s is too long to be a number", QuotePrefix(text, size))
		case s == "":
			continue
		case s == "exit":
			r.ended = true
			return Line{}, io.EOF
		}
		n, err := Parse(s)
		if err != nil {
			return line, err
		}
		line.N = n
		return line, nil
	}
	return Line{}, io.EOF
}

// Ready reports whether Next can return without waiting for more input: a
// line that is not blank is read in already and waits in the buffer, or the
// input has ended. A program that gathers lines in batches sends its batch
// when Ready is false, rather than hold it while a user types.
func (r *Reader) Ready() bool {
	if r.ended || r.err != nil {
		return true
	}
	buffered, _ := r.in.Peek(r.in.Buffered()) // Never waits: it asks for no more than is there.
	lines := buffered[:bytes.LastIndexByte(buffered, '\n')+1]
	return len(bytes.TrimSpace(lines)) > 0
}

// readLine reads the next line and returns its first MaxLine+1 bytes at
// most, without the line ending, and its full size. A last line without a
// newline is a line too; a read error that comes with part of a line is
// returned by the following call.
func (r *Reader) readLine() (text string, size int, err error) {
	if r.err != nil {
		return "", 0, r.err
	}
	if !r.started {
		// Only now, at the first read, do we look at the first two bytes:
		// NewReader must not wait for input that a user has not typed.
		r.started = true
		if order := utf16Order(r.in); order != nil {
			r.in.Discard(2) // the byte order mark
			r.in = bufio.NewReader(&utf16Reader{in: r.in, order: order})
		}
	}
	var kept []byte
	for {
		chunk, err := r.in.ReadSlice('\n')
		size += len(chunk)
		if room := MaxLine + 1 - len(kept); room > 0 {
			kept = append(kept, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // The line goes on; ReadSlice's buffer is full.
		}
		if err != nil && size == 0 {
			return "", 0, err
		}
		r.err = err // nil, or an error to return on the next call.
		if bytes.HasSuffix(chunk, []byte("\n")) {
			size-- // The newline ends the line but is not part of it.
			kept = bytes.TrimSuffix(kept, []byte("\n"))
		}
		r.number++
		return string(kept), size, nil
	}
}

// Open opens the input of a program that reads numbers: the one file named
// in args, or stdin when args is empty.
func Open(args []string, stdin io.Reader) (io.ReadCloser, error) {
	switch len(args) {
	case 0:
		return io.NopCloser(stdin), nil
	case 1:
		f, err := os.Open(args[0])
		if err != nil {
			return nil, err
		}
		// Opening a directory works; reading it fails. Say so now.
		if info, err := f.Stat(); err == nil && info.IsDir() {
			f.Close()
			return nil, fmt.Errorf("%s is a directory, not a file", args[0])
		}
		return f, nil
	default:
		// Python's argparse takes flags anywhere; Go's flag package stops
		// at the first argument that is not one.
		for _, arg := range args[1:] {
			if strings.HasPrefix(arg, "-") {
				return nil, fmt.Errorf("%s comes after the file %s: put flags before it", arg, args[0])
			}
		}
		return nil, fmt.Errorf("%d files given, want at most one", len(args))
	}
}

// utf16Order returns the byte order that in's UTF-16 byte order mark
// gives, or nil when in does not start with one.
func utf16Order(in *bufio.Reader) binary.ByteOrder {
	switch mark, _ := in.Peek(2); string(mark) {
	case "\xff\xfe":
		return binary.LittleEndian
	case "\xfe\xff":
		return binary.BigEndian
	}
	return nil
}

// A utf16Reader turns UTF-16 from in into UTF-8. A unit that is not valid
// UTF-16, such as half of a surrogate pair or an odd last byte, becomes
// U+FFFD, and so makes its line a line that is not a number. This is what
// Python's decode("utf-16", "replace") does, and for the same reason: a
// high surrogate that is not followed by a low one is replaced on its own,
// and the unit after it is decoded as itself, so that a newline after a
// lone surrogate still ends its line.
type utf16Reader struct {
	in    *bufio.Reader
	order binary.ByteOrder
	out   []byte // converted, and not yet read

	// A unit, or a read error, that was read to look for the second half
	// of a surrogate pair and turned out not to be one. The next Read
	// starts with it.
	held    uint16
	holding bool
	err     error
}

func (r *utf16Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		first, err := r.next()
		if err == io.ErrUnexpectedEOF {
			first, err = utf8.RuneError, nil // An odd last byte.
		}
		if err != nil {
			return 0, err
		}
		char := rune(first)
		if utf16.IsSurrogate(char) {
			char = utf8.RuneError // Unless it is the first half of a pair.
		}
		if isHighSurrogate(first) {
			switch second, err := r.unit(); {
			case err == nil && isLowSurrogate(second):
				char = utf16.DecodeRune(rune(first), rune(second))
			case err == nil:
				r.held, r.holding = second, true
			case err == io.EOF, err == io.ErrUnexpectedEOF:
				// Python, too, gives one U+FFFD for a high surrogate
				// at the end of the input, with or without an odd byte
				// after it; the next read of in gives io.EOF again.
			default:
				r.err = err
			}
		}
		r.out = utf8.AppendRune(r.out, char)
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// next returns the unit or read error held back by the last Read, if any,
// and otherwise reads the next unit.
func (r *utf16Reader) next() (uint16, error) {
	switch {
	case r.holding:
		r.holding = false
		return r.held, nil
	case r.err != nil:
		err := r.err
		r.err = nil
		return 0, err
	}
	return r.unit()
}

// unit reads one 16-bit unit. An odd byte at the end of the input gives
// io.ErrUnexpectedEOF.
func (r *utf16Reader) unit() (uint16, error) {
	var b [2]byte
	if _, err := io.ReadFull(r.in, b[:]); err != nil {
		return 0, err
	}
	return r.order.Uint16(b[:]), nil
}

// isHighSurrogate reports whether u is the first half of a surrogate pair,
// and isLowSurrogate whether it is the second.
func isHighSurrogate(u uint16) bool { return 0xd800 <= u && u < 0xdc00 }
func isLowSurrogate(u uint16) bool  { return 0xdc00 <= u && u < 0xe000 }
