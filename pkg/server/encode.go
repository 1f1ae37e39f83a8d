package server

import (
	"encoding/json"
	"fmt"

	"github.com/sio-dev/sio/pkg/protocol"
)

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
		buf = protocol.AppendString(buf, event)
	}
	var atts [][]byte
	if r, ok := receivedArgs(args); ok {
		// As received (EmitArgs, AckArgs; checked there): the bytes are
		// copied and the attachments kept in order, so each placeholder
		// still numbers its own.
		for i, raw := range r.Raw {
			if i > 0 || isEvent {
				buf = append(buf, ',')
			}
			buf = append(buf, raw...)
		}
		atts = r.Attachments[:len(r.Attachments):len(r.Attachments)]
	} else {
		for i, a := range args {
			if i > 0 || isEvent {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = protocol.AppendValue(buf, a, &atts); err != nil {
				return nil, fmt.Errorf("argument %d: %w", i, err)
			}
		}
	}
	if offset != "" {
		buf = append(buf, ',')
		buf = protocol.AppendString(buf, offset)
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
		case received:
			for _, r := range x.args.Raw {
				n += len(r) + 1
			}
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
