package server

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

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
