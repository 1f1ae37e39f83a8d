package adminui

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Update is one event of the admin namespace, decoded: what `sio admin
// --watch -o json` prints, one per line. Only the fields of its Event are
// set.
type Update struct {
	Time  time.Time `json:"time"`  // when sio received it
	Event string    `json:"event"` // the event name (EventConfig...)
	// At is the server's own timestamp (socket_*, room_*, event_*).
	At     *time.Time `json:"at,omitempty"`
	Nsp    string     `json:"nsp,omitempty"`
	ID     string     `json:"id,omitempty"` // the socket id
	Room   string     `json:"room,omitempty"`
	Reason string     `json:"reason,omitempty"` // socket_disconnected
	// Transport is socket_updated's new transport.
	Transport string          `json:"transport,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // socket_updated's new data
	// Args are event_received / event_sent's event name and arguments.
	Args    []json.RawMessage `json:"args,omitempty"`
	Socket  *Socket           `json:"socket,omitempty"`
	Sockets []Socket          `json:"sockets,omitempty"` // all_sockets (never null there)
	Stats   *ServerStats      `json:"stats,omitempty"`
	Config  *Config           `json:"config,omitempty"`
}

// Limits on what a State keeps of a server that may have many sockets and
// send many events: the admin namespace is an unbounded stream.
const (
	DefaultMaxSockets = 100_000
	DefaultMaxEvents  = 1000
	DefaultMaxServers = 1000
)

// ServerStaleAfter is how long a server may stay silent before the State
// drops it: servers send server_stats every 2 s, and the admin UI drops a
// server after missing a few.
const ServerStaleAfter = 10 * time.Second

// ServerInfo is one server of the cluster, from its latest server_stats.
type ServerInfo struct {
	ServerStats
	LastSeen time.Time
}

// SocketInfo is a socket known to the State.
type SocketInfo struct {
	Socket
	ConnectedAt time.Time // the server's timestamp; zero if listed by all_sockets
}

// Room is a room of a namespace and its members, as known from the
// sockets' rooms.
type Room struct {
	Nsp     string   `json:"nsp"`
	Name    string   `json:"name"`
	Private bool     `json:"private"` // the room a socket is in by its own id
	Members []string `json:"members"`
}

// EventInfo is one event_received or event_sent.
type EventInfo struct {
	At   time.Time
	Dir  string // "in" (received by the server) or "out" (sent by it)
	Nsp  string
	ID   string
	Name string
	Args []json.RawMessage
}

// State is the live picture an admin client builds from the events: the
// config, the servers, and, in development mode, the sockets, their rooms
// and the latest events. It is not safe for concurrent use: Client guards
// it and hands out copies.
type State struct {
	Config    Config
	HasConfig bool
	// Listed is true once all_sockets arrived (development mode).
	Listed bool

	MaxSockets, MaxEvents, MaxServers int
	// DroppedSockets counts sockets not kept because of MaxSockets.
	DroppedSockets int

	servers map[string]*ServerInfo
	sockets map[socketKey]*SocketInfo
	events  []EventInfo // a ring of MaxEvents once full
	next    int
}

type socketKey struct{ nsp, id string }

// NewState returns an empty State with the default limits.
func NewState() *State {
	return &State{
		MaxSockets: DefaultMaxSockets,
		MaxEvents:  DefaultMaxEvents,
		MaxServers: DefaultMaxServers,
		servers:    map[string]*ServerInfo{},
		sockets:    map[socketKey]*SocketInfo{},
	}
}

// ErrUnknownEvent is wrapped by Apply for an event name the protocol does
// not have.
var ErrUnknownEvent = errors.New("unknown admin event")

// Apply decodes one event of the admin namespace, folds it into the state
// and returns it as an Update. now is the time it was received. A
// malformed event is an error and changes nothing.
func (s *State) Apply(now time.Time, name string, args []json.RawMessage) (Update, error) {
	u := Update{Time: now, Event: name}
	var err error
	switch name {
	case EventSession:
		// The session id is a credential: it is not kept in the update.
		var id string
		err = decodeArgs(args, &id)
	case EventConfig:
		var c Config
		if err = decodeArgs(args, &c); err == nil {
			s.Config, s.HasConfig = c, true
			u.Config = &c
		}
	case EventServerStats:
		var st ServerStats
		if err = decodeArgs(args, &st); err == nil {
			if st.ServerID == "" {
				err = errors.New("no serverId")
				break
			}
			s.putServer(now, st)
			u.Stats = &st
		}
	case EventAllSockets:
		var list []Socket
		if err = decodeArgs(args, &list); err == nil {
			s.sockets = map[socketKey]*SocketInfo{}
			s.DroppedSockets = 0
			for _, so := range list {
				s.putSocket(SocketInfo{Socket: so})
			}
			s.Listed = true
			if list == nil {
				list = []Socket{}
			}
			u.Sockets = list
		}
	case EventSocketConnected:
		var so Socket
		var at jsDate
		if err = decodeArgs(args, &so, &at); err == nil {
			u.At, u.Socket, u.Nsp, u.ID = at.ptr(), &so, so.Nsp, so.ID
			s.putSocket(SocketInfo{Socket: so, ConnectedAt: at.Time})
		}
	case EventSocketUpdated:
		var up socketUpdate
		if err = decodeArgs(args, &up); err == nil {
			u.Nsp, u.ID, u.Transport, u.Data = up.Nsp, up.ID, up.Transport, up.Data
			if so := s.sockets[socketKey{up.Nsp, up.ID}]; so != nil {
				if up.Transport != "" {
					so.Transport = up.Transport
				}
				if up.Data != nil {
					so.Data = up.Data
				}
			}
		}
	case EventSocketDisconnected:
		var at jsDate
		if err = decodeArgs(args, &u.Nsp, &u.ID, &u.Reason, &at); err == nil {
			u.At = at.ptr()
			delete(s.sockets, socketKey{u.Nsp, u.ID})
		}
	case EventRoomJoined, EventRoomLeft:
		var at jsDate
		if err = decodeArgs(args, &u.Nsp, &u.Room, &u.ID, &at); err == nil {
			u.At = at.ptr()
			if so := s.sockets[socketKey{u.Nsp, u.ID}]; so != nil {
				i := slices.Index(so.Rooms, u.Room)
				switch {
				case name == EventRoomJoined && i < 0:
					so.Rooms = append(so.Rooms, u.Room)
				case name == EventRoomLeft && i >= 0:
					so.Rooms = slices.Delete(so.Rooms, i, i+1)
				}
			}
		}
	case EventReceived, EventSent:
		var at jsDate
		if err = decodeArgs(args, &u.Nsp, &u.ID, &u.Args, &at); err == nil {
			if len(u.Args) == 0 {
				err = errors.New("no event name")
				break
			}
			var ev string
			if err = json.Unmarshal(u.Args[0], &ev); err != nil {
				err = fmt.Errorf("event name: %w", err)
				break
			}
			u.At = at.ptr()
			dir := "in"
			if name == EventSent {
				dir = "out"
			}
			s.putEvent(EventInfo{At: at.Time, Dir: dir, Nsp: u.Nsp, ID: u.ID, Name: ev, Args: u.Args[1:]})
		}
	default:
		return u, fmt.Errorf("%w %q", ErrUnknownEvent, name)
	}
	if err != nil {
		return u, fmt.Errorf("admin event %s: %w", name, err)
	}
	return u, nil
}

func (s *State) putServer(now time.Time, st ServerStats) {
	if _, ok := s.servers[st.ServerID]; !ok && len(s.servers) >= s.MaxServers {
		s.Expire(now)
		if len(s.servers) >= s.MaxServers {
			return
		}
	}
	s.servers[st.ServerID] = &ServerInfo{ServerStats: st, LastSeen: now}
}

func (s *State) putSocket(so SocketInfo) {
	k := socketKey{so.Nsp, so.ID}
	if _, ok := s.sockets[k]; !ok && len(s.sockets) >= s.MaxSockets {
		s.DroppedSockets++
		return
	}
	so.Rooms = slices.Clone(so.Rooms)
	s.sockets[k] = &so
}

func (s *State) putEvent(e EventInfo) {
	if s.MaxEvents <= 0 {
		return
	}
	if len(s.events) < s.MaxEvents {
		s.events = append(s.events, e)
		return
	}
	s.events[s.next] = e
	s.next = (s.next + 1) % len(s.events)
}

// Expire drops the servers silent for ServerStaleAfter at now.
func (s *State) Expire(now time.Time) {
	for id, sv := range s.servers {
		if now.Sub(sv.LastSeen) > ServerStaleAfter {
			delete(s.servers, id)
		}
	}
}

// Servers lists the servers by id.
func (s *State) Servers() []ServerInfo {
	out := make([]ServerInfo, 0, len(s.servers))
	for _, sv := range s.servers {
		out = append(out, *sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServerID < out[j].ServerID })
	return out
}

// Sockets lists the sockets by namespace, then connection time, then id.
func (s *State) Sockets() []SocketInfo {
	out := make([]SocketInfo, 0, len(s.sockets))
	for _, so := range s.sockets {
		c := *so
		c.Rooms = slices.Clone(so.Rooms)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Nsp != b.Nsp {
			return a.Nsp < b.Nsp
		}
		if !a.ConnectedAt.Equal(b.ConnectedAt) {
			return a.ConnectedAt.Before(b.ConnectedAt)
		}
		return a.ID < b.ID
	})
	return out
}

// Socket finds a socket by id, in nsp or, with nsp "", in any namespace.
func (s *State) Socket(nsp, id string) (SocketInfo, bool) {
	if nsp != "" {
		so, ok := s.sockets[socketKey{nsp, id}]
		if !ok {
			return SocketInfo{}, false
		}
		return *so, true
	}
	for k, so := range s.sockets {
		if k.id == id {
			return *so, true
		}
	}
	return SocketInfo{}, false
}

// Rooms lists the rooms of the known sockets, by namespace and name, with
// their members sorted.
func (s *State) Rooms() []Room {
	type roomKey struct{ nsp, name string }
	rooms := map[roomKey]*Room{}
	for k, so := range s.sockets {
		for _, r := range so.Rooms {
			rk := roomKey{k.nsp, r}
			room := rooms[rk]
			if room == nil {
				room = &Room{Nsp: k.nsp, Name: r}
				rooms[rk] = room
			}
			room.Members = append(room.Members, k.id)
			if r == k.id {
				room.Private = true
			}
		}
	}
	out := make([]Room, 0, len(rooms))
	for _, r := range rooms {
		slices.Sort(r.Members)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Nsp != out[j].Nsp {
			return out[i].Nsp < out[j].Nsp
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Events returns the kept events, oldest first.
func (s *State) Events() []EventInfo {
	out := make([]EventInfo, 0, len(s.events))
	out = append(out, s.events[s.next:]...)
	return append(out, s.events[:s.next]...)
}

// decodeArgs decodes the event's arguments into dst, in order: each one
// must be present (a Date may be missing from a server that sends none).
func decodeArgs(args []json.RawMessage, dst ...any) error {
	for i, d := range dst {
		if i >= len(args) {
			if _, ok := d.(*jsDate); ok {
				continue
			}
			return fmt.Errorf("%d arguments, want %d", len(args), len(dst))
		}
		if err := json.Unmarshal(args[i], d); err != nil {
			return fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return nil
}

// jsDate is a JSON-serialized Date (an ISO string); null or a bad string
// leave it zero rather than failing the whole event.
type jsDate struct{ time.Time }

func (d *jsDate) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
		d.Time = t
	}
	return nil
}

func (d jsDate) ptr() *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time
	return &t
}

// Targets lists the ids of the sockets of nsp that filter selects, as the
// server's commands do: the members of the room filter (a socket id is
// its own room), or every socket of nsp when filter is "".
func Targets(sockets []SocketInfo, nsp, filter string) []string {
	var out []string
	for _, s := range sockets {
		if s.Nsp == nsp && (filter == "" || slices.Contains(s.Rooms, filter)) {
			out = append(out, s.ID)
		}
	}
	return out
}
