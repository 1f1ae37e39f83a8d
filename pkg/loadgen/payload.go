package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Placeholders a payload template may hold, bare or inside a JSON string.
const (
	placeholderSeq    = "{{seq}}"
	placeholderClient = "{{client}}"
)

// Payload is the event argument a scenario sends: a JSON template whose
// {{seq}} and {{client}} placeholders are replaced by the message's
// sequence number and the sending client's index, so that every message
// is distinct and a reply can be matched to what was sent.
type Payload struct {
	parts [][]byte
	holes []byte // 's' or 'c', between parts
}

// GeneratedPayload returns the default payload: a JSON object of about
// size bytes, {"c":CLIENT,"s":SEQ,"p":"xxx…"}.
func GeneratedPayload(size int) *Payload {
	const overhead = len(`{"c":,"s":,"p":""}`) + 3 + 6 // typical client and seq digits
	pad := max(size-overhead, 0)
	p, _ := ParsePayload(`{"c":{{client}},"s":{{seq}},"p":"` + strings.Repeat("x", pad) + `"}`)
	return p
}

// Sentinels stand for the placeholders while the template is checked and
// compacted: digit strings, valid both bare and inside a string.
const (
	sentinelSeq    = "918273645519283746"
	sentinelClient = "827364551928374691"
)

// ParsePayload reads a JSON template. The JSON is compacted, since servers
// send back what they parsed without the spaces.
func ParsePayload(tmpl string) (*Payload, error) {
	s := strings.ReplaceAll(tmpl, placeholderSeq, sentinelSeq)
	s = strings.ReplaceAll(s, placeholderClient, sentinelClient)
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, fmt.Errorf("payload template is not JSON: %w", err)
	}
	c := buf.String()
	p := &Payload{}
	for {
		is, ic := strings.Index(c, sentinelSeq), strings.Index(c, sentinelClient)
		i, hole := is, byte('s')
		if i < 0 || (ic >= 0 && ic < i) {
			i, hole = ic, 'c'
		}
		if i < 0 {
			p.parts = append(p.parts, []byte(c))
			return p, nil
		}
		p.parts = append(p.parts, []byte(c[:i]))
		p.holes = append(p.holes, hole)
		c = c[i+len(sentinelSeq):]
	}
}

// HasSeq reports whether messages differ by sequence number.
func (p *Payload) HasSeq() bool { return bytes.IndexByte(p.holes, 's') >= 0 }

// Append appends the payload for one client's message seq.
func (p *Payload) Append(dst []byte, client int, seq uint64) []byte {
	for i, part := range p.parts {
		dst = append(dst, part...)
		if i < len(p.holes) {
			if p.holes[i] == 's' {
				dst = strconv.AppendUint(dst, seq, 10)
			} else {
				dst = strconv.AppendInt(dst, int64(client), 10)
			}
		}
	}
	return dst
}

// Size is the payload's length for a given client and seq.
func (p *Payload) Size(client int, seq uint64) int { return len(p.Append(nil, client, seq)) }

// jsonEqual reports whether a and b are the same JSON: byte-equal, or, when
// the bytes differ (another encoder's escapes or number forms), equal once
// decoded. Key order is not significant.
func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// eventHead returns `["name",` for an event's data.
func eventHead(name string) []byte {
	return append(protocol.AppendString([]byte{'['}, name), ',')
}

// parseExpect checks a --expect value: a JSON array of the reply's arguments.
func parseExpect(raw json.RawMessage) (json.RawMessage, error) {
	if raw == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("expected reply is not JSON: %w", err)
	}
	b := buf.Bytes()
	if len(b) == 0 || b[0] != '[' {
		return nil, errors.New("expected reply must be a JSON array of arguments")
	}
	return b, nil
}
