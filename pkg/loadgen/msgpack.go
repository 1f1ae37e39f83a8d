package loadgen

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sio-dev/sio/pkg/protocol"
)

// The msgpack path: socket.io-msgpack-parser's format (PROTOCOL.md §5).
// Every Socket.IO packet is one msgpack map {type, nsp, data[, id]} in one
// binary engine.io message. Requests are written from pre-encoded pieces
// as the text path writes them, and replies are read only as far as
// validation needs: the map's keys, and the raw msgpack of data, which is
// compared byte for byte with what was sent (and decoded only when the
// bytes differ: another encoder's number forms, say).

// Parser names (Config.Parser).
const (
	ParserJSON    = "json"
	ParserMsgpack = "msgpack"
)

// mpPayload is a Payload encoded as notepack.io (socket.io-msgpack-parser's
// encoder) writes it, with the {{seq}} and {{client}} holes left open: a
// bare placeholder becomes a msgpack integer, one inside a string makes
// that string's length header depend on the digits.
type mpPayload struct {
	ops []mpOp
}

// mpOp is literal bytes, then a hole: a number ('s' or 'c'), a string with
// holes, or nothing (the last op).
type mpOp struct {
	lit  []byte
	hole byte
	str  *Payload // a string with number holes in it
}

// CheckMsgpackPayload reports whether p can be sent with Parser msgpack:
// a placeholder must be a whole value or inside a string.
func CheckMsgpackPayload(p *Payload) error {
	_, err := newMpPayload(p)
	return err
}

// newMpPayload builds the msgpack form of p. A placeholder must be a whole
// value or inside a string (a key included): inside a number
// ("1{{seq}}") its msgpack form would not be a template.
func newMpPayload(p *Payload) (*mpPayload, error) {
	var tmpl strings.Builder
	for i, part := range p.parts {
		tmpl.Write(part)
		if i < len(p.holes) {
			if p.holes[i] == 's' {
				tmpl.WriteString(sentinelSeq)
			} else {
				tmpl.WriteString(sentinelClient)
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(tmpl.String()))
	dec.UseNumber()
	b := &mpBuilder{}
	if err := b.value(dec); err != nil {
		return nil, fmt.Errorf("payload template: %w", err)
	}
	b.ops = append(b.ops, mpOp{lit: b.lit})
	return &mpPayload{ops: b.ops}, nil
}

// mpBuilder turns a JSON template into mpOps.
type mpBuilder struct {
	ops []mpOp
	lit []byte
}

func (b *mpBuilder) value(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		// Count the elements first: msgpack writes the count before them.
		var raws []json.RawMessage
		isObj := v == '{'
		var keys []string
		for dec.More() {
			if isObj {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				keys = append(keys, k.(string))
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			raws = append(raws, raw)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
		if isObj {
			b.lit = protocol.AppendMsgpackMapHeader(b.lit, len(raws))
		} else {
			b.lit = protocol.AppendMsgpackArrayHeader(b.lit, len(raws))
		}
		for i, raw := range raws {
			if isObj {
				b.str(keys[i])
			}
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := b.value(d); err != nil {
				return err
			}
		}
	case string:
		b.str(v)
	case json.Number:
		switch s := string(v); {
		case s == sentinelSeq:
			b.hole('s', nil)
		case s == sentinelClient:
			b.hole('c', nil)
		case strings.Contains(s, sentinelSeq) || strings.Contains(s, sentinelClient):
			return errors.New("with msgpack a placeholder must be a whole value or inside a string, not part of a number")
		default:
			if b.lit, err = protocol.AppendMsgpackValue(b.lit, []byte(s), nil); err != nil {
				return err
			}
		}
	case bool:
		if v {
			b.lit = append(b.lit, 0xc3)
		} else {
			b.lit = append(b.lit, 0xc2)
		}
	case nil:
		b.lit = append(b.lit, 0xc0)
	}
	return nil
}

// str adds a string, with holes if it holds placeholders.
func (b *mpBuilder) str(s string) {
	if !strings.Contains(s, sentinelSeq) && !strings.Contains(s, sentinelClient) {
		b.lit = protocol.AppendMsgpackString(b.lit, s)
		return
	}
	ms := &Payload{}
	for {
		is, ic := strings.Index(s, sentinelSeq), strings.Index(s, sentinelClient)
		i, hole := is, byte('s')
		if i < 0 || (ic >= 0 && ic < i) {
			i, hole = ic, 'c'
		}
		if i < 0 {
			ms.parts = append(ms.parts, []byte(s))
			break
		}
		ms.parts = append(ms.parts, []byte(s[:i]))
		ms.holes = append(ms.holes, hole)
		s = s[i+len(sentinelSeq):]
	}
	b.hole(0, ms)
}

func (b *mpBuilder) hole(h byte, s *Payload) {
	b.ops = append(b.ops, mpOp{lit: b.lit, hole: h, str: s})
	b.lit = nil
}

// Append appends the payload for one client's message seq.
func (p *mpPayload) Append(dst []byte, client int, seq uint64) []byte {
	for i := range p.ops {
		op := &p.ops[i]
		dst = append(dst, op.lit...)
		switch {
		case op.hole == 's':
			dst = protocol.AppendMsgpackUint(dst, seq)
		case op.hole == 'c':
			dst = protocol.AppendMsgpackInt(dst, int64(client))
		case op.str != nil:
			dst = appendMpString(dst, op.str, client, seq)
		}
	}
	return dst
}

// appendMpString appends s, a string whose holes are filled with
// decimal numbers, with its msgpack header (the filled length).
func appendMpString(dst []byte, s *Payload, client int, seq uint64) []byte {
	n := 0
	for _, part := range s.parts {
		n += len(part)
	}
	for _, h := range s.holes {
		if h == 's' {
			n += decLen(seq)
		} else {
			n += decLenInt(int64(client))
		}
	}
	return s.Append(protocol.AppendMsgpackStrHeader(dst, n), client, seq)
}

func decLen(u uint64) int {
	n := 1
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}

func decLenInt(i int64) int {
	if i < 0 {
		return 1 + decLen(uint64(-i))
	}
	return decLen(uint64(i))
}

// mpSkip returns the end of the msgpack value at b[i:], or -1 when b ends
// inside it or holds an invalid byte. It walks without recursion, so
// nesting cannot exhaust the stack.
func mpSkip(b []byte, i int) int {
	for n := 1; n > 0; n-- {
		if i >= len(b) || n > len(b)-i {
			return -1 // every value left takes at least one byte
		}
		c := b[i]
		var l int
		switch {
		case c <= 0x7f || c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
			i++
		case c&0xf0 == 0x80:
			n += 2 * int(c&0x0f)
			i++
		case c&0xf0 == 0x90:
			n += int(c & 0x0f)
			i++
		case c&0xe0 == 0xa0:
			i += 1 + int(c&0x1f)
		case c == 0xc4 || c == 0xd9: // bin 8, str 8
			l = mpLen(b, i, 1)
			i += 2 + l
		case c == 0xc5 || c == 0xda:
			l = mpLen(b, i, 2)
			i += 3 + l
		case c == 0xc6 || c == 0xdb:
			l = mpLen(b, i, 4)
			i += 5 + l
		case c == 0xc7: // ext 8, 16, 32: length, type, data
			l = mpLen(b, i, 1)
			i += 3 + l
		case c == 0xc8:
			l = mpLen(b, i, 2)
			i += 4 + l
		case c == 0xc9:
			l = mpLen(b, i, 4)
			i += 6 + l
		case c == 0xca, c == 0xce, c == 0xd2:
			i += 5
		case c == 0xcb, c == 0xcf, c == 0xd3:
			i += 9
		case c == 0xcc, c == 0xd0:
			i += 2
		case c == 0xcd, c == 0xd1:
			i += 3
		case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16
			i += 2 + 1<<(c-0xd4)
		case c == 0xdc:
			l = mpLen(b, i, 2)
			n += l
			i += 3
		case c == 0xdd:
			l = mpLen(b, i, 4)
			n += l
			i += 5
		case c == 0xde:
			l = mpLen(b, i, 2)
			n += 2 * l
			i += 3
		case c == 0xdf:
			l = mpLen(b, i, 4)
			n += 2 * l
			i += 5
		default: // 0xc1, never used
			return -1
		}
		if l < 0 || n < 0 || i > len(b) {
			return -1
		}
	}
	return i
}

// mpLen reads the w-byte length after the type byte at b[i], or -1.
func mpLen(b []byte, i, w int) int {
	if i+1+w > len(b) {
		return -1
	}
	switch w {
	case 1:
		return int(b[i+1])
	case 2:
		return int(binary.BigEndian.Uint16(b[i+1:]))
	}
	return int(binary.BigEndian.Uint32(b[i+1:]))
}

// mpHeader reads a container header of the fix/16/32 family at b[i:]:
// its count and where its elements start.
func mpHeader(b []byte, i int, fix, b16, b32 byte) (n, next int, ok bool) {
	if i >= len(b) {
		return 0, 0, false
	}
	switch c := b[i]; {
	case c&0xf0 == fix:
		return int(c & 0x0f), i + 1, true
	case c == b16 && i+3 <= len(b):
		return int(binary.BigEndian.Uint16(b[i+1:])), i + 3, true
	case c == b32 && i+5 <= len(b):
		return int(binary.BigEndian.Uint32(b[i+1:])), i + 5, true
	}
	return 0, 0, false
}

// mpStr reads a str at b[i:].
func mpStr(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) {
		return nil, 0, false
	}
	var n, h int
	switch c := b[i]; {
	case c&0xe0 == 0xa0:
		n, h = int(c&0x1f), 1
	case c == 0xd9 && i+2 <= len(b):
		n, h = int(b[i+1]), 2
	case c == 0xda && i+3 <= len(b):
		n, h = int(binary.BigEndian.Uint16(b[i+1:])), 3
	case c == 0xdb && i+5 <= len(b):
		n, h = int(binary.BigEndian.Uint32(b[i+1:])), 5
	default:
		return nil, 0, false
	}
	end := i + h + n
	if end > len(b) || end < i {
		return nil, 0, false
	}
	return b[i+h : end], end, true
}

// mpUint reads a non-negative integer at b[i:] (any integer form, or a
// float holding one, as a JavaScript number may be written).
func mpUint(b []byte, i int) (u uint64, next int, ok bool) {
	if i >= len(b) {
		return 0, 0, false
	}
	c := b[i]
	need := func(n int) bool { return i+1+n <= len(b) }
	switch {
	case c <= 0x7f:
		return uint64(c), i + 1, true
	case c == 0xcc && need(1):
		return uint64(b[i+1]), i + 2, true
	case c == 0xcd && need(2):
		return uint64(binary.BigEndian.Uint16(b[i+1:])), i + 3, true
	case c == 0xce && need(4):
		return uint64(binary.BigEndian.Uint32(b[i+1:])), i + 5, true
	case c == 0xcf && need(8):
		return binary.BigEndian.Uint64(b[i+1:]), i + 9, true
	case (c == 0xd0 || c == 0xd1 || c == 0xd2 || c == 0xd3) && need(1<<(c-0xd0)):
		var v int64
		switch c {
		case 0xd0:
			v = int64(int8(b[i+1]))
		case 0xd1:
			v = int64(int16(binary.BigEndian.Uint16(b[i+1:])))
		case 0xd2:
			v = int64(int32(binary.BigEndian.Uint32(b[i+1:])))
		default:
			v = int64(binary.BigEndian.Uint64(b[i+1:]))
		}
		return uint64(v), i + 1 + 1<<(c-0xd0), v >= 0
	case c == 0xcb && need(8):
		f := math.Float64frombits(binary.BigEndian.Uint64(b[i+1:]))
		return uint64(f), i + 9, f >= 0 && f == math.Trunc(f) && f <= 1<<53
	case c == 0xca && need(4):
		f := float64(math.Float32frombits(binary.BigEndian.Uint32(b[i+1:])))
		return uint64(f), i + 5, f >= 0 && f == math.Trunc(f) && f <= 1<<24
	}
	return 0, 0, false
}

// mpPacket is a socket.io-msgpack-parser packet, decoded only as far as
// the load generator needs: data is the raw msgpack of the data value
// (nil when absent), aliasing the message.
type mpPacket struct {
	typ   int
	nsp   []byte
	data  []byte
	id    uint64
	hasID bool
}

var errMpPacket = errors.New("msgpack packet is not a {type, nsp, data, id} map")

// parseMpPacket reads one packet; keys may come in any order and unknown
// ones (socket.io-client's "options") are skipped.
func parseMpPacket(b []byte) (mpPacket, error) {
	p := mpPacket{typ: -1}
	n, i, ok := mpHeader(b, 0, 0x80, 0xde, 0xdf)
	if !ok {
		return p, errMpPacket
	}
	for range n {
		var key []byte
		if key, i, ok = mpStr(b, i); !ok {
			return p, errMpPacket
		}
		switch string(key) {
		case "type":
			var t uint64
			if t, i, ok = mpUint(b, i); !ok || t > 6 {
				return p, errMpPacket
			}
			p.typ = int(t)
		case "nsp":
			if p.nsp, i, ok = mpStr(b, i); !ok {
				return p, errMpPacket
			}
		case "id":
			if i < len(b) && b[i] == 0xd4 && i+3 <= len(b) && b[i+1] == 0 && b[i+2] == 0 {
				i += 3 // notepack 2's undefined: no id
				continue
			}
			if p.id, i, ok = mpUint(b, i); !ok {
				return p, errMpPacket
			}
			p.hasID = true
		default:
			end := mpSkip(b, i)
			if end < 0 {
				return p, errMpPacket
			}
			if string(key) == "data" {
				p.data = b[i:end]
			}
			i = end
		}
	}
	if i != len(b) || p.typ < 0 || p.nsp == nil {
		return p, errMpPacket
	}
	return p, nil
}

// mpEqual reports whether a and b are the same value: byte-equal or, when
// the bytes differ (another encoder's number forms, key order), equal once
// read as JSON.
func mpEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ja, _, na, err := protocol.ReadMsgpackValue(a)
	if err != nil || na != len(a) {
		return false
	}
	jb, _, nb, err := protocol.ReadMsgpackValue(b)
	if err != nil || nb != len(b) {
		return false
	}
	return jsonEqual(ja, jb)
}

// mpIsEvent reports whether data (an event's msgpack array) names the
// event whose msgpack string is name and has at least one argument: the
// msgpack counterpart of the text path's `["name",` prefix.
func mpIsEvent(data, name []byte) bool {
	n, i, ok := mpHeader(data, 0, 0x90, 0xdc, 0xdd)
	return ok && n >= 2 && bytes.HasPrefix(data[i:], name)
}

// mpStripOffset removes a trailing string argument (a recovery offset)
// from an event's msgpack array, in place: [a,b,"off"] → [a,b].
func mpStripOffset(d []byte) []byte {
	n, i, ok := mpHeader(d, 0, 0x90, 0xdc, 0xdd)
	if !ok || n < 2 {
		return d
	}
	start := i
	for range n - 1 {
		if i = mpSkip(d, i); i < 0 {
			return d
		}
	}
	if _, end, ok := mpStr(d, i); !ok || end != len(d) {
		return d
	}
	h := protocol.AppendMsgpackArrayHeader(make([]byte, 0, 5), n-1)
	copy(d[start-len(h):], h)
	return d[start-len(h) : i]
}

// mpShow renders msgpack data for an error sample: as JSON when it
// decodes, else as hex.
func mpShow(b []byte) string {
	if j, _, n, err := protocol.ReadMsgpackValue(b); err == nil && n == len(b) {
		return clip(j)
	}
	if len(b) > 40 {
		return fmt.Sprintf("%x…", b[:40])
	}
	return fmt.Sprintf("%x", b)
}
