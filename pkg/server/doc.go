// Package server is a Socket.IO server: the engine of `sio serve`, and a
// library for Go applications that the Node clients (socket.io-client 4.x,
// and 2.x with Options.AllowEIO3) accept as their own server. The Node
// socket.io 4.8 server is the reference for every behaviour on the wire.
//
// # Where to start
//
// New returns a Server, an http.Handler for Options.Path ("/socket.io/").
// Of returns a Namespace ("/" is the main one); OfFunc accepts namespaces
// by a predicate. Namespace.Use adds a Middleware (auth from the CONNECT
// payload, Socket.Handshake().Auth; a *ConnectError refuses with a message
// and data). Namespace.OnConnection receives each connected *Socket, on
// which On / OnAny register event handlers that receive an *Event (the raw
// JSON arguments plus binary attachments, with Decode / Bytes helpers and
// Ack). Socket.Emit, Socket.EmitWithAck, and the immutable
// BroadcastOperator values (To, In, Except, Broadcast, Volatile, Compress)
// send; Join / Leave / Rooms manage rooms; FetchSockets, SocketsJoin,
// SocketsLeave and DisconnectSockets act on a selection. Server.Sockets and
// Namespace.Rooms list what is connected, Options.OnConnect / OnDisconnect /
// OnUpgrade report lifecycle events, and Options.Tap sees every Engine.IO
// and Socket.IO packet with its raw bytes.
//
// Arguments to Emit and Ack are Go values: json.RawMessage is sent as is,
// []byte becomes a binary attachment (also inside []any and map[string]any),
// anything else is encoded with encoding/json. The packet is sent as
// BINARY_EVENT / BINARY_ACK exactly when it holds binary. To echo or relay
// what a peer sent, EmitArgs and AckArgs take the received Args and send
// them byte for byte (key order, number spelling, binary in its place),
// with nothing decoded: s.EmitArgs(ev.Name, ev.Args), ev.AckArgs(ev.Args).
//
// # Concurrency
//
// Every exported method of Server, Namespace, Socket, BroadcastOperator and
// the Adapter is safe for concurrent use from any goroutine.
//
// Each connection has one reader and one writer (in the Engine.IO layer).
// Middlewares, connection handlers, event handlers and ack callbacks run on
// the connection's reader, one at a time, in arrival order, as on Node's
// event loop: a slow handler delays only its own connection. A handler may
// emit, join, broadcast and disconnect; it must not wait for an
// acknowledgement from its own connection with EmitWithAck (that ack is
// delivered by the goroutine it blocks): use EmitWithAckFunc there. A panic
// in a handler is recovered and logged and disconnects that socket only.
// OnDisconnect callbacks run once, on whichever goroutine ended the socket.
//
// Sending never blocks: each connection has a bounded queue
// (Options.SendQueue packets, Options.SendQueueBytes bytes). A connection whose queue is full is closed as too
// slow ("transport error"); a volatile packet is dropped instead. A
// broadcast encodes its packet once and queues the same bytes on every
// target. No lock is held while calling user code or doing network I/O, and
// there is no goroutine per packet or per acknowledgement.
//
// # Versions
//
// Socket.IO v5 (socket.io 3/4, EIO=4) is the default. With AllowEIO3,
// socket.io 2 clients get v4 semantics as a socket.io 4 server gives them:
// "/" is connected by the server, namespace replies carry no sid, the
// namespace query is the auth, socket ids are "<nsp>#<engine sid>", and
// middleware errors are sent as data or message.
//
// Connection state recovery (Options.Recovery) follows socket.io ≥4.6: a
// client that reconnects within the window gets back its id, rooms and
// data, and the packets it missed are replayed before the CONNECT reply.
//
// Specs: docs/PROTOCOL.md §2–§4; socket.io-protocol v5.
package server
