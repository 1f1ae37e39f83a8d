package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Middleware runs for each socket connecting to a namespace, before it is
// connected, in the order given to Use. Returning an error refuses the
// connection with a CONNECT_ERROR: a *ConnectError sets its message and
// data, any other error gives its text as the message. It runs on the
// connection's reader goroutine, so it may block that connection only.
type Middleware func(s *Socket) error

// ConnectError refuses a connection from a Middleware. On the wire (v5):
// {"message": Message, "data": Data}, data left out when nil. For a
// socket.io 2 client: Data when set, else Message.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// Namespace is a communication channel multiplexed on the connections
// (socket.io's Namespace). Its methods are safe for concurrent use.
type Namespace struct {
	name    string // "" for a parent (OfFunc) namespace
	srv     *Server
	parent  *Namespace
	match   func(name string, auth json.RawMessage) bool
	adapter Adapter
	rec     *recoveryStore // nil unless Options.Recovery
	ackID   atomic.Uint64

	mu          sync.RWMutex
	sockets     map[string]*Socket
	middlewares []Middleware
	onConn      []func(*Socket)
	children    []*Namespace // a parent's; a child knows its index, for O(1) removal
	childIdx    int
	// For a removable child (Options.CleanupEmptyChildNamespaces): the
	// CONNECTs between lookup and registration, which keep it alive while
	// its last socket leaves, and whether it has left the server.
	pending int
	removed bool
}

func newNamespace(srv *Server, name string, parent *Namespace) *Namespace {
	n := &Namespace{name: name, srv: srv, parent: parent, sockets: make(map[string]*Socket)}
	if name != "" {
		n.adapter = srv.opts.Adapter(n)
		if f := srv.opts.OnRoomChange; f != nil {
			if w, ok := n.adapter.(RoomWatcher); ok {
				w.WatchRooms(func(c RoomChange) { f(n, c) })
			} else {
				srv.log.Warn("socket.io: the adapter does not report room changes (server.RoomWatcher): OnRoomChange is not called", "nsp", name, "adapter", fmt.Sprintf("%T", n.adapter))
			}
		}
		if srv.opts.Recovery > 0 {
			n.rec = newRecoveryStore(srv.opts.Recovery, srv.opts.RecoveryBuffer, srv.opts.Now)
		}
	}
	return n
}

// Name is the namespace's name, such as "/" or "/admin"; "" for a parent
// namespace made by OfFunc.
func (n *Namespace) Name() string { return n.name }

// Server is the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter is the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use appends a middleware.
func (n *Namespace) Use(mw Middleware) *Namespace {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, mw)
	n.mu.Unlock()
	return n
}

// OnConnection adds a handler called for each socket once it is connected,
// on the connection's reader goroutine, after the CONNECT reply was queued:
// what it emits reaches the client after the reply.
func (n *Namespace) OnConnection(fn func(s *Socket)) *Namespace {
	n.mu.Lock()
	n.onConn = append(n.onConn, fn)
	n.mu.Unlock()
	return n
}

func (n *Namespace) addChild(c *Namespace) {
	n.mu.Lock()
	c.childIdx = len(n.children)
	n.children = append(n.children, c)
	n.mu.Unlock()
}

// removeChild forgets c by swapping the last child into its place: with
// many children, one leaving must not cost a shift of all the others.
func (n *Namespace) removeChild(c *Namespace) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := c.childIdx
	if i >= len(n.children) || n.children[i] != c {
		return
	}
	last := len(n.children) - 1
	n.children[i] = n.children[last]
	n.children[i].childIdx = i
	n.children[last] = nil
	n.children = n.children[:last]
}

// removable reports whether n goes away once empty: a child of OfFunc
// with Options.CleanupEmptyChildNamespaces.
func (n *Namespace) removable() bool {
	return n.parent != nil && n.srv.opts.CleanupEmptyChildNamespaces
}

// hold marks a CONNECT in progress; the caller holds srv.mu (read or
// write), so that n cannot be removed between its lookup and this.
func (n *Namespace) hold() {
	if n.removable() {
		n.mu.Lock()
		n.pending++
		n.mu.Unlock()
	}
}

// release ends what hold began, removing n if it is now empty (the
// CONNECT was refused, or its socket already left).
func (n *Namespace) release() {
	if !n.removable() {
		return
	}
	n.mu.Lock()
	n.pending--
	empty := n.pending == 0 && len(n.sockets) == 0
	n.mu.Unlock()
	if empty {
		n.srv.removeNamespace(n)
	}
}

// targets returns the concrete namespaces a broadcast on n reaches.
func (n *Namespace) targets() []*Namespace {
	if n.name != "" {
		return []*Namespace{n}
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return append([]*Namespace(nil), n.children...)
}

func (n *Namespace) chain() ([]Middleware, []func(*Socket)) {
	var mws []Middleware
	var hs []func(*Socket)
	if n.parent != nil {
		n.parent.mu.RLock()
		mws = append(mws, n.parent.middlewares...)
		hs = append(hs, n.parent.onConn...)
		n.parent.mu.RUnlock()
	}
	n.mu.RLock()
	mws = append(mws, n.middlewares...)
	hs = append(hs, n.onConn...)
	n.mu.RUnlock()
	return mws, hs
}

func (n *Namespace) nextAckID() uint64 { return n.ackID.Add(1) - 1 }

// socketID makes the id of a new socket: random in v5; in v4 (socket.io 2)
// the engine.io sid for "/" and "<nsp>#<sid>" for the others.
func (n *Namespace) socketID(c *conn) string {
	if c.eio == protocol.EIO3 {
		if n.name == "/" {
			return c.sess.ID()
		}
		return n.name + "#" + c.sess.ID()
	}
	return n.srv.opts.NewID()
}

// add runs a CONNECT: recovery, middlewares, then connect. It ends the
// hold that lookupNamespace put on n.
func (n *Namespace) add(c *conn, auth json.RawMessage) {
	defer n.release()
	if n.rec != nil && c.eio == protocol.EIO4 {
		if s, seq, ok := n.tryRecover(c, auth); ok {
			n.doConnect(s, seq)
			return
		}
	}
	s := newSocket(n, c, n.socketID(c), auth)
	if n.rec != nil && c.eio == protocol.EIO4 {
		s.rec = &socketRecovery{pid: n.srv.opts.NewID()}
	}
	mws, _ := n.chain()
	for _, mw := range mws {
		if err := n.runMiddleware(mw, s); err != nil {
			c.sendConnectError(n.name, connectErrorData(err, c.eio))
			return
		}
	}
	n.doConnect(s, 0)
}

func (n *Namespace) runMiddleware(mw Middleware, s *Socket) (err error) {
	defer func() {
		if r := recover(); r != nil {
			n.srv.log.Error("socket.io: middleware panicked", "nsp", n.name, "panic", r)
			err = &ConnectError{Message: "server error"}
		}
	}()
	return mw(s)
}

// connectErrorData is the CONNECT_ERROR payload: {message, data} in v5,
// err.data || err.message in v4.
func connectErrorData(err error, v protocol.EIO) json.RawMessage {
	msg := err.Error()
	var data any
	var ce *ConnectError
	if errors.As(err, &ce) {
		msg, data = ce.Message, ce.Data
	}
	if v == protocol.EIO3 {
		var out []byte
		var e error
		if data != nil {
			out, e = protocol.AppendValue(nil, data, nil)
		}
		if data == nil || e != nil {
			out = protocol.AppendString(nil, msg)
		}
		return out
	}
	out := append([]byte(`{"message":`), protocol.AppendString(nil, msg)...)
	if data != nil {
		if d, e := protocol.AppendValue(nil, data, nil); e == nil {
			out = append(out, `,"data":`...)
			out = append(out, d...)
		}
	}
	return append(out, '}')
}

// doConnect registers s, joins its rooms, replays the packets it missed
// after recovery offset seq (when recovered), sends the CONNECT reply and
// runs the connection handlers.
func (n *Namespace) doConnect(s *Socket, seq uint64) {
	c := s.conn
	if !c.register(s) {
		return
	}
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()

	// Join first, so that no broadcast made after the reply is missed; what
	// arrives before the reply is held by Socket.send until markReady.
	rooms := []string{s.id}
	if s.rec != nil {
		rooms = append(rooms, s.rec.restoredRooms...)
	}
	n.adapter.AddAll(s.id, rooms)
	if s.recovered {
		// Read the missed packets only now that the socket is in its rooms:
		// a broadcast stored later reaches it through the adapter, one stored
		// earlier is replayed here, and skipUpTo drops the adapter's copy of
		// those (Node does both in one tick).
		missed, upTo := n.rec.since(seq, rooms)
		s.rec.skipUpTo.Store(upTo)
		for _, out := range missed {
			_ = s.sendNow(out, false, nil)
		}
	}
	var data json.RawMessage
	if c.eio == protocol.EIO4 {
		data = append([]byte(`{"sid":`), protocol.AppendString(nil, s.id)...)
		if s.rec != nil {
			data = append(data, `,"pid":`...)
			data = protocol.AppendString(data, s.rec.pid)
		}
		data = append(data, '}')
	}
	if out, err := encodePacket(n.srv.opts.Codec, protocol.Packet{Type: protocol.PacketConnect, Namespace: n.name, Data: data}); err == nil {
		_ = s.sendNow(out, false, nil)
	}
	s.markReady()
	s.connected.Store(true)
	if s.closed.Load() {
		// Closed while connecting: undo the join. onclose may have run
		// before s was in n.sockets, leaving it there for good (and a
		// removable namespace never empty).
		n.adapter.DelAll(s.id)
		n.removeSocket(s)
		return
	}
	n.srv.log.Debug("socket.io: socket connected", "nsp", n.name, "id", s.id, "recovered", s.recovered)
	if h := n.srv.opts.OnConnect; h != nil {
		n.srv.callHook(func() { h(s) })
	}
	_, handlers := n.chain()
	for _, h := range handlers {
		if !s.call(func() { h(s) }) {
			return
		}
	}
}

func (n *Namespace) removeSocket(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	empty := len(n.sockets) == 0 && n.pending == 0
	n.mu.Unlock()
	if empty && n.removable() {
		n.srv.removeNamespace(n)
	}
}

// closeAdapter closes an adapter that has a Close method, as Node closes
// the adapter of a child namespace it removes.
func (n *Namespace) closeAdapter() {
	switch a := n.adapter.(type) {
	case interface{ Close() }:
		a.Close()
	case interface{ Close() error }:
		if err := a.Close(); err != nil {
			n.srv.log.Warn("socket.io: closing the adapter of a removed namespace", "nsp", n.name, "err", err)
		}
	}
}

// Socket returns the connected socket with this id on this server.
func (n *Namespace) Socket(id string) (*Socket, bool) {
	n.mu.RLock()
	s, ok := n.sockets[id]
	n.mu.RUnlock()
	return s, ok
}

// SocketCount is the number of connected sockets.
func (n *Namespace) SocketCount() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// SocketInfos describes the connected sockets, sorted by id.
func (n *Namespace) SocketInfos() []SocketInfo {
	n.mu.RLock()
	socks := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		socks = append(socks, s)
	}
	n.mu.RUnlock()
	out := make([]SocketInfo, len(socks))
	for i, s := range socks {
		out[i] = s.Info()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Rooms lists the rooms of this namespace with their members, including
// the private room each socket has under its own id.
func (n *Namespace) Rooms() []Room {
	if n.adapter == nil {
		return nil
	}
	return n.adapter.Rooms()
}

// lookupSockets resolves ids to connected sockets, appending to dst.
func (n *Namespace) lookupSockets(dst []*Socket, ids []string) []*Socket {
	n.mu.RLock()
	for _, id := range ids {
		if s, ok := n.sockets[id]; ok {
			dst = append(dst, s)
		}
	}
	n.mu.RUnlock()
	return dst
}

// BroadcastOperator helpers on the namespace itself.

func (n *Namespace) op() BroadcastOperator { return BroadcastOperator{nsp: n} }

// To selects the sockets in rooms (union).
func (n *Namespace) To(rooms ...string) BroadcastOperator { return n.op().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.op().To(rooms...) }

// Except excludes the sockets in rooms.
func (n *Namespace) Except(rooms ...string) BroadcastOperator { return n.op().Except(rooms...) }

// Volatile marks the packets as droppable.
func (n *Namespace) Volatile() BroadcastOperator { return n.op().Volatile() }

// Compress sets the compression hint.
func (n *Namespace) Compress(c bool) BroadcastOperator { return n.op().Compress(c) }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.op().Emit(event, args...) }

// EmitWithAck sends an event to every socket and collects one ack each.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return n.op().EmitWithAck(ctx, event, args...)
}

// FetchSockets returns the sockets of the namespace.
func (n *Namespace) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	return n.op().FetchSockets(ctx)
}

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.op().SocketsJoin(rooms...) }

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.op().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket.
func (n *Namespace) DisconnectSockets(close bool) error { return n.op().DisconnectSockets(close) }

// Local selects the sockets of this server only (socket.io's io.local).
func (n *Namespace) Local() BroadcastOperator { return n.op().Local() }

// EncodePacket encodes p with the server's codec, for an adapter that
// delivers a packet received from another node: the Outgoing can be
// handed to MemoryAdapter.Broadcast.
func (n *Namespace) EncodePacket(p protocol.Packet) (*Outgoing, error) {
	return encodePacket(n.srv.opts.Codec, p)
}

// broadcast encodes the event once and hands it to the adapter. With
// recovery on, a non-volatile packet gets an offset and is stored.
func (n *Namespace) broadcast(opts BroadcastOptions, event string, args []any) error {
	if n.rec != nil && !opts.Volatile {
		out, err := n.rec.storeEvent(n.srv.opts.Codec, n.name, event, args, opts)
		if err != nil {
			return fmt.Errorf("emit %q: %w", event, err)
		}
		return n.adapter.Broadcast(out, opts)
	}
	out, err := encodeEvent(n.srv.opts.Codec, n.name, event, args, 0, false, "")
	if err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	return n.adapter.Broadcast(out, opts)
}
