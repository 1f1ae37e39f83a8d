//go:build unix

package wsframe

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// TryWrite writes as much of b as the socket takes now, without blocking
// (the descriptor is non-blocking, as Go's runtime keeps every socket): n
// < len(b) with a nil error means the socket buffer is full.
func TryWrite(rc syscall.RawConn, b []byte) (int, error) {
	n := 0
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := unix.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				return true
			case e != nil:
				werr = e
				return true
			case m == 0:
				return true
			}
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// ReadNonblock reads what the socket holds now: syscall.EAGAIN when it is
// empty, (0, nil) at EOF.
func ReadNonblock(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), b)
			if rerr != unix.EINTR {
				break
			}
		}
		if n < 0 {
			n = 0
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}
