package eioserver

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Transport names, as in the transport query parameter.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Options configure a Server. Zero values mean Node's defaults
// (engine.io 6.x ServerOptions).
type Options struct {
	// Path is where the endpoint lives, matched with its trailing slash as a
	// prefix of the request path (PROTOCOL.md §1.1). Default "/engine.io/";
	// socket.io passes "/socket.io/". A missing trailing slash is added.
	Path string
	// PingInterval is the heartbeat period (pingInterval). Default 25s.
	PingInterval time.Duration
	// PingTimeout is how long a v4 ping waits for its pong (pingTimeout).
	// Default 20s. A v3 session closes when no ping arrives within
	// PingInterval+PingTimeout.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a polling → websocket upgrade (upgradeTimeout).
	// Default 10s.
	UpgradeTimeout time.Duration
	// MaxPayload is maxHttpBufferSize: the largest POST body (413 beyond it)
	// and WebSocket message (close 1009 beyond it), and the announced
	// maxPayload. Default 1e6.
	MaxPayload int64
	// Transports lists the enabled transports. Default {"polling", "websocket"}.
	Transports []string
	// AllowUpgrades lets polling sessions upgrade to websocket. Default true.
	AllowUpgrades *bool
	// AllowEIO3 accepts EIO=3 (socket.io 2.x) clients; otherwise they get 400
	// with code 5. Default false.
	AllowEIO3 bool
	// CORS enables the cors middleware. nil (the default) sends no CORS
	// headers at all, as Node does.
	CORS *CORS
	// AllowRequest may reject a handshake: a non-nil error gives 403 with
	// code 4 and the error's text as message ("Forbidden" when empty).
	// Default nil (accept all).
	AllowRequest func(r *http.Request) error
	// SendQueue bounds the engine.io packets queued per session. Default
	// 1024. A Send that would overflow it closes the session as a slow
	// consumer (reason "transport error").
	SendQueue int
	// SendQueueBytes bounds the bytes of message data a session holds
	// that its peer has not taken yet: queued, or in a WebSocket write
	// that has not completed. A Send that would take it beyond the bound
	// closes the session as a slow consumer, like a full SendQueue (a
	// Send to a session holding nothing is taken whatever its size, so
	// that one large message never closes a session that keeps up).
	// Default 8 × MaxPayload (8 MB with Node's MaxPayload): eight of the
	// largest messages the application expects, or eight polling
	// responses of backlog; a peer that far behind is seconds behind on
	// any link, while 1,024 packets of MaxPayload would be 1 GB per slow
	// client. Node bounds neither.
	SendQueueBytes int64
	// IOUring says how a broadcast's writes leave: with IOUringAuto (or
	// ""), the default, when a FlushBatch ends with two or more WebSocket
	// sessions to write, their first writes go to the kernel together as
	// io_uring sends in one system call instead of one write(2) each
	// (Linux 5.11 or later: about 40 % less server CPU per delivery for a
	// room of 1,000). Where io_uring cannot be set up (another system, an
	// older kernel, seccomp in a container, io_uring_disabled) write(2) is
	// used, silently. IOUringOff always uses write(2). If the ring ever
	// fails, sessions whose write is in doubt end with "transport error"
	// and the server uses write(2) from then on (logged at Warn).
	IOUring IOUringMode
	// Tap sees every engine.io packet in and out (Layer LayerEngine) with the
	// exact bytes it had on the wire. It is called on the connection's
	// goroutines, never under a lock, and must not block. Default nil.
	Tap func(protocol.Trace)
	// OnReject is called for each request refused with an Engine.IO error
	// (Node's "connection_error" event): an unknown transport or session,
	// a refused EIO version, a bad handshake method, AllowRequest's
	// refusal. e is what the response carries. It runs on the request's
	// goroutine before the answer is written and must not block. Default
	// nil.
	OnReject func(r *http.Request, e protocol.EngineError)
	// OnSessionError is called when a peer breaks the protocol: the server
	// ends the session (or refuses a polling body over MaxPayload with
	// 413), and err says why (errors.Is with ErrMessageTooBig,
	// ErrInvalidPacket, ErrHeartbeatDirection, ErrWebSocketProtocol). It
	// runs on the session's goroutines and must not block. When set, these
	// are logged at Debug instead of Warn. Default nil.
	OnSessionError func(err *SessionError)
	// Logger receives lifecycle (Debug) and misbehaving-peer (Warn) logs.
	// Their text is for people: programs use OnReject and OnSessionError.
	// nil discards.
	Logger *slog.Logger
	// NewID makes session ids. Default 20 characters of random URL-safe
	// base64, like Node's base64id.
	NewID func() string
	// Now is the clock for traces. Default time.Now.
	Now func() time.Time
}

// IOUringMode is Options.IOUring.
type IOUringMode string

// The values of Options.IOUring.
const (
	IOUringAuto IOUringMode = "auto" // use io_uring where the kernel allows it
	IOUringOff  IOUringMode = "off"  // always write(2)
)

// CORS configures cross-origin headers, like the cors npm middleware that
// Node's engine.io runs before everything else (PROTOCOL.md §1.12).
type CORS struct {
	// Origins are the allowed origins; "*" allows any. Empty means "*".
	Origins []string
	// Credentials echoes the request's origin (instead of "*") and sends
	// Access-Control-Allow-Credentials: true.
	Credentials bool
	// AllowedHeaders for preflights. Default: copy
	// Access-Control-Request-Headers.
	AllowedHeaders []string
	// MaxAge for preflights (Access-Control-Max-Age). Default 0: not sent.
	MaxAge time.Duration
}

// Node's http.Server timeouts (keepAliveTimeout, headersTimeout,
// requestTimeout), for the http.Server that serves a Server: without them
// net/http never closes an idle keep-alive connection and waits for a
// request's headers and body without end, so a client can hold
// descriptors until the process runs out. Set IdleTimeout to
// KeepAliveTimeout, ReadHeaderTimeout to HeadersTimeout and ReadTimeout to
// RequestTimeout (a held long poll is not cut by it: net/http clears the
// read deadline once a request's body is read). Hijacked WebSocket
// connections have no deadline.
const (
	KeepAliveTimeout = 5 * time.Second
	HeadersTimeout   = 60 * time.Second
	RequestTimeout   = 300 * time.Second
)

// Node's defaults.
const (
	DefaultPath           = "/engine.io/"
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 20 * time.Second
	DefaultUpgradeTimeout = 10 * time.Second
	DefaultMaxPayload     = 1_000_000
	DefaultSendQueue      = 1024
	// DefaultSendQueuePayloads is the default SendQueueBytes in units of
	// MaxPayload.
	DefaultSendQueuePayloads = 8
)

// pollCloseTimeout is how long a polling session closed by the server waits
// for the GET that carries its close packet (Node's closeTimeout, 30s).
const pollCloseTimeout = 30 * time.Second

// wsCloseTimeout bounds the flush of a WebSocket session closed by the
// server, and the write of its close frame (config.wsCloseTimeout).
const wsCloseTimeout = 5 * time.Second

type config struct {
	path           string
	pingInterval   time.Duration
	pingTimeout    time.Duration
	upgradeTimeout time.Duration
	maxPayload     int64
	polling        bool
	websocket      bool
	allowUpgrades  bool
	allowEIO3      bool
	cors           *CORS
	allowRequest   func(*http.Request) error
	sendQueue      int
	sendQueueBytes int64
	ioUring        bool // try io_uring for FlushBatch flushes
	// wsCloseTimeout bounds a WebSocket's blocking writes outside the
	// writer (a probe's answer, the close frame) and the flush at a
	// server close; writeWait bounds each blocking write of the writer
	// goroutine (PingInterval+PingTimeout: a peer that reads nothing for
	// that long would have missed a heartbeat too). Tests shorten them.
	wsCloseTimeout time.Duration
	writeWait      time.Duration
	closeLinger    time.Duration // closeLinger, shortened by tests
	tap            func(protocol.Trace)
	onReject       func(*http.Request, protocol.EngineError)
	onSessionError func(*SessionError)
	logger         *slog.Logger
	newID          func() string
	now            func() time.Time
}

func newConfig(o Options) config {
	c := config{
		path:           o.Path,
		pingInterval:   o.PingInterval,
		pingTimeout:    o.PingTimeout,
		upgradeTimeout: o.UpgradeTimeout,
		maxPayload:     o.MaxPayload,
		allowUpgrades:  o.AllowUpgrades == nil || *o.AllowUpgrades,
		allowEIO3:      o.AllowEIO3,
		cors:           o.CORS,
		allowRequest:   o.AllowRequest,
		sendQueue:      o.SendQueue,
		sendQueueBytes: o.SendQueueBytes,
		ioUring:        o.IOUring != IOUringOff,
		tap:            o.Tap,
		onReject:       o.OnReject,
		onSessionError: o.OnSessionError,
		logger:         o.Logger,
		newID:          o.NewID,
		now:            o.Now,
	}
	if c.path == "" {
		c.path = DefaultPath
	}
	c.path = strings.TrimSuffix(c.path, "/") + "/"
	if c.pingInterval <= 0 {
		c.pingInterval = DefaultPingInterval
	}
	if c.pingTimeout <= 0 {
		c.pingTimeout = DefaultPingTimeout
	}
	if c.upgradeTimeout <= 0 {
		c.upgradeTimeout = DefaultUpgradeTimeout
	}
	if c.maxPayload <= 0 {
		c.maxPayload = DefaultMaxPayload
	}
	ts := o.Transports
	if ts == nil {
		ts = []string{TransportPolling, TransportWebSocket}
	}
	c.polling = slices.Contains(ts, TransportPolling)
	c.websocket = slices.Contains(ts, TransportWebSocket)
	if c.sendQueue <= 0 {
		c.sendQueue = DefaultSendQueue
	}
	if c.sendQueueBytes <= 0 {
		c.sendQueueBytes = DefaultSendQueuePayloads * c.maxPayload
	}
	c.wsCloseTimeout = wsCloseTimeout
	c.closeLinger = closeLinger
	c.writeWait = c.pingInterval + c.pingTimeout
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.newID == nil {
		c.newID = newSessionID
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// transportEnabled reports whether name is an enabled transport.
func (c *config) transportEnabled(name string) bool {
	switch name {
	case TransportPolling:
		return c.polling
	case TransportWebSocket:
		return c.websocket
	}
	return false
}

// upgrades is the handshake's upgrades list for a session opened on
// transport (Node's getAvailableUpgrades).
func (c *config) upgrades(transport string) []string {
	if transport == TransportPolling && c.allowUpgrades && c.websocket {
		return []string{TransportWebSocket}
	}
	return []string{}
}

// newSessionID returns 20 characters of random URL-safe base64, the shape of
// Node's base64id.
func newSessionID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.URLEncoding.EncodeToString(b[:])
}
