package protocol

import (
	"encoding/json"
	"errors"
)

// ReadMsgpackValue reads the notepack.io value at the start of b (an
// element of a @socket.io/redis-adapter message, say) as JSON with a
// placeholder for each bin value, numbered from 0, whose bytes are in
// atts (aliasing b); n is the length of the value in b. The mapping is
// MsgpackCodec's: undefined drops a map entry and is null elsewhere, a
// Date is its ISO string, NaN and ±Infinity are null.
func ReadMsgpackValue(b []byte) (data []byte, atts [][]byte, n int, err error) {
	r := mpReader{b: b}
	out, undef, err := r.value(make([]byte, 0, len(b)+8), 0)
	if err != nil {
		return nil, nil, 0, err
	}
	if undef {
		out = append(out[:0], "null"...)
	}
	return out, r.atts, r.off, nil
}

// AppendMsgpackString appends s as a msgpack string (the shortest str
// form, as notepack.io writes it).
func AppendMsgpackString(dst []byte, s string) []byte { return mpAppendStr(dst, s) }

// AppendMsgpackValue appends the JSON value raw as notepack.io writes it,
// each placeholder as a bin value holding its attachment.
func AppendMsgpackValue(dst, raw []byte, atts [][]byte) ([]byte, error) {
	if !json.Valid(raw) {
		return nil, errors.New("msgpack: invalid JSON value")
	}
	return mpAppendJSON(dst, raw, atts)
}

// The msgpack primitives below write the shortest form, as notepack.io
// does, for encoders outside this package that build packets piece by
// piece (the load generator's pre-encoded payloads).

// AppendMsgpackStrHeader appends the header of a string of n bytes.
func AppendMsgpackStrHeader(dst []byte, n int) []byte { return mpAppendStrHeader(dst, n) }

// AppendMsgpackArrayHeader appends the header of an array of n elements.
func AppendMsgpackArrayHeader(dst []byte, n int) []byte {
	return mpAppendHeader(dst, n, 0x90, 0xdc, 0xdd)
}

// AppendMsgpackMapHeader appends the header of a map of n entries.
func AppendMsgpackMapHeader(dst []byte, n int) []byte {
	return mpAppendHeader(dst, n, 0x80, 0xde, 0xdf)
}

// AppendMsgpackUint appends u.
func AppendMsgpackUint(dst []byte, u uint64) []byte { return mpAppendUint(dst, u) }

// AppendMsgpackInt appends n.
func AppendMsgpackInt(dst []byte, n int64) []byte { return mpAppendInt(dst, n) }
