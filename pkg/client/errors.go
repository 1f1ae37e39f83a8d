package client

import (
	"encoding/json"
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by operations on a Client after Close, or after
	// it gave up reconnecting.
	ErrClosed = errors.New("client closed")
	// ErrNotConnected is returned by EmitWithAck when its namespace is not
	// connected and the emit cannot be buffered, and completes pending acks
	// when the connection is lost.
	ErrNotConnected = errors.New("not connected")
	// ErrReservedEvent refuses an emit of a name Socket.IO reserves
	// ("connect", "disconnect", ...; PROTOCOL.md §2.8) unless
	// Options.AllowReservedEvents is set.
	ErrReservedEvent = errors.New("reserved event name")
	// ErrBufferFull means a socket's buffer of packets waiting for the
	// connection is full (Options.MaxBuffer).
	ErrBufferFull = errors.New("send buffer full")
	// ErrNoConnectReply means the engine.io connection is open but the
	// namespace's CONNECT was not answered before the deadline; it comes
	// with the context's error.
	ErrNoConnectReply = errors.New("no CONNECT reply")
	// ErrServerV4 means a Socket.IO v5 CONNECT was answered without a sid,
	// as a socket.io 2.x server (Socket.IO v4) answers: Options.EIO was
	// forced to v4 against a v2 server.
	ErrServerV4 = errors.New("the server answered CONNECT without a sid, as socket.io 2.x (Socket.IO v4) does")
)

// ConnectError is a namespace's CONNECT_ERROR (Socket.IO v5) or ERROR (v4)
// reply: the server refused the CONNECT, usually in a middleware. The
// engine.io connection stays open (PROTOCOL.md §2.4).
type ConnectError struct {
	Namespace string
	// Message is the error's message: v5's "message" field, or a v4
	// server's string payload.
	Message string
	// Data is the error's "data" field (v5), or a v4 server's object
	// payload; nil when absent.
	Data json.RawMessage
}

func (e *ConnectError) Error() string {
	msg := "CONNECT_ERROR: " + e.Message
	if len(e.Data) > 0 {
		msg += " " + string(e.Data)
	}
	return msg
}

// parseConnectError reads a CONNECT_ERROR payload: v5 {"message","data"};
// v4 a string, or any JSON value (socket.io 2 sends err.data).
func parseConnectError(nsp string, data json.RawMessage) *ConnectError {
	e := &ConnectError{Namespace: nsp}
	var s string
	if json.Unmarshal(data, &s) == nil {
		e.Message = s
		return e
	}
	var obj struct {
		Message *string         `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(data, &obj) == nil && obj.Message != nil {
		e.Message = *obj.Message
		e.Data = obj.Data
		return e
	}
	e.Message = "refused"
	if len(data) > 0 {
		e.Data = data
	}
	return e
}

// ProtocolError is a violation of the protocol by the server: a packet
// that does not parse or breaks the rules. The client closes the
// connection with reason "parse error" and, when configured, reconnects.
type ProtocolError struct {
	Err error
}

func (e *ProtocolError) Error() string { return "protocol error: " + e.Err.Error() }
func (e *ProtocolError) Unwrap() error { return e.Err }

// DisconnectError completes the acks still pending when a socket
// disconnects; Reason is Node's reason string.
type DisconnectError struct {
	Namespace string
	Reason    string
}

func (e *DisconnectError) Error() string {
	return fmt.Sprintf("disconnected from %s: %s", e.Namespace, e.Reason)
}

func (e *DisconnectError) Is(target error) bool { return target == ErrNotConnected }

// ClosedOnConnectError means the engine.io connection ended while a
// namespace's CONNECT was waiting for its answer, before the namespace
// was ever connected on it. A Node server does that when it cannot
// decode the CONNECT: a server built with socket.io-msgpack-parser
// closes the connection on socket.io-parser's text "40", and a default
// server on msgpack's binary map ("parse error" on its side; "forced
// close" or "transport close" on ours). Parser is the codec the client
// used, so a caller can name the other one.
type ClosedOnConnectError struct {
	Namespace string
	// Reason is why the connection ended, Node's reason string.
	Reason string
	// Parser is the client's codec: "json" or "msgpack".
	Parser string
}

func (e *ClosedOnConnectError) Error() string {
	return fmt.Sprintf("the server closed the connection in answer to the CONNECT of %s (%s)", e.Namespace, e.Reason)
}

// Is makes it an ErrNotConnected, as a DisconnectError is.
func (e *ClosedOnConnectError) Is(target error) bool { return target == ErrNotConnected }

// OtherParser names the codec the server probably uses: the one the
// client did not.
func (e *ClosedOnConnectError) OtherParser() string {
	if e.Parser == "msgpack" {
		return "json"
	}
	return "msgpack"
}

// EmitError is a failed Emit or EmitWithAck: Err says why (ErrReservedEvent,
// ErrNotConnected, ErrBufferFull, an argument that does not encode, the
// connection's send error). A caller that already names the event (a UI
// row) shows Err alone.
type EmitError struct {
	Event     string
	Namespace string
	Err       error
}

func (e *EmitError) Error() string {
	return fmt.Sprintf("emit %q on %s: %v", e.Event, e.Namespace, e.Err)
}

func (e *EmitError) Unwrap() error { return e.Err }
