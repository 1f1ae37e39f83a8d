package render

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// stdJSON is how this build's encoding/json writes the two things its
// versions disagree on. Go 1.26's writes an invalid UTF-8 byte in a string
// as the escape \ufffd and leaves U+2028 and U+2029 in a RawMessage as they
// are; Go 1.27's, built on json/v2, writes the character U+FFFD and
// escapes U+2028 and U+2029 in a RawMessage's strings (both checked here).
// Asked once, so that the output stays encoding/json's whatever Go builds
// sio (go.mod allows 1.26.7; releases use 1.27.3).
var stdJSON = func() (s struct {
	invalidUTF8 string // what a string's invalid byte becomes
	rawLineSep  bool   // whether U+2028 and U+2029 in a RawMessage are escaped
}) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		S string
		R json.RawMessage
	}{"\xff", json.RawMessage("\"\u2028\"")})
	s.invalidUTF8 = "\uFFFD"
	if bytes.Contains(b.Bytes(), []byte(`\ufffd`)) {
		s.invalidUTF8 = `\ufffd`
	}
	s.rawLineSep = bytes.Contains(b.Bytes(), []byte(`\u2028`))
	return s
}()

// appendRecordJSON appends r and a newline exactly as a json.Encoder with
// SetEscapeHTML(false) encodes it (FuzzRecordJSON holds the two equal),
// without reflection or allocation. ok is false, with dst unchanged, when
// Args or Data is something it does not handle (not valid JSON, or nested
// deeper than maxRawDepth): the caller then uses encoding/json, which also
// decides what an invalid value prints.
func appendRecordJSON(dst []byte, r *Record) (out []byte, ok bool) {
	start := len(dst)
	dst = append(dst, '{')
	first := true
	field := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, name...)
	}
	str := func(name, v string) {
		if v != "" {
			field(name)
			dst = appendJSONString(dst, v)
		}
	}
	str(`"time":`, r.Time)
	str(`"dir":`, r.Dir)
	str(`"sid":`, r.SID)
	str(`"transport":`, r.Transport)
	str(`"layer":`, r.Layer)
	field(`"type":`)
	dst = appendJSONString(dst, r.Type)
	str(`"nsp":`, r.Nsp)
	str(`"event":`, r.Event)
	if len(r.Args) > 0 {
		field(`"args":`)
		if dst, ok = appendCompactJSON(dst, r.Args); !ok {
			return dst[:start], false
		}
	}
	if r.ID != nil {
		field(`"id":`)
		dst = strconv.AppendUint(dst, *r.ID, 10)
	}
	if len(r.Data) > 0 {
		field(`"data":`)
		if dst, ok = appendCompactJSON(dst, r.Data); !ok {
			return dst[:start], false
		}
	}
	str(`"reason":`, r.Reason)
	str(`"raw":`, r.Raw)
	return append(dst, '}', '\n'), true
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes a JSON string holds as they are: not
// control characters, '"' or '\\' (HTML characters are not escaped).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string the way encoding/json does
// without HTML escaping: \b \f \n \r \t and \" \\ short forms, other
// control characters as \u00XX, invalid UTF-8 as U+FFFD (see stdJSON),
// and U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, stdJSON.invalidUTF8...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// maxRawDepth is how deeply nested a raw value appendCompactJSON takes;
// deeper ones (encoding/json's limit is 10,000) are left to encoding/json.
const maxRawDepth = 1000

// appendCompactJSON appends raw, a JSON value, as encoding/json writes a
// json.RawMessage: without insignificant white space, and with U+2028 and
// U+2029 in strings escaped when stdJSON says so; everything else, escapes and invalid UTF-8
// included, as it is. ok is false, with dst unchanged, when raw is not
// one valid JSON value (the grammar of RFC 8259, checked strictly) or is
// nested deeper than maxRawDepth.
func appendCompactJSON(dst, raw []byte) (out []byte, ok bool) {
	start := len(dst)
	// The containers open around the current position, innermost last:
	// one bit per level (1: object), in a fixed array.
	var stack [maxRawDepth/64 + 1]uint64
	depth := 0
	inObject := func() bool { return stack[(depth-1)/64]>>((depth-1)%64)&1 == 1 }
	i := 0
	n := len(raw)
	skip := func() {
		for i < n && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
			i++
		}
	}
	fail := func() ([]byte, bool) { return dst[:start], false }

	// value parses one value at i; after it, the loop looks for ',' or a
	// closing bracket.
	for {
		skip()
		if i >= n {
			return fail()
		}
		switch c := raw[i]; c {
		case '{', '[':
			if depth >= maxRawDepth {
				return fail()
			}
			word, bit := depth/64, uint(depth%64)
			if c == '{' {
				stack[word] |= 1 << bit
			} else {
				stack[word] &^= 1 << bit
			}
			depth++
			dst = append(dst, c)
			i++
			skip()
			if i < n && raw[i] == c+2 { // '}' or ']'
				dst = append(dst, c+2)
				i++
				depth--
				break
			}
			if c == '{' {
				var good bool
				if dst, i, good = appendKey(dst, raw, i); !good {
					return fail()
				}
			}
			continue // a value follows
		case '"':
			var good bool
			if dst, i, good = appendRawString(dst, raw, i); !good {
				return fail()
			}
		case 't':
			if !hasWord(raw, i, "true") {
				return fail()
			}
			dst = append(dst, "true"...)
			i += 4
		case 'f':
			if !hasWord(raw, i, "false") {
				return fail()
			}
			dst = append(dst, "false"...)
			i += 5
		case 'n':
			if !hasWord(raw, i, "null") {
				return fail()
			}
			dst = append(dst, "null"...)
			i += 4
		default:
			end := numberEnd(raw, i)
			if end < 0 {
				return fail()
			}
			dst = append(dst, raw[i:end]...)
			i = end
		}
		// After a value: a separator, a closing bracket, or the end.
		for {
			skip()
			if depth == 0 {
				if i != n {
					return fail()
				}
				return dst, true
			}
			if i >= n {
				return fail()
			}
			obj := inObject()
			c := raw[i]
			if c == ',' {
				dst = append(dst, ',')
				i++
				if obj {
					skip()
					var good bool
					if dst, i, good = appendKey(dst, raw, i); !good {
						return fail()
					}
				}
				break // a value follows
			}
			if (obj && c == '}') || (!obj && c == ']') {
				dst = append(dst, c)
				i++
				depth--
				continue
			}
			return fail()
		}
	}
}

// appendKey appends an object member's name and colon at raw[i:] (white
// space skipped); the member's value is next.
func appendKey(dst, raw []byte, i int) ([]byte, int, bool) {
	if i >= len(raw) || raw[i] != '"' {
		return dst, i, false
	}
	dst, i, ok := appendRawString(dst, raw, i)
	if !ok {
		return dst, i, false
	}
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	if i >= len(raw) || raw[i] != ':' {
		return dst, i, false
	}
	return append(dst, ':'), i + 1, true
}

// appendRawString appends the JSON string at raw[i] (a '"') as it is,
// except U+2028 and U+2029, which are escaped. It checks escapes and
// rejects control characters; other bytes, invalid UTF-8 included, are
// kept, as encoding/json keeps them in a RawMessage.
func appendRawString(dst, raw []byte, i int) ([]byte, int, bool) {
	start := i
	i++
	for i < len(raw) {
		switch c := raw[i]; {
		case c == '"':
			i++
			return append(dst, raw[start:i]...), i, true
		case c < 0x20:
			return dst, i, false
		case c == '\\':
			if i+1 >= len(raw) {
				return dst, i, false
			}
			switch raw[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(raw) {
					return dst, i, false
				}
				for _, h := range raw[i+2 : i+6] {
					if !isHex(h) {
						return dst, i, false
					}
				}
				i += 6
			default:
				return dst, i, false
			}
		case c == 0xE2 && stdJSON.rawLineSep && i+2 < len(raw) && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8:
			dst = append(dst, raw[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[raw[i+2]&0xF])
			i += 3
			start = i
		default:
			i++
		}
	}
	return dst, i, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hasWord(raw []byte, i int, w string) bool {
	return len(raw)-i >= len(w) && string(raw[i:i+len(w)]) == w
}

// numberEnd returns the end of the JSON number at raw[i], or -1.
func numberEnd(raw []byte, i int) int {
	n := len(raw)
	if i < n && raw[i] == '-' {
		i++
	}
	switch {
	case i < n && raw[i] == '0':
		i++
	case i < n && '1' <= raw[i] && raw[i] <= '9':
		for i < n && '0' <= raw[i] && raw[i] <= '9' {
			i++
		}
	default:
		return -1
	}
	if i < n && raw[i] == '.' {
		i++
		if i >= n || raw[i] < '0' || raw[i] > '9' {
			return -1
		}
		for i < n && '0' <= raw[i] && raw[i] <= '9' {
			i++
		}
	}
	if i < n && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < n && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if i >= n || raw[i] < '0' || raw[i] > '9' {
			return -1
		}
		for i < n && '0' <= raw[i] && raw[i] <= '9' {
			i++
		}
	}
	return i
}
