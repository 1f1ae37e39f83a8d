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
// returns N (-1 when num is not a non-negative integer): socket.io-parser's
// test, data._placeholder === true, on the object's own members.
func isPlaceholder(raw []byte) (int, bool) {
	if jsonKind(raw) != '{' {
		return 0, false
	}
	// The form every encoder writes, without reading member by member.
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
	o := summarize(raw, placeholderKeys)
	return o.placeholderNum()
}

// CheckPlaceholders verifies that every placeholder in data refers to one
// of n attachments (socket.io-parser: "illegal attachments"), and that data
// is valid JSON nested at most MaxBinaryNesting deep. A placeholder inside
// another is not looked at, as socket.io-parser does not descend into one.
func CheckPlaceholders(data json.RawMessage, n int) error {
	_, err := walkObjects(data, placeholderKeys, func(o *objectSummary) ([]byte, bool, error) {
		num, ok := o.placeholderNum()
		if !ok {
			return nil, false, nil
		}
		if num < 0 || num >= n {
			return nil, true, fmt.Errorf("illegal attachments: placeholder %s out of range of %d attachments", o.raw, n)
		}
		return nil, true, nil
	}, nil)
	return err
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
	out, err := walkObjects(data, placeholderKeys, func(o *objectSummary) ([]byte, bool, error) {
		num, ok := o.placeholderNum()
		if !ok || num < 0 || num >= len(attachments) {
			return nil, false, nil
		}
		out := append([]byte(`{"$binary":"`), base64.StdEncoding.EncodeToString(attachments[num])...)
		return append(out, `"}`...), true, nil
	}, make([]byte, 0, len(data)))
	if err != nil {
		return data // not JSON, or deeper than a decoded packet can be: shown as is
	}
	return out
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
	out, err := walkObjects(data, binaryKeys, func(o *objectSummary) ([]byte, bool, error) {
		if o.count[1] > 0 && string(o.val[1]) == "true" {
			// A Node peer would swap an attachment in for it.
			return nil, true, errors.New(`data mixes a placeholder object with "$binary" values`)
		}
		if o.count[0] == 0 || o.count[0] != o.members {
			return nil, false, nil
		}
		var s string
		if err := json.Unmarshal(o.val[0], &s); err != nil {
			return nil, false, errors.New(`"$binary" must hold a base64 string`)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, false, fmt.Errorf(`"$binary": invalid base64: %w`, err)
		}
		atts = append(atts, b)
		return AppendPlaceholder(nil, len(atts)-1), true, nil
	}, make([]byte, 0, len(data)))
	if err != nil {
		return nil, nil, err
	}
	return out, atts, nil
}

// binaryKeys are the members ExtractBinary looks at: "$binary", and
// "_placeholder" to refuse data that already has placeholders.
var binaryKeys = [2]string{"$binary", "_placeholder"}

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
		if !ValidJSON(x) {
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
