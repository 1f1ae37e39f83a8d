package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Decoder turns the engine.io messages of one connection into Socket.IO
// packets, putting binary packets back together from their attachments
// (socket.io-parser's Decoder and BinaryReconstructor). It is not safe for
// concurrent use: one connection has one reader.
type Decoder struct {
	Version EIO
	Limits  Limits
	pending *Packet
	bytes   int
}

// Add feeds one engine.io message's data. It returns the packet and true
// when a packet is complete. A text message's packet Data aliases data
// unless the packet waits for attachments; attachments are retained as
// given. After an error the decoder is reset.
func (d *Decoder) Add(data []byte, binary bool) (Packet, bool, error) {
	if binary {
		if d.pending == nil {
			return Packet{}, false, ErrUnexpectedBinary
		}
		d.bytes += len(data)
		if d.bytes > d.Limits.maxAttachmentBytes() {
			d.Reset()
			return Packet{}, false, ErrAttachmentsTooLarge
		}
		p := d.pending
		p.Attachments = append(p.Attachments, data)
		if len(p.Attachments) < p.NumAttachments {
			return Packet{}, false, nil
		}
		d.Reset()
		if err := CheckPlaceholders(p.Data, len(p.Attachments)); err != nil {
			return Packet{}, false, err
		}
		return *p, true, nil
	}
	if d.pending != nil {
		d.Reset()
		return Packet{}, false, ErrUnexpectedText
	}
	p, err := ParsePacket(data, d.Version, d.Limits)
	if err != nil {
		return Packet{}, false, err
	}
	if p.NumAttachments == 0 {
		return p, true, nil
	}
	pending := p // a copy, so that p itself does not escape on the text path
	pending.Data = bytes.Clone(p.Data)
	pending.Attachments = make([][]byte, 0, p.NumAttachments)
	d.pending = &pending
	return Packet{}, false, nil
}

// Pending reports whether a binary packet is waiting for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Reset drops any partly received packet.
func (d *Decoder) Reset() { d.pending, d.bytes = nil, 0 }

// isPlaceholder reports whether raw is {"_placeholder":true,"num":N} and
// returns N (-1 when num is not a non-negative integer).
func isPlaceholder(raw []byte) (int, bool) {
	if jsonKind(raw) != '{' || !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return 0, false
	}
	// The form every encoder writes, without the cost of Unmarshal.
	const canonical = `{"_placeholder":true,"num":`
	if rest, ok := bytes.CutPrefix(raw, []byte(canonical)); ok && len(rest) >= 2 && len(rest) <= 8 && rest[len(rest)-1] == '}' {
		digits := rest[:len(rest)-1]
		n := 0
		for _, c := range digits {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 0 {
			return n, true
		}
	}
	var ph struct {
		Placeholder *bool            `json:"_placeholder"`
		Num         *json.RawMessage `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || ph.Placeholder == nil || !*ph.Placeholder {
		return 0, false
	}
	if ph.Num == nil {
		return -1, true
	}
	n, err := strconv.Atoi(string(*ph.Num))
	if err != nil || n < 0 {
		return -1, true
	}
	return n, true
}

// CheckPlaceholders verifies that every placeholder in data refers to one
// of n attachments (socket.io-parser: "illegal attachments").
func CheckPlaceholders(data json.RawMessage, n int) error {
	var bad error
	walkJSON(data, func(v []byte) ([]byte, bool) {
		if num, ok := isPlaceholder(v); ok {
			if num < 0 || num >= n {
				bad = fmt.Errorf("illegal attachments: placeholder %s out of range of %d attachments", v, n)
			}
			return nil, true
		}
		return nil, false
	}, nil)
	return bad
}

// AppendPlaceholder appends {"_placeholder":true,"num":n}, keys in Node's order.
func AppendPlaceholder(dst []byte, n int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '}')
}

// InlineBinary replaces each placeholder in data with {"$binary":"<base64>"}
// holding its attachment: how sio shows binary to people and scripts.
func InlineBinary(data json.RawMessage, attachments [][]byte) json.RawMessage {
	if len(attachments) == 0 {
		return data
	}
	return walkJSON(data, func(v []byte) ([]byte, bool) {
		num, ok := isPlaceholder(v)
		if !ok || num < 0 || num >= len(attachments) {
			return nil, false
		}
		out := append([]byte(`{"$binary":"`), base64.StdEncoding.EncodeToString(attachments[num])...)
		return append(out, `"}`...), true
	}, make([]byte, 0, len(data)))
}

// ExtractBinary replaces each {"$binary":"<base64>"} object in data with a
// placeholder and returns the decoded attachments in num order. Data
// without any is returned unchanged. Data that has both {"$binary":...}
// values and literal placeholder objects is an error, since a peer would
// take the placeholders for attachments.
func ExtractBinary(data json.RawMessage) (json.RawMessage, [][]byte, error) {
	if !bytes.Contains(data, []byte(`"$binary"`)) {
		return data, nil, nil
	}
	var atts [][]byte
	var bad error
	out := walkJSON(data, func(v []byte) ([]byte, bool) {
		if _, ok := isPlaceholder(v); ok {
			// A Node peer would swap an attachment in for it.
			bad = fmt.Errorf("data mixes a placeholder object with \"$binary\" values")
			return nil, true
		}
		if jsonKind(v) != '{' || !bytes.Contains(v, []byte(`"$binary"`)) {
			return nil, false
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil || len(m) != 1 || m["$binary"] == nil {
			return nil, false
		}
		var s string
		if err := json.Unmarshal(m["$binary"], &s); err != nil {
			bad = fmt.Errorf(`"$binary" must hold a base64 string`)
			return nil, false
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			bad = fmt.Errorf(`"$binary": invalid base64: %w`, err)
			return nil, false
		}
		atts = append(atts, b)
		return AppendPlaceholder(nil, len(atts)-1), true
	}, make([]byte, 0, len(data)))
	if bad != nil {
		return nil, nil, bad
	}
	return out, atts, nil
}

// walkJSON copies the valid JSON value raw into dst depth-first, objects in
// key order, offering each value to replace first. When replace returns
// true its bytes are written instead of the value (and the value is not
// descended into). With dst nil it only visits.
func walkJSON(raw []byte, replace func(v []byte) ([]byte, bool), dst []byte) []byte {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return append(dst, raw...)
	}
	end := valueEnd(raw, i)
	v := raw[i:end]
	if len(v) == 0 {
		// Not JSON (callers pass valid JSON; keep malformed input as is).
		return append(dst, raw...)
	}
	if r, ok := replace(v); ok {
		if dst == nil {
			return nil
		}
		return append(dst, r...)
	}
	switch v[0] {
	case '[':
		if dst != nil {
			dst = append(dst, '[')
		}
		first := true
		_ = eachElement(v, func(e []byte) bool {
			if dst != nil && !first {
				dst = append(dst, ',')
			}
			first = false
			dst = walkJSON(e, replace, dst)
			return true
		})
		if dst != nil {
			dst = append(dst, ']')
		}
		return dst
	case '{':
		if dst != nil {
			dst = append(dst, '{')
		}
		j := skipSpace(v, 1)
		first := true
		for j < len(v) && v[j] == '"' {
			kEnd := valueEnd(v, j)
			key := v[j:kEnd]
			j = skipSpace(v, kEnd)
			j = skipSpace(v, j+1) // the colon
			vEnd := valueEnd(v, j)
			if dst != nil {
				if !first {
					dst = append(dst, ',')
				}
				dst = append(dst, key...)
				dst = append(dst, ':')
			}
			first = false
			dst = walkJSON(v[j:vEnd], replace, dst)
			j = skipSpace(v, vEnd)
			if j < len(v) && v[j] == ',' {
				j = skipSpace(v, j+1)
			}
		}
		if dst != nil {
			dst = append(dst, '}')
		}
		return dst
	}
	if dst == nil {
		return nil
	}
	return append(dst, v...)
}

// Deconstruct encodes Go values as raw JSON arguments, turning every
// []byte found at the top level or inside []any and map[string]any values
// into a placeholder and collecting its bytes (socket.io-parser's
// deconstructPacket). See AppendValue for the encoding.
func Deconstruct(values ...any) (args []json.RawMessage, attachments [][]byte, err error) {
	args = make([]json.RawMessage, len(values))
	for i, v := range values {
		args[i], err = AppendValue(nil, v, &attachments)
		if err != nil {
			return nil, nil, fmt.Errorf("argument %d: %w", i, err)
		}
	}
	return args, attachments, nil
}

var errInvalidRaw = errors.New("invalid raw JSON")

// AppendValue appends the JSON of v as JSON.stringify would write it. With
// atts non-nil, every []byte met at the top level or inside []any and
// map[string]any becomes a placeholder whose bytes are appended to *atts
// (socket.io-parser's deconstructPacket); with atts nil a []byte is a
// base64 string, as encoding/json writes it. json.RawMessage is checked and
// written as is, map keys are sorted, and strings, numbers, booleans, nil
// and those containers are written without reflection; other values go
// through encoding/json (without HTML escaping).
func AppendValue(dst []byte, v any, atts *[][]byte) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, x), nil
	case json.RawMessage:
		if !json.Valid(x) {
			return nil, errInvalidRaw
		}
		return append(dst, x...), nil
	case []byte:
		if atts == nil {
			break
		}
		*atts = append(*atts, x)
		return AppendPlaceholder(dst, len(*atts)-1), nil
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
			if dst, err = AppendValue(dst, e, atts); err != nil {
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
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = AppendValue(dst, x[k], atts); err != nil {
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
