package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/sio-dev/sio/pkg/protocol"
)

var errInvalidRaw = errors.New("invalid raw JSON")

// appendValue appends the JSON of v, turning every []byte met at the top
// level or inside []any / map[string]any into a placeholder whose bytes go
// to atts (socket.io-parser's deconstructPacket). The common types are
// written without reflection.
func appendValue(dst []byte, v any, atts *[][]byte) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x), nil
	case json.RawMessage:
		if !json.Valid(x) {
			return nil, errInvalidRaw
		}
		return append(dst, x...), nil
	case []byte:
		*atts = append(*atts, x)
		return protocol.AppendPlaceholder(dst, len(*atts)-1), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		return appendFloat(dst, x)
	case float32:
		return appendFloat(dst, float64(x))
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e, atts); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendValue(dst, x[k], atts); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// appendFloat writes f as encoding/json does (which matches JavaScript for
// the usual range).
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("unsupported number %v", f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// appendString writes s as a JSON string the way JSON.stringify does: only
// quotes, backslashes and control characters are escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				const hex = "0123456789abcdef"
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Outgoing is a Socket.IO packet encoded once: the engine.io messages that
// carry it are shared, read-only, by every socket it is sent to (a broadcast
// encodes once).
type Outgoing struct {
	// Packet is the packet (data with placeholders, attachments), for
	// adapters that forward it to other nodes.
	Packet protocol.Packet
	// Frames are its engine.io messages in wire order. Read-only.
	Frames []protocol.EnginePacket
	one    [1]protocol.EnginePacket // Frames' storage for a text-only packet
	seq    uint64                   // the recovery store's sequence number; 0 when not stored
}

// encodeEvent builds the EVENT (or BINARY_EVENT) packet [event, args...] for
// nsp. A non-empty offset is appended as the last argument (connection state
// recovery).
func encodeEvent(codec protocol.Codec, nsp, event string, args []any, id uint64, hasID bool, offset string) (*Outgoing, error) {
	return encodeArgs(codec, protocol.PacketEvent, nsp, id, hasID, true, event, args, offset)
}

// encodeAck builds the ACK (or BINARY_ACK) packet [args...].
func encodeAck(codec protocol.Codec, nsp string, id uint64, args []any) (*Outgoing, error) {
	return encodeArgs(codec, protocol.PacketAck, nsp, id, true, false, "", args, "")
}

// encodeArgs writes an EVENT or ACK. With the JSON codec the header and the
// data go into one buffer, which is the engine.io message itself: a
// packet without binary costs that buffer and the Outgoing.
func encodeArgs(codec protocol.Codec, typ protocol.PacketType, nsp string, id uint64, hasID, isEvent bool, event string, args []any, offset string) (*Outgoing, error) {
	_, isJSON := codec.(protocol.JSONCodec)
	buf := make([]byte, 0, 48+len(nsp)+len(event)+len(offset)+argsSizeHint(args))
	hdr := 0
	if isJSON {
		buf = protocol.AppendPacket(buf, &protocol.Packet{Type: typ, Namespace: nsp, ID: id, HasID: hasID})
		hdr = len(buf)
	}
	buf = append(buf, '[')
	if isEvent {
		buf = appendString(buf, event)
	}
	var atts [][]byte
	for i, a := range args {
		if i > 0 || isEvent {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendValue(buf, a, &atts); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
	}
	if offset != "" {
		buf = append(buf, ',')
		buf = appendString(buf, offset)
	}
	buf = append(buf, ']')
	if len(atts) > protocol.DefaultMaxAttachments {
		return nil, fmt.Errorf("%w: %d buffers (Node peers accept at most %d)", protocol.ErrTooManyAttachments, len(atts), protocol.DefaultMaxAttachments)
	}
	out := &Outgoing{Packet: protocol.Packet{Type: typ, Namespace: nsp, ID: id, HasID: hasID, Data: buf[hdr:], Attachments: atts}}
	if !isJSON {
		frames, err := codec.Encode(&out.Packet)
		if err != nil {
			return nil, err
		}
		out.Frames = frames
		return out, nil
	}
	if len(atts) == 0 {
		out.one[0] = protocol.EnginePacket{Type: protocol.EngineMessage, Data: buf}
		out.Frames = out.one[:]
		return out, nil
	}
	// Binary: the header names the type and count (BINARY_EVENT, "1-").
	data := buf[hdr:]
	text := protocol.AppendPacket(make([]byte, 0, len(data)+len(nsp)+32), &protocol.Packet{Type: typ, Namespace: nsp, ID: id, HasID: hasID, NumAttachments: len(atts)})
	text = append(text, data...)
	out.Packet.Data = text[len(text)-len(data):]
	out.Packet.NumAttachments = len(atts)
	out.Packet.Type = wireType(typ, len(atts))
	out.Frames = make([]protocol.EnginePacket, 1+len(atts))
	out.Frames[0] = protocol.EnginePacket{Type: protocol.EngineMessage, Data: text}
	for i, a := range atts {
		out.Frames[1+i] = protocol.EnginePacket{Type: protocol.EngineMessage, Data: a, Binary: true}
	}
	return out, nil
}

// wireType is the type a JSON-codec packet goes out as: AppendPacket makes
// an EVENT or ACK with attachments a BINARY_EVENT or BINARY_ACK, and the
// Outgoing (which the Tap shows) must say the same.
func wireType(t protocol.PacketType, attachments int) protocol.PacketType {
	if attachments > 0 {
		switch t {
		case protocol.PacketEvent:
			return protocol.PacketBinaryEvent
		case protocol.PacketAck:
			return protocol.PacketBinaryAck
		}
	}
	return t
}

// argsSizeHint estimates the JSON size of args for the first allocation.
func argsSizeHint(args []any) int {
	n := 0
	for _, a := range args {
		switch x := a.(type) {
		case json.RawMessage:
			n += len(x) + 1
		case string:
			n += len(x) + 3
		case []byte:
			n += 32
		default:
			n += 16
		}
	}
	return n
}

// encodePacket encodes p with codec. The JSON codec's text form is written
// in one buffer.
func encodePacket(codec protocol.Codec, p protocol.Packet) (*Outgoing, error) {
	if len(p.Attachments) > protocol.DefaultMaxAttachments {
		return nil, fmt.Errorf("%w: %d buffers (Node peers accept at most %d)", protocol.ErrTooManyAttachments, len(p.Attachments), protocol.DefaultMaxAttachments)
	}
	out := &Outgoing{Packet: p}
	if _, ok := codec.(protocol.JSONCodec); ok {
		out.Frames = make([]protocol.EnginePacket, 1+len(p.Attachments))
		out.Frames[0] = protocol.EnginePacket{Type: protocol.EngineMessage, Data: protocol.AppendPacket(make([]byte, 0, len(p.Data)+len(p.Namespace)+24), &p)}
		for i, a := range p.Attachments {
			out.Frames[1+i] = protocol.EnginePacket{Type: protocol.EngineMessage, Data: a, Binary: true}
		}
		out.Packet.Type = wireType(p.Type, len(p.Attachments))
		return out, nil
	}
	frames, err := codec.Encode(&p)
	if err != nil {
		return nil, err
	}
	out.Frames = frames
	return out, nil
}

// traceRaw returns the frames' bytes for a socket-level trace.
func traceRaw(frames []protocol.EnginePacket) [][]byte {
	raw := make([][]byte, len(frames))
	for i, f := range frames {
		raw[i] = f.Data
	}
	return raw
}
