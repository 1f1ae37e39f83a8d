package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server/eioserver"
)

// Options configure a Server. The zero value gives Node's defaults
// (socket.io 4.8 ServerOptions and engine.io ServerOptions).
type Options struct {
	// Path is where the server answers, matched with its trailing slash as
	// a prefix. Default "/socket.io/".
	Path string
	// PingInterval is the heartbeat period. Default 25s.
	PingInterval time.Duration
	// PingTimeout is the heartbeat grace. Default 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a polling → WebSocket upgrade. Default 10s.
	UpgradeTimeout time.Duration
	// MaxPayload is Node's maxHttpBufferSize: the largest POST body (413)
	// and WebSocket message (close 1009). Default 1e6 bytes.
	MaxPayload int64
	// Transports are the enabled transports. Default {"polling", "websocket"}.
	Transports []string
	// AllowUpgrades permits polling → WebSocket upgrades. Default true.
	AllowUpgrades *bool
	// AllowEIO3 accepts socket.io 2.x clients (Engine.IO v3, Socket.IO v4
	// semantics, PROTOCOL.md §2.7). Default false.
	AllowEIO3 bool
	// CORS enables CORS headers. Nil (the default) sends none, as Node.
	CORS *CORS
	// AllowRequest may refuse a request: a non-nil error is a 403.
	AllowRequest func(r *http.Request) error

	// ConnectTimeout closes a connection that joins no namespace in time
	// (Socket.IO v5 only). Default 45s.
	ConnectTimeout time.Duration
	// Recovery turns on connection state recovery (socket.io ≥4.6) with this
	// window (maxDisconnectionDuration). 0, the default, disables it.
	Recovery time.Duration
	// RecoveryBuffer bounds the packets kept per namespace for recovery.
	// Default 10000; older packets are dropped first.
	RecoveryBuffer int
	// SendQueue is the most engine.io messages queued for one connection.
	// A connection whose queue is full is closed as too slow ("transport
	// error"); a volatile packet is dropped instead. Default 1024.
	SendQueue int
	// SendQueueBytes bounds the bytes a connection holds for its peer
	// (queued, or in a write the peer has not taken): a connection that
	// would pass it is closed as too slow, like a full SendQueue, with a
	// warning naming the bound. A message sent to a connection holding
	// nothing is taken whatever its size. Default 8 × MaxPayload (8 MB):
	// see eioserver.Options.SendQueueBytes.
	SendQueueBytes int64
	// IOUring is how a broadcast's writes to many WebSocket connections
	// leave: io_uring sends in one system call where the kernel allows it
	// (IOUringAuto or "", the default), write(2) each (IOUringOff); see
	// eioserver.Options.IOUring.
	IOUring IOUringMode
	// Tap, when set, sees every Engine.IO packet (Layer LayerEngine) and
	// every complete Socket.IO packet (Layer LayerSocket, SID = socket id,
	// Raw = header text then attachments) in and out. It is called on the
	// connection's goroutines and must not block; it must copy what it keeps.
	Tap func(protocol.Trace)
	// SocketTapOnly gives Tap only the Socket.IO packets: the Engine.IO
	// layer then builds no trace at all, which a consumer that would drop
	// them anyway (sio serve's log without -v) should not pay for per packet.
	SocketTapOnly bool
	// OnEngineReject is called for each request the Engine.IO layer refuses
	// with an Engine.IO error; see eioserver.Options.OnReject.
	OnEngineReject func(r *http.Request, e protocol.EngineError)
	// OnPeerError is called when a peer breaks the Engine.IO or
	// WebSocket protocol and its connection is closed (or its polling body
	// refused); see eioserver.Options.OnSessionError. Its SID is the
	// Engine.IO session id.
	OnPeerError func(err *PeerError)
	// Logger receives lifecycle (Debug) and misbehaving-peer (Warn) logs.
	// Their text is for people: programs use OnEngineReject and
	// OnPeerError. Nil discards.
	Logger *slog.Logger
	// Codec is the Socket.IO packet format. Default protocol.JSONCodec.
	Codec protocol.Codec
	// Adapter makes each namespace's adapter. Default NewMemoryAdapter.
	Adapter AdapterFactory
	// MaxAttachments bounds the attachments of one incoming binary packet.
	// Default 10, as socket.io-parser.
	MaxAttachments int
	// CleanupEmptyChildNamespaces removes a namespace that OfFunc created
	// once its last socket has left (Node's cleanupEmptyChildNamespaces):
	// it leaves Namespaces and its parent's broadcasts, its adapter is
	// closed when it has a Close() method (as Node's adapter.close()), and
	// its recovery sessions go with it. The next CONNECT to that name
	// creates it afresh through the parent. Without it every name a client
	// ever asked for is kept until the server stops. Namespaces made with
	// Of are never removed. Default false, as Node.
	CleanupEmptyChildNamespaces bool

	// OnConnect is called for every socket of every namespace once it is
	// connected (after its CONNECT reply, before the namespace's connection
	// handlers).
	OnConnect func(s *Socket)
	// OnDisconnect is called once for every socket that ends, with Node's
	// reason string.
	OnDisconnect func(s *Socket, reason protocol.DisconnectReason)
	// OnUpgrade is called for each socket of a connection whose transport
	// changed (polling → websocket).
	OnUpgrade func(s *Socket, transport string)
	// OnRoomChange is called for every real change of a socket's rooms
	// in namespace n, as Node's adapter events "join-room" and
	// "leave-room": whoever made it (the socket's Join, a disconnect, a
	// socketsJoin relayed from another node). The namespace's adapter
	// must be a RoomWatcher (MemoryAdapter and the adapters that embed it
	// are); with another one nothing is reported, and the server says so
	// once per namespace in its log.
	OnRoomChange func(n *Namespace, c RoomChange)

	// NewID makes engine.io session ids and Socket.IO socket ids. Default
	// 20 characters of random URL-safe base64, as Node.
	NewID func() string
	// Now is the clock for traces and handshakes. Default time.Now.
	Now func() time.Time
}

// Node's http.Server timeouts, for the http.Server that serves a Server:
// set its IdleTimeout to KeepAliveTimeout, ReadHeaderTimeout to
// HeadersTimeout and ReadTimeout to RequestTimeout. Without them net/http
// keeps idle keep-alive connections and waits for unfinished requests
// forever (eioserver.KeepAliveTimeout).
const (
	KeepAliveTimeout = eioserver.KeepAliveTimeout // 5 s, keepAliveTimeout
	HeadersTimeout   = eioserver.HeadersTimeout   // 60 s, headersTimeout
	RequestTimeout   = eioserver.RequestTimeout   // 300 s, requestTimeout
)

// PeerError is a peer's protocol error at the Engine.IO layer
// (OnPeerError): errors.Is tells ErrMessageTooBig, ErrInvalidPacket,
// ErrHeartbeatDirection and ErrWebSocketProtocol apart.
type PeerError = eioserver.SessionError

// The causes of a PeerError.
var (
	ErrMessageTooBig      = eioserver.ErrMessageTooBig
	ErrInvalidPacket      = eioserver.ErrInvalidPacket
	ErrHeartbeatDirection = eioserver.ErrHeartbeatDirection
	ErrWebSocketProtocol  = eioserver.ErrWebSocketProtocol
)

// IOUringMode is Options.IOUring: IOUringAuto or IOUringOff.
type IOUringMode = eioserver.IOUringMode

// The values of Options.IOUring.
const (
	IOUringAuto = eioserver.IOUringAuto
	IOUringOff  = eioserver.IOUringOff
)

// CORS configures Cross-Origin Resource Sharing on the HTTP endpoint; it is
// the engine's configuration, passed through as is.
type CORS = eioserver.CORS

func (o *Options) setDefaults() {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 45 * time.Second
	}
	if o.RecoveryBuffer <= 0 {
		o.RecoveryBuffer = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Codec == nil {
		o.Codec = protocol.JSONCodec{}
	}
	if o.Adapter == nil {
		o.Adapter = func(n *Namespace) Adapter { return NewMemoryAdapter(n) }
	}
	if o.NewID == nil {
		o.NewID = randomID
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}
