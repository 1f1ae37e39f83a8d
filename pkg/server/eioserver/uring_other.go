//go:build !linux || sio_nouring

package eioserver

// uringState is empty where there is no io_uring: FlushBatch writes with
// write(2).
type uringState struct{}

func (u *uringState) close() {}

func flushBatchUring([]*Session) bool { return false }

func (s *Server) ringOn() bool { return false }
