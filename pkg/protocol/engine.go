package protocol

import (
	"encoding/base64"
	"strconv"
)

// EIO is an Engine.IO protocol revision. It decides the framing of binary
// messages, the polling payload format, the heartbeat direction and the
// Socket.IO revision that rides on it.
type EIO int

const (
	// EIO3 is spoken by socket.io 1.x/2.x (Socket.IO protocol v4).
	EIO3 EIO = 3
	// EIO4 is spoken by socket.io 3.x/4.x (Socket.IO protocol v5).
	EIO4 EIO = 4
)

// SocketIO returns the Socket.IO protocol revision carried over v: 4 or 5.
func (v EIO) SocketIO() int {
	if v == EIO3 {
		return 4
	}
	return 5
}

func (v EIO) String() string { return "EIO" + strconv.Itoa(int(v)) }

// ParseEIO reads the EIO query parameter the way the Node server does:
// "4" is v4 and anything else, including nothing, is v3.
func ParseEIO(s string) EIO {
	if s == "4" {
		return EIO4
	}
	return EIO3
}

// EngineType is the type of an Engine.IO packet (engine.io-protocol, Packet).
type EngineType byte

const (
	EngineOpen EngineType = iota
	EngineClose
	EnginePing
	EnginePong
	EngineMessage
	EngineUpgrade
	EngineNoop
)

var engineTypeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the name used in sio's JSON lines ("open", "ping", ...).
func (t EngineType) String() string {
	if int(t) < len(engineTypeNames) {
		return engineTypeNames[t]
	}
	return "unknown(" + strconv.Itoa(int(t)) + ")"
}

// EnginePacket is one Engine.IO packet. Data is the bytes after the type
// digit for text packets, or the raw data of a binary message.
type EnginePacket struct {
	Type   EngineType
	Data   []byte
	Binary bool // only a message can be binary
}

// ParseEngineText decodes a text WebSocket frame (or one packet of a v4
// polling payload that is not base64): a type digit and optional data.
// Data aliases b.
func ParseEngineText(b []byte) (EnginePacket, error) {
	if len(b) == 0 {
		return EnginePacket{}, syntaxErr(0, "empty packet")
	}
	c := b[0]
	if c < '0' || c > '6' {
		return EnginePacket{}, syntaxErr(0, "invalid packet type %s", quoteByte(c))
	}
	return EnginePacket{Type: EngineType(c - '0'), Data: b[1:]}, nil
}

// ParseEngineBinary decodes a binary WebSocket frame. In v4 the frame is the
// message data itself; in v3 it starts with the type byte 0x04.
// Data aliases b.
func ParseEngineBinary(b []byte, v EIO) (EnginePacket, error) {
	if v == EIO3 {
		if len(b) == 0 {
			return EnginePacket{}, syntaxErr(0, "empty binary packet")
		}
		if b[0] != byte(EngineMessage) {
			return EnginePacket{}, syntaxErr(0, "invalid binary packet type %d", b[0])
		}
		b = b[1:]
	}
	return EnginePacket{Type: EngineMessage, Data: b, Binary: true}, nil
}

// AppendEngineText appends the text form of p: its type digit then its data.
// A binary packet is written as "b" + base64 of its data, the form used
// inside a v4 polling payload; use AppendEngineFrame for WebSocket frames.
func AppendEngineText(dst []byte, p EnginePacket) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// AppendEngineFrame appends p as one WebSocket message and reports whether
// the message is binary. v4 binary frames carry only the data; v3 binary
// frames start with 0x04 (PROTOCOL.md §1.6).
func AppendEngineFrame(dst []byte, p EnginePacket, v EIO) ([]byte, bool) {
	if !p.Binary {
		return AppendEngineText(dst, p), false
	}
	if v == EIO3 {
		dst = append(dst, byte(EngineMessage))
	}
	return append(dst, p.Data...), true
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}
