package client

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/sio-dev/sio/pkg/protocol"
)

// engineConn is what the Socket.IO layer needs of an Engine.IO connection
// (pkg/client/eioclient.Conn). Tests put a fake behind it.
type engineConn interface {
	SID() string
	EIO() protocol.EIO
	// EIOGuessed reports an EIO4 that auto assumed without evidence
	// (WebSocket only, no maxPayload, nothing before the client spoke).
	EIOGuessed() bool
	Transport() string
	// Send queues messages atomically and in order; it never blocks.
	Send(msgs ...protocol.EnginePacket) error
	// Flush waits until everything queued before it is written.
	Flush(ctx context.Context) error
	Close() error
	Done() <-chan struct{}
}

// engineConfig is the subset of engine.Options the client sets.
type engineConfig struct {
	Path      string
	Transport string
	EIO       protocol.EIO
	Header    http.Header
	Query     url.Values
	TLSConfig *tls.Config
	Proxy     func(*http.Request) (*url.URL, error)
	MaxQueue  int
	OnMessage func(data []byte, binary bool)
	OnClose   func(reason protocol.DisconnectReason, err error)
	OnUpgrade func(transport string)
	Tap       func(protocol.Trace)
	Logger    *slog.Logger
}

// dialFunc opens an Engine.IO connection; dialEngine is the real one.
type dialFunc func(ctx context.Context, base *url.URL, cfg engineConfig) (engineConn, error)
