// Package wsframe is sio's one WebSocket implementation of the wire (RFC
// 6455): the opening handshake on both sides, the frame decoder with its
// read-buffer policy, the frame encoders and masking, the close codes, and
// the non-blocking reads and writes of a raw socket. The server engine
// (pkg/server/eioserver) and the load generator (pkg/loadgen) build on it;
// the client engine (pkg/client/eioclient) uses gorilla/websocket, whose
// proxy, TLS and dialer support a client needs.
//
// It is a toolkit, not a connection type: each user owns its buffers,
// goroutines and write scheduling (the server reads idle connections from
// epoll without a goroutine and writes every packet queued at one time in
// one write(2); BENCHMARKS.md has the figures that justify that over a
// library). It has no extensions (no permessage-deflate, which socket.io
// leaves off by default) and no subprotocol negotiation beyond Node's ws:
// the first offered subprotocol is echoed.
//
// The behaviour follows Node's ws 8 (what socket.io runs on): the refusal
// statuses and texts of a bad upgrade, the close codes (1002 for a
// protocol violation, 1007 for text that is not UTF-8, 1009 for a message
// over the limit), the close codes a peer may send (isValidStatusCode),
// and the answer to a close frame (the same code and reason).
// test/interop/wsframe sends the same frames and handshakes to ws and to an
// echo server on this package (pkg/internal/wsecho) and compares the
// answers.
package wsframe
