package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/sio-dev/sio/internal/control"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// behaviour is what `sio serve` does with connections and events: --auth,
// --echo, --broadcast, --rooms and acknowledgements (CLI.md, "sio serve").
type behaviour struct {
	auth      map[string]any
	echo      bool
	broadcast bool
	rooms     bool
	ackReply  []any // nil: acks carry the event's own arguments
	obs       serveObserver
	log       *slog.Logger
}

func newBehaviour(opts *serveOptions, obs serveObserver, logger *slog.Logger) *behaviour {
	b := &behaviour{auth: opts.Auth, echo: opts.Echo, broadcast: opts.Broadcast, rooms: opts.Rooms, obs: obs, log: logger}
	if opts.AckReply != nil {
		// check() validated it.
		raw, atts, _ := protocol.ExtractBinary(opts.AckReply)
		b.ackReply, _ = control.Values([]json.RawMessage{raw}, atts)
	}
	return b
}

// errUnauthorized is the CONNECT_ERROR of --auth: {"message":"unauthorized"}
// (socket.io 2 clients get the string "unauthorized").
var errUnauthorized = &server.ConnectError{Message: "unauthorized"}

// authorize is the --auth middleware: the CONNECT auth (v5) must contain
// every key of --auth with an equal value. Socket.IO v4 clients
// (socket.io-client 2.x) send no auth: their handshake query parameters and
// the namespace's query are checked instead.
func (b *behaviour) authorize(s *server.Socket) error {
	h := s.Handshake()
	if s.EIO() == protocol.EIO3 {
		var nspQuery map[string]any
		_ = json.Unmarshal(h.Auth, &nspQuery)
		for k, want := range b.auth {
			got, ok := nspQuery[k].(string)
			if !ok {
				if !h.Query.Has(k) {
					return errUnauthorized
				}
				got = h.Query.Get(k)
			}
			if !queryEqual(want, got) {
				return errUnauthorized
			}
		}
		return nil
	}
	var auth map[string]any
	if err := json.Unmarshal(h.Auth, &auth); err != nil {
		return errUnauthorized
	}
	for k, want := range b.auth {
		got, ok := auth[k]
		if !ok || !reflect.DeepEqual(want, got) {
			return errUnauthorized
		}
	}
	return nil
}

// queryEqual compares an --auth value with a query parameter: a string as
// is, anything else by its JSON text ({"n":1} matches ?n=1).
func queryEqual(want any, got string) bool {
	if s, ok := want.(string); ok {
		return s == got
	}
	text, err := json.Marshal(want)
	return err == nil && string(text) == got
}

func (b *behaviour) onConnection(s *server.Socket) {
	s.OnAny(func(ev *server.Event) { b.onEvent(s, ev) })
}

func (b *behaviour) onEvent(s *server.Socket, ev *server.Event) {
	if b.rooms && (ev.Name == "join" || ev.Name == "leave") {
		b.roomEvent(s, ev)
		return
	}
	var values []any
	if b.echo || b.broadcast || (ev.WantsAck() && b.ackReply == nil) {
		// The Decoder checked every placeholder against the attachments.
		values = ev.Values()
	}
	if b.echo {
		if err := s.Emit(ev.Name, values...); err != nil {
			b.log.Warn("sio serve: echo", "id", s.ID(), "err", err)
		}
	}
	if b.broadcast {
		if err := b.relay(s).Emit(ev.Name, values...); err != nil {
			b.log.Warn("sio serve: broadcast", "id", s.ID(), "err", err)
		}
	}
	if ev.WantsAck() {
		reply := values
		if b.ackReply != nil {
			reply = b.ackReply
		}
		if err := ev.Ack(reply...); err != nil {
			b.log.Warn("sio serve: ack", "id", s.ID(), "err", err)
		}
	}
}

// relay picks the sockets a --broadcast relay reaches: with --rooms, the
// other members of the sender's rooms while it is in any; otherwise every
// other socket of the namespace.
func (b *behaviour) relay(s *server.Socket) server.BroadcastOperator {
	if b.rooms {
		if rooms := ownRooms(s); len(rooms) > 0 {
			return s.To(rooms...)
		}
	}
	return s.Broadcast()
}

// ownRooms lists the rooms s joined, without its private room, sorted.
func ownRooms(s *server.Socket) []string {
	var out []string
	for _, r := range s.Rooms() {
		if r != s.ID() {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// roomEvent handles --rooms' "join" ROOM and "leave" ROOM: the membership
// changes and the ack (when asked) carries the sender's rooms. Nothing is
// relayed or echoed.
func (b *behaviour) roomEvent(s *server.Socket, ev *server.Event) {
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
	data, _ := json.Marshal(struct {
		Room string `json:"room"`
	}{room})
	b.obs.Lifecycle(lifecycle{Time: time.Now(), Kind: ev.Name, SID: s.ID(), Nsp: s.Namespace().Name(), Transport: s.Transport(), Data: data})
	if ev.WantsAck() {
		if err := ev.Ack(roomsArg(ownRooms(s))); err != nil {
			b.log.Warn("sio serve: ack", "id", s.ID(), "err", err)
		}
	}
}

func roomsArg(rooms []string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rooms); err != nil {
		return json.RawMessage(`[]`)
	}
	return bytes.TrimSpace(buf.Bytes())
}
