// Package control is the control API of `sio serve`: what a script, a CI
// job or the dashboard does to a running server from the outside — list the
// connected sockets and the rooms, emit to everyone, a namespace, a room or
// one socket (optionally waiting for each client's acknowledgement), put a
// socket in or out of a room, and disconnect sockets.
//
// # Where to start
//
// New wraps a *server.Server in a Control, whose methods are the operations
// (Sockets, Rooms, Emit, Join, Leave, Disconnect). NewHandler serves them as
// JSON over HTTP under /_sio/, guarded by a bearer token:
//
//	GET  /_sio/sockets     [?namespace=/admin] [&room=r1]
//	GET  /_sio/rooms       [?namespace=/admin]
//	POST /_sio/emit        {"namespace","room","socket","event","args","ack"}
//	POST /_sio/join        {"namespace","socket","room"}
//	POST /_sio/leave       {"namespace","socket","room"}
//	POST /_sio/disconnect  {"namespace","room","socket","close"}
//
// A Target picks sockets: one socket by id, or the members of a room, or
// every socket; Namespace narrows any of them to one namespace and, when
// empty, means every namespace. Event arguments are raw JSON in which
// {"$binary":"<base64>"} stands for a binary attachment (CLI.md, "Event
// arguments"); acknowledgements come back the same way.
//
// # Concurrency
//
// Control and the handler are safe for concurrent use. Emit with an ack
// wait blocks its caller (an HTTP request) until every addressed socket has
// answered, timed out or disconnected; the wait is bounded by the timeout
// and by the caller's context, and uses no goroutine of its own.
package control
