package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Args are the arguments of an incoming event or acknowledgement, kept as
// the raw JSON the peer sent. Binary arguments are placeholders in Raw
// ({"_placeholder":true,"num":N}) whose bytes are Attachments[N].
//
// Args own their memory: they stay valid after the handler returns.
type Args struct {
	Raw         []json.RawMessage
	Attachments [][]byte
}

// ErrNoArg is returned when an argument index is out of range.
var ErrNoArg = errors.New("no such argument")

// Len is the number of arguments.
func (a Args) Len() int { return len(a.Raw) }

// Decode unmarshals argument i into v. When v is a *[]byte and the argument
// is a binary placeholder, v receives the attachment's bytes.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.Raw) {
		return fmt.Errorf("decode argument %d: %w", i, ErrNoArg)
	}
	if bp, ok := v.(*[]byte); ok {
		b, err := a.Bytes(i)
		if err == nil {
			*bp = b
			return nil
		}
	}
	if err := json.Unmarshal(a.Raw[i], v); err != nil {
		return fmt.Errorf("decode argument %d: %w", i, err)
	}
	return nil
}

// Bytes returns the attachment that argument i stands for.
func (a Args) Bytes(i int) ([]byte, error) {
	if i < 0 || i >= len(a.Raw) {
		return nil, fmt.Errorf("argument %d: %w", i, ErrNoArg)
	}
	n, ok := placeholderNum(a.Raw[i])
	if !ok || n >= len(a.Attachments) {
		return nil, fmt.Errorf("argument %d is not binary", i)
	}
	return a.Attachments[n], nil
}

// String returns argument i when it is a JSON string.
func (a Args) String(i int) (string, error) {
	var s string
	err := a.Decode(i, &s)
	return s, err
}

// Binary reports whether the arguments carry attachments.
func (a Args) Binary() bool { return len(a.Attachments) > 0 }

// Values returns the arguments ready to be emitted again (e.Ack(e.Values()...)
// echoes an event): raw JSON, with every binary placeholder turned back into
// its []byte. An argument without placeholders is sent byte for byte; one
// with nested placeholders is decoded so that each becomes its []byte (its
// object keys are then sent sorted). Kept as raw JSON, a nested placeholder
// would go out numbered for the attachments of the incoming packet, not the
// outgoing one, and the peer would drop the connection.
func (a Args) Values() []any {
	out := make([]any, len(a.Raw))
	for i, r := range a.Raw {
		if n, ok := placeholderNum(r); ok && n < len(a.Attachments) {
			out[i] = a.Attachments[n]
			continue
		}
		out[i] = r
		if len(a.Attachments) == 0 || !bytes.Contains(r, []byte(`"_placeholder"`)) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			out[i] = resolvePlaceholders(v, a.Attachments)
		}
	}
	return out
}

// resolvePlaceholders replaces each placeholder object in v (decoded with
// UseNumber) by its attachment's bytes.
func resolvePlaceholders(v any, atts [][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph && len(x) == 2 {
			if num, ok := x["num"].(json.Number); ok {
				if n, err := strconv.Atoi(string(num)); err == nil && n >= 0 && n < len(atts) {
					return atts[n]
				}
			}
		}
		for k, e := range x {
			x[k] = resolvePlaceholders(e, atts)
		}
	case []any:
		for i, e := range x {
			x[i] = resolvePlaceholders(e, atts)
		}
	}
	return v
}

// Inline returns argument i with every placeholder replaced by
// {"$binary":"<base64>"} (protocol.InlineBinary).
func (a Args) Inline(i int) json.RawMessage {
	if i < 0 || i >= len(a.Raw) {
		return nil
	}
	return protocol.InlineBinary(a.Raw[i], a.Attachments)
}

// placeholderNum recognises {"_placeholder":true,"num":N}.
func placeholderNum(raw json.RawMessage) (int, bool) {
	if len(raw) < 20 || raw[0] != '{' || !bytes.Contains(raw, []byte(`"_placeholder"`)) {
		return 0, false
	}
	var ph struct {
		Placeholder bool            `json:"_placeholder"`
		Num         json.RawMessage `json:"num"`
	}
	if json.Unmarshal(raw, &ph) != nil || !ph.Placeholder {
		return 0, false
	}
	n, err := strconv.Atoi(string(ph.Num))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Event is one incoming event, handed to the handlers registered with
// Socket.On and Socket.OnAny.
type Event struct {
	Name string
	Args
	socket *Socket
	id     uint64
	hasID  bool
	acked  atomic.Bool
}

// Socket is the socket that received the event.
func (e *Event) Socket() *Socket { return e.socket }

// WantsAck reports whether the sender asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.hasID }

// ErrNoAck is returned by Event.Ack when the sender asked for no
// acknowledgement, or it was already sent.
var ErrNoAck = errors.New("event has no pending acknowledgement")

// Ack answers the event with args (an ACK with the event's id on its
// namespace; BINARY_ACK when args hold []byte). Only the first call sends;
// later calls return ErrNoAck, as Node ignores them. Ack may be called from
// any goroutine, also after the handler returned.
func (e *Event) Ack(args ...any) error {
	if !e.hasID || !e.acked.CompareAndSwap(false, true) {
		return ErrNoAck
	}
	return e.socket.sendAck(e.id, args)
}
