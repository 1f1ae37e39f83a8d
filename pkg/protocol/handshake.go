package protocol

import (
	"encoding/json"
	"fmt"
)

// Handshake is the data of the open packet (engine.io-protocol, Handshake).
// Fields are in Node's order. PingInterval, PingTimeout and MaxPayload are
// in milliseconds and bytes as on the wire.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload,omitempty"`
}

// AppendHandshake appends the JSON of h. Upgrades is never null.
func AppendHandshake(dst []byte, h Handshake) []byte {
	if h.Upgrades == nil {
		h.Upgrades = []string{}
	}
	b, _ := json.Marshal(h) // cannot fail: strings and ints only
	return append(dst, b...)
}

// ParseHandshake decodes and checks the open packet's data: sid must be a
// non-empty string and the timings positive and at most a day, so that a
// hostile server cannot make a client spin or never time out.
func ParseHandshake(data []byte) (Handshake, error) {
	var h Handshake
	if err := json.Unmarshal(data, &h); err != nil {
		return Handshake{}, fmt.Errorf("invalid handshake: %w", err)
	}
	const day = 24 * 60 * 60 * 1000
	switch {
	case h.SID == "":
		return Handshake{}, fmt.Errorf("invalid handshake: missing sid")
	case h.PingInterval <= 0 || h.PingInterval > day:
		return Handshake{}, fmt.Errorf("invalid handshake: pingInterval %d out of range", h.PingInterval)
	case h.PingTimeout <= 0 || h.PingTimeout > day:
		return Handshake{}, fmt.Errorf("invalid handshake: pingTimeout %d out of range", h.PingTimeout)
	case h.MaxPayload < 0:
		return Handshake{}, fmt.Errorf("invalid handshake: maxPayload %d out of range", h.MaxPayload)
	}
	return h, nil
}

// EngineError is an error response of the Engine.IO HTTP endpoint (Node
// engine.io ≥4, PROTOCOL.md §1.10). Its JSON is the response body.
type EngineError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e EngineError) Error() string {
	return fmt.Sprintf("engine.io error %d: %s", e.Code, e.Message)
}

// HTTPStatus is the status Node answers with: 403 for code 4, else 400.
func (e EngineError) HTTPStatus() int {
	if e.Code == 4 {
		return 403
	}
	return 400
}

// The Engine.IO HTTP error table.
var (
	ErrTransportUnknown    = EngineError{0, "Transport unknown"}
	ErrSessionIDUnknown    = EngineError{1, "Session ID unknown"}
	ErrBadHandshakeMethod  = EngineError{2, "Bad handshake method"}
	ErrBadRequest          = EngineError{3, "Bad request"}
	ErrForbidden           = EngineError{4, "Forbidden"}
	ErrUnsupportedProtocol = EngineError{5, "Unsupported protocol version"}
)
