package server

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// splitArray returns the elements of a JSON array that the decoder has
// already validated, aliasing data, in one allocation.
func splitArray(data []byte) ([]json.RawMessage, bool) {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, false
	}
	start := skipWS(data, i+1)
	if start < len(data) && data[start] == ']' {
		return []json.RawMessage{}, true
	}
	n := 0
	for j := start; j < len(data); {
		end := valueEnd(data, j)
		n++
		j = skipWS(data, end)
		if j >= len(data) || data[j] != ',' {
			break
		}
		j = skipWS(data, j+1)
	}
	out := make([]json.RawMessage, 0, n)
	for j := start; j < len(data); {
		end := valueEnd(data, j)
		out = append(out, data[j:end:end])
		j = skipWS(data, end)
		if j >= len(data) || data[j] != ',' {
			break
		}
		j = skipWS(data, j+1)
	}
	return out, len(out) == n
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the offset just past the valid JSON value at i.
func valueEnd(b []byte, i int) int {
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

// nameBytes returns the bytes of an event name as a Go string would hold
// them, without allocating when the JSON string has no escapes. A numeric
// name is its JSON text.
func nameBytes(raw []byte) []byte {
	if len(raw) >= 2 && raw[0] == '"' {
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return inner
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []byte(s)
		}
	}
	return raw
}
