package protocol

// DisconnectReason is why a connection or socket ended, in Node's exact
// words (socket.io socket-types.ts), so sio's logs read like Node's. It
// implements error so it can travel as one.
type DisconnectReason string

const (
	ReasonTransportClose            DisconnectReason = "transport close"
	ReasonTransportError            DisconnectReason = "transport error"
	ReasonPingTimeout               DisconnectReason = "ping timeout"
	ReasonParseError                DisconnectReason = "parse error"
	ReasonForcedClose               DisconnectReason = "forced close"
	ReasonServerShuttingDown        DisconnectReason = "server shutting down"
	ReasonForcedServerClose         DisconnectReason = "forced server close"
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
	// Client-side reasons (socket.io-client).
	ReasonIOServerDisconnect DisconnectReason = "io server disconnect"
	ReasonIOClientDisconnect DisconnectReason = "io client disconnect"
)

func (r DisconnectReason) Error() string { return string(r) }

// Recoverable reports whether a session that ended for r may be restored
// by connection state recovery (PROTOCOL.md §3, point 6).
func (r DisconnectReason) Recoverable() bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose,
		ReasonPingTimeout, ReasonServerShuttingDown, ReasonForcedServerClose:
		return true
	}
	return false
}
