package server

import (
	"fmt"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// received wraps Args to be sent exactly as they are: the only element of
// an args slice, recognised by encodeArgs. It is unexported so that only
// the EmitArgs and AckArgs methods, which check the Args first, make one.
type received struct{ args Args }

// checkArgs verifies that a can be sent as it is: each argument one valid
// JSON value, and every binary placeholder numbering one of the
// attachments (a Node peer drops the connection on "illegal attachments").
// Args the server handed over (an Event's, an ack's) always pass.
func checkArgs(a Args) error {
	if len(a.Attachments) > protocol.DefaultMaxAttachments {
		return fmt.Errorf("%w: %d buffers (Node peers accept at most %d)", protocol.ErrTooManyAttachments, len(a.Attachments), protocol.DefaultMaxAttachments)
	}
	for i, r := range a.Raw {
		if !protocol.ValidJSON(r) {
			return fmt.Errorf("argument %d is not one JSON value", i)
		}
		if len(a.Attachments) > 0 {
			if err := protocol.CheckPlaceholders(r, len(a.Attachments)); err != nil {
				return fmt.Errorf("argument %d: %w", i, err)
			}
		}
	}
	return nil
}

// EmitArgs sends an event to this socket with a's arguments exactly as
// they are: each argument's JSON bytes unchanged (key order, number
// spelling such as 1.0 or 1e3, spacing) and the attachments in their
// order, so that a.Raw's placeholders keep their numbers. It is how an
// event is echoed or relayed byte for byte (s.EmitArgs(ev.Name, ev.Args)),
// and it skips the decoding Emit's Go values would need. The attachments
// are shared, not copied: do not modify them afterwards.
//
// With connection state recovery on, the offset is appended as a last
// argument, as for Emit.
func (s *Socket) EmitArgs(event string, a Args) error {
	if err := checkArgs(a); err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	return s.Emit(event, received{a})
}

// EmitArgs sends an event to the selected sockets with a's arguments
// exactly as they are (see Socket.EmitArgs).
func (b BroadcastOperator) EmitArgs(event string, a Args) error {
	if err := checkArgs(a); err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	return b.Emit(event, received{a})
}

// EmitArgs sends an event to every socket of the namespace with a's
// arguments exactly as they are (see Socket.EmitArgs).
func (n *Namespace) EmitArgs(event string, a Args) error { return n.op().EmitArgs(event, a) }

// AckArgs answers the event with a's arguments exactly as they are (see
// Socket.EmitArgs): e.AckArgs(e.Args) acknowledges an event with its own
// arguments, byte for byte. Like Ack, only the first answer is sent.
func (e *Event) AckArgs(a Args) error {
	if err := checkArgs(a); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return e.Ack(received{a})
}

// receivedArgs returns the Args args wraps, if it is one received value.
func receivedArgs(args []any) (Args, bool) {
	if len(args) != 1 {
		return Args{}, false
	}
	r, ok := args[0].(received)
	return r.args, ok
}

// EmitArgs sends an event to every socket of the main namespace with a's
// arguments exactly as they are (see Socket.EmitArgs).
func (s *Server) EmitArgs(event string, a Args) error { return s.Of("/").EmitArgs(event, a) }

// EmitArgsWithAckFunc is EmitWithAckFunc with a's arguments sent exactly
// as they are (see EmitArgs).
func (s *Socket) EmitArgsWithAckFunc(event string, a Args, timeout time.Duration, fn func(Args, error)) error {
	if err := checkArgs(a); err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	return s.EmitWithAckFunc(event, timeout, fn, received{a})
}
