// Package eioserver is an Engine.IO server (protocol v4, and v3 for socket.io
// 2.x clients), usable on its own like Node's engine.io package and as the
// transport layer of sio's Socket.IO server. It matches Node engine.io 6.x
// on the wire: HTTP long-polling, WebSocket, the polling → WebSocket
// upgrade, heartbeats in both directions, Node's error codes, CORS and
// maxHttpBufferSize (PROTOCOL.md §1, engine.io-protocol).
//
// Start at NewServer and Options; mount the Server (an http.Handler) at
// Options.Path and set OnConnection. Each Session has Send, SendVolatile,
// Close and the OnMessage / OnClose / OnUpgrade callbacks.
//
// # Concurrency
//
// Server and Session methods are safe for concurrent use. Set
// Server.OnConnection before serving; set a session's callbacks inside
// OnConnection.
//
//   - OnConnection runs on the handshake request's goroutine, before any of
//     the session's messages is delivered.
//   - OnMessage is called sequentially, in arrival order, on the session's
//     reader (the WebSocket reader goroutine or the POST request's
//     goroutine), never under a lock, so a slow handler delays only its own
//     session. OnClose runs exactly once and never overlaps OnMessage; it may
//     run on any goroutine (a reader, a timer, or the one that called Send or
//     Close). OnMessage and OnClose may call any Session method.
//   - Send and SendVolatile never block: a session has a queue bounded in
//     packets and in bytes (Options.SendQueue, Options.SendQueueBytes) and
//     a full queue disconnects it as a slow consumer. Send takes ownership of the data slices, so one encoding may
//     be sent to many sessions.
//   - Options.Tap is called on the goroutine that reads or writes the packet
//     (an outgoing WebSocket packet just before it is written), never under
//     a lock.
//
// Goroutines: an idle WebSocket session has none. Frames are read by
// this package from the raw connection, with pkg/internal/wsframe's
// handshake (Node's ws answers) and decoder. On Linux an idle connection waits in the server's epoll
// set, itself waited for by Go's network poller; when data arrives a worker
// goroutine (from a small pool that grows while workers are busy, so a slow
// handler delays only its own connection) reads the socket without
// blocking until it is empty and handles the messages in order. Elsewhere,
// and over TLS, each connection has one reader goroutine. A read buffer is
// held only while bytes are handled or a frame is incomplete
// (BenchmarkIdleWebSocketMemory: about 3 kB per idle session). Writing: the
// goroutine that queues packets on an idle session writes them at once,
// every queued packet in one write(2), without blocking (as Node writes
// from its event loop); only what the socket cannot take now is left to a
// writer goroutine, which writes with blocking writes under a deadline and
// returns when the queue is empty. A handler that sends to other sessions
// may defer those writes to the end of the read it is handling, so that the
// events of one read reach each session in one write: SendDeferred with the
// sender's FlushBatch (Socket.IO broadcasts from a socket do). On Linux a
// batch that ends with several sessions to write gives their first writes
// to the kernel in one io_uring_enter (Options.IOUring, uring_linux.go);
// write(2) where io_uring is unavailable or off. Pongs and
// the close frame go through the same writer, so frames never interleave. A polling session has no
// goroutine: its pending GET request is the writer and a POST request the
// reader. The heartbeat (v4: the server pings; v3: the client does), the
// close deadline and the upgrade timeout are runtime timers
// (time.AfterFunc), re-armed rather than recreated, with no goroutine while
// they wait. During an upgrade the probe socket is read the same way, and
// its reader becomes the session's on "5". Shutdown waits for all of them.
//
// # Deadlines
//
// A connection's deadlines belong to whoever is blocked on it, for that one
// call: every blocking write (a writer goroutine's batch, a probe's
// "3probe", the close frame) sets its write deadline just before and
// clears it just after (wsTransport.writeBlocking). A deadline left set
// would outlive its phase and fail the next non-blocking write on the
// same connection once it passed (the bug that dropped every upgraded
// client at its first write 5 s after the upgrade). Only Session.end sets a
// deadline it does not clear, to cut short a writer stuck on a peer that
// does not read, on a connection that is closing anyway. Reads need no
// deadline: the heartbeat ends a silent session and closing the
// connection stops its reader. Polling requests are net/http's, which
// resets a connection's read deadline for every request; the engine sets
// one only to cut a request body short, while the request's handler still
// runs, and the connection is closed after it: a POST reading its body
// when its session ends or upgrades or another POST overlaps it
// (destroyPostLocked, Node's dataReq.destroy()), and a body the handler
// leaves unread (bodyReader.cutUnread), which net/http would otherwise
// read to its end, if it has one, before answering.
//
// The http.Server serving the engine owns the rest: KeepAliveTimeout,
// HeadersTimeout and RequestTimeout are Node's values for it.
//
// Differences from Node, on purpose: a "1" (close) packet ends the session
// on every transport (Node ignores it over WebSocket); during an upgrade a
// pending polling GET is answered with a noop as soon as "3probe" is sent,
// and any GET arriving before "5" at once (Node checks every 100 ms); a
// polling response carries about MaxPayload bytes at most (at least one
// packet), the rest going to the next GET.
package eioserver
