//go:build !unix

package eioserver

import "syscall"

// tryWrite writes nothing: without a raw descriptor the writer goroutine
// does every write.
func tryWrite(syscall.RawConn, []byte) (int, error) { return 0, nil }
