package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Event is an incoming event, handed to the handlers registered with On
// and OnAny on the connection's reader goroutine.
type Event struct {
	Namespace string
	Name      string
	// Args are the raw JSON arguments after the name, as sent. Binary
	// arguments are placeholders ({"_placeholder":true,"num":N}) whose
	// bytes are Attachments[N].
	Args        []json.RawMessage
	Attachments [][]byte
	// Packet is the whole Socket.IO packet.
	Packet protocol.Packet

	socket *Socket
	ackMu  sync.Mutex
	acked  bool // answered, or taken by TakeAck
}

// WantsAck reports whether the server asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.Packet.HasID }

// Unmarshal decodes argument i into v with encoding/json.
func (e *Event) Unmarshal(i int, v any) error {
	if i < 0 || i >= len(e.Args) {
		return fmt.Errorf("event %q has no argument %d", e.Name, i)
	}
	return json.Unmarshal(e.Args[i], v)
}

// Inline returns the arguments as one JSON array in sio's notation, with
// binary attachments shown as {"$binary":"<base64>"}.
func (e *Event) Inline() json.RawMessage {
	return protocol.InlineBinary(protocol.AppendArray(nil, e.Args...), e.Attachments)
}

// Ack answers the server's acknowledgement request with args (encoded as
// for Emit). Only the first answer is sent; without a request it does
// nothing. A handler that does not answer leaves the answer to the
// automatic reply (Options.AckReply), unless it called TakeAck.
func (e *Event) Ack(args ...any) error {
	if !e.Packet.HasID || !e.claimAck() {
		return nil
	}
	return e.socket.sendAck(e.Packet.ID, args)
}

// TakeAck turns off the automatic reply to this event's ack request and
// returns a function that sends the answer later, from any goroutine (at
// most once). It returns nil when the server asked for no ack.
func (e *Event) TakeAck() func(args ...any) error {
	if !e.Packet.HasID || !e.claimAck() {
		return nil
	}
	var once sync.Once
	id := e.Packet.ID
	return func(args ...any) error {
		err := error(nil)
		sent := false
		once.Do(func() { sent = true; err = e.socket.sendAck(id, args) })
		if !sent {
			return nil
		}
		return err
	}
}

// claimAck marks the ack request answered and reports whether it was
// still open: only the first of Ack, TakeAck and the automatic reply gets it.
func (e *Event) claimAck() bool {
	e.ackMu.Lock()
	defer e.ackMu.Unlock()
	if e.acked {
		return false
	}
	e.acked = true
	return true
}

// autoAck sends the automatic reply when no handler answered.
func (e *Event) autoAck(reply func(*Event) []any) {
	if !e.Packet.HasID || !e.claimAck() {
		return
	}
	var args []any
	if reply != nil {
		args = reply(e)
	}
	_ = e.socket.sendAck(e.Packet.ID, args)
}

// Ack is the server's answer to EmitWithAck.
type Ack struct {
	Namespace string
	// Args are the raw JSON arguments of the ACK, with placeholders for
	// binary ones, whose bytes are Attachments[N].
	Args        []json.RawMessage
	Attachments [][]byte
	Packet      protocol.Packet
}

// Unmarshal decodes argument i into v with encoding/json.
func (a *Ack) Unmarshal(i int, v any) error {
	if i < 0 || i >= len(a.Args) {
		return fmt.Errorf("ack has no argument %d", i)
	}
	return json.Unmarshal(a.Args[i], v)
}

// Inline returns the arguments as one JSON array with binary attachments
// shown as {"$binary":"<base64>"}.
func (a *Ack) Inline() json.RawMessage {
	return protocol.InlineBinary(protocol.AppendArray(nil, a.Args...), a.Attachments)
}

// Notation is an event argument in sio's CLI notation (CLI.md, Event
// arguments): raw JSON in which every {"$binary":"<base64>"} object is a
// binary attachment. Pass it to Emit like any other value.
type Notation json.RawMessage

// encodeArgs turns Emit's arguments into raw JSON with placeholders and
// their attachments, numbered depth-first across all arguments as
// socket.io-parser does: []byte values and {"$binary"} objects inside a
// Notation become attachments, json.RawMessage is used as is, anything
// else goes through encoding/json.
func encodeArgs(args []any) ([]json.RawMessage, [][]byte, error) {
	notation := false
	vals := args
	for i, a := range args {
		n, ok := a.(Notation)
		if !ok {
			continue
		}
		if !notation {
			vals = append([]any(nil), args...)
			notation = true
		}
		if !json.Valid(n) {
			return nil, nil, fmt.Errorf("argument %d: invalid JSON", i)
		}
		vals[i] = json.RawMessage(n)
	}
	raw, atts, err := protocol.Deconstruct(vals...)
	if err != nil {
		return nil, nil, err
	}
	if !notation {
		return raw, atts, nil
	}
	arr := protocol.AppendArray(nil, raw...)
	if !bytes.Contains(arr, []byte(`"$binary"`)) {
		return raw, atts, nil
	}
	// Renumber every attachment depth-first: show the []byte ones in
	// notation, then extract all of them in one pass.
	arr = protocol.InlineBinary(arr, atts)
	data, atts, err := protocol.ExtractBinary(arr)
	if err != nil {
		return nil, nil, err
	}
	raw, err = protocol.SplitArray(data)
	if err != nil {
		return nil, nil, err
	}
	return raw, atts, nil
}
