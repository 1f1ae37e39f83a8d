package eioclient

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Transport names, as in the "transport" query parameter.
const (
	TransportAuto      = "auto"
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Defaults for Options fields left zero.
const (
	DefaultPath         = "/socket.io/"
	DefaultMaxQueue     = 1024
	DefaultMaxReadSize  = 16 << 20
	DefaultCloseTimeout = 3 * time.Second
	DefaultProbeTimeout = 10 * time.Second
)

// Options configures Dial. The zero value dials like engine.io-client with
// its defaults: path /socket.io/, polling then upgrade to WebSocket, EIO
// chosen automatically.
type Options struct {
	// Path is the Engine.IO endpoint, default "/socket.io/". A missing
	// trailing slash is added: Node matches the path with its slash.
	Path string
	// Transport is "auto" (default: polling, then upgrade to websocket, like
	// engine.io-client), "polling" or "websocket".
	Transport string
	// EIO is the protocol revision. 0 means auto: try EIO4 and fall back to
	// EIO3 when the server answers in the v3 format (socket.io 2.x) or
	// refuses v4 with code 5.
	EIO protocol.EIO
	// Header is added to every HTTP request and to the WebSocket handshake.
	Header http.Header
	// Query is added to every request, before EIO, transport, sid and t.
	Query url.Values
	// TLSConfig for https and wss; nil uses the system roots.
	TLSConfig *tls.Config
	// Proxy picks the proxy for polling requests and the WebSocket
	// handshake; nil means http.ProxyFromEnvironment (HTTP_PROXY,
	// HTTPS_PROXY, NO_PROXY).
	Proxy func(*http.Request) (*url.URL, error)
	// HTTPClient, when set, is used for polling requests instead of a
	// client built from TLSConfig and Proxy (a load generator shares one).
	HTTPClient *http.Client
	// DialContext, when set, opens the TCP connections of the WebSocket
	// handshake and of the polling client built here (not of HTTPClient's):
	// a load generator picks the local address with it, to go past the
	// ephemeral ports of one source address. nil: a net.Dialer's.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxQueue bounds the queued outgoing packets, default 1024. When it is
	// full, Send returns ErrQueueFull.
	MaxQueue int
	// MaxReadSize bounds one polling response body and one WebSocket
	// message, default 16 MiB. Node does not bound what it sends, so this
	// only guards against a broken or hostile server.
	MaxReadSize int64
	// CloseTimeout bounds how long Close waits to flush the queue and send
	// the close packet, default 3s.
	CloseTimeout time.Duration
	// ProbeTimeout bounds the WebSocket upgrade probe (dial, 2probe,
	// 3probe), default 10s like Node's upgradeTimeout. A failed probe keeps
	// the connection on polling.
	ProbeTimeout time.Duration

	// OnMessage receives each message, in order, on the reader goroutine.
	// data may be reused after it returns: copy what you keep.
	OnMessage func(data []byte, binary bool)
	// OnClose is called once when the connection ends, after all of its
	// goroutines have stopped. err is the cause, nil for Close.
	OnClose func(reason protocol.DisconnectReason, err error)
	// OnUpgrade is called when the transport changes (polling → websocket).
	OnUpgrade func(transport string)
	// Tap receives every Engine.IO packet in and out with its raw frame.
	// It runs on the connection's goroutines and must not block.
	Tap func(protocol.Trace)
	// Logger receives lifecycle events (Debug) and peer misbehaviour
	// (Warn); nil discards.
	Logger *slog.Logger
	// Now is the clock for Tap times, default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if !strings.HasPrefix(o.Path, "/") {
		o.Path = "/" + o.Path
	}
	if !strings.HasSuffix(o.Path, "/") {
		o.Path += "/"
	}
	if o.Transport == "" {
		o.Transport = TransportAuto
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.MaxReadSize <= 0 {
		o.MaxReadSize = DefaultMaxReadSize
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = DefaultProbeTimeout
	}
	if o.Proxy == nil {
		o.Proxy = http.ProxyFromEnvironment
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}
