package protocol

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// jsonKind classifies a valid JSON value by its first significant byte:
// '{', '[', '"', '0' (number), 't'/'f' (bool), 'n' (null), or 0 when empty.
func jsonKind(raw []byte) byte {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return 0
	}
	switch c := raw[i]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	default:
		return '0'
	}
}

func skipSpace(b []byte, i int) int {
	if i > len(b) {
		return len(b) // past a malformed value's end
	}
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the offset just past the JSON value that starts at i.
// b should be valid JSON; the scan only tracks strings and nesting, and
// stays within b whatever it is given.
func valueEnd(b []byte, i int) int {
	if i > len(b) {
		return len(b)
	}
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(b) {
				return len(b) // an unterminated string (malformed input)
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

var errNotArray = errors.New("not a JSON array")

// eachElement calls fn with each element of the JSON array raw, which must
// be valid JSON. It stops early when fn returns false.
func eachElement(raw []byte, fn func(elem []byte) bool) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return errNotArray
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return nil
	}
	for i < len(raw) {
		end := valueEnd(raw, i)
		if !fn(raw[i:end:end]) {
			return nil
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ',' {
			break
		}
		i = skipSpace(raw, i+1)
	}
	return nil
}

// SplitArray returns the elements of a JSON array as raw values that alias
// raw. It validates raw first.
func SplitArray(raw json.RawMessage) ([]json.RawMessage, error) {
	if !ValidJSON(raw) {
		return nil, &SyntaxError{Msg: "malformed JSON", Offset: 0}
	}
	out, ok := SplitValidArray(raw)
	if !ok {
		return nil, errNotArray
	}
	return out, nil
}

// SplitValidArray returns the elements of raw, a JSON array already known
// to be valid (such as the Data of a packet that ParsePacket or a Decoder
// returned), aliasing raw, in one allocation; ok is false when raw is not
// an array. It does not validate raw again.
func SplitValidArray(raw []byte) (elems []json.RawMessage, ok bool) {
	n := 0
	if eachElement(raw, func([]byte) bool { n++; return true }) != nil {
		return nil, false
	}
	elems = make([]json.RawMessage, 0, n)
	_ = eachElement(raw, func(e []byte) bool {
		elems = append(elems, e)
		return true
	})
	return elems, true
}

// firstElement returns the first element of a valid JSON array.
func firstElement(raw []byte) ([]byte, bool) {
	var first []byte
	found := false
	if eachElement(raw, func(e []byte) bool { first, found = e, true; return false }) != nil {
		return nil, false
	}
	return first, found
}

// AppendArray appends a JSON array of the given raw values.
func AppendArray(dst []byte, elems ...json.RawMessage) []byte {
	dst = append(dst, '[')
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e...)
	}
	return append(dst, ']')
}

// AppendEventData appends the data of an event: [name, args...].
func AppendEventData(dst []byte, name string, args ...json.RawMessage) []byte {
	dst = append(dst, '[')
	dst = AppendString(dst, name)
	for _, a := range args {
		dst = append(dst, ',')
		dst = append(dst, a...)
	}
	return append(dst, ']')
}

// AppendString appends s as a JSON string the way JSON.stringify writes
// it: only quotes, backslashes and control characters are escaped (not <,
// > and &, nor U+2028/U+2029), and invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				const hex = "0123456789abcdef"
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
