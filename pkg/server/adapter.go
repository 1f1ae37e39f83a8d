package server

import (
	"context"
	"sort"
	"sync"
)

// BroadcastOptions select the target sockets of a broadcast and carry its
// flags (socket.io-adapter's BroadcastOptions).
type BroadcastOptions struct {
	Rooms    []string // union of these rooms; every socket when empty
	Except   []string // minus the sockets in these rooms
	Volatile bool     // drop rather than queue when a transport is busy
	Compress *bool    // compression hint; nil means the default
}

// Room is a room of a namespace and its members' ids, sorted.
type Room struct {
	Name    string
	Members []string
}

// RemoteSocket is a snapshot of a socket selected by FetchSockets. With a
// multi-node adapter it may live on another server; its methods go through
// the adapter like a broadcast to its id.
type RemoteSocket struct {
	ID        string
	Namespace string
	Handshake Handshake
	Rooms     []string
	Data      map[string]any
	nsp       *Namespace
}

// Emit sends an event to the socket.
func (r RemoteSocket) Emit(event string, args ...any) error {
	return r.nsp.To(r.ID).Emit(event, args...)
}

// Join adds the socket to rooms.
func (r RemoteSocket) Join(rooms ...string) { r.nsp.In(r.ID).SocketsJoin(rooms...) }

// Leave removes the socket from rooms.
func (r RemoteSocket) Leave(rooms ...string) { r.nsp.In(r.ID).SocketsLeave(rooms...) }

// Disconnect disconnects the socket (see Socket.Disconnect).
func (r RemoteSocket) Disconnect(close bool) { r.nsp.In(r.ID).DisconnectSockets(close) }

// Adapter keeps a namespace's room membership and fans broadcasts out
// (socket.io-adapter). The in-memory MemoryAdapter is the default; a
// multi-node adapter (Redis) embeds it for local delivery and publishes to
// the other nodes. All methods are called concurrently and must not call
// back into the Socket or Namespace while holding their own locks.
type Adapter interface {
	// AddAll adds the socket id to rooms.
	AddAll(id string, rooms []string)
	// Del removes the socket id from room.
	Del(id, room string)
	// DelAll removes the socket id from every room.
	DelAll(id string)
	// SocketRooms lists the rooms of a socket.
	SocketRooms(id string) []string
	// Rooms lists the rooms and their local members.
	Rooms() []Room
	// Sockets returns the ids of the local sockets selected by opts.
	Sockets(opts BroadcastOptions) []string
	// Broadcast delivers an encoded packet to the sockets selected by opts.
	Broadcast(out *Outgoing, opts BroadcastOptions)
	// FetchSockets returns the sockets selected by opts.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error)
	// AddSockets makes the sockets selected by opts join rooms.
	AddSockets(opts BroadcastOptions, rooms []string)
	// DelSockets makes the sockets selected by opts leave rooms.
	DelSockets(opts BroadcastOptions, rooms []string)
	// DisconnectSockets disconnects the sockets selected by opts.
	DisconnectSockets(opts BroadcastOptions, close bool)
}

// AdapterFactory makes the adapter of a namespace.
type AdapterFactory func(nsp *Namespace) Adapter

// MemoryAdapter is the in-memory Adapter: two maps under one RWMutex.
// Broadcasts snapshot the members under the read lock, release it, then
// queue the shared frames on each socket.
type MemoryAdapter struct {
	nsp *Namespace

	mu    sync.RWMutex
	rooms map[string]map[string]*Socket  // room → members (nil when not local)
	sids  map[string]map[string]struct{} // socket id → rooms
}

// NewMemoryAdapter returns the in-memory adapter of nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	return &MemoryAdapter{
		nsp:   nsp,
		rooms: make(map[string]map[string]*Socket),
		sids:  make(map[string]map[string]struct{}),
	}
}

func (a *MemoryAdapter) AddAll(id string, rooms []string) {
	// Keep the *Socket next to its id so that a broadcast needs no lookup.
	sock, _ := a.nsp.Socket(id)
	a.mu.Lock()
	defer a.mu.Unlock()
	mine := a.sids[id]
	if mine == nil {
		mine = make(map[string]struct{}, len(rooms))
		a.sids[id] = mine
	}
	for _, r := range rooms {
		mine[r] = struct{}{}
		members := a.rooms[r]
		if members == nil {
			members = make(map[string]*Socket, 1)
			a.rooms[r] = members
		}
		members[id] = sock
	}
}

func (a *MemoryAdapter) Del(id, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mine := a.sids[id]; mine != nil {
		delete(mine, room)
	}
	a.delMember(room, id)
}

func (a *MemoryAdapter) delMember(room, id string) {
	if members := a.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

func (a *MemoryAdapter) DelAll(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for r := range a.sids[id] {
		a.delMember(r, id)
	}
	delete(a.sids, id)
}

func (a *MemoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	out := make([]string, 0, len(a.sids[id]))
	for r := range a.sids[id] {
		out = append(out, r)
	}
	a.mu.RUnlock()
	sort.Strings(out)
	return out
}

func (a *MemoryAdapter) Rooms() []Room {
	a.mu.RLock()
	out := make([]Room, 0, len(a.rooms))
	for name, members := range a.rooms {
		r := Room{Name: name, Members: make([]string, 0, len(members))}
		for id := range members {
			r.Members = append(r.Members, id)
		}
		sort.Strings(r.Members)
		out = append(out, r)
	}
	a.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Sockets returns the selected ids, each once.
func (a *MemoryAdapter) Sockets(opts BroadcastOptions) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var except map[string]struct{}
	if len(opts.Except) > 0 {
		except = make(map[string]struct{})
		for _, r := range opts.Except {
			for id := range a.rooms[r] {
				except[id] = struct{}{}
			}
		}
	}
	switch len(opts.Rooms) {
	case 0:
		out := make([]string, 0, len(a.sids))
		for id := range a.sids {
			if _, skip := except[id]; !skip {
				out = append(out, id)
			}
		}
		return out
	case 1:
		members := a.rooms[opts.Rooms[0]]
		out := make([]string, 0, len(members))
		for id := range members {
			if _, skip := except[id]; !skip {
				out = append(out, id)
			}
		}
		return out
	}
	seen := make(map[string]struct{})
	var out []string
	for _, r := range opts.Rooms {
		for id := range a.rooms[r] {
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
			if _, skip := except[id]; !skip {
				out = append(out, id)
			}
		}
	}
	return out
}

// Broadcast snapshots the targets under the read lock, then queues the
// shared frames on each with no lock held.
func (a *MemoryAdapter) Broadcast(out *Outgoing, opts BroadcastOptions) {
	var socks []*Socket
	a.mu.RLock()
	if len(opts.Rooms) == 1 && len(opts.Except) == 0 {
		members := a.rooms[opts.Rooms[0]]
		socks = make([]*Socket, 0, len(members))
		for _, s := range members {
			if s != nil {
				socks = append(socks, s)
			}
		}
		a.mu.RUnlock()
	} else {
		a.mu.RUnlock()
		socks = a.nsp.lookupSockets(nil, a.Sockets(opts))
	}
	for _, s := range socks {
		_ = s.send(out, opts.Volatile)
	}
}

func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]RemoteSocket, error) {
	socks := a.nsp.lookupSockets(nil, a.Sockets(opts))
	out := make([]RemoteSocket, len(socks))
	for i, s := range socks {
		out[i] = RemoteSocket{ID: s.id, Namespace: a.nsp.name, Handshake: s.handshake, Rooms: s.Rooms(), Data: s.Data(), nsp: a.nsp}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a *MemoryAdapter) AddSockets(opts BroadcastOptions, rooms []string) {
	for _, id := range a.Sockets(opts) {
		a.AddAll(id, rooms)
	}
}

func (a *MemoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) {
	for _, id := range a.Sockets(opts) {
		for _, r := range rooms {
			a.Del(id, r)
		}
	}
}

func (a *MemoryAdapter) DisconnectSockets(opts BroadcastOptions, close bool) {
	for _, s := range a.nsp.lookupSockets(nil, a.Sockets(opts)) {
		s.Disconnect(close)
	}
}
