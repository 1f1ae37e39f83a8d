package render

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Layer names used in Record.Layer.
const (
	LayerEngine  = "engine.io" // an Engine.IO packet (shown with -v)
	LayerSession = "session"   // a lifecycle line: connect, disconnect, upgrade, error (an sio extension)
)

// TimeFormat is RFC 3339 with microseconds, the form of Record.Time.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Record is one JSON line, fields in CLI.md order. Args is raw JSON ("[]"
// kept for an ACK with no args, omitted when nil). Binary attachments are
// shown inline as {"$binary":"<base64>"}.
type Record struct {
	Time      string          `json:"time,omitempty"` // RFC 3339 with microseconds, UTC
	Dir       string          `json:"dir,omitempty"`  // "in" | "out"
	SID       string          `json:"sid,omitempty"`
	Transport string          `json:"transport,omitempty"`
	Layer     string          `json:"layer,omitempty"` // "engine.io" for engine lines; "session" for lifecycle lines
	Type      string          `json:"type"`
	Nsp       string          `json:"nsp,omitempty"`
	Event     string          `json:"event,omitempty"`
	Args      json.RawMessage `json:"args,omitempty"`
	ID        *uint64         `json:"id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	Reason    string          `json:"reason,omitempty"` // lifecycle lines: disconnect reason, error text
	Raw       string          `json:"raw,omitempty"`    // with --raw
}

// FormatTime formats t the way Record.Time holds it: UTC, microseconds.
// The zero time is "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// FromTrace builds the record of a Socket.IO or Engine.IO trace. With raw
// the exact frames are kept in Raw: text as is, binary as
// {"$binary":"<base64>"}.
func FromTrace(t protocol.Trace, raw bool) Record {
	var r Record
	if t.Layer == protocol.LayerEngine {
		r = FromEngine(t.Engine)
	} else {
		r = FromPacket(t.Packet)
	}
	r.Time = FormatTime(t.Time)
	r.Dir = t.Dir.String()
	r.SID = t.SID
	if r.SID == "" {
		r.SID = t.EngineSID
	}
	r.Transport = t.Transport
	if raw {
		r.Raw = rawText(t)
	}
	return r
}

// FromPacket builds the record of a Socket.IO packet, as `sio decode`
// prints it: no time, direction, sid or transport. Attachments that are
// present replace their placeholders as {"$binary":...}; a binary packet
// whose attachments are missing keeps its placeholders.
func FromPacket(p protocol.Packet) Record {
	r := Record{Type: p.Type.String(), Nsp: p.Namespace}
	if r.Nsp == "" {
		r.Nsp = "/"
	}
	if p.HasID {
		id := p.ID
		r.ID = &id
	}
	data := p.Data
	if len(p.Attachments) > 0 {
		data = protocol.InlineBinary(data, p.Attachments)
	}
	switch {
	case p.IsEvent():
		q := p
		q.Data = data
		name, args, err := q.Event()
		if err != nil {
			r.Data = validJSON(data)
			break
		}
		r.Event = name
		// The args and their brackets fit in len(data): one allocation.
		r.Args = protocol.AppendArray(make([]byte, 0, len(data)), args...)
	case p.IsAck():
		if _, err := protocol.SplitArray(data); err != nil {
			r.Data = validJSON(data)
			break
		}
		r.Args = bytes.Clone(data)
	default:
		r.Data = validJSON(data)
	}
	return r
}

// FromEngine builds the record of an Engine.IO packet (layer "engine.io").
// The open packet's data is shown as its JSON object; other text data as a
// JSON string; binary data as {"$binary":"<base64>"}.
func FromEngine(p protocol.EnginePacket) Record {
	r := Record{Layer: LayerEngine, Type: p.Type.String()}
	switch {
	case p.Binary:
		r.Data = binaryJSON(p.Data)
	case len(p.Data) == 0:
	case p.Type == protocol.EngineOpen && isJSONObject(p.Data):
		r.Data = bytes.Clone(p.Data)
	default:
		r.Data = stringJSON(p.Data)
	}
	return r
}

// validJSON returns a copy of raw if it is valid JSON, raw as a JSON
// string otherwise, and nil when it is empty.
func validJSON(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	if json.Valid(raw) {
		return bytes.Clone(raw)
	}
	return stringJSON(raw)
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// stringJSON encodes b as a JSON string without HTML escaping. Invalid
// UTF-8 becomes U+FFFD, as encoding/json does.
func stringJSON(b []byte) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(b)) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func binaryJSON(b []byte) json.RawMessage {
	out := append([]byte(`{"$binary":"`), base64.StdEncoding.EncodeToString(b)...)
	return append(out, `"}`...)
}

// rawText renders a trace's exact frames as one string that `sio decode`
// reads back as the same packet.
//
// An Engine.IO line is its packet as framed by its transport: a WebSocket
// message, or a polling payload's record (v3 with its length prefix). A
// binary one is written as a text polling payload carries it: b<base64>
// (v4) or N:b4<base64> (v3); so is a text packet that a v3 binary payload
// carried (N:<type><text>).
//
// A Socket.IO line is the Engine.IO message(s) that carried the packet:
// the text message with its Engine.IO type ("4", so 42["chat","hi"], as
// a browser's network tab shows it), then each binary attachment as
// above, separated as in a polling payload of that version (v4: the
// record separator 0x1e; v3: length prefixes). A codec whose packets are
// binary messages (msgpack) shows them as b<base64>.
func rawText(t protocol.Trace) string {
	if len(t.Raw) == 0 {
		return ""
	}
	if t.Layer == protocol.LayerEngine {
		switch {
		case t.Engine.Binary:
			return string(binaryRecord(nil, t.EIO, t.Engine.Data, t.Raw[0]))
		case !utf8.Valid(t.Raw[0]) && t.EIO == protocol.EIO3:
			// A text packet in a v3 binary polling payload (one that
			// also carries binary): its record in the text form.
			return string(protocol.AppendPayloadV3(nil, t.Engine))
		case !utf8.Valid(t.Raw[0]):
			return string(protocol.AppendEngineText(nil, t.Engine))
		}
		return string(t.Raw[0])
	}
	var b []byte
	v3 := t.EIO == protocol.EIO3 && len(t.Raw) > 1
	for i, f := range t.Raw {
		if i == 0 && isPacketText(f) {
			if v3 {
				b = strconv.AppendInt(b, int64(1+protocol.UTF16Len(f)), 10)
				b = append(b, ':')
			}
			b = append(b, '4')
			b = append(b, f...)
			continue
		}
		if i > 0 && !v3 {
			b = append(b, 0x1e)
		}
		b = binaryRecord(b, t.EIO, f, nil)
	}
	return string(b)
}

// isPacketText reports whether f is a Socket.IO packet in the text format
// (it starts with its type digit), not a binary codec's message.
func isPacketText(f []byte) bool {
	return len(f) > 0 && f[0] >= '0' && f[0] <= '9' && utf8.Valid(f)
}

// binaryRecord appends a binary Engine.IO message holding data as a text
// polling payload writes it: b<base64> (v4) or N:b4<base64> (v3). When
// data is empty and frame is not, frame is what was on the wire.
func binaryRecord(dst []byte, v protocol.EIO, data, frame []byte) []byte {
	if len(data) == 0 && len(frame) > 0 {
		data = frame
	}
	enc := base64.StdEncoding.EncodeToString(data)
	if v == protocol.EIO3 {
		dst = strconv.AppendInt(dst, int64(2+len(enc)), 10)
		return append(append(dst, ":b4"...), enc...)
	}
	return append(append(dst, 'b'), enc...)
}
