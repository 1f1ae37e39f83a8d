package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server/eioserver"
)

// BroadcastOptions select the target sockets of a broadcast and carry its
// flags (socket.io-adapter's BroadcastOptions).
type BroadcastOptions struct {
	Rooms    []string // union of these rooms; every socket when empty
	Except   []string // minus the sockets in these rooms
	Volatile bool     // drop rather than queue when a transport is busy
	Compress *bool    // compression hint; nil means the default
	// Local keeps the operation on this node: a multi-node adapter does
	// not forward it to the others (socket.io's local flag).
	Local bool

	// Batch, when set and open, defers the writes to the end of the
	// batch, as a broadcast from a socket is deferred to the end of its
	// read: an adapter delivering several messages from other nodes
	// writes each target once.
	Batch *Batch

	// flush is the sending socket's engine.io FlushBatch (a broadcast from
	// a socket): while its reader handles one read, each target is written
	// once at the end of it. Nil: write at once.
	flush *eioserver.FlushBatch
}

// Batch groups the writes of several broadcasts (BroadcastOptions.Batch):
// between Open and Close, each socket sent to is written once, at Close.
// One goroutine owns it.
type Batch struct{ fb eioserver.FlushBatch }

// Open starts deferring the writes of the broadcasts given the batch.
func (b *Batch) Open() { b.fb.Open() }

// Close writes the sockets the broadcasts reached since Open.
func (b *Batch) Close() { b.fb.Close() }

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
	// Node names the server the socket is on: "" for this one; a
	// multi-node adapter sets its peer's id when the peer tells it.
	Node string
	nsp  *Namespace
}

// Emit sends an event to the socket.
func (r RemoteSocket) Emit(event string, args ...any) error {
	return r.nsp.To(r.ID).Emit(event, args...)
}

// Join adds the socket to rooms.
func (r RemoteSocket) Join(rooms ...string) error { return r.nsp.In(r.ID).SocketsJoin(rooms...) }

// Leave removes the socket from rooms.
func (r RemoteSocket) Leave(rooms ...string) error { return r.nsp.In(r.ID).SocketsLeave(rooms...) }

// Disconnect disconnects the socket (see Socket.Disconnect).
func (r RemoteSocket) Disconnect(close bool) error { return r.nsp.In(r.ID).DisconnectSockets(close) }

// Adapter keeps a namespace's room membership and fans broadcasts out
// (socket.io-adapter). The in-memory MemoryAdapter is the default; a
// multi-node adapter (Redis) embeds it for local delivery and publishes to
// the other nodes. All methods are called concurrently and must not call
// back into the Socket or Namespace while holding their own locks.
//
// The methods acting on selected sockets reach every node unless
// opts.Local. Their error is the cluster's (a message that could not be
// sent to the other nodes, an answer that did not come); the in-memory
// adapter never fails.
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
	Broadcast(out *Outgoing, opts BroadcastOptions) error
	// FetchSockets returns the sockets selected by opts.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error)
	// AddSockets makes the sockets selected by opts join rooms.
	AddSockets(opts BroadcastOptions, rooms []string) error
	// DelSockets makes the sockets selected by opts leave rooms.
	DelSockets(opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the sockets selected by opts.
	DisconnectSockets(opts BroadcastOptions, close bool) error
}

// AdapterFactory makes the adapter of a namespace.
type AdapterFactory func(nsp *Namespace) Adapter

// MemoryAdapter is the in-memory Adapter: two maps under one RWMutex.
// Broadcasts snapshot the members under the read lock, release it, then
// queue the shared frames on each socket.
type MemoryAdapter struct {
	nsp *Namespace

	mu    sync.RWMutex
	rooms map[string]members // room → local members
	sids  map[string]roomSet // socket id → rooms

	watchers atomic.Pointer[[]func(RoomChange)]
}

// RoomChange is a socket joining or leaving a room of its namespace.
type RoomChange struct {
	Socket, Room string
	Joined       bool
}

// RoomWatcher is an Adapter that reports every real change of a local
// socket's rooms, as Node's adapter emits "join-room" and "leave-room":
// a socket's own Join and Leave, a disconnect, and the joins and leaves
// another node of a cluster relays. MemoryAdapter is one, and so is an
// adapter that embeds it.
type RoomWatcher interface {
	// WatchRooms adds f, called after each change, outside the
	// adapter's locks, on the goroutine that made the change.
	WatchRooms(f func(RoomChange))
}

// WatchRooms implements RoomWatcher.
func (a *MemoryAdapter) WatchRooms(f func(RoomChange)) {
	for {
		old := a.watchers.Load()
		var fs []func(RoomChange)
		if old != nil {
			fs = slices.Clone(*old)
		}
		fs = append(fs, f)
		if a.watchers.CompareAndSwap(old, &fs) {
			return
		}
	}
}

// report tells the watchers about changes. The callers collect changes
// only when watching says someone listens: the common case costs nothing.
func (a *MemoryAdapter) report(changes []RoomChange) {
	fs := a.watchers.Load()
	if fs == nil {
		return
	}
	for _, c := range changes {
		for _, f := range *fs {
			f(c)
		}
	}
}

func (a *MemoryAdapter) watching() bool { return a.watchers.Load() != nil }

// members is a room's local members. Most rooms are a socket's own and
// have one member, held inline; a map is made from the second on. A nil
// *Socket is a member that is not (yet) local.
type members struct {
	id   string
	sock *Socket
	one  bool
	m    map[string]*Socket
}

func (ms *members) len() int {
	if ms.m != nil {
		return len(ms.m)
	}
	if ms.one {
		return 1
	}
	return 0
}

func (ms *members) add(id string, s *Socket) {
	switch {
	case ms.m != nil:
		ms.m[id] = s
	case !ms.one || ms.id == id:
		ms.id, ms.sock, ms.one = id, s, true
	default:
		ms.m = map[string]*Socket{ms.id: ms.sock, id: s}
		ms.id, ms.sock, ms.one = "", nil, false
	}
}

// del removes id and reports whether the room is now empty.
func (ms *members) del(id string) bool {
	if ms.m == nil {
		if ms.one && ms.id == id {
			*ms = members{}
		}
		return !ms.one
	}
	delete(ms.m, id)
	if len(ms.m) == 1 { // back to one inline member
		for k, v := range ms.m {
			*ms = members{id: k, sock: v, one: true}
		}
	}
	return ms.len() == 0
}

// all iterates over the members.
func (ms *members) all(yield func(string, *Socket) bool) {
	if ms.m == nil {
		if ms.one {
			yield(ms.id, ms.sock)
		}
		return
	}
	for id, s := range ms.m {
		if !yield(id, s) {
			return
		}
	}
}

// roomSetListMax is how many rooms a socket's set holds in a slice before
// it becomes a map.
const roomSetListMax = 16

// roomSet is the rooms of one socket: a short slice (most sockets are in
// their own room and a few more), a map beyond roomSetListMax.
type roomSet struct {
	list []string
	m    map[string]struct{}
}

func (rs *roomSet) len() int { return len(rs.list) + len(rs.m) }

// add adds room and says whether it was not there yet.
func (rs *roomSet) add(room string) bool {
	if rs.m != nil {
		if _, ok := rs.m[room]; ok {
			return false
		}
		rs.m[room] = struct{}{}
		return true
	}
	if slices.Contains(rs.list, room) {
		return false
	}
	if len(rs.list) < roomSetListMax {
		rs.list = append(rs.list, room)
		return true
	}
	rs.m = make(map[string]struct{}, len(rs.list)+1)
	for _, r := range rs.list {
		rs.m[r] = struct{}{}
	}
	rs.m[room] = struct{}{}
	rs.list = nil
	return true
}

// del removes room and says whether it was there.
func (rs *roomSet) del(room string) bool {
	if rs.m != nil {
		_, ok := rs.m[room]
		delete(rs.m, room)
		return ok
	}
	if i := slices.Index(rs.list, room); i >= 0 {
		rs.list = slices.Delete(rs.list, i, i+1)
		return true
	}
	return false
}

// all iterates over the rooms.
func (rs *roomSet) all(yield func(string) bool) {
	for _, r := range rs.list {
		if !yield(r) {
			return
		}
	}
	for r := range rs.m {
		if !yield(r) {
			return
		}
	}
}

// NewMemoryAdapter returns the in-memory adapter of nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	return &MemoryAdapter{
		nsp:   nsp,
		rooms: make(map[string]members),
		sids:  make(map[string]roomSet),
	}
}

func (a *MemoryAdapter) AddAll(id string, rooms []string) {
	// Keep the *Socket next to its id so that a broadcast needs no lookup.
	sock, _ := a.nsp.Socket(id)
	watching := a.watching()
	var buf [4]RoomChange // most joins are one or a few rooms: no allocation
	changes := buf[:0]
	a.mu.Lock()
	mine := a.sids[id]
	for _, r := range rooms {
		if mine.add(r) && watching {
			changes = append(changes, RoomChange{Socket: id, Room: r, Joined: true})
		}
		ms := a.rooms[r]
		ms.add(id, sock)
		a.rooms[r] = ms
	}
	a.sids[id] = mine
	a.mu.Unlock()
	a.report(changes)
}

func (a *MemoryAdapter) Del(id, room string) {
	a.mu.Lock()
	had := false
	if mine, ok := a.sids[id]; ok {
		had = mine.del(room)
		a.sids[id] = mine
	}
	a.delMember(room, id)
	a.mu.Unlock()
	if had {
		a.report([]RoomChange{{Socket: id, Room: room}})
	}
}

func (a *MemoryAdapter) delMember(room, id string) {
	ms, ok := a.rooms[room]
	if !ok {
		return
	}
	if ms.del(id) {
		delete(a.rooms, room)
	} else {
		a.rooms[room] = ms
	}
}

func (a *MemoryAdapter) DelAll(id string) {
	watching := a.watching()
	var changes []RoomChange
	a.mu.Lock()
	mine := a.sids[id]
	for r := range mine.all {
		a.delMember(r, id)
		if watching {
			changes = append(changes, RoomChange{Socket: id, Room: r})
		}
	}
	delete(a.sids, id)
	a.mu.Unlock()
	a.report(changes)
}

func (a *MemoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	mine := a.sids[id]
	out := make([]string, 0, mine.len())
	for r := range mine.all {
		out = append(out, r)
	}
	a.mu.RUnlock()
	sort.Strings(out)
	return out
}

func (a *MemoryAdapter) Rooms() []Room {
	a.mu.RLock()
	out := make([]Room, 0, len(a.rooms))
	for name, ms := range a.rooms {
		r := Room{Name: name, Members: make([]string, 0, ms.len())}
		for id := range ms.all {
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
			ms := a.rooms[r]
			for id := range ms.all {
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
		ms := a.rooms[opts.Rooms[0]]
		out := make([]string, 0, ms.len())
		for id := range ms.all {
			if _, skip := except[id]; !skip {
				out = append(out, id)
			}
		}
		return out
	}
	seen := make(map[string]struct{})
	var out []string
	for _, r := range opts.Rooms {
		ms := a.rooms[r]
		for id := range ms.all {
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
func (a *MemoryAdapter) Broadcast(out *Outgoing, opts BroadcastOptions) error {
	if opts.flush == nil && opts.Batch != nil {
		opts.flush = &opts.Batch.fb
	}
	var socks []*Socket
	a.mu.RLock()
	if len(opts.Rooms) == 1 && len(opts.Except) == 0 {
		ms := a.rooms[opts.Rooms[0]]
		socks = make([]*Socket, 0, ms.len())
		for _, s := range ms.all {
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
		_ = s.sendVia(out, opts.Volatile, opts.flush)
	}
	return nil
}

func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]RemoteSocket, error) {
	socks := a.nsp.lookupSockets(nil, a.Sockets(opts))
	out := make([]RemoteSocket, len(socks))
	for i, s := range socks {
		out[i] = RemoteSocket{ID: s.id, Namespace: a.nsp.name, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data(), nsp: a.nsp}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a *MemoryAdapter) AddSockets(opts BroadcastOptions, rooms []string) error {
	for _, id := range a.Sockets(opts) {
		a.AddAll(id, rooms)
	}
	return nil
}

func (a *MemoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) error {
	for _, id := range a.Sockets(opts) {
		for _, r := range rooms {
			a.Del(id, r)
		}
	}
	return nil
}

func (a *MemoryAdapter) DisconnectSockets(opts BroadcastOptions, close bool) error {
	for _, s := range a.nsp.lookupSockets(nil, a.Sockets(opts)) {
		s.Disconnect(close)
	}
	return nil
}

// NewRemoteSocket makes the RemoteSocket of a socket on another node, for
// a multi-node adapter's FetchSockets; its methods act through nsp's
// adapter.
func NewRemoteSocket(nsp *Namespace, id string, h Handshake, rooms []string, data map[string]any, node string) RemoteSocket {
	return RemoteSocket{ID: id, Namespace: nsp.name, Handshake: h, Rooms: rooms, Data: data, Node: node, nsp: nsp}
}

// BroadcastWithAck sends the EVENT packet p (its data [event, ...args])
// to the local sockets selected by opts under one new ack id of the
// namespace (socket.io-adapter's broadcastWithAck) and returns how many it
// was sent to. ack gets each socket's answer, on that socket's reader
// goroutine; an answer later than timeout is dropped (timeout > 0 is
// required: the waiters of silent sockets must not pile up).
func (a *MemoryAdapter) BroadcastWithAck(p protocol.Packet, opts BroadcastOptions, timeout time.Duration, ack func(Args)) (int, error) {
	if timeout <= 0 {
		return 0, errors.New("broadcast with ack: no timeout")
	}
	p.ID, p.HasID = a.nsp.nextAckID(), true
	p.Namespace = a.nsp.name
	out, err := encodePacket(a.nsp.srv.opts.Codec, p)
	if err != nil {
		return 0, fmt.Errorf("broadcast with ack: %w", err)
	}
	n := 0
	for _, s := range a.nsp.lookupSockets(nil, a.Sockets(opts)) {
		w := &ackWaiter{fn: func(args Args, err error) {
			if err == nil {
				ack(args)
			}
		}}
		if !s.addAck(p.ID, w) {
			continue
		}
		s.ackMu.Lock()
		w.timer = time.AfterFunc(timeout, func() { s.takeAck(p.ID) })
		s.ackMu.Unlock()
		if err := s.send(out, opts.Volatile); err != nil {
			s.takeAck(p.ID)
			continue
		}
		n++
	}
	return n, nil
}

// ClusterAcker is an Adapter whose acknowledged broadcasts reach the
// sockets of other nodes too (a Redis adapter). EmitWithAck uses it when
// the namespace's adapter has it.
type ClusterAcker interface {
	// BroadcastWithAckCluster sends p to the selected sockets of every
	// node; clientCount gets each node's number of targets and ack each
	// answer, until ctx ends. It returns the number of nodes expected to
	// report a clientCount.
	BroadcastWithAckCluster(ctx context.Context, p protocol.Packet, opts BroadcastOptions, clientCount func(int), ack func(Args)) (nodes int, err error)
}
