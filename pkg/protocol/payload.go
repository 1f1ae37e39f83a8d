package protocol

import (
	"encoding/base64"
	"iter"
	"strconv"
	"unicode/utf8"
)

// RecordSeparator joins the packets of a v4 polling payload.
const RecordSeparator = 0x1e

// AppendPayloadV4 appends a v4 polling payload: packets joined by 0x1e, a
// binary message written as "b" + base64 (engine.io-protocol v4, Payload).
func AppendPayloadV4(dst []byte, pkts ...EnginePacket) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		dst = AppendEngineText(dst, p)
	}
	return dst
}

// PayloadV4 decodes a v4 polling payload. It yields each packet in order and
// stops after the first error, which it yields with the offset of the bad
// record. Text data aliases b; binary data is freshly decoded.
func PayloadV4(b []byte) iter.Seq2[EnginePacket, error] {
	return func(yield func(EnginePacket, error) bool) {
		off := 0
		for {
			end := off
			for end < len(b) && b[end] != RecordSeparator {
				end++
			}
			p, err := parseV4Record(b[off:end])
			if err != nil {
				yield(EnginePacket{}, shiftOffset(err, off))
				return
			}
			if !yield(p, nil) || end == len(b) {
				return
			}
			off = end + 1
		}
	}
}

func parseV4Record(rec []byte) (EnginePacket, error) {
	if len(rec) > 0 && rec[0] == 'b' {
		data, err := base64.StdEncoding.AppendDecode(nil, rec[1:])
		if err != nil {
			return EnginePacket{}, syntaxErr(1, "invalid base64 in binary packet")
		}
		return EnginePacket{Type: EngineMessage, Data: data, Binary: true}, nil
	}
	return ParseEngineText(rec)
}

func shiftOffset(err error, by int) error {
	if se, ok := err.(*SyntaxError); ok {
		return &SyntaxError{Msg: se.Msg, Offset: se.Offset + by}
	}
	return err
}

// UTF16Len is the length of s in UTF-16 code units, JavaScript's
// string.length, which v3 text payloads use as their length prefix.
func UTF16Len(s []byte) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		s = s[size:]
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// AppendPayloadV3 appends a v3 text payload: each packet as
// "<length>:<packet>", the length in UTF-16 code units. A binary message is
// written as "b4" + base64 (the form for clients that sent b64=1).
// An empty list is "0:".
func AppendPayloadV3(dst []byte, pkts ...EnginePacket) []byte {
	if len(pkts) == 0 {
		return append(dst, "0:"...)
	}
	for _, p := range pkts {
		if p.Binary {
			n := 2 + base64.StdEncoding.EncodedLen(len(p.Data))
			dst = strconv.AppendInt(dst, int64(n), 10)
			dst = append(dst, ":b4"...)
			dst = base64.StdEncoding.AppendEncode(dst, p.Data)
			continue
		}
		dst = strconv.AppendInt(dst, int64(1+UTF16Len(p.Data)), 10)
		dst = append(dst, ':', '0'+byte(p.Type))
		dst = append(dst, p.Data...)
	}
	return dst
}

// AppendPayloadV3Binary appends a v3 binary (XHR2) payload: per packet a
// header byte (0 string, 1 binary), the length's decimal digits as byte
// values 0-9, 0xFF, then the content. A binary packet's content starts with
// the type byte 0x04, counted in its length (PROTOCOL.md §1.5.2).
func AppendPayloadV3Binary(dst []byte, pkts ...EnginePacket) []byte {
	for _, p := range pkts {
		if p.Binary {
			dst = append(dst, 1)
			dst = appendDigitBytes(dst, 1+len(p.Data))
			dst = append(dst, 0xff, byte(EngineMessage))
			dst = append(dst, p.Data...)
			continue
		}
		dst = append(dst, 0)
		dst = appendDigitBytes(dst, 1+len(p.Data))
		dst = append(dst, 0xff, '0'+byte(p.Type))
		dst = append(dst, p.Data...)
	}
	return dst
}

func appendDigitBytes(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return dst
}

// maxLengthDigits bounds a v3 length prefix: no payload is near 10^12 bytes.
const maxLengthDigits = 12

// PayloadV3 decodes a v3 text payload ("6:4hello2:4€", "0:" is empty). Like
// Node, a length that is not numeric or does not match the text that
// follows is an error, yielded with its offset; decoding stops there.
func PayloadV3(b []byte) iter.Seq2[EnginePacket, error] {
	return func(yield func(EnginePacket, error) bool) {
		if len(b) == 0 {
			yield(EnginePacket{}, syntaxErr(0, "empty payload"))
			return
		}
		off := 0
		for off < len(b) {
			colon := off
			for colon < len(b) && b[colon] != ':' {
				if b[colon] < '0' || b[colon] > '9' || colon-off >= maxLengthDigits {
					yield(EnginePacket{}, syntaxErr(colon, "invalid length prefix"))
					return
				}
				colon++
			}
			if colon == len(b) || colon == off {
				yield(EnginePacket{}, syntaxErr(off, "invalid length prefix"))
				return
			}
			n, _ := strconv.Atoi(string(b[off:colon]))
			start := colon + 1
			end, ok := advanceUTF16(b, start, n)
			if !ok {
				yield(EnginePacket{}, syntaxErr(off, "length %d does not match the data that follows", n))
				return
			}
			off = end
			if n == 0 {
				continue
			}
			p, err := parseV3Text(b[start:end])
			if err != nil {
				yield(EnginePacket{}, shiftOffset(err, start))
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// advanceUTF16 returns the byte offset reached after n UTF-16 code units
// from start, and false when b ends first or a surrogate pair is split.
func advanceUTF16(b []byte, start, n int) (int, bool) {
	i := start
	for n > 0 {
		if i >= len(b) {
			return 0, false
		}
		r, size := utf8.DecodeRune(b[i:])
		units := 1
		if r >= 0x10000 {
			units = 2
		}
		if units > n {
			return 0, false
		}
		n -= units
		i += size
	}
	return i, true
}

func parseV3Text(rec []byte) (EnginePacket, error) {
	if len(rec) > 0 && rec[0] == 'b' {
		if len(rec) < 2 || rec[1] != '0'+byte(EngineMessage) {
			return EnginePacket{}, syntaxErr(1, "invalid base64 packet type")
		}
		data, err := base64.StdEncoding.AppendDecode(nil, rec[2:])
		if err != nil {
			return EnginePacket{}, syntaxErr(2, "invalid base64 in binary packet")
		}
		return EnginePacket{Type: EngineMessage, Data: data, Binary: true}, nil
	}
	return ParseEngineText(rec)
}

// PayloadV3Binary decodes a v3 binary (XHR2) payload. Data aliases b.
func PayloadV3Binary(b []byte) iter.Seq2[EnginePacket, error] {
	return func(yield func(EnginePacket, error) bool) {
		if len(b) == 0 {
			yield(EnginePacket{}, syntaxErr(0, "empty payload"))
			return
		}
		off := 0
		for off < len(b) {
			kind := b[off]
			if kind > 1 {
				yield(EnginePacket{}, syntaxErr(off, "invalid binary payload header 0x%02x", kind))
				return
			}
			i := off + 1
			n := 0
			for ; i < len(b) && b[i] != 0xff; i++ {
				if b[i] > 9 || i-off > maxLengthDigits {
					yield(EnginePacket{}, syntaxErr(i, "invalid length byte 0x%02x", b[i]))
					return
				}
				n = n*10 + int(b[i])
			}
			if i == len(b) || i == off+1 {
				yield(EnginePacket{}, syntaxErr(off, "invalid length prefix"))
				return
			}
			start := i + 1
			if n > len(b)-start {
				yield(EnginePacket{}, syntaxErr(off, "length %d does not match the data that follows", n))
				return
			}
			content := b[start : start+n]
			off = start + n
			var p EnginePacket
			var err error
			if kind == 0 {
				p, err = ParseEngineText(content)
			} else {
				p, err = ParseEngineBinary(content, EIO3)
			}
			if err != nil {
				yield(EnginePacket{}, shiftOffset(err, start))
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}
