package eioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sio-dev/sio/pkg/protocol"
)

var (
	// ErrClosed is returned by Send and Flush once the connection is closing
	// or closed.
	ErrClosed = errors.New("engine.io connection closed")
	// ErrQueueFull is returned by Send when Options.MaxQueue packets are
	// already waiting to be written.
	ErrQueueFull = errors.New("engine.io send queue full")
	// ErrProtocol wraps every violation of the Engine.IO protocol by the
	// server: a bad handshake, an unknown packet type, a malformed payload,
	// a response that is too large.
	ErrProtocol = errors.New("protocol error")
	// ErrNoAnswer means the polling handshake request was sent but no
	// response came before the deadline: what an HTTP server does that
	// does not serve the Engine.IO path (a bare Node server under a wrong
	// path never answers). It comes with the context's error.
	ErrNoAnswer = errors.New("no answer to the handshake request")
	// ErrUpgradeUnanswered means the server closed the connection without
	// answering the WebSocket handshake, as Node does to upgrade requests
	// on a path no WebSocket server handles.
	ErrUpgradeUnanswered = errors.New("the server closed the connection without answering the WebSocket handshake")
	// ErrServerEIO3 (with ErrProtocol) means that, with Options.EIO forced
	// to v4, the server answered the handshake in the v3 format: it is a
	// socket.io 2.x server.
	ErrServerEIO3 = errors.New("the server answered in the Engine.IO v3 format (socket.io 2.x)")
	// ErrNotEngineIO (with ErrProtocol, or with the context's error when
	// nothing came) means the handshake was answered, but not with an
	// Engine.IO open packet: a plain HTTP server that answers 200 to any
	// path, or a WebSocket server that is not Socket.IO.
	ErrNotEngineIO = errors.New("the answer to the handshake is not an Engine.IO open packet")
)

// HTTPError is a non-success HTTP answer from the Engine.IO endpoint: a
// polling request that did not get 200, or a WebSocket handshake that did
// not get 101. Body holds the start of the response body.
type HTTPError struct {
	StatusCode int
	Body       string
	URL        string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if b := strings.TrimSpace(e.Body); b != "" {
		if len(b) > 200 {
			b = b[:200] + "…"
		}
		msg += ": " + b
	}
	return msg
}

// EngineError decodes the body as Node's {"code":N,"message":"…"} error
// (PROTOCOL.md §1.10) and reports whether it was one. A refused WebSocket
// upgrade carries only the message, as plain text; it is recognised too.
func (e *HTTPError) EngineError() (protocol.EngineError, bool) {
	var ee struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(e.Body), &ee) != nil || ee.Code == nil {
		msg := strings.TrimSpace(e.Body)
		for _, known := range []protocol.EngineError{protocol.ErrTransportUnknown, protocol.ErrSessionIDUnknown,
			protocol.ErrBadHandshakeMethod, protocol.ErrBadRequest, protocol.ErrForbidden, protocol.ErrUnsupportedProtocol} {
			if msg == known.Message {
				return known, true
			}
		}
		return protocol.EngineError{}, false
	}
	return protocol.EngineError{Code: *ee.Code, Message: ee.Message}, true
}

// isUnsupportedProtocol reports a 400 with code 5, the answer of a server
// that does not speak the requested EIO revision.
func isUnsupportedProtocol(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
		return false
	}
	ee, ok := he.EngineError()
	return ok && ee.Code == protocol.ErrUnsupportedProtocol.Code
}

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

func wrapProtocol(err error) error {
	if errors.Is(err, ErrProtocol) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrProtocol, err)
}

// withContext makes a failure caused by ctx match ctx's error with
// errors.Is (a WebSocket dial that hits its deadline reports an i/o
// timeout, not context.DeadlineExceeded).
func withContext(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
