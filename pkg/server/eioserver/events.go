package eioserver

import (
	"errors"
	"net/http"

	"github.com/sio-dev/sio/pkg/protocol"
)

// The typed events a program can build on instead of the log's text: a
// refused request (Options.OnReject) and a session the server ends because
// its peer broke the protocol (Options.OnSessionError). The log lines stay
// for people; their wording is free to change.

// Why a peer's session failed (SessionError.Err wraps one of them).
var (
	// ErrMessageTooBig is a WebSocket message (closed with 1009) or a
	// polling request body (answered 413) over Options.MaxPayload.
	ErrMessageTooBig = errors.New("message over the payload limit")
	// ErrInvalidPacket is a polling payload or WebSocket message that is
	// not Engine.IO packets; the session ends with "parse error".
	ErrInvalidPacket = errors.New("invalid packet")
	// ErrHeartbeatDirection is a ping from an EIO4 client or a pong from
	// an EIO3 one: the heartbeat runs the other way.
	ErrHeartbeatDirection = errors.New("heartbeat in the wrong direction")
	// ErrWebSocketProtocol is a frame that breaks RFC 6455 (unmasked,
	// reserved bits, a bad opcode or close code, text that is not UTF-8).
	ErrWebSocketProtocol = errors.New("websocket protocol violation")
)

// SessionError reports a session the server ends, or a request of it the
// server refuses (a polling body over MaxPayload), because of its peer.
type SessionError struct {
	SID       string
	Transport string // TransportPolling or TransportWebSocket
	// Err wraps ErrMessageTooBig, ErrInvalidPacket, ErrHeartbeatDirection
	// or ErrWebSocketProtocol, with the detail.
	Err error
	// CloseCode is the WebSocket close code the server answered with (0:
	// none, or polling).
	CloseCode int
	// Size is the announced size of a polling body over MaxPayload (its
	// Content-Length), 0 when unknown or for other errors.
	Size int64
}

func (e *SessionError) Error() string {
	return "engine.io session " + e.SID + " (" + e.Transport + "): " + e.Err.Error()
}

func (e *SessionError) Unwrap() error { return e.Err }

// causeError is a sentinel with the detail that triggered it.
type causeError struct {
	kind   error
	detail error
}

func (e *causeError) Error() string { return e.kind.Error() + ": " + e.detail.Error() }

// Unwrap gives both: errors.Is finds the sentinel, errors.As the detail's
// type (a *protocol.EngineError, say).
func (e *causeError) Unwrap() []error { return []error{e.kind, e.detail} }

func withCause(kind, detail error) error {
	if detail == nil {
		return kind
	}
	return &causeError{kind, detail}
}

// reject reports a refused request to OnReject.
func (s *Server) reject(r *http.Request, e protocol.EngineError) {
	if f := s.cfg.onReject; f != nil {
		f(r, e)
	}
}

// peerError reports the peer's fault to OnSessionError, and logs it at Warn
// when no one receives the event (at Debug when someone does).
func (s *Session) peerError(e *SessionError) {
	e.SID = s.id
	if f := s.srv.cfg.onSessionError; f != nil {
		s.srv.cfg.logger.Debug("engine.io peer error", "sid", s.id, "transport", e.Transport, "err", e.Err)
		f(e)
		return
	}
	s.srv.cfg.logger.Warn("engine.io peer error", "sid", s.id, "transport", e.Transport, "err", e.Err)
}
