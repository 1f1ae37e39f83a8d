package client

import (
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Options configure a Client. The zero value connects like socket.io-client
// with its defaults.
type Options struct {
	// Path is the Engine.IO endpoint path. Default "/socket.io/".
	Path string
	// Transport is "auto" (the default: long-polling, then an upgrade to
	// WebSocket), "polling" or "websocket".
	Transport string
	// EIO forces the Engine.IO revision: protocol.EIO4 (socket.io 3/4
	// servers) or protocol.EIO3 (socket.io 2). Zero tries v4 and falls back
	// to v3 when the server answers in the old format. Over WebSocket only,
	// where a socket.io 2 server slower than the engine's detection window
	// can pass for v4, a CONNECT answered without a sid makes the client
	// dial again, once, with v3.
	EIO protocol.EIO
	// Header is added to every HTTP request and the WebSocket handshake.
	Header http.Header
	// Query is added to every request, after the URL's own query.
	Query url.Values
	// TLSConfig for https/wss; nil uses the system roots.
	TLSConfig *tls.Config
	// Proxy picks the proxy of each request; nil means
	// http.ProxyFromEnvironment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
	Proxy func(*http.Request) (*url.URL, error)

	// Auth is the CONNECT payload of every namespace, a JSON object. v5
	// sends it as the CONNECT data; v4 (EIO3) has no auth, so its keys go
	// in the namespace's query (`40/admin?token=x,`) and in the handshake
	// query, where socket.io 2's middlewares of "/" read them. When EIO is
	// auto and the server turns out to speak v3, the client dials again
	// with the auth in the handshake query.
	Auth json.RawMessage

	// NoReconnect turns automatic reconnection off (socket.io-client
	// reconnection: false).
	NoReconnect bool
	// ReconnectAttempts is the most consecutive attempts; 0 means no limit
	// (socket.io-client: Infinity).
	ReconnectAttempts int
	// ReconnectDelay is the first delay, doubled at each attempt (default
	// 1s); ReconnectDelayMax caps it (default 5s).
	ReconnectDelay    time.Duration
	ReconnectDelayMax time.Duration
	// RandomizationFactor is the jitter, a fraction of the delay (default
	// 0.5); negative means none.
	RandomizationFactor float64
	// ConnectTimeout bounds each reconnection attempt, until the
	// namespaces are connected again (default 20s, socket.io-client's
	// timeout). The first connection is bounded by the ctx given to
	// Connect or Dial.
	ConnectTimeout time.Duration

	// AckReply computes the arguments of the automatic answer to a server
	// ack request that no handler answered; nil answers with no arguments.
	AckReply func(e *Event) []any
	// NoAutoAck leaves unanswered ack requests unanswered.
	NoAutoAck bool
	// AllowReservedEvents lets Emit send, and the decoder accept, the
	// names Socket.IO reserves ("connect", "disconnect"...): for testing
	// servers.
	AllowReservedEvents bool
	// MaxBuffer bounds, per socket, the emits queued while the namespace is
	// not connected and the events received before its CONNECT reply.
	// Default 1024.
	MaxBuffer int
	// Codec is the Socket.IO packet format: nil means protocol.JSONCodec
	// (socket.io-parser, every server's default); protocol.MsgpackCodec
	// talks to a server built with socket.io-msgpack-parser. A server
	// using the other one closes the connection on the first CONNECT
	// (*ClosedOnConnectError).
	Codec protocol.Codec
	// Limits bound what the packet decoder accepts (attachments count and
	// size); the zero value means protocol's defaults.
	Limits protocol.Limits

	// Tap sees every Engine.IO and Socket.IO packet in and out, on the
	// goroutine that moves it. It must not block; Trace slices are only
	// valid during the call.
	Tap func(protocol.Trace)
	// Logger receives lifecycle (Debug) and misbehaving-peer (Warn)
	// messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock of traces; nil means time.Now.
	Now func() time.Time

	dial dialFunc       // tests: a fake engine
	rand func() float64 // tests: the jitter's random source
}

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.Transport == "" {
		o.Transport = "auto"
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = time.Second
	}
	if o.ReconnectDelayMax <= 0 {
		o.ReconnectDelayMax = 5 * time.Second
	}
	switch {
	case o.RandomizationFactor == 0:
		o.RandomizationFactor = 0.5
	case o.RandomizationFactor < 0:
		o.RandomizationFactor = 0
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 20 * time.Second
	}
	if o.Codec == nil {
		o.Codec = protocol.JSONCodec{}
	}
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = 1024
	}
	o.Limits.AllowReservedEvents = o.Limits.AllowReservedEvents || o.AllowReservedEvents
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.dial == nil {
		o.dial = dialEngine
	}
	if o.rand == nil {
		o.rand = rand.Float64
	}
	return o
}
