// Package uring is the minimal io_uring that sio's batched sends share:
// the server engine's FlushBatch (pkg/server/eioserver) and the load
// generator's epoll event loops (pkg/loadgen) submit one IORING_OP_SEND
// per connection and enter the ring once per batch instead of making one
// write(2) each. No Go io_uring library is reachable from the module proxy
// sio builds with, and this is all they need.
//
// The ring is built on Linux without the sio_nouring build tag; elsewhere
// the package is empty and its users write with write(2).
package uring
