// Package proxy is a decoding reverse proxy for Socket.IO: put it between
// an app's clients and the app's server, and it forwards every request and
// WebSocket message unchanged while decoding both directions into the same
// traces sio serve reports — Engine.IO and Socket.IO packets, binary
// attachments put back together, acknowledgements paired with the event
// they answer, upgrades and disconnects.
//
// # Where to start
//
// New takes Options (the Target URL, the Engine.IO Path) and returns a
// *Proxy, an http.Handler. Requests under Path are the Engine.IO traffic:
// long-polling requests go through an httputil.ReverseProxy whose transport
// decodes the bodies on their way, and WebSocket upgrades are dialled to
// the target and then pumped message by message, one goroutine per
// direction. Everything else is handed to a plain httputil.ReverseProxy, so
// the proxy can front a whole dev server.
//
// Options.Tap sees every Event (a packet with its direction, or a step in a
// session's life), and Subscribe gives a bounded stream of them to a
// consumer that comes and goes (a TUI). Sessions lists the live sessions;
// Inject, AnswerAck, Hold, Release, Kill and SetFaults act on them. The
// package does no rendering and serves no API of its own: sio proxy's
// control API over those actions (SetControl) and the rendering of events
// in sio serve's log schema live with the command's other internals.
//
// # Invisibility
//
// Decoding is a side channel: bytes are forwarded as they came, and a frame
// that does not decode is still forwarded (and reported as an error with
// its offset), so both ends see what they would see without the proxy.
// Only the interventions change the traffic: injected packets, dropped
// events (DropRate), delays, refused upgrades (NoWebSocket) and killed
// transports.
//
// # Concurrency
//
// A Proxy is safe for concurrent use. Tap is called on the connection
// goroutines and must not block. Per WebSocket leg one goroutine reads and
// forwards; injected messages share that leg's write mutex, which is held
// only for the write itself.
package proxy
