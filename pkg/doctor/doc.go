// Package doctor diagnoses why a Socket.IO connection fails and says what
// to change. Run performs a fixed sequence of checks against one URL, each
// only as far as the previous ones allow, and reports each as a Result:
// ✓ (StatusOK), ✗ (StatusFail) or ! (StatusWarn) with, for the last two,
// the cause and the exact change to make (a client option, a server
// option, a proxy setting or a sio flag).
//
// The sequence (check IDs in order): dns, tcp, tls (https and wss only),
// http, path, version, polling, websocket, upgrade, sticky, cors (with
// Options.Origin), namespace, heartbeat, emit (with Options.EmitEvent).
// The low checks use net, crypto/tls and net/http directly, so that each
// failure is seen where it happens; the Engine.IO probes speak the wire
// with pkg/protocol; the polling session uses pkg/client/eioclient and
// the namespace, heartbeat and emit checks a real pkg/client.Client.
//
// Every network step is bounded by Options.Timeout, probes that may each
// wait for a silent server run in parallel, and the whole run is bounded
// by a deadline derived from Timeout and the server's announced
// heartbeat. Run starts no goroutine that outlives it.
//
// The package prints nothing: cmd/sio's doctor command renders Results as
// text or JSON lines.
package doctor
