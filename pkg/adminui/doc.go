// Package adminui speaks the protocol of the socket.io admin UI
// (@socket.io/admin-ui 0.5.x), on both sides.
//
// The client side (Dial, Client) connects to a server instrumented with
// Node's instrument(io, {...}): it authenticates on the admin namespace
// ("/admin" by default) with basic auth or none, folds the events the
// server streams (config, server_stats, all_sockets, socket_connected,
// socket_updated, socket_disconnected, room_joined, room_left,
// event_received, event_sent) into a State of servers, sockets, rooms and
// recent events, and sends the commands the server's config allows (join,
// leave, _disconnect, emit).
//
// The server side (Instrument) gives a pkg/server.Server the same admin
// namespace, so the official admin UI, or sio's own client, can watch and
// manage it.
//
// The wire facts this package relies on, taken from the package's
// dist/index.js and from captures of a real instrumented server, are in
// docs/ADMINUI.md.
package adminui
