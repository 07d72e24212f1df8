//go:build linux || darwin

package fib

import (
	"os"
	"syscall"
)

// startedClosed reports whether f is /dev/null opened for reading and
// writing, which is what Go's runtime puts in place of a standard
// descriptor that was closed at start. It reports false when it cannot
// tell.
func startedClosed(f *os.File) bool {
	// We compare device numbers rather than paths or inodes: a container
	// may give /dev/null a node of its own, but it is still the same
	// device.
	var null syscall.Stat_t
	if err := syscall.Stat("/dev/null", &null); err != nil || !isCharDevice(&null) {
		return false
	}
	// SyscallConn, unlike Fd, leaves f as it is; Fd would put it in
	// blocking mode.
	conn, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var closed bool
	err = conn.Control(func(fd uintptr) {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(fd), &st); err != nil || !isCharDevice(&st) || st.Rdev != null.Rdev {
			return
		}
		// F_GETFL does not block, so there is no need to tell the
		// scheduler, as Syscall would.
		flags, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		closed = errno == 0 && flags&syscall.O_ACCMODE == syscall.O_RDWR
	})
	return err == nil && closed
}

// isCharDevice reports whether st describes a character device.
func isCharDevice(st *syscall.Stat_t) bool {
	return st.Mode&syscall.S_IFMT == syscall.S_IFCHR
}
