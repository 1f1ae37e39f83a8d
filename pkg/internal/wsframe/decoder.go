package wsframe

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// Handler receives what a Decoder decodes. Data passed to it aliases the
// decoder's input (or its fragment buffer) and is valid only during the
// call.
type Handler interface {
	// Message gets a whole message (OpText, valid UTF-8; or OpBinary) and
	// reports whether to go on decoding.
	Message(op byte, data []byte) bool
	// Ping gets a ping's payload, for the pong the handler owes.
	Ping(payload []byte)
	// Close gets the code and reason of the peer's valid close frame; ws
	// echoes the code (CloseNoStatus for an empty frame). Decode then
	// returns ErrPeerClosed.
	Close(code int, reason []byte)
}

// Decoder decodes the frames of one connection's byte stream and puts
// fragmented messages together. The zero value decodes a client's frames
// (which must be masked) without a size limit; set Limit, and FromServer
// to decode a server's (which must not be).
type Decoder struct {
	// Limit bounds a message's size in bytes (the sum of its frames): a
	// frame header that would pass it fails at once with CloseTooBig,
	// before its payload is read. 0: no limit.
	Limit int64
	// FromServer decodes a server's frames: unmasked (a masked one is a
	// protocol error, RFC 6455 §5.1); else a client's, which must be.
	FromServer bool
	// SkipUTF8Validation hands text messages on without checking that
	// they are UTF-8 (ws's skipUTF8Validation): for a reader that checks
	// what it uses itself, like the load generator, which parses every
	// message it counts. Close reasons are still checked.
	SkipUTF8Validation bool

	// A fragmented message being put together.
	msg      []byte
	msgType  byte
	inMsg    bool
	msgBytes int64
}

// fragmentKeep is the largest fragment buffer a decoder keeps between
// messages.
const fragmentKeep = 16 << 10

// Decode handles the complete frames at the start of b, unmasking them in
// place, and returns how many bytes they took. need is the size of the
// incomplete frame that follows when its header is complete (0 otherwise).
// stop reports that the handler asked to stop (used then counts the frame
// of that message). err ends the connection: an *Error carries the close
// code to answer with, ErrPeerClosed follows a valid close frame.
func (d *Decoder) Decode(b []byte, h Handler) (used, need int, stop bool, err error) {
	for {
		rest := b[used:]
		if len(rest) < 2 {
			return used, 0, false, nil
		}
		b0, b1 := rest[0], rest[1]
		fin, op := b0&0x80 != 0, b0&0x0f
		if b0&0x70 != 0 {
			return used, 0, false, protocolError("reserved bits set")
		}
		masked := b1&0x80 != 0
		if masked == d.FromServer {
			if d.FromServer {
				return used, 0, false, protocolError("masked server frame")
			}
			return used, 0, false, protocolError("unmasked client frame")
		}
		hdr := 2
		n := int64(b1 & 0x7f)
		switch n {
		case 126:
			if len(rest) < 4 {
				return used, 0, false, nil
			}
			n = int64(binary.BigEndian.Uint16(rest[2:]))
			hdr = 4
		case 127:
			if len(rest) < 10 {
				return used, 0, false, nil
			}
			u := binary.BigEndian.Uint64(rest[2:])
			if u > 1<<53-1 { // ws's answer, the top bit (which RFC 6455 reserves) included
				return used, 0, false, &Error{CloseTooBig, errors.New("websocket: frame length over 2^53-1")}
			}
			n = int64(u)
			hdr = 10
		}
		control := op&0x8 != 0
		switch {
		case control && (!fin || n > MaxControlPayload):
			return used, 0, false, protocolError("invalid control frame")
		case op > OpBinary && !control, op > OpPong:
			return used, 0, false, protocolError("unknown opcode")
		case op == OpContinuation && !d.inMsg:
			return used, 0, false, protocolError("continuation without a message")
		case (op == OpText || op == OpBinary) && d.inMsg:
			return used, 0, false, protocolError("new message inside a fragmented one")
		}
		if !control && d.Limit > 0 && d.msgBytes+n > d.Limit {
			return used, 0, false, &Error{CloseTooBig, ErrMessageTooBig}
		}
		if masked {
			hdr += 4
		}
		if int64(len(rest)) < int64(hdr)+n {
			return used, hdr + int(n), false, nil
		}
		payload := rest[hdr : hdr+int(n)]
		if masked {
			Mask([4]byte(rest[hdr-4:hdr]), payload)
		}
		used += hdr + int(n)
		switch op {
		case OpPing:
			h.Ping(payload)
			continue
		case OpPong:
			continue
		case OpClose:
			return used, 0, true, peerClose(payload, h)
		}
		if fin && op != OpContinuation { // the usual case: a whole message in one frame
			if err := d.deliver(op, payload, h, &stop); err != nil || stop {
				return used, 0, stop, err
			}
			continue
		}
		if op != OpContinuation {
			d.inMsg, d.msgType, d.msg = true, op, d.msg[:0]
		}
		d.msg = append(d.msg, payload...)
		d.msgBytes += n
		if fin {
			msg, typ := d.msg, d.msgType
			d.inMsg, d.msgBytes = false, 0
			err := d.deliver(typ, msg, h, &stop)
			if cap(d.msg) > fragmentKeep {
				d.msg = nil
			}
			if err != nil || stop {
				return used, 0, stop, err
			}
		}
	}
}

// deliver hands a whole message to h; text must be UTF-8 (ws closes with
// 1007 otherwise).
func (d *Decoder) deliver(op byte, data []byte, h Handler, stop *bool) error {
	if op == OpText && !d.SkipUTF8Validation && !utf8.Valid(data) {
		return &Error{CloseInvalidData, errors.New("websocket: invalid UTF-8 in a text message")}
	}
	*stop = !h.Message(op, data)
	return nil
}

// peerClose checks a close frame and reports its code to h.
func peerClose(payload []byte, h Handler) error {
	switch {
	case len(payload) == 0:
		h.Close(CloseNoStatus, nil)
	case len(payload) == 1:
		return protocolError("invalid close frame")
	default:
		code := int(binary.BigEndian.Uint16(payload))
		if !ValidCloseCode(code) {
			return protocolError("invalid close code")
		}
		if !utf8.Valid(payload[2:]) {
			return &Error{CloseInvalidData, errors.New("websocket: invalid UTF-8 in a close reason")}
		}
		h.Close(code, payload[2:])
	}
	return ErrPeerClosed
}

// Release drops the fragment buffer (the connection has ended).
func (d *Decoder) Release() { d.msg = nil }

// ReadPrealloc bounds how far Consume grows a read buffer ahead of the
// bytes received for an announced frame; beyond it GrowReadBuf grows it as
// the bytes come, so a header alone never makes a reader allocate up to
// the limit.
const ReadPrealloc = 64 << 10

// GrowReadBuf makes room for a read when b is full.
func GrowReadBuf(b []byte) []byte {
	if len(b) == cap(b) {
		b = append(b, 0)[:len(b)]
	}
	return b
}

// Consume decodes the bytes in *bp after a read and keeps only those of an
// incomplete frame at its start (not moved when nothing was used: no copy
// per read while a large frame comes), with room for that frame up to
// ReadPrealloc ahead. It reports whether to read on; err as Decode's.
func (d *Decoder) Consume(bp *[]byte, h Handler) (bool, error) {
	used, need, stop, err := d.Decode(*bp, h)
	b := *bp
	n := len(b) - used
	if used > 0 {
		copy(b, b[used:])
	}
	b = b[:n]
	if need > cap(b) {
		nb := make([]byte, n, min(need, n+ReadPrealloc))
		copy(nb, b)
		b = nb
	}
	*bp = b
	if err != nil {
		return false, err
	}
	return !stop, nil
}
