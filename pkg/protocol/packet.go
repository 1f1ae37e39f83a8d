package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// PacketType is the type of a Socket.IO packet (socket.io-protocol, Packet types).
type PacketType byte

const (
	PacketConnect PacketType = iota
	PacketDisconnect
	PacketEvent
	PacketAck
	PacketConnectError // ERROR in Socket.IO v4
	PacketBinaryEvent
	PacketBinaryAck
)

var packetTypeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the name used in sio's JSON lines ("EVENT", "CONNECT_ERROR", ...).
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// Packet is one Socket.IO packet. Data is kept as the raw JSON that was on
// the wire, so a debugger shows exactly what the peer sent; binary
// attachments stay as placeholders in Data and their bytes are in
// Attachments, in num order.
type Packet struct {
	Type      PacketType
	Namespace string // "/" for the main namespace; "" only from msgpack, whose nsp can be empty
	ID        uint64 // ack id, meaningful when HasID
	HasID     bool
	Data      json.RawMessage // nil when the packet has no payload
	// Attachments are the binary attachments of a binary packet.
	Attachments [][]byte
	// NumAttachments is the count announced by a binary packet's header. It
	// equals len(Attachments) once the packet is complete.
	NumAttachments int
}

// IsEvent reports whether p is an EVENT or BINARY_EVENT.
func (p *Packet) IsEvent() bool { return p.Type == PacketEvent || p.Type == PacketBinaryEvent }

// IsAck reports whether p is an ACK or BINARY_ACK.
func (p *Packet) IsAck() bool { return p.Type == PacketAck || p.Type == PacketBinaryAck }

// Event returns the name and raw arguments of an event packet. A numeric
// name is returned in its JSON text.
func (p *Packet) Event() (name string, args []json.RawMessage, err error) {
	elems, err := SplitArray(p.Data)
	if err != nil {
		return "", nil, err
	}
	if len(elems) == 0 {
		return "", nil, &PayloadError{Type: p.Type, Msg: "empty event"}
	}
	return eventName(elems[0]), elems[1:], nil
}

// EventName returns the event name of an event packet without splitting
// its arguments.
func (p *Packet) EventName() string {
	first, ok := firstElement(p.Data)
	if !ok {
		return ""
	}
	return eventName(first)
}

func eventName(raw []byte) string {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// Args returns the raw arguments of an ack packet, or the arguments after
// the name of an event packet.
func (p *Packet) Args() ([]json.RawMessage, error) {
	if p.IsEvent() {
		_, args, err := p.Event()
		return args, err
	}
	return SplitArray(p.Data)
}

// Limits bound what a decoder accepts. The zero value means the defaults.
type Limits struct {
	// MaxAttachments is the most attachments one binary packet may announce.
	// Default 10, as socket.io-parser ≥4.2.6.
	MaxAttachments int
	// MaxAttachmentBytes bounds the total size of one packet's attachments.
	// Default 100 MB; transports bound each message separately.
	MaxAttachmentBytes int
	// AllowReservedEvents accepts incoming events named "connect",
	// "disconnect" and the other reserved names, which Node rejects.
	AllowReservedEvents bool
}

// Default limits.
const (
	DefaultMaxAttachments     = 10
	DefaultMaxAttachmentBytes = 100 << 20
)

func (l Limits) maxAttachments() int {
	if l.MaxAttachments > 0 {
		return l.MaxAttachments
	}
	return DefaultMaxAttachments
}

func (l Limits) maxAttachmentBytes() int {
	if l.MaxAttachmentBytes > 0 {
		return l.MaxAttachmentBytes
	}
	return DefaultMaxAttachmentBytes
}

// reservedEvents may not be emitted or received (socket.io, RESERVED_EVENTS).
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// isReservedRaw reports whether the JSON string raw names a reserved
// event, without allocating for the usual name with no escapes.
func isReservedRaw(raw []byte) bool {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return reservedEvents[string(raw[1:len(raw)-1])]
	}
	return IsReservedEvent(eventName(raw))
}

// IsReservedEvent reports whether name is reserved by Socket.IO.
func IsReservedEvent(name string) bool { return reservedEvents[name] }

// maxIDDigits bounds an ack id: JavaScript numbers are exact up to 2^53.
const maxIDDigits = 16

// ParsePacket decodes the text form of a Socket.IO packet (the engine.io
// message data after its "4"). v selects the payload rules: EIO4 applies
// Socket.IO v5's checks, EIO3 the looser v4 ones. Data aliases b.
// A binary packet is returned with NumAttachments set and no Attachments;
// feed the following binary messages to a Decoder to complete it.
func ParsePacket(b []byte, v EIO, l Limits) (Packet, error) {
	var p Packet
	if len(b) == 0 {
		return p, syntaxErr(0, "empty packet")
	}
	c := b[0]
	if c < '0' || c > '6' {
		return p, syntaxErr(0, "invalid packet type %s", quoteByte(c))
	}
	p.Type = PacketType(c - '0')
	i := 1
	if p.Type == PacketBinaryEvent || p.Type == PacketBinaryAck {
		start := i
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start >= 6 {
				return p, syntaxErr(start, "illegal attachments: count too long")
			}
			n = n*10 + int(b[i]-'0')
			i++
		}
		if i == start || i >= len(b) || b[i] != '-' {
			return p, syntaxErr(i, "illegal attachments")
		}
		if n < 1 {
			return p, syntaxErr(start, "illegal attachments: count must be at least 1")
		}
		if n > l.maxAttachments() {
			return p, &SyntaxError{Msg: ErrTooManyAttachments.Error() + " (" + strconv.Itoa(n) + " > " + strconv.Itoa(l.maxAttachments()) + ")", Offset: start}
		}
		p.NumAttachments = n
		i++
	}
	p.Namespace = "/"
	if i < len(b) && b[i] == '/' {
		start := i
		for i < len(b) && b[i] != ',' {
			i++
		}
		p.Namespace = string(b[start:i])
		if i < len(b) {
			i++ // the comma
		}
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		start := i
		var id uint64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start >= maxIDDigits {
				return p, syntaxErr(start, "ack id too long")
			}
			id = id*10 + uint64(b[i]-'0')
			i++
		}
		p.ID, p.HasID = id, true
	}
	if i < len(b) {
		p.Data = json.RawMessage(b[i:])
		if !ValidJSON(p.Data) {
			return p, syntaxErr(i, "invalid payload: malformed JSON")
		}
	}
	if err := checkPayload(&p, v, l); err != nil {
		return p, err
	}
	return p, nil
}

// checkPayload applies socket.io-parser's isPayloadValid (v5) or the
// looser v4 rules to a well-formed packet.
func checkPayload(p *Packet, v EIO, l Limits) error {
	kind := jsonKind(p.Data)
	bad := func(msg string) error { return &PayloadError{Type: p.Type, Msg: msg} }
	switch p.Type {
	case PacketConnect:
		// v5 (socket.io-parser 4.x): a plain object. v4 (3.x): typeof
		// "object", so an array or null passes too.
		if v == EIO4 && kind != 0 && kind != '{' {
			return bad("CONNECT data must be an object")
		}
		if v == EIO3 && kind != 0 && kind != '{' && kind != '[' && kind != 'n' {
			return bad("CONNECT data must be an object")
		}
	case PacketDisconnect:
		if kind != 0 {
			return bad("DISCONNECT takes no data")
		}
	case PacketEvent, PacketBinaryEvent:
		if kind != '[' {
			return bad("EVENT data must be an array")
		}
		first, ok := firstElement(p.Data)
		if !ok {
			return bad("EVENT needs a name")
		}
		switch jsonKind(first) {
		case '"':
			if !l.AllowReservedEvents && isReservedRaw(first) {
				return bad("reserved event name " + string(first))
			}
		case '0':
		default:
			return bad("event name must be a string or a number")
		}
	case PacketAck, PacketBinaryAck:
		if kind != '[' {
			return bad("ACK data must be an array")
		}
	case PacketConnectError:
		// v5: a string or a plain object (or nothing); v4: typeof
		// "string" or "object", which lets arrays and null through.
		if v == EIO4 && kind != 0 && kind != '{' && kind != '"' {
			return bad("CONNECT_ERROR data must be an object or a string")
		}
		if v == EIO3 && kind != 0 && kind != '{' && kind != '"' && kind != '[' && kind != 'n' {
			return bad("CONNECT_ERROR data must be an object or a string")
		}
	}
	if p.HasID && p.Type != PacketEvent && p.Type != PacketBinaryEvent && p.Type != PacketAck && p.Type != PacketBinaryAck {
		return bad("only events and acks carry an id")
	}
	if (p.Type == PacketAck || p.Type == PacketBinaryAck) && !p.HasID {
		return bad("ACK without an id")
	}
	return nil
}

// AppendPacket appends the text form of p. An EVENT or ACK with
// attachments is written as BINARY_EVENT / BINARY_ACK with its count; the
// attachments themselves travel as separate binary messages.
func AppendPacket(dst []byte, p *Packet) []byte {
	t := p.Type
	n := len(p.Attachments)
	if n == 0 {
		n = p.NumAttachments
	}
	switch {
	case n > 0 && t == PacketEvent:
		t = PacketBinaryEvent
	case n > 0 && t == PacketAck:
		t = PacketBinaryAck
	}
	dst = append(dst, '0'+byte(t))
	if t == PacketBinaryEvent || t == PacketBinaryAck {
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}
