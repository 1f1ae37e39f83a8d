// Package client is sio's Socket.IO client: it talks to Node socket.io
// 4.x/3.x (Engine.IO v4, Socket.IO v5) and 2.x (Engine.IO v3, Socket.IO v4)
// servers over long-polling, WebSocket or polling upgraded to WebSocket,
// on top of the Engine.IO layer in pkg/client/eioclient.
//
// Start with Dial (or New, On, then Connect, to catch the very first
// events), which connects the URL's namespace; Of multiplexes more
// namespaces on the same connection. Emit, EmitVolatile and EmitWithAck
// send events; On and OnAny receive them; Event.Ack answers the server's
// ack requests, which are otherwise answered automatically
// (Options.AckReply, no arguments by default). Close ends everything.
//
// Like socket.io-client, a Client reconnects after losing its connection,
// with exponential backoff and jitter (Options.Reconnect*), reporting each
// attempt through OnState, and reconnects its namespaces. On servers with
// connection state recovery it sends back the private id and the last
// offset, and Socket.Recovered reports whether the session was restored
// (PROTOCOL.md §3).
//
// With Options.EIO zero the revision is detected. Over WebSocket only the
// engine may have to assume v4 (a socket.io 2 server whose "/" middleware
// is slow says nothing at first); a CONNECT answered without a sid, or
// refused with a string, then shows a 2.x server, and the client dials
// again with v3 at once, without disconnect or error events.
//
// Every Engine.IO and Socket.IO packet in and out can be observed with
// Options.Tap, which sio uses for -v, --raw and the TUI's inspector.
//
// # Concurrency
//
// All methods of Client and Socket are safe for concurrent use. Handlers
// registered with On and OnAny run on the connection's reader goroutine,
// one at a time and in arrival order, as in Node's event loop: a slow
// handler delays the packets behind it, and a panicking one is recovered
// and logged. Handlers may emit, and may answer acks later from any
// goroutine (Event.TakeAck), but must not call Client.Close, which waits
// for that goroutine. OnState handlers and the Tap run on whichever
// goroutine makes the change and must not block.
//
// A Client owns the engine's goroutines and one supervisor goroutine that
// reconnects; Close (or the end of reconnection) stops them all, and
// none outlives Close. Queues are bounded: Options.MaxBuffer per socket
// while disconnected, and the engine's send queue.
//
// Specs: socket.io-protocol v4/v5, engine.io-protocol v3/v4, and
// PROTOCOL.md §2, §3 and §6 in sio's shared specs.
package client
