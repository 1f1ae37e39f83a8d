package redisadapter

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/sio-dev/sio/pkg/protocol"
)

// RequestType is the type of a message on the request and response
// channels (RequestType in @socket.io/redis-adapter 8.x).
type RequestType int

const (
	ReqSockets              RequestType = 0
	ReqAllRooms             RequestType = 1
	ReqRemoteJoin           RequestType = 2
	ReqRemoteLeave          RequestType = 3
	ReqRemoteDisconnect     RequestType = 4
	ReqRemoteFetch          RequestType = 5
	ReqServerSideEmit       RequestType = 6
	ReqBroadcast            RequestType = 7
	ReqBroadcastClientCount RequestType = 8
	ReqBroadcastAck         RequestType = 9
)

var requestTypeNames = [...]string{"SOCKETS", "ALL_ROOMS", "REMOTE_JOIN", "REMOTE_LEAVE", "REMOTE_DISCONNECT", "REMOTE_FETCH", "SERVER_SIDE_EMIT", "BROADCAST", "BROADCAST_CLIENT_COUNT", "BROADCAST_ACK"}

func (t RequestType) String() string {
	if t >= 0 && int(t) < len(requestTypeNames) {
		return requestTypeNames[t]
	}
	return "type " + strconv.Itoa(int(t))
}

// Flags are a broadcast's flags as socket.io's BroadcastOperator sends
// them. Timeout is in milliseconds (emitWithAck's timeout).
type Flags struct {
	Volatile bool     `json:"volatile,omitempty"`
	Compress *bool    `json:"compress,omitempty"`
	Local    bool     `json:"local,omitempty"`
	Timeout  *float64 `json:"timeout,omitempty"`
}

// Broadcast is a message on socket.io#<nsp># or socket.io#<nsp>#<room>#:
// the msgpack array [uid, packet, {rooms, except, flags}] that
// RedisAdapter.broadcast and the redis-emitter publish.
type Broadcast struct {
	UID    string
	Packet protocol.Packet // EVENT or BINARY_EVENT: data with placeholders, bytes in Attachments
	Rooms  []string
	Except []string
	Flags  Flags
}

// Request is a message on socket.io-request#<nsp># or
// socket.io-response#<nsp>#: JSON, or msgpack for BROADCAST requests and
// BROADCAST_ACK responses. Fields are those of every request and response
// type; which are set depends on Type.
type Request struct {
	UID       string
	RequestID string
	Type      RequestType
	HasType   bool // responses to SOCKETS, ALL_ROOMS, REMOTE_* carry no type

	Opts    *RequestOpts     // REMOTE_JOIN/LEAVE/DISCONNECT/FETCH, BROADCAST
	Rooms   []string         // REMOTE_JOIN/LEAVE: the rooms to join or leave; ALL_ROOMS response
	SID     string           // REMOTE_JOIN/LEAVE/DISCONNECT of one socket (socket.io-redis 6)
	Room    string           // with SID
	Close   bool             // REMOTE_DISCONNECT
	Data    json.RawMessage  // SERVER_SIDE_EMIT: the [event, ...args] array, or the response's answer
	Packet  *protocol.Packet // BROADCAST's packet
	Ack     json.RawMessage  // BROADCAST_ACK's answer, placeholders in AckAtts
	AckAtts [][]byte
	Count   int             // BROADCAST_CLIENT_COUNT
	Sockets json.RawMessage // SOCKETS or REMOTE_FETCH response
	Msgpack bool            // it came msgpack-encoded
}

// RequestOpts select sockets in a request: rooms and except rooms, and
// for a BROADCAST its flags.
type RequestOpts struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
	Flags  *Flags   `json:"flags,omitempty"`
}

// maxRooms bounds the rooms and except rooms of one message: a room list
// is network input, and a longer one is no broadcast anyone sends.
const maxRooms = 1 << 16

// roomList decodes a JSON array of rooms. socket.io rooms are strings,
// but a JavaScript app can join a number, which the adapter sends as one:
// it is the room named by its text, as Node's hasRoom reads it.
type roomList []string

func (r *roomList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("rooms: %w", err)
	}
	if len(raw) > maxRooms {
		return fmt.Errorf("rooms: %d rooms (at most %d)", len(raw), maxRooms)
	}
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		switch {
		case len(e) > 0 && e[0] == '"':
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return fmt.Errorf("rooms: %w", err)
			}
			out = append(out, s)
		case len(e) > 0 && (e[0] == '-' || (e[0] >= '0' && e[0] <= '9')):
			out = append(out, string(e))
		default:
			return fmt.Errorf("rooms: a room is %s, not a string", e)
		}
	}
	*r = out
	return nil
}

// mpElem is one element of a msgpack array or map: its bytes, and its
// value as JSON with placeholders numbered within the element.
type mpElem struct {
	raw  []byte
	json []byte
	atts [][]byte
}

// msgpack headers of the collections (the format's fix, 16- and 32-bit
// forms).
func mpCollHeader(b []byte, fixLo, fixHi, c16, c32 byte) (n, off int, err error) {
	if len(b) == 0 {
		return 0, 0, errors.New("msgpack: empty message")
	}
	c := b[0]
	switch {
	case c >= fixLo && c <= fixHi:
		return int(c - fixLo), 1, nil
	case c == c16 && len(b) >= 3:
		return int(binary.BigEndian.Uint16(b[1:])), 3, nil
	case c == c32 && len(b) >= 5:
		n := binary.BigEndian.Uint32(b[1:])
		if uint64(n) > uint64(len(b)) { // each element takes a byte at least
			return 0, 0, fmt.Errorf("msgpack: %d elements in %d bytes", n, len(b))
		}
		return int(n), 5, nil
	}
	return 0, 0, fmt.Errorf("msgpack: byte 0x%02x is not the expected array or map", c)
}

func readElem(b []byte, off int) (mpElem, int, error) {
	data, atts, n, err := protocol.ReadMsgpackValue(b[off:])
	if err != nil {
		return mpElem{}, 0, err
	}
	return mpElem{raw: b[off : off+n], json: data, atts: atts}, off + n, nil
}

// splitArray reads a msgpack array that is the whole of b.
func splitArray(b []byte) ([]mpElem, error) {
	n, off, err := mpCollHeader(b, 0x90, 0x9f, 0xdc, 0xdd)
	if err != nil {
		return nil, err
	}
	out := make([]mpElem, 0, min(n, 16))
	for range n {
		var e mpElem
		if e, off, err = readElem(b, off); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if off != len(b) {
		return nil, fmt.Errorf("msgpack: %d trailing bytes", len(b)-off)
	}
	return out, nil
}

// splitMap reads a msgpack map that is the whole of b, keyed by its
// string keys (a later duplicate wins, as in JavaScript).
func splitMap(b []byte) (map[string]mpElem, error) {
	n, off, err := mpCollHeader(b, 0x80, 0x8f, 0xde, 0xdf)
	if err != nil {
		return nil, err
	}
	out := make(map[string]mpElem, min(n, 16))
	for range n {
		var k, v mpElem
		if k, off, err = readElem(b, off); err != nil {
			return nil, err
		}
		var key string
		if err := json.Unmarshal(k.json, &key); err != nil {
			return nil, fmt.Errorf("msgpack: a map key is %s, not a string", k.json)
		}
		if v, off, err = readElem(b, off); err != nil {
			return nil, err
		}
		out[key] = v
	}
	if off != len(b) {
		return nil, fmt.Errorf("msgpack: %d trailing bytes", len(b)-off)
	}
	return out, nil
}

// decodePacket reads a socket.io-parser packet object {type, data, nsp,
// id} as the adapter sends it: an EVENT (or ACK) whose data may hold
// Buffers. A missing nsp is "/" (RedisAdapter.onmessage).
func decodePacket(raw []byte) (protocol.Packet, error) {
	m, err := splitMap(raw)
	if err != nil {
		return protocol.Packet{}, fmt.Errorf("packet: %w", err)
	}
	var p protocol.Packet
	t, ok := m["type"]
	if !ok {
		return p, errors.New("packet: no type")
	}
	var typ int
	if err := json.Unmarshal(t.json, &typ); err != nil || typ < 0 || typ > int(protocol.PacketBinaryAck) {
		return p, fmt.Errorf("packet: invalid type %s", t.json)
	}
	p.Type = protocol.PacketType(typ)
	p.Namespace = "/"
	if e, ok := m["nsp"]; ok {
		if err := json.Unmarshal(e.json, &p.Namespace); err != nil {
			return p, fmt.Errorf("packet: invalid nsp %s", e.json)
		}
	}
	if e, ok := m["id"]; ok && string(e.json) != "null" {
		if err := json.Unmarshal(e.json, &p.ID); err != nil {
			return p, fmt.Errorf("packet: invalid id %s", e.json)
		}
		p.HasID = true
	}
	e, ok := m["data"]
	if !ok || len(e.json) == 0 || e.json[0] != '[' {
		return p, errors.New("packet: data is not an array")
	}
	if err := protocol.CheckPlaceholders(e.json, len(e.atts)); err != nil {
		return p, fmt.Errorf("packet: %w", err)
	}
	p.Data = e.json
	if len(e.atts) > 0 {
		p.Attachments = e.atts
		p.NumAttachments = len(e.atts)
		switch p.Type {
		case protocol.PacketEvent:
			p.Type = protocol.PacketBinaryEvent
		case protocol.PacketAck:
			p.Type = protocol.PacketBinaryAck
		}
	}
	if p.Type != protocol.PacketEvent && p.Type != protocol.PacketBinaryEvent {
		return p, fmt.Errorf("packet: type %d is not an event", typ)
	}
	return p, nil
}

// DecodeBroadcast decodes a message of a broadcast channel. Its bytes
// come from the network: anything but the format is an error.
func DecodeBroadcast(b []byte) (*Broadcast, error) {
	elems, err := splitArray(b)
	if err != nil {
		return nil, err
	}
	if len(elems) != 3 {
		return nil, fmt.Errorf("broadcast: %d elements, not [uid, packet, opts]", len(elems))
	}
	m := &Broadcast{}
	if err := json.Unmarshal(elems[0].json, &m.UID); err != nil {
		return nil, fmt.Errorf("broadcast: uid is %s, not a string", elems[0].json)
	}
	if m.Packet, err = decodePacket(elems[1].raw); err != nil {
		return nil, err
	}
	var opts struct {
		Rooms  roomList `json:"rooms"`
		Except roomList `json:"except"`
		Flags  *Flags   `json:"flags"`
	}
	if err := json.Unmarshal(elems[2].json, &opts); err != nil {
		return nil, fmt.Errorf("broadcast: opts: %w", err)
	}
	m.Rooms, m.Except = opts.Rooms, opts.Except
	if opts.Flags != nil {
		m.Flags = *opts.Flags
	}
	return m, nil
}

// appendPacket writes a packet the way RedisAdapter publishes one: {type,
// data, nsp[, id]}, an EVENT or ACK type even when data holds Buffers
// (socket.io-parser's encoder picks BINARY_* itself).
func appendPacket(dst []byte, p *protocol.Packet) ([]byte, error) {
	t := p.Type
	switch t {
	case protocol.PacketBinaryEvent:
		t = protocol.PacketEvent
	case protocol.PacketBinaryAck:
		t = protocol.PacketAck
	}
	n := 3
	if p.HasID {
		n++
	}
	dst = append(dst, 0x80|byte(n))
	dst = appendStr(dst, "type")
	dst = append(dst, byte(t))
	dst = appendStr(dst, "data")
	data := p.Data
	if len(data) == 0 {
		data = []byte("[]")
	}
	var err error
	if dst, err = protocol.AppendMsgpackValue(dst, data, p.Attachments); err != nil {
		return nil, err
	}
	dst = appendStr(dst, "nsp")
	dst = appendStr(dst, p.Namespace)
	if p.HasID {
		dst = appendStr(dst, "id")
		if dst, err = protocol.AppendMsgpackValue(dst, strconv.AppendUint(nil, p.ID, 10), nil); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// appendStr writes a msgpack string.
func appendStr(dst []byte, s string) []byte { return protocol.AppendMsgpackString(dst, s) }

// marshalJS is JSON.stringify's text of v: json.Marshal without its
// escaping of <, > and &.
func marshalJS(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// appendJSONValue writes a Go value as msgpack through its JSON form.
func appendJSONValue(dst []byte, v any) ([]byte, error) {
	b, err := marshalJS(v)
	if err != nil {
		return nil, err
	}
	return protocol.AppendMsgpackValue(dst, b, nil)
}

// appendOpts writes {rooms, except, flags}, rooms and except never null.
func appendOpts(dst []byte, rooms, except []string, flags Flags) ([]byte, error) {
	dst = append(dst, 0x83)
	dst = appendStr(dst, "rooms")
	dst = appendStrs(dst, rooms)
	dst = appendStr(dst, "except")
	dst = appendStrs(dst, except)
	dst = appendStr(dst, "flags")
	return appendJSONValue(dst, flags)
}

func appendStrs(dst []byte, ss []string) []byte {
	n := len(ss)
	switch {
	case n < 16:
		dst = append(dst, 0x90|byte(n))
	case n < 1<<16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
	}
	for _, s := range ss {
		dst = appendStr(dst, s)
	}
	return dst
}

// AppendBroadcast writes m as RedisAdapter.broadcast publishes it.
func AppendBroadcast(dst []byte, m *Broadcast) ([]byte, error) {
	dst = append(dst, 0x93)
	dst = appendStr(dst, m.UID)
	var err error
	if dst, err = appendPacket(dst, &m.Packet); err != nil {
		return nil, err
	}
	return appendOpts(dst, m.Rooms, m.Except, m.Flags)
}

// wireRequest is the JSON of a request or response, for decoding.
type wireRequest struct {
	UID       *string         `json:"uid"`
	RequestID *string         `json:"requestId"`
	Type      *RequestType    `json:"type"`
	Opts      *wireOpts       `json:"opts"`
	Rooms     roomList        `json:"rooms"`
	SID       string          `json:"sid"`
	Room      string          `json:"room"`
	Close     bool            `json:"close"`
	Data      json.RawMessage `json:"data"`
	Count     int             `json:"clientCount"`
	Sockets   json.RawMessage `json:"sockets"`
	Packet    json.RawMessage `json:"packet"` // in a JSON message
}

type wireOpts struct {
	Rooms  roomList `json:"rooms"`
	Except roomList `json:"except"`
	Flags  *Flags   `json:"flags"`
}

// DecodeRequest decodes a message of the request or response channel:
// JSON when it starts with "{" (as RedisAdapter.onrequest tells them),
// msgpack otherwise.
func DecodeRequest(b []byte) (*Request, error) {
	if len(b) == 0 {
		return nil, errors.New("request: empty message")
	}
	r := &Request{}
	var w wireRequest
	if b[0] == '{' {
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
	} else {
		m, err := splitMap(b)
		if err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		r.Msgpack = true
		// The JSON of every key but the packets, which keep their bytes.
		obj := []byte{'{'}
		for k, e := range m {
			if k == "packet" {
				continue
			}
			if len(e.atts) > 0 {
				return nil, fmt.Errorf("request: binary data in %q", k)
			}
			if len(obj) > 1 {
				obj = append(obj, ',')
			}
			obj = protocol.AppendString(obj, k)
			obj = append(obj, ':')
			obj = append(obj, e.json...)
		}
		obj = append(obj, '}')
		if err := json.Unmarshal(obj, &w); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		if e, ok := m["packet"]; ok {
			if w.Type != nil && *w.Type == ReqBroadcastAck {
				r.Ack, r.AckAtts = e.json, e.atts
			} else {
				p, err := decodePacket(e.raw)
				if err != nil {
					return nil, fmt.Errorf("request: %w", err)
				}
				r.Packet = &p
			}
		}
	}
	if w.Type != nil {
		r.Type, r.HasType = *w.Type, true
	}
	if w.UID != nil {
		r.UID = *w.UID
	}
	if w.RequestID != nil {
		r.RequestID = *w.RequestID
	}
	if w.Opts != nil {
		r.Opts = &RequestOpts{Rooms: w.Opts.Rooms, Except: w.Opts.Except, Flags: w.Opts.Flags}
	}
	r.Rooms, r.SID, r.Room, r.Close, r.Data, r.Count, r.Sockets = w.Rooms, w.SID, w.Room, w.Close, w.Data, w.Count, w.Sockets
	if !r.Msgpack && len(w.Packet) > 0 {
		// None of the Node adapters sends a packet in JSON, where it
		// cannot hold binary; read it all the same.
		if r.HasType && r.Type == ReqBroadcastAck {
			r.Ack = w.Packet
		} else {
			raw, err := protocol.AppendMsgpackValue(nil, w.Packet, nil)
			if err != nil {
				return nil, fmt.Errorf("request: packet: %w", err)
			}
			p, err := decodePacket(raw)
			if err != nil {
				return nil, fmt.Errorf("request: %w", err)
			}
			r.Packet = &p
		}
	}
	return r, nil
}
