package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"

	"github.com/sio-dev/sio/pkg/server/eioserver"
)

// Handshake is what a socket knows about how it connected (socket.io's
// socket.handshake).
type Handshake struct {
	Headers http.Header     // of the Engine.IO handshake request
	Query   url.Values      // of the Engine.IO handshake request
	Auth    json.RawMessage // the CONNECT payload ({} when none; v4: the namespace query)
	Address string          // remote address
	Time    time.Time       // when the connection was opened
	Secure  bool            // TLS
	URL     string          // request URI
}

// Socket is one client connected to one namespace. Its methods are safe
// for concurrent use.
type Socket struct {
	id        string
	nsp       *Namespace
	conn      *conn
	auth      json.RawMessage // the CONNECT payload; the rest of Handshake is the conn's request
	since     time.Time
	recovered bool
	// rec is the socket's connection state recovery (nil when the
	// namespace has none, or the client is v2): kept apart, these fields
	// cost every socket 40 bytes. Set before the socket is published.
	rec *socketRecovery

	connected     atomic.Bool
	closed        atomic.Bool
	disconnecting atomic.Bool // Disconnect(false) sends DISCONNECT once
	ready         atomic.Bool // the CONNECT reply is queued

	pendMu  sync.Mutex // guards pending; held only to queue (never blocks)
	pending []*Outgoing

	mu              sync.Mutex
	handlers        map[string]handler
	anyHandlers     []func(*Event)
	onDisconnect    []func(protocol.DisconnectReason)
	onDisconnecting []func(protocol.DisconnectReason)
	data            map[string]any

	ackMu sync.Mutex
	acks  map[uint64]*ackWaiter

	packetsIn, packetsOut atomic.Uint64
	bytesIn, bytesOut     atomic.Uint64
}

// socketRecovery is what connection state recovery keeps in a socket.
type socketRecovery struct {
	pid           string   // the private id a reconnection presents
	restoredRooms []string // set before connect by recovery
	// skipUpTo: recovery replayed the stored packets up to this sequence
	// number; their copies coming through the adapter are dropped.
	skipUpTo atomic.Uint64
}

func newSocket(n *Namespace, c *conn, id string, auth json.RawMessage) *Socket {
	return &Socket{
		id:    id,
		nsp:   n,
		conn:  c,
		auth:  auth,
		since: n.srv.opts.Now(),
	}
}

// ID is the socket id (random in v5; the engine.io sid, or
// "<nsp>#<sid>", for socket.io 2 clients).
func (s *Socket) ID() string { return s.id }

// EngineID is the id of the Engine.IO session the socket rides on.
func (s *Socket) EngineID() string { return s.conn.sess.ID() }

// EIO is the Engine.IO revision of the client.
func (s *Socket) EIO() protocol.EIO { return s.conn.eio }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake describes the connection. Headers and Query are new maps on
// each call (an idle socket keeps its request packed).
func (s *Socket) Handshake() Handshake {
	r := s.conn.req
	return Handshake{
		Headers: r.Header(),
		Query:   r.Query(),
		Auth:    s.auth,
		Address: r.RemoteAddr,
		Time:    r.Time,
		Secure:  r.Secure,
		URL:     r.URL,
	}
}

// Transport is "polling" or "websocket", the current transport.
func (s *Socket) Transport() string { return s.conn.sess.Transport() }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.connected.Load() && !s.closed.Load() }

// Recovered reports whether the socket was restored by connection state
// recovery (same id, rooms and data as before the disconnection).
func (s *Socket) Recovered() bool { return s.recovered }

// Set stores a value in the socket's data (socket.data in Node), kept
// across a recovered reconnection.
func (s *Socket) Set(key string, v any) {
	s.mu.Lock()
	if s.data == nil {
		s.data = make(map[string]any)
	}
	s.data[key] = v
	s.mu.Unlock()
}

// Get returns a value stored with Set.
func (s *Socket) Get(key string) (any, bool) {
	s.mu.Lock()
	v, ok := s.data[key]
	s.mu.Unlock()
	return v, ok
}

// Data returns a copy of the socket's data.
func (s *Socket) Data() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.data)
}

// On sets the handler of an event, replacing any previous one. Handlers
// run on the connection's reader goroutine, one at a time, in arrival
// order; a slow handler delays only its own connection. A panic in a
// handler disconnects this socket only.
func (s *Socket) On(event string, fn func(*Event)) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string]handler)
	}
	s.handlers[event] = handler{name: event, fn: fn}
	s.mu.Unlock()
}

// Off removes the handler of an event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	delete(s.handlers, event)
	s.mu.Unlock()
}

// OnAny adds a handler that sees every incoming event before its own
// handler.
func (s *Socket) OnAny(fn func(*Event)) {
	s.mu.Lock()
	s.anyHandlers = append(s.anyHandlers, fn)
	s.mu.Unlock()
}

// OnDisconnecting adds a callback run when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(fn func(reason protocol.DisconnectReason)) {
	s.mu.Lock()
	s.onDisconnecting = append(s.onDisconnecting, fn)
	s.mu.Unlock()
}

// OnDisconnect adds a callback run once when the socket has disconnected,
// with Node's reason ("client namespace disconnect", "transport close", …).
// It runs on whichever goroutine ended the socket.
func (s *Socket) OnDisconnect(fn func(reason protocol.DisconnectReason)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// call runs user code for this socket; a panic is logged and disconnects
// the socket. It reports whether the code returned normally.
func (s *Socket) call(fn func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.log.Error("socket.io: handler panicked, disconnecting the socket",
				"nsp", s.nsp.name, "id", s.id, "panic", r, "stack", string(debug.Stack()))
			s.Disconnect(false)
			ok = false
		}
	}()
	fn()
	return true
}

func (s *Socket) countIn(p *protocol.Packet) {
	s.packetsIn.Add(1)
	n := len(p.Data)
	for _, a := range p.Attachments {
		n += len(a)
	}
	s.bytesIn.Add(uint64(n))
}

// handler is an event handler and its name (which names incoming events
// without allocating a string per event).
type handler struct {
	name string
	fn   func(*Event)
}

func (s *Socket) onEvent(p *protocol.Packet) {
	elems, ok := protocol.SplitValidArray(p.Data)
	if !ok || len(elems) == 0 {
		s.conn.srv.log.Warn("socket.io: bad event", "id", s.id)
		s.conn.close()
		return
	}
	name := nameBytes(elems[0])
	s.mu.Lock()
	h, found := s.handlers[string(name)]
	anys := s.anyHandlers
	s.mu.Unlock()
	ev := &Event{Args: Args{Raw: elems[1:], Attachments: p.Attachments}, socket: s, id: p.ID, hasID: p.HasID}
	if found {
		ev.Name = h.name
	} else {
		ev.Name = string(name)
	}
	for _, a := range anys {
		if !s.call(func() { a(ev) }) {
			return
		}
	}
	if found {
		s.call(func() { h.fn(ev) })
	}
}

// ackWaiter waits for one ACK: fn is called once with the result.
type ackWaiter struct {
	fn    func(Args, error)
	timer *time.Timer
}

func (s *Socket) addAck(id uint64, w *ackWaiter) bool {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if s.closed.Load() {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[uint64]*ackWaiter)
	}
	s.acks[id] = w
	return true
}

func (s *Socket) takeAck(id uint64) *ackWaiter {
	s.ackMu.Lock()
	w := s.acks[id]
	var t *time.Timer
	if w != nil {
		delete(s.acks, id)
		t = w.timer
	}
	s.ackMu.Unlock()
	if t != nil {
		t.Stop()
	}
	return w
}

// errAckNotArray reports ACK data that is not an array, which the packet
// decoders already refuse.
var errAckNotArray = errors.New("data is not an array")

func (s *Socket) onAck(p *protocol.Packet) {
	w := s.takeAck(p.ID)
	if w == nil {
		return // unknown or expired id: ignored, as Node
	}
	// The packet decoder validated the JSON: split it without a second pass.
	raw, ok := protocol.SplitValidArray(p.Data)
	if !ok {
		w.fn(Args{}, fmt.Errorf("ack %d: %w", p.ID, errAckNotArray))
		return
	}
	args := Args{Raw: raw, Attachments: p.Attachments}
	s.call(func() { w.fn(args, nil) })
}

// DisconnectedError is returned for an acknowledgement that can never
// arrive because the socket disconnected.
type DisconnectedError struct {
	Reason protocol.DisconnectReason
}

func (e *DisconnectedError) Error() string { return "socket disconnected: " + string(e.Reason) }

// Is makes errors.Is(err, ErrDisconnected) true.
func (e *DisconnectedError) Is(target error) bool { return target == ErrDisconnected }

// ErrDisconnected means the socket is not connected.
var ErrDisconnected = errors.New("socket disconnected")

// ErrReservedEvent is returned when emitting a name Socket.IO reserves
// ("connect", "disconnect", …, PROTOCOL.md §2.8).
var ErrReservedEvent = errors.New("reserved event name")

// ErrAckTimeout is passed to an EmitWithAckFunc callback whose timeout
// expired.
var ErrAckTimeout = errors.New("acknowledgement timed out")

func checkEvent(event string) error {
	if protocol.IsReservedEvent(event) {
		return fmt.Errorf("emit %q: %w", event, ErrReservedEvent)
	}
	return nil
}

// Emit sends an event to this socket. Arguments are encoded as JSON:
// json.RawMessage is sent as is, and every []byte (also inside []any and
// map[string]any) travels as a binary attachment. Emit never blocks; if the
// connection's send queue is full the connection is closed as too slow.
func (s *Socket) Emit(event string, args ...any) error {
	if err := checkEvent(event); err != nil {
		return err
	}
	if s.nsp.rec != nil && s.conn.eio == protocol.EIO4 {
		// With recovery on, direct emits are stored with an offset too.
		return s.nsp.broadcast(BroadcastOptions{Rooms: []string{s.id}}, event, args)
	}
	out, err := encodeEvent(s.nsp.srv.opts.Codec, s.nsp.name, event, args, 0, false, "")
	if err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	return s.send(out, false)
}

// Send emits a "message" event (socket.send in Node).
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitWithAck sends an event asking for an acknowledgement and waits for
// it, for ctx, or for the socket to disconnect (*DisconnectedError).
// Do not call it from this socket's own handlers: they run on the
// goroutine that would deliver the ack, so it would wait until ctx ends.
// Use EmitWithAckFunc there.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	ch := make(chan ackResult, 1)
	id, err := s.emitWithAck(event, args, func(a Args, err error) { ch <- ackResult{a, err} }, 0)
	if err != nil {
		return Args{}, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.takeAck(id)
		return Args{}, fmt.Errorf("emit %q: %w", event, ctx.Err())
	}
}

type ackResult struct {
	args Args
	err  error
}

// EmitWithAckFunc sends an event asking for an acknowledgement and
// returns at once. fn is called once: with the ack's arguments (on the
// connection's reader goroutine), with ErrAckTimeout after timeout (0 means
// no timeout), or with a *DisconnectedError.
func (s *Socket) EmitWithAckFunc(event string, timeout time.Duration, fn func(Args, error), args ...any) error {
	_, err := s.emitWithAck(event, args, fn, timeout)
	return err
}

func (s *Socket) emitWithAck(event string, args []any, fn func(Args, error), timeout time.Duration) (uint64, error) {
	if err := checkEvent(event); err != nil {
		return 0, err
	}
	id := s.nsp.nextAckID()
	out, err := encodeEvent(s.nsp.srv.opts.Codec, s.nsp.name, event, args, id, true, "")
	if err != nil {
		return 0, fmt.Errorf("emit %q: %w", event, err)
	}
	w := &ackWaiter{fn: fn}
	if !s.addAck(id, w) {
		return 0, fmt.Errorf("emit %q: %w", event, ErrDisconnected)
	}
	if timeout > 0 {
		// Armed after registration; takeAck stops it, so fn runs once.
		s.ackMu.Lock()
		w.timer = time.AfterFunc(timeout, func() {
			if s.takeAck(id) != nil {
				fn(Args{}, fmt.Errorf("emit %q: %w", event, ErrAckTimeout))
			}
		})
		s.ackMu.Unlock()
	}
	if err := s.send(out, false); err != nil {
		s.takeAck(id)
		return 0, fmt.Errorf("emit %q: %w", event, err)
	}
	return id, nil
}

// sendAck answers an event.
func (s *Socket) sendAck(id uint64, args []any) error {
	out, err := encodeAck(s.nsp.srv.opts.Codec, s.nsp.name, id, args)
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return s.send(out, false)
}

func (s *Socket) sendDisconnect() {
	if out, err := encodePacket(s.nsp.srv.opts.Codec, protocol.Packet{Type: protocol.PacketDisconnect, Namespace: s.nsp.name}); err == nil {
		_ = s.sendNow(out, false, nil)
	}
}

// maxPending bounds the packets held for a socket between its joining the
// adapter and its CONNECT reply (a few microseconds).
const maxPending = 256

// send queues an encoded packet on the socket's connection. Until the
// CONNECT reply is queued, packets are held so that nothing reaches the
// client before it. A volatile packet is dropped when the transport cannot
// take it now.
func (s *Socket) send(out *Outgoing, volatile bool) error {
	return s.sendVia(out, volatile, nil)
}

// flushBatch is the FlushBatch of the socket's engine.io reader (nil when
// the session has none).
func (s *Socket) flushBatch() *eioserver.FlushBatch {
	if fs, ok := s.conn.sess.(interface{ FlushBatch() *eioserver.FlushBatch }); ok {
		return fs.FlushBatch()
	}
	return nil
}

// deferredSender is implemented by eioserver.Session.
type deferredSender interface {
	SendDeferred(b *eioserver.FlushBatch, msgs ...protocol.EnginePacket) error
}

// sendVia is send, deferring the write to the end of fb (the sender's
// engine.io read) when fb is not nil.
func (s *Socket) sendVia(out *Outgoing, volatile bool, fb *eioserver.FlushBatch) error {
	if out.seq != 0 && s.rec != nil && out.seq <= s.rec.skipUpTo.Load() {
		return nil // replayed by recovery already
	}
	if !s.ready.Load() {
		s.pendMu.Lock()
		if !s.ready.Load() {
			defer s.pendMu.Unlock()
			if volatile {
				return nil
			}
			if len(s.pending) >= maxPending {
				s.nsp.srv.log.Warn("socket.io: too many packets before the CONNECT reply, dropping", "id", s.id)
				return nil
			}
			s.pending = append(s.pending, out)
			return nil
		}
		s.pendMu.Unlock()
	}
	return s.sendNow(out, volatile, fb)
}

// markReady sends what was held and lets later packets through, in order.
func (s *Socket) markReady() {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	for _, out := range s.pending {
		_ = s.sendNow(out, false, nil)
	}
	s.pending = nil
	s.ready.Store(true)
}

// sendNow queues an encoded packet on the connection.
func (s *Socket) sendNow(out *Outgoing, volatile bool, fb *eioserver.FlushBatch) error {
	c := s.conn
	if volatile {
		if !c.sess.SendVolatile(out.Frames...) {
			return nil
		}
	} else if ds, ok := c.sess.(deferredSender); ok && fb != nil {
		if err := ds.SendDeferred(fb, out.Frames...); err != nil {
			return err
		}
	} else if err := c.sess.Send(out.Frames...); err != nil {
		return err
	}
	s.packetsOut.Add(1)
	n := 0
	for _, f := range out.Frames {
		n += len(f.Data)
	}
	s.bytesOut.Add(uint64(n))
	if c.srv.opts.Tap != nil {
		c.traceSocket(protocol.Out, s, &out.Packet, out.Frames)
	}
	return nil
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	if len(rooms) == 0 || s.closed.Load() {
		return
	}
	s.nsp.adapter.AddAll(s.id, rooms)
	if s.closed.Load() {
		// raced with the disconnection: leave no stale membership
		s.nsp.adapter.DelAll(s.id)
	}
}

// Leave removes the socket from a room.
func (s *Socket) Leave(room string) { s.nsp.adapter.Del(s.id, room) }

// Rooms lists the rooms the socket is in, its own id included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

// op returns a BroadcastOperator that leaves this socket out (socket.to,
// socket.broadcast).
func (s *Socket) op() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, except: []string{s.id}, from: s}
}

// To targets the sockets in rooms, except this one.
func (s *Socket) To(rooms ...string) BroadcastOperator { return s.op().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.op().To(rooms...) }

// Except targets every socket of the namespace except this one and those
// in rooms.
func (s *Socket) Except(rooms ...string) BroadcastOperator { return s.op().Except(rooms...) }

// Broadcast targets every other socket of the namespace.
func (s *Socket) Broadcast() BroadcastOperator { return s.op() }

// Volatile returns an operator that sends to this socket only, dropping
// the packet when its transport cannot take it right now.
func (s *Socket) Volatile() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, rooms: []string{s.id}, volatile: true}
}

// Compress returns an operator that sends to this socket only with the
// compression hint set (permessage-deflate is off by default, as Node).
func (s *Socket) Compress(c bool) BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, rooms: []string{s.id}, compress: &c}
}

// Disconnect disconnects the socket from its namespace: DISCONNECT is sent
// and the reason is "server namespace disconnect". With close, every socket
// of the connection is disconnected and the connection closed.
func (s *Socket) Disconnect(close bool) {
	if s.closed.Load() {
		return
	}
	if close {
		s.conn.disconnectAll()
		return
	}
	if !s.disconnecting.CompareAndSwap(false, true) {
		return
	}
	s.conn.unregister(s)
	s.sendDisconnect()
	s.onclose(protocol.ReasonServerNamespaceDisconnect)
}

// onclose ends the socket once: disconnecting callbacks, leave the rooms,
// fail pending acks, save the session for recovery, disconnect callbacks.
func (s *Socket) onclose(reason protocol.DisconnectReason) {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.conn.unregister(s)
	wasConnected := s.connected.Swap(false)
	s.mu.Lock()
	disconnecting := s.onDisconnecting
	disconnect := s.onDisconnect
	s.mu.Unlock()
	if wasConnected {
		for _, fn := range disconnecting {
			s.call2(func() { fn(reason) })
		}
	}
	rooms := s.nsp.adapter.SocketRooms(s.id)
	s.nsp.adapter.DelAll(s.id)
	s.nsp.removeSocket(s)

	s.ackMu.Lock()
	acks := s.acks
	s.acks = nil
	s.ackMu.Unlock()
	for _, w := range acks {
		if w.timer != nil { // no lock needed: acks is no longer shared
			w.timer.Stop()
		}
		w.fn(Args{}, &DisconnectedError{Reason: reason})
	}
	if !wasConnected {
		return
	}
	if s.nsp.rec != nil && s.rec != nil && reason.Recoverable() {
		s.nsp.rec.persist(savedSession{sid: s.id, pid: s.rec.pid, rooms: rooms, data: s.Data()})
	}
	s.nsp.srv.log.Debug("socket.io: socket disconnected", "nsp", s.nsp.name, "id", s.id, "reason", string(reason))
	if h := s.nsp.srv.opts.OnDisconnect; h != nil {
		s.nsp.srv.callHook(func() { h(s, reason) })
	}
	for _, fn := range disconnect {
		s.call2(func() { fn(reason) })
	}
}

// call2 runs a disconnect callback; a panic is only logged.
func (s *Socket) call2(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.log.Error("socket.io: disconnect handler panicked", "nsp", s.nsp.name, "id", s.id, "panic", r)
		}
	}()
	fn()
}

// SocketInfo describes a socket for listings (sio serve).
type SocketInfo struct {
	ID          string
	Namespace   string
	EngineID    string
	EIO         protocol.EIO
	Transport   string
	RemoteAddr  string
	Rooms       []string
	ConnectedAt time.Time
	Recovered   bool
	PacketsIn   uint64
	PacketsOut  uint64
	BytesIn     uint64
	BytesOut    uint64
}

// Info returns a snapshot of the socket.
func (s *Socket) Info() SocketInfo {
	return SocketInfo{
		ID:          s.id,
		Namespace:   s.nsp.name,
		EngineID:    s.conn.sess.ID(),
		EIO:         s.conn.eio,
		Transport:   s.conn.sess.Transport(),
		RemoteAddr:  s.conn.req.RemoteAddr,
		Rooms:       s.Rooms(),
		ConnectedAt: s.since,
		Recovered:   s.recovered,
		PacketsIn:   s.packetsIn.Load(),
		PacketsOut:  s.packetsOut.Load(),
		BytesIn:     s.bytesIn.Load(),
		BytesOut:    s.bytesOut.Load(),
	}
}
