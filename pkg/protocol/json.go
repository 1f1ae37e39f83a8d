package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
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
	if !json.Valid(raw) {
		return nil, &SyntaxError{Msg: "malformed JSON", Offset: 0}
	}
	var out []json.RawMessage
	err := eachElement(raw, func(e []byte) bool {
		out = append(out, e)
		return true
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	return out, nil
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
	dst = appendJSONString(dst, name)
	for _, a := range args {
		dst = append(dst, ',')
		dst = append(dst, a...)
	}
	return append(dst, ']')
}

func appendJSONString(dst []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // JavaScript's JSON.stringify does not escape <, > and &
	_ = enc.Encode(s)        // a string always encodes
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
