package wsframe

import (
	"encoding/binary"
	"errors"
	mrand "math/rand/v2"
)

// Opcodes (RFC 6455 §5.2).
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xa
)

// Close codes (RFC 6455 §7.4.1) that sio sends or reads.
const (
	CloseNormal        = 1000
	CloseProtocolError = 1002
	CloseNoStatus      = 1005 // an empty close frame: no code on the wire
	CloseInvalidData   = 1007
	CloseTooBig        = 1009
)

// MaxControlPayload is the largest payload of a ping, pong or close frame.
const MaxControlPayload = 125

// Error is a violation by the peer that ends the connection: Code is the
// close code to answer with (Node's ws: 1002, 1007 or 1009).
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrMessageTooBig is a message over the decoder's limit (close code 1009).
var ErrMessageTooBig = errors.New("websocket: message too big")

// ErrPeerClosed ends decoding at the peer's (valid) close frame.
var ErrPeerClosed = errors.New("websocket: close frame received")

func protocolError(msg string) *Error {
	return &Error{CloseProtocolError, errors.New("websocket: " + msg)}
}

// ValidCloseCode reports whether a peer may send code in a close frame
// (ws's isValidStatusCode).
func ValidCloseCode(c int) bool {
	return (c >= 1000 && c <= 1014 && c != 1004 && c != 1005 && c != 1006) || (c >= 3000 && c <= 4999)
}

// Mask XORs b with the masking key (RFC 6455 §5.3), eight bytes at a time;
// it both masks and unmasks.
func Mask(key [4]byte, b []byte) {
	if len(b) >= 8 {
		k := uint64(binary.LittleEndian.Uint32(key[:]))
		k |= k << 32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// AppendHeader appends the header of a final, unmasked frame (a server's)
// of n payload bytes.
func AppendHeader(dst []byte, op byte, n int) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	default:
		return append(dst, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendClientFrame appends p as one final frame masked with a fresh key,
// as RFC 6455 requires of a client. The key need not be unpredictable for
// sio's uses (it defeats proxy cache poisoning by scripts, which a load
// generator is not), so it comes from math/rand/v2: no system call.
func AppendClientFrame(dst []byte, op byte, p []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(p); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], mrand.Uint32())
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, p...)
	Mask(key, dst[start:])
	return dst
}

// ClosePayload is the payload of a close frame with code: empty for
// CloseNoStatus (what ws sends for close() without a code).
func ClosePayload(code int) []byte {
	if code == CloseNoStatus || code == 0 {
		return []byte{}
	}
	return []byte{byte(code >> 8), byte(code)}
}
