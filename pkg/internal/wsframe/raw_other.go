//go:build !unix

package wsframe

import "syscall"

// TryWrite writes nothing: without a raw descriptor the caller's writer
// goroutine does every write.
func TryWrite(syscall.RawConn, []byte) (int, error) { return 0, nil }

// ReadNonblock is not available: readers block in Read.
func ReadNonblock(syscall.RawConn, []byte) (int, error) { return 0, syscall.EINVAL }
