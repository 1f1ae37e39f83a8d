package proxy

import (
	"encoding/json"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Side is an end of a proxied session.
type Side uint8

const (
	FromClient Side = iota // the app's client sent it (towards the server)
	FromServer             // the app's server sent it (towards the client)
)

func (s Side) String() string {
	if s == FromServer {
		return "server"
	}
	return "client"
}

// other is the far end of s.
func (s Side) other() Side { return 1 - s }

// Dir is the trace direction of what s sent, as sio serve would log it in
// the app server's place: client→server is "in", server→client "out".
func (s Side) Dir() protocol.Direction {
	if s == FromServer {
		return protocol.Out
	}
	return protocol.In
}

// ParseSide reads "client" or "server".
func ParseSide(s string) (Side, bool) {
	switch s {
	case "client":
		return FromClient, true
	case "server":
		return FromServer, true
	}
	return 0, false
}

// Kind says what an Event reports.
type Kind string

const (
	KindPacket  Kind = "packet"     // an Engine.IO or Socket.IO packet went through (Trace)
	KindOpen    Kind = "open"       // a session's handshake (Data: the open packet's JSON)
	KindUpgrade Kind = "upgrade"    // the session moved to WebSocket
	KindClose   Kind = "disconnect" // one side ended the transport (Reason)
	KindError   Kind = "error"      // a frame did not decode, or forwarding failed (Reason, Offset)
	KindInject  Kind = "inject"     // the proxy sent a packet of its own (Trace)
	KindDrop    Kind = "drop"       // a packet was dropped by DropRate (Trace)
	KindKill    Kind = "kill"       // the proxy killed the transport
	KindHold    Kind = "hold"       // an ack answer is held (Trace)
)

// Event is one thing the proxy saw or did in a session.
type Event struct {
	Time      time.Time
	Kind      Kind
	From      Side   // who sent the packet, or whose side a lifecycle step is about
	SID       string // the Engine.IO session id
	Transport string // "polling" or "websocket"
	EIO       protocol.EIO

	// Trace is the packet of KindPacket, KindInject, KindDrop and KindHold:
	// Dir In is client→server, Out server→client (as sio serve would log
	// it), Layer says Engine.IO or Socket.IO.
	Trace protocol.Trace

	Reason string          // close reason, error text
	Data   json.RawMessage // KindOpen: the handshake
	// Client is KindOpen's client address (host:port), as the proxy saw it.
	Client string
	// Offset is where in the frame a KindError's decoding failed, -1 when
	// the error has no position.
	Offset int

	// AckEvent and AckDelay pair a Socket.IO ACK with the EVENT it answers:
	// the event's name and the time between the two passing the proxy.
	AckEvent string
	AckDelay time.Duration
	Acked    bool // AckEvent and AckDelay are set
}

// IsEngine reports whether e is an Engine.IO-level packet (shown with -v).
func (e Event) IsEngine() bool {
	return (e.Kind == KindPacket || e.Kind == KindDrop) && e.Trace.Layer == protocol.LayerEngine
}
