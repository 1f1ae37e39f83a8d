package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// MsgpackCodec is socket.io-msgpack-parser 3.x's format (PROTOCOL.md §5):
// each packet is one msgpack map {type, nsp, data[, id]} sent as one
// binary engine.io message, with Buffers as msgpack bin values inside data.
//
// Packets keep sio's one representation whatever the codec: Data is JSON
// with placeholders and the bytes are in Attachments. Decoding turns each
// bin into a placeholder (a packet with any becomes BINARY_EVENT or
// BINARY_ACK), and encoding turns placeholders back into bin values, so
// nothing above the codec needs to know which one is in use.
//
// Values JSON cannot hold are mapped the way JSON.stringify would show
// the object notepack.io 2.2 decodes: undefined (ext 0 "d4 00 00") drops a
// map entry and is null in an array, a Date (ext 0, 8 bytes) is its ISO
// string, NaN and ±Infinity are null, an ArrayBuffer (ext 0 with a length)
// is binary, and any other ext is [type, <binary>].
type MsgpackCodec struct{}

func (MsgpackCodec) Name() string { return "msgpack" }

// Encode returns p as one binary message.
func (MsgpackCodec) Encode(p *Packet) ([]EnginePacket, error) {
	b, err := AppendMsgpackPacket(nil, p)
	if err != nil {
		return nil, err
	}
	return []EnginePacket{{Type: EngineMessage, Data: b, Binary: true}}, nil
}

// NewDecoder returns a decoder for one connection. v is unused: the
// msgpack format is the same on every version. Limits.MaxAttachments does
// not apply, since a msgpack packet carries its buffers inline, and only
// AllowReservedEvents is read.
func (MsgpackCodec) NewDecoder(v EIO, l Limits) PacketDecoder {
	return &msgpackDecoder{limits: l}
}

type msgpackDecoder struct{ limits Limits }

func (d *msgpackDecoder) Add(data []byte, binary bool) (Packet, bool, error) {
	if !binary {
		return Packet{}, false, errors.New("msgpack: got a text message")
	}
	p, err := ParseMsgpackPacket(data, d.limits)
	if err != nil {
		return Packet{}, false, err
	}
	return p, true, nil
}

func (d *msgpackDecoder) Reset() {}

// maxMsgpackDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxMsgpackDepth = 1000

// errMsgpackEOF is the error for input that ends inside a value.
var errMsgpackEOF = errors.New("unexpected end of msgpack data")

// ParseMsgpackPacket decodes one socket.io-msgpack-parser packet. Keys
// are read by name in any order and unknown keys (the JS client's
// "options") are ignored. Like the Node decoder, type must be an integer
// from 0 to 4, nsp a string and id an integer; the data is then checked
// with Socket.IO v5's rules. Attachments alias b. An empty nsp stays ""
// (see AppendMsgpackPacket), so the packet shows what was on the wire.
func ParseMsgpackPacket(b []byte, l Limits) (Packet, error) {
	r := mpReader{b: b}
	var p Packet
	n, err := r.mapHeader()
	if err != nil {
		return p, err
	}
	typ := -1
	hasNsp := false
	for range n {
		key, err := r.key()
		if err != nil {
			return p, err
		}
		switch key {
		case "type":
			f, ok, err := r.number()
			if err != nil {
				return p, err
			}
			if !ok || f != math.Trunc(f) || f < 0 || f > float64(PacketConnectError) {
				return p, &SyntaxError{Msg: "msgpack: invalid packet type", Offset: 0}
			}
			typ = int(f)
		case "nsp":
			off := r.off
			s, ok, err := r.str()
			if err != nil {
				return p, err
			}
			if !ok {
				return p, &SyntaxError{Msg: "msgpack: invalid namespace", Offset: off}
			}
			p.Namespace, hasNsp = s, true
		case "data":
			r.atts = r.atts[:0]
			data, undef, err := r.value(make([]byte, 0, len(b)-r.off+8), 0)
			if err != nil {
				return p, err
			}
			p.Data, p.Attachments = nil, nil
			if !undef {
				p.Data = data
				if len(r.atts) > 0 {
					p.Attachments = append([][]byte(nil), r.atts...)
				}
			}
		case "id":
			off := r.off
			f, ok, err := r.number()
			if err != nil {
				return p, err
			}
			if !ok {
				if r.lastUndefined {
					p.ID, p.HasID = 0, false
					continue
				}
				return p, &SyntaxError{Msg: "msgpack: invalid packet id", Offset: off}
			}
			if f != math.Trunc(f) || f < 0 || f > 1<<53 {
				return p, &SyntaxError{Msg: "msgpack: invalid packet id", Offset: off}
			}
			p.ID, p.HasID = uint64(f), true
		default:
			if _, _, err := r.value(nil, 0); err != nil {
				return p, err
			}
		}
	}
	if r.off != len(b) {
		return p, &SyntaxError{Msg: fmt.Sprintf("msgpack: %d trailing bytes", len(b)-r.off), Offset: r.off}
	}
	if typ < 0 {
		return p, &SyntaxError{Msg: "msgpack: invalid packet type", Offset: 0}
	}
	if !hasNsp {
		return p, &SyntaxError{Msg: "msgpack: invalid namespace", Offset: 0}
	}
	p.Type = PacketType(typ)
	if n := len(p.Attachments); n > 0 {
		switch p.Type {
		case PacketEvent:
			p.Type = PacketBinaryEvent
		case PacketAck:
			p.Type = PacketBinaryAck
		}
		p.NumAttachments = n
	}
	if err := checkPayload(&p, EIO4, l); err != nil {
		return p, err
	}
	return p, nil
}

// AppendMsgpackPacket appends p as socket.io-msgpack-parser writes it: a
// map with type, nsp (always, "/" included), data when present and id when
// set, in that order, and never "options". BINARY_EVENT and BINARY_ACK are
// written as EVENT and ACK, each placeholder in Data as a bin value holding
// its attachment.
//
// The namespace is written as it is, "" included: unlike the text format,
// msgpack can carry an empty nsp, and it is not the main namespace. A
// socket.io 4.8 server answers {"type":0,"nsp":""} over EIO4 with
// {"type":4,"nsp":"","data":{"message":"Invalid namespace"}}, so a reply
// to that CONNECT must keep the "" the parser returned.
func AppendMsgpackPacket(dst []byte, p *Packet) ([]byte, error) {
	t := p.Type
	switch t {
	case PacketBinaryEvent:
		t = PacketEvent
	case PacketBinaryAck:
		t = PacketAck
	}
	if t > PacketConnectError {
		return nil, fmt.Errorf("msgpack: invalid packet type %d", p.Type)
	}
	n := 2
	if len(p.Data) > 0 {
		n++
	}
	if p.HasID {
		n++
	}
	dst = append(dst, 0x80|byte(n))
	dst = mpAppendStr(dst, "type")
	dst = append(dst, byte(t))
	dst = mpAppendStr(dst, "nsp")
	dst = mpAppendStr(dst, p.Namespace)
	if len(p.Data) > 0 {
		if !json.Valid(p.Data) {
			return nil, errors.New("msgpack: invalid JSON data")
		}
		dst = mpAppendStr(dst, "data")
		var err error
		if dst, err = mpAppendJSON(dst, p.Data, p.Attachments); err != nil {
			return nil, err
		}
	}
	if p.HasID {
		dst = mpAppendStr(dst, "id")
		dst = mpAppendUint(dst, p.ID)
	}
	return dst, nil
}

// mpAppendJSON appends the valid JSON value raw as msgpack, placeholders
// as bin values of atts.
func mpAppendJSON(dst []byte, raw []byte, atts [][]byte) ([]byte, error) {
	i := skipSpace(raw, 0)
	end := valueEnd(raw, i)
	v := raw[i:end]
	switch v[0] {
	case '{':
		if num, ok := isPlaceholder(v); ok {
			if num < 0 || num >= len(atts) {
				return nil, fmt.Errorf("msgpack: placeholder %s out of range of %d attachments", v, len(atts))
			}
			return mpAppendBin(dst, atts[num]), nil
		}
		n := 0
		walkObject(v, func(key, val []byte) { n++ })
		dst = mpAppendHeader(dst, n, 0x80, 0xde, 0xdf)
		var err error
		walkObject(v, func(key, val []byte) {
			if err != nil {
				return
			}
			var k string
			if k, err = jsonStringValue(key); err != nil {
				return
			}
			dst = mpAppendStr(dst, k)
			dst, err = mpAppendJSON(dst, val, atts)
		})
		return dst, err
	case '[':
		n := 0
		_ = eachElement(v, func([]byte) bool { n++; return true })
		dst = mpAppendHeader(dst, n, 0x90, 0xdc, 0xdd)
		var err error
		_ = eachElement(v, func(e []byte) bool {
			dst, err = mpAppendJSON(dst, e, atts)
			return err == nil
		})
		return dst, err
	case '"':
		if len(v) >= 2 && bytes.IndexByte(v, '\\') < 0 {
			return mpAppendStrBytes(dst, v[1:len(v)-1]), nil
		}
		s, err := jsonStringValue(v)
		if err != nil {
			return nil, err
		}
		return mpAppendStr(dst, s), nil
	case 't':
		return append(dst, 0xc3), nil
	case 'f':
		return append(dst, 0xc2), nil
	case 'n':
		return append(dst, 0xc0), nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("msgpack: invalid number %s", v)
	}
	if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
		return mpAppendUint(dst, u), nil
	}
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return mpAppendInt(dst, n), nil
	}
	// JavaScript has one number type; notepack writes integral values as
	// integers and the rest as float64.
	switch {
	case math.IsInf(f, 0):
		return mpAppendFloat(dst, f), nil
	case f == math.Trunc(f) && f >= 0 && f < 1<<64:
		return mpAppendUint(dst, uint64(f)), nil
	case f == math.Trunc(f) && f < 0 && f >= -(1<<63):
		return mpAppendInt(dst, int64(f)), nil
	}
	return mpAppendFloat(dst, f), nil
}

// walkObject calls fn with each raw key and value of a valid JSON object.
func walkObject(v []byte, fn func(key, val []byte)) {
	j := skipSpace(v, 1)
	for j < len(v) && v[j] == '"' {
		kEnd := valueEnd(v, j)
		key := v[j:kEnd]
		j = skipSpace(v, kEnd)
		j = skipSpace(v, j+1) // the colon
		vEnd := valueEnd(v, j)
		fn(key, v[j:vEnd])
		j = skipSpace(v, vEnd)
		if j < len(v) && v[j] == ',' {
			j = skipSpace(v, j+1)
		}
	}
}

func mpAppendHeader(dst []byte, n int, fix, b16, b32 byte) []byte {
	switch {
	case n < 16:
		return append(dst, fix|byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(dst, b16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, b32), uint32(n))
}

// jsonStringValue decodes a JSON string.
func jsonStringValue(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func mpAppendStrBytes(dst []byte, s []byte) []byte {
	dst = mpAppendStrHeader(dst, len(s))
	return append(dst, s...)
}

func mpAppendStr(dst []byte, s string) []byte {
	dst = mpAppendStrHeader(dst, len(s))
	return append(dst, s...)
}

func mpAppendStrHeader(dst []byte, n int) []byte {
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n < 1<<8:
		dst = append(dst, 0xd9, byte(n))
	case n < 1<<16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return dst
}

func mpAppendBin(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n < 1<<8:
		dst = append(dst, 0xc4, byte(n))
	case n < 1<<16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

func mpAppendUint(dst []byte, u uint64) []byte {
	switch {
	case u < 0x80:
		return append(dst, byte(u))
	case u < 1<<8:
		return append(dst, 0xcc, byte(u))
	case u < 1<<16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(u))
	case u < 1<<32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), u)
}

func mpAppendInt(dst []byte, n int64) []byte {
	switch {
	case n >= 0:
		return mpAppendUint(dst, uint64(n))
	case n >= -32:
		return append(dst, byte(n))
	case n >= -1<<7:
		return append(dst, 0xd0, byte(n))
	case n >= -1<<15:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(n))
	case n >= -1<<31:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(n))
}

func mpAppendFloat(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// mpReader reads msgpack into JSON.
type mpReader struct {
	b    []byte
	off  int
	atts [][]byte
	// lastUndefined is set when number or str met ext 0 "undefined".
	lastUndefined bool
}

func (r *mpReader) need(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, &SyntaxError{Msg: errMsgpackEOF.Error(), Offset: len(r.b)}
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

func (r *mpReader) byte() (byte, error) {
	s, err := r.need(1)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

func (r *mpReader) uintN(n int) (uint64, error) {
	s, err := r.need(n)
	if err != nil {
		return 0, err
	}
	var u uint64
	for _, c := range s {
		u = u<<8 | uint64(c)
	}
	return u, nil
}

// mapHeader reads the packet's map header.
func (r *mpReader) mapHeader() (int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x80:
		return int(c & 0x0f), nil
	case c == 0xde:
		n, err := r.uintN(2)
		return int(n), err
	case c == 0xdf:
		n, err := r.uintN(4)
		return int(n), err
	}
	return 0, &SyntaxError{Msg: fmt.Sprintf("msgpack: packet is not a map (0x%02x)", c), Offset: r.off - 1}
}

// key reads a map key as JavaScript would use it: a string, or the
// decimal form of an integer.
func (r *mpReader) key() (string, error) {
	if r.off < len(r.b) && r.b[r.off]&0xe0 == 0xa0 {
		// A fixstr, as every encoder writes the packet's keys.
		n := int(r.b[r.off] & 0x1f)
		r.off++
		s, err := r.need(n)
		if err != nil {
			return "", err
		}
		return packetKey(s), nil
	}
	off := r.off
	raw, undef, err := r.value(nil, maxMsgpackDepth-1)
	if err != nil {
		return "", err
	}
	if !undef && len(raw) > 0 {
		switch raw[0] {
		case '"':
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s, nil
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return string(raw), nil
		}
	}
	return "", &SyntaxError{Msg: "msgpack: unsupported map key", Offset: off}
}

// packetKey returns the packet map keys sio reads without allocating.
func packetKey(s []byte) string {
	switch string(s) {
	case "type":
		return "type"
	case "nsp":
		return "nsp"
	case "data":
		return "data"
	case "id":
		return "id"
	}
	return validString(s)
}

// number reads a value and reports it when it is a number.
func (r *mpReader) number() (float64, bool, error) {
	raw, undef, err := r.value(nil, maxMsgpackDepth-1)
	r.lastUndefined = undef
	if err != nil || undef || len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false, err
	}
	f, perr := strconv.ParseFloat(string(raw), 64)
	return f, perr == nil, nil
}

// str reads a value and reports it when it is a string.
func (r *mpReader) str() (string, bool, error) {
	c, err := r.byte()
	if err != nil {
		return "", false, err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.uintN(1)
	case c == 0xda:
		n, err = r.uintN(2)
	case c == 0xdb:
		n, err = r.uintN(4)
	default:
		r.off--
		_, _, err := r.value(nil, maxMsgpackDepth-1)
		return "", false, err
	}
	if err != nil {
		return "", false, err
	}
	s, err := r.need(int(n))
	if err != nil {
		return "", false, err
	}
	return validString(s), true, nil
}

// value appends the JSON form of the next msgpack value to dst. undef
// reports notepack's undefined (ext 0 "d4 00 00"), for which nothing is
// appended.
func (r *mpReader) value(dst []byte, depth int) (out []byte, undef bool, err error) {
	if depth >= maxMsgpackDepth {
		return nil, false, &SyntaxError{Msg: "msgpack: nesting too deep", Offset: r.off}
	}
	start := r.off
	c, err := r.byte()
	if err != nil {
		return nil, false, err
	}
	switch {
	case c < 0x80:
		return strconv.AppendUint(dst, uint64(c), 10), false, nil
	case c < 0x90:
		return r.object(dst, int(c&0x0f), depth)
	case c < 0xa0:
		return r.array(dst, int(c&0x0f), depth)
	case c < 0xc0:
		return r.strJSON(dst, int(c&0x1f))
	case c >= 0xe0:
		return strconv.AppendInt(dst, int64(int8(c)), 10), false, nil
	}
	var n uint64
	switch c {
	case 0xc0:
		return append(dst, "null"...), false, nil
	case 0xc2:
		return append(dst, "false"...), false, nil
	case 0xc3:
		return append(dst, "true"...), false, nil
	case 0xc4, 0xc5, 0xc6:
		if n, err = r.uintN(1 << (c - 0xc4)); err != nil {
			return nil, false, err
		}
		return r.bin(dst, int(n))
	case 0xc7, 0xc8, 0xc9:
		if n, err = r.uintN(1 << (c - 0xc7)); err != nil {
			return nil, false, err
		}
		t, err := r.byte()
		if err != nil {
			return nil, false, err
		}
		return r.ext(dst, int8(t), int(n), false)
	case 0xca:
		u, err := r.uintN(4)
		if err != nil {
			return nil, false, err
		}
		return appendJSNumber(dst, float64(math.Float32frombits(uint32(u)))), false, nil
	case 0xcb:
		u, err := r.uintN(8)
		if err != nil {
			return nil, false, err
		}
		return appendJSNumber(dst, math.Float64frombits(u)), false, nil
	case 0xcc, 0xcd, 0xce:
		u, err := r.uintN(1 << (c - 0xcc))
		if err != nil {
			return nil, false, err
		}
		return strconv.AppendUint(dst, u, 10), false, nil
	case 0xcf:
		u, err := r.uintN(8)
		if err != nil {
			return nil, false, err
		}
		// notepack computes hi*2^32+lo in a double.
		return appendJSNumber(dst, float64(u>>32)*(1<<32)+float64(u&0xffffffff)), false, nil
	case 0xd0, 0xd1, 0xd2:
		size := 1 << (c - 0xd0)
		u, err := r.uintN(size)
		if err != nil {
			return nil, false, err
		}
		shift := 64 - 8*size
		return strconv.AppendInt(dst, int64(u<<shift)>>shift, 10), false, nil
	case 0xd3:
		u, err := r.uintN(8)
		if err != nil {
			return nil, false, err
		}
		return appendJSNumber(dst, float64(int32(u>>32))*(1<<32)+float64(u&0xffffffff)), false, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		t, err := r.byte()
		if err != nil {
			return nil, false, err
		}
		return r.ext(dst, int8(t), 1<<(c-0xd4), true)
	case 0xd9, 0xda, 0xdb:
		if n, err = r.uintN(1 << (c - 0xd9)); err != nil {
			return nil, false, err
		}
		return r.strJSON(dst, int(n))
	case 0xdc, 0xdd:
		if n, err = r.uintN(2 << (c - 0xdc)); err != nil {
			return nil, false, err
		}
		return r.array(dst, int(n), depth)
	case 0xde, 0xdf:
		if n, err = r.uintN(2 << (c - 0xde)); err != nil {
			return nil, false, err
		}
		return r.object(dst, int(n), depth)
	}
	return nil, false, &SyntaxError{Msg: fmt.Sprintf("msgpack: invalid byte 0x%02x", c), Offset: start}
}

func (r *mpReader) strJSON(dst []byte, n int) ([]byte, bool, error) {
	s, err := r.need(n)
	if err != nil {
		return nil, false, err
	}
	return AppendString(dst, validString(s)), false, nil
}

// validString converts b to a string with each invalid UTF-8 byte
// replaced by U+FFFD, as Node's Buffer.toString does, so the JSON written
// for it is the same on every round trip.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string([]rune(string(b)))
}

func (r *mpReader) bin(dst []byte, n int) ([]byte, bool, error) {
	s, err := r.need(n)
	if err != nil {
		return nil, false, err
	}
	r.atts = append(r.atts, s)
	return AppendPlaceholder(dst, len(r.atts)-1), false, nil
}

// ext maps notepack.io 2.2's extension values: type 0 is undefined
// (fixext 1), a Date (fixext 8) or an ArrayBuffer (ext 8/16/32); any other
// ext is [type, <bytes>].
func (r *mpReader) ext(dst []byte, t int8, n int, fixed bool) ([]byte, bool, error) {
	if t == 0 {
		switch {
		case fixed && n == 1:
			_, err := r.need(1)
			return dst, true, err
		case fixed && n == 8:
			u, err := r.uintN(8)
			if err != nil {
				return nil, false, err
			}
			ms := float64(int32(u>>32))*(1<<32) + float64(u&0xffffffff)
			return appendJSDate(dst, ms), false, nil
		case !fixed:
			return r.bin(dst, n)
		}
	}
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, int64(t), 10)
	dst = append(dst, ',')
	dst, _, err := r.bin(dst, n)
	if err != nil {
		return nil, false, err
	}
	return append(dst, ']'), false, nil
}

func (r *mpReader) array(dst []byte, n int, depth int) ([]byte, bool, error) {
	if n > len(r.b)-r.off {
		return nil, false, &SyntaxError{Msg: errMsgpackEOF.Error(), Offset: len(r.b)}
	}
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		var undef bool
		var err error
		if dst, undef, err = r.value(dst, depth+1); err != nil {
			return nil, false, err
		}
		if undef {
			dst = append(dst, "null"...) // JSON.stringify([undefined]) is [null]
		}
	}
	return append(dst, ']'), false, nil
}

func (r *mpReader) object(dst []byte, n int, depth int) ([]byte, bool, error) {
	if n > len(r.b)-r.off {
		return nil, false, &SyntaxError{Msg: errMsgpackEOF.Error(), Offset: len(r.b)}
	}
	dst = append(dst, '{')
	first := true
	for range n {
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		keyOff := r.off
		keyStart := len(dst)
		raw, undef, err := r.value(dst, depth+1)
		if err != nil {
			return nil, false, err
		}
		// JavaScript turns any scalar key into a string.
		switch {
		case undef:
			dst = append(raw[:keyStart], `"undefined"`...)
		case raw[keyStart] == '"':
			dst = raw
		case raw[keyStart] == '[' || raw[keyStart] == '{':
			return nil, false, &SyntaxError{Msg: "msgpack: unsupported map key", Offset: keyOff}
		default:
			k := string(raw[keyStart:])
			dst = append(raw[:keyStart], '"')
			dst = append(dst, k...)
			dst = append(dst, '"')
		}
		dst = append(dst, ':')
		if dst, undef, err = r.value(dst, depth+1); err != nil {
			return nil, false, err
		}
		if undef {
			dst = dst[:mark] // JSON.stringify drops undefined members
			continue
		}
		first = false
	}
	return append(dst, '}'), false, nil
}

// appendJSNumber writes f as JSON.stringify does: NaN and infinities are
// null, -0 is 0, and exponents are used below 1e-6 and from 1e21 on.
func appendJSNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Go writes 1e-07; JavaScript writes 1e-7.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendJSDate writes a Date the way JSON.stringify does: its ISO string,
// or null when it is out of range.
func appendJSDate(dst []byte, ms float64) []byte {
	const maxMs = 8.64e15
	if math.IsNaN(ms) || ms > maxMs || ms < -maxMs {
		return append(dst, "null"...)
	}
	t := time.UnixMilli(int64(ms)).UTC()
	dst = append(dst, '"')
	switch y := t.Year(); {
	case y < 0:
		dst = fmt.Appendf(dst, "-%06d", -y)
	case y > 9999:
		dst = fmt.Appendf(dst, "+%06d", y)
	default:
		dst = fmt.Appendf(dst, "%04d", y)
	}
	dst = append(dst, t.Format("-01-02T15:04:05.000Z")...)
	return append(dst, '"')
}
