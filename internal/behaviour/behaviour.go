// Package behaviour is what `sio serve` does with connections and events
// (CLI.md, "sio serve"): --auth, --echo, --broadcast, --rooms and the
// acknowledgements. The benchmark server (bench/goserver) uses it too, so
// that measuring pkg/server against Node measures the handlers users run.
//
// Events are echoed, relayed and acknowledged with their arguments exactly
// as received (server.Args, sent with EmitArgs and AckArgs): key order,
// number spelling and the place of binary are the sender's, and nothing
// is decoded into Go values on the way.
package behaviour

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// Options choose the behaviours; the zero value only answers acks with the
// event's own arguments.
type Options struct {
	// Auth: every CONNECT's auth must contain each key with an equal value
	// (socket.io 2 clients: their handshake query), else CONNECT_ERROR
	// {"message":"unauthorized"}. Nil: no check.
	Auth map[string]any
	// Echo emits each event back to its sender.
	Echo bool
	// Broadcast relays each event to the other sockets of its namespace,
	// or with Rooms to the other members of the sender's rooms while it is
	// in any.
	Broadcast bool
	// Rooms turns the events "join" ROOM and "leave" ROOM into membership
	// changes, acked with the sender's rooms and never relayed.
	Rooms bool
	// AckReply is the one argument every acknowledgement carries (JSON,
	// {"$binary":"<base64>"} for bytes). Nil: the event's own arguments.
	AckReply json.RawMessage
	// Logger gets a warning for what could not be sent. Default: discarded.
	Logger *slog.Logger
}

// Behaviour handles the connections and events of the namespaces it is
// attached to.
type Behaviour struct {
	opts     Options
	ackReply *server.Args // nil: acks carry the event's own arguments
	log      *slog.Logger
}

// New checks o and returns its Behaviour.
func New(o Options) (*Behaviour, error) {
	b := &Behaviour{opts: o, log: o.Logger}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if o.AckReply != nil {
		raw, atts, err := protocol.ExtractBinary(o.AckReply)
		if err != nil {
			return nil, fmt.Errorf("ack reply: %w", err)
		}
		b.ackReply = &server.Args{Raw: []json.RawMessage{raw}, Attachments: atts}
	}
	return b, nil
}

// Attach makes n run the behaviours: the auth check on each CONNECT and
// the event handlers on each socket.
func (b *Behaviour) Attach(n *server.Namespace) {
	if b.opts.Auth != nil {
		n.Use(b.Authorize)
	}
	n.OnConnection(b.OnConnection)
}

// ErrUnauthorized is the CONNECT_ERROR of a refused auth:
// {"message":"unauthorized"} (socket.io 2 clients get the string
// "unauthorized").
var ErrUnauthorized = &server.ConnectError{Message: "unauthorized"}

// Authorize is the Auth middleware: the CONNECT auth (v5) must contain
// every key of Options.Auth with an equal value. Socket.IO v4 clients
// (socket.io-client 2.x) send no auth: their handshake query parameters and
// the namespace's query are checked instead.
func (b *Behaviour) Authorize(s *server.Socket) error {
	h := s.Handshake()
	if s.EIO() == protocol.EIO3 {
		var nspQuery map[string]any
		_ = json.Unmarshal(h.Auth, &nspQuery)
		for k, want := range b.opts.Auth {
			got, ok := nspQuery[k].(string)
			if !ok {
				if !h.Query.Has(k) {
					return ErrUnauthorized
				}
				got = h.Query.Get(k)
			}
			if !queryEqual(want, got) {
				return ErrUnauthorized
			}
		}
		return nil
	}
	var auth map[string]any
	if err := json.Unmarshal(h.Auth, &auth); err != nil {
		return ErrUnauthorized
	}
	for k, want := range b.opts.Auth {
		got, ok := auth[k]
		if !ok || !reflect.DeepEqual(want, got) {
			return ErrUnauthorized
		}
	}
	return nil
}

// queryEqual compares an Auth value with a query parameter: a string as
// is, anything else by its JSON text ({"n":1} matches ?n=1).
func queryEqual(want any, got string) bool {
	if s, ok := want.(string); ok {
		return s == got
	}
	text, err := json.Marshal(want)
	return err == nil && string(text) == got
}

// OnConnection registers the event handler on a new socket.
func (b *Behaviour) OnConnection(s *server.Socket) {
	s.OnAny(func(ev *server.Event) { b.OnEvent(s, ev) })
}

// OnEvent handles one event of s.
func (b *Behaviour) OnEvent(s *server.Socket, ev *server.Event) {
	if b.opts.Rooms && (ev.Name == "join" || ev.Name == "leave") {
		b.roomEvent(s, ev)
		return
	}
	if b.opts.Echo {
		if err := s.EmitArgs(ev.Name, ev.Args); err != nil {
			b.warn(s, "echo", err)
		}
	}
	if b.opts.Broadcast {
		if err := b.relay(s).EmitArgs(ev.Name, ev.Args); err != nil {
			b.warn(s, "broadcast", err)
		}
	}
	if ev.WantsAck() {
		reply := ev.Args
		if b.ackReply != nil {
			reply = *b.ackReply
		}
		if err := ev.AckArgs(reply); err != nil {
			b.warn(s, "ack", err)
		}
	}
}

func (b *Behaviour) warn(s *server.Socket, what string, err error) {
	if errors.Is(err, server.ErrDisconnected) {
		return // the socket left while its event was handled
	}
	b.log.Warn("sio serve: "+what, "id", s.ID(), "err", err)
}

// relay picks the sockets a Broadcast relay reaches: with Rooms, the other
// members of the sender's rooms while it is in any; otherwise every other
// socket of the namespace.
func (b *Behaviour) relay(s *server.Socket) server.BroadcastOperator {
	if b.opts.Rooms {
		if rooms := OwnRooms(s); len(rooms) > 0 {
			return s.To(rooms...)
		}
	}
	return s.Broadcast()
}

// OwnRooms lists the rooms s joined, without its private room, sorted
// (never nil, so that it encodes as []).
func OwnRooms(s *server.Socket) []string {
	out := []string{}
	for _, r := range s.Rooms() {
		if r != s.ID() {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// roomEvent handles "join" ROOM and "leave" ROOM: the membership changes
// and the ack (when asked) carries the sender's rooms. Nothing is relayed
// or echoed.
func (b *Behaviour) roomEvent(s *server.Socket, ev *server.Event) {
	room, err := ev.String(0)
	if err != nil || room == "" {
		b.log.Warn("sio serve: "+ev.Name+" needs a room name", "id", s.ID())
		if ev.WantsAck() {
			_ = ev.Ack(map[string]any{"error": ev.Name + " needs a room name (a non-empty string)"})
		}
		return
	}
	if ev.Name == "join" {
		s.Join(room)
	} else {
		s.Leave(room)
	}
	if ev.WantsAck() {
		if err := ev.Ack(OwnRooms(s)); err != nil {
			b.warn(s, "ack", err)
		}
	}
}
