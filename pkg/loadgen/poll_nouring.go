//go:build !linux || sio_nouring

package loadgen

// Without io_uring (other systems, or the sio_nouring build tag) the event
// loops write each connection's requests with write(2).

type ringHooks struct{}
