// Package eioclient is sio's Engine.IO client: the transport layer under the
// Socket.IO client (pkg/client). It speaks EIO4 (socket.io 3.x/4.x) and EIO3
// (socket.io 1.x/2.x) over HTTP long-polling and WebSocket and behaves on the
// wire like engine.io-client 6 (EIO4) and 3 (EIO3): the same query
// parameters, batching, heartbeat and upgrade sequence.
//
// Start at Dial. It performs the handshake and returns a *Conn once the open
// packet has arrived. With Transport "auto" the connection starts on polling
// and probes a WebSocket in the background (2probe, 3probe, pause polling, 5);
// OnUpgrade reports the switch. With EIO 0 the revision is detected: EIO4 is
// tried first, and a v3-format answer (socket.io 2.x ignores EIO and answers
// "96:0{…}") or a 400 with code 5 selects EIO3. Over WebSocket only, an open
// packet without maxPayload is followed by a short wait for an unsolicited
// message (socket.io 2 sends "40" at once) before EIO4 is assumed;
// Conn.EIOGuessed reports such an assumption, which the Socket.IO layer
// corrects when the server answers like socket.io 2.
//
// # Concurrency
//
// A Conn owns these goroutines, all stopped before Close returns:
//   - WebSocket: one reader (read, parse, dispatch) and one writer (drain the
//     queue, one frame per packet). Only Close touches the socket otherwise.
//   - Polling: one GET loop (the reader) and one POST loop (the writer; at
//     most one POST in flight, batching every queued packet up to the
//     server's maxPayload).
//   - Upgrade: one probe goroutine, which becomes the WebSocket reader.
//   - Heartbeat: one re-armed timer; no goroutine per tick.
//
// Send, Flush, Close, Transport, SID, EIO, Handshake and Done are safe to
// call from any goroutine. Send never blocks: the queue is bounded by
// MaxQueue and a full queue is an error (ErrQueueFull).
//
// OnMessage, OnUpgrade and OnClose run on the connection's goroutines,
// sequentially and never during Dial: a slow OnMessage delays only this
// connection. They may call Send and Close: Close never blocks, it starts
// the flush and close, and Done and OnClose report the end. A callback may run
// before the caller of Dial has stored the returned *Conn, so a handler that
// needs the Conn must get it through its own synchronisation. A panic in a
// callback is recovered, logged and closes the connection. Tap runs on the
// reader and writer goroutines; it must not block and must not call Close.
// After an upgrade the idle polling connections are closed at once, so an
// upgraded connection holds one TCP connection and two goroutines.
//
// OnClose is called exactly once, after every goroutine has returned and
// before Done is closed, with Node's reason: "io client disconnect" (Close),
// "transport close", "transport error", "ping timeout", "parse error" or
// "forced close" (the server sent close).
//
// # Errors
//
// Dial returns an *HTTPError for a refused request (its EngineError method
// decodes Node's {"code","message"} body), errors wrapping ErrProtocol for a
// server that breaks the protocol, and network errors inside a *url.Error,
// so errors.Is(err, syscall.ECONNREFUSED), errors.As(err, **net.DNSError),
// errors.As(err, *tls.CertificateVerificationError) and
// errors.Is(err, context.DeadlineExceeded) tell the causes apart.
//
// Specs: engine.io-protocol (github.com/socketio/engine.io-protocol) and
// PROTOCOL.md §1 in sio's shared specs.
package eioclient
