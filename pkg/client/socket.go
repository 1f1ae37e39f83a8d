package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sio-dev/sio/pkg/protocol"
)

type socketState int

const (
	stateDisconnected socketState = iota
	stateConnecting
	stateConnected
)

type ackResult struct {
	ack *Ack
	err error
}

// Socket is one namespace on a Client's connection (socket.io-client's
// Socket). Its methods are safe for concurrent use. Handlers run on the
// connection's reader goroutine, in arrival order; a slow handler delays
// the packets behind it.
type Socket struct {
	c   *Client
	nsp string
	sid atomic.Value // string: the socket id, "" when not connected

	// mu guards the fields below; it may be held while taking Client.mu.
	mu        sync.Mutex
	state     socketState
	active    bool  // wants to be connected (reconnects)
	link      *link // the connection its CONNECT went out on
	auth      json.RawMessage
	pid       string // connection state recovery: private id
	offset    string // ... and the offset of the last event
	recovered bool
	lastErr   error // why the last connection attempt failed
	// everConnected is set by the first CONNECT reply: after it, a lost
	// connection is not a sign of a CONNECT the server could not read.
	everConnected bool
	nextID        uint64
	acks          map[uint64]chan ackResult
	sendBuf       []protocol.Packet // emits waiting for the connection
	recvBuf       []protocol.Packet // events that came before the CONNECT reply
	waiters       []chan error
	handlers      map[string][]func(*Event)
	anyHs         []func(*Event)
}

func newSocket(c *Client, nsp string) *Socket {
	s := &Socket{c: c, nsp: nsp, acks: make(map[uint64]chan ackResult), handlers: make(map[string][]func(*Event))}
	s.sid.Store("")
	return s
}

// Namespace returns the socket's namespace ("/admin").
func (s *Socket) Namespace() string { return s.nsp }

// ID returns the socket id the server gave, "" while not connected.
func (s *Socket) ID() string { return s.sid.Load().(string) }

// Connected reports whether the namespace is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateConnected
}

// Recovered reports whether the last connection restored the previous
// session (connection state recovery, PROTOCOL.md §3).
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// SetAuth sets the CONNECT payload of this namespace (a JSON object),
// instead of Options.Auth; call it before Connect.
func (s *Socket) SetAuth(auth json.RawMessage) {
	s.mu.Lock()
	s.auth = auth
	s.mu.Unlock()
}

// On registers a handler for incoming events named event.
func (s *Socket) On(event string, h func(*Event)) {
	s.mu.Lock()
	s.handlers[event] = append(s.handlers[event], h)
	s.mu.Unlock()
}

// OnAny registers a handler for every incoming event; it runs before the
// handlers of the event's name.
func (s *Socket) OnAny(h func(*Event)) {
	s.mu.Lock()
	s.anyHs = append(s.anyHs, h)
	s.mu.Unlock()
}

// Connect sends the namespace's CONNECT (now, or when the connection
// opens) and waits for the reply. It returns a *ConnectError when the
// server refuses. Once connected, the socket reconnects with its Client.
func (s *Socket) Connect(ctx context.Context) error {
	s.activate()
	return s.wait(ctx)
}

// activate marks the socket as wanting a connection and sends its CONNECT
// on the live connection.
func (s *Socket) activate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = true
	if s.state != stateDisconnected {
		return
	}
	s.state = stateConnecting
	s.lastErr = nil
	if l := s.c.currentLink(); l != nil && s.link != l {
		s.link = l
		s.sendConnect(l, false)
	}
}

// wait blocks until the socket is connected or its attempt failed.
func (s *Socket) wait(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.state == stateConnected:
		s.mu.Unlock()
		return nil
	case s.state == stateDisconnected && s.lastErr != nil:
		err := s.lastErr
		s.mu.Unlock()
		return err
	case s.state == stateDisconnected:
		s.mu.Unlock()
		return ErrNotConnected
	}
	ch := make(chan error, 1)
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		s.mu.Lock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				break
			}
		}
		cause := s.lastErr
		s.mu.Unlock()
		var coe *ClosedOnConnectError
		if errors.As(cause, &coe) {
			return fmt.Errorf("namespace %s: %w: %w (%w)", s.nsp, ErrNoConnectReply, ctx.Err(), coe)
		}
		return fmt.Errorf("namespace %s: %w: %w", s.nsp, ErrNoConnectReply, ctx.Err())
	}
}

// Disconnect leaves the namespace (sends DISCONNECT when connected); the
// connection stays open for the other namespaces. Pending acks fail.
func (s *Socket) Disconnect() error {
	s.mu.Lock()
	wasConnected := s.state == stateConnected
	var err error
	if wasConnected && s.link != nil {
		err = s.link.send(&protocol.Packet{Type: protocol.PacketDisconnect, Namespace: s.nsp})
	}
	acks, waiters := s.resetLocked()
	s.mu.Unlock()
	reason := protocol.ReasonIOClientDisconnect
	finish(acks, waiters, &DisconnectError{Namespace: s.nsp, Reason: string(reason)})
	if wasConnected {
		s.c.emitState(State{Kind: StateDisconnect, Namespace: s.nsp, Reason: reason})
	}
	return err
}

// resetLocked moves the socket to disconnected and inactive and takes
// what waits on it; s.mu is held.
func (s *Socket) resetLocked() (map[uint64]chan ackResult, []chan error) {
	s.state = stateDisconnected
	s.active = false
	s.link = nil
	s.sid.Store("")
	s.sendBuf, s.recvBuf = nil, nil
	acks, waiters := s.acks, s.waiters
	s.acks, s.waiters = make(map[uint64]chan ackResult), nil
	return acks, waiters
}

func finish(acks map[uint64]chan ackResult, waiters []chan error, err error) {
	for _, ch := range acks {
		ch <- ackResult{err: err}
	}
	for _, ch := range waiters {
		ch <- err
	}
}

// Emit sends an event with args. A []byte (anywhere inside []any and
// map[string]any values) becomes a binary attachment, a json.RawMessage
// is sent as is, a Notation's {"$binary"} objects become attachments, and
// other values are encoded with encoding/json. While the namespace is
// (re)connecting the event is buffered (up to Options.MaxBuffer).
func (s *Socket) Emit(event string, args ...any) error {
	_, _, err := s.emit(event, args, false, false)
	return err
}

// EmitVolatile sends an event that is dropped, without an error, when
// the namespace is not connected or the connection's queue is full
// (socket.volatile.emit).
func (s *Socket) EmitVolatile(event string, args ...any) error {
	_, _, err := s.emit(event, args, true, false)
	return err
}

// EmitWithAck sends an event asking for an acknowledgement and waits for
// it until ctx is done. A late ACK is ignored. When the namespace
// disconnects first, the error is a *DisconnectError.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (*Ack, error) {
	p, err := s.EmitAck(event, args...)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// EmitAck sends an event asking for an acknowledgement like EmitWithAck,
// but returns as soon as the event is queued (or buffered), so that
// events emitted one after the other keep their order on the wire; Wait
// on the result for the answer.
func (s *Socket) EmitAck(event string, args ...any) (*PendingAck, error) {
	ch, id, err := s.emit(event, args, false, true)
	if err != nil {
		return nil, err
	}
	return &PendingAck{s: s, event: event, id: id, ch: ch}, nil
}

// PendingAck is an acknowledgement requested by EmitAck and not yet
// waited for.
type PendingAck struct {
	s     *Socket
	event string
	id    uint64
	ch    chan ackResult
}

// ID returns the ack id of the event.
func (p *PendingAck) ID() uint64 { return p.id }

// Wait waits for the acknowledgement until ctx is done; after that, a late
// ACK is ignored. When the namespace disconnects first, the error is a
// *DisconnectError. Wait may be called once.
func (p *PendingAck) Wait(ctx context.Context) (*Ack, error) {
	select {
	case r := <-p.ch:
		return r.ack, r.err
	case <-ctx.Done():
		p.s.mu.Lock()
		if p.s.acks[p.id] == p.ch {
			delete(p.s.acks, p.id)
		}
		p.s.mu.Unlock()
		return nil, fmt.Errorf("ack of %q: %w", p.event, ctx.Err())
	}
}

func (s *Socket) emit(event string, args []any, volatile, withAck bool) (chan ackResult, uint64, error) {
	if protocol.IsReservedEvent(event) && !s.c.opts.AllowReservedEvents {
		return nil, 0, &EmitError{Event: event, Namespace: s.nsp, Err: ErrReservedEvent}
	}
	raw, atts, err := encodeArgs(args)
	if err != nil {
		return nil, 0, &EmitError{Event: event, Namespace: s.nsp, Err: err}
	}
	p := protocol.Packet{
		Type:        protocol.PacketEvent,
		Namespace:   s.nsp,
		Data:        protocol.AppendEventData(nil, event, raw...),
		Attachments: atts,
	}
	if len(atts) > 0 {
		p.Type = protocol.PacketBinaryEvent // what goes on the wire, and what the Tap shows
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ch chan ackResult
	if withAck {
		p.ID, p.HasID = s.nextID, true
		s.nextID++
	}
	switch {
	case s.state == stateConnected && s.link != nil:
		if err := s.link.send(&p); err != nil {
			if volatile {
				return nil, 0, nil
			}
			return nil, 0, &EmitError{Event: event, Namespace: s.nsp, Err: err}
		}
	case volatile:
		return nil, 0, nil
	case !s.active:
		return nil, 0, &EmitError{Event: event, Namespace: s.nsp, Err: ErrNotConnected}
	case len(s.sendBuf) >= s.c.opts.MaxBuffer:
		return nil, 0, &EmitError{Event: event, Namespace: s.nsp, Err: ErrBufferFull}
	default:
		s.sendBuf = append(s.sendBuf, p)
	}
	if withAck {
		ch = make(chan ackResult, 1)
		s.acks[p.ID] = ch
	}
	return ch, p.ID, nil
}

// sendAck answers the server's ack request id.
func (s *Socket) sendAck(id uint64, args []any) error {
	raw, atts, err := encodeArgs(args)
	if err != nil {
		return fmt.Errorf("ack %d: %w", id, err)
	}
	p := protocol.Packet{
		Type:        protocol.PacketAck,
		Namespace:   s.nsp,
		ID:          id,
		HasID:       true,
		Data:        protocol.AppendArray(nil, raw...),
		Attachments: atts,
	}
	if len(atts) > 0 {
		p.Type = protocol.PacketBinaryAck
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateConnected || s.link == nil {
		return fmt.Errorf("ack %d: %w", id, ErrNotConnected)
	}
	return s.link.send(&p)
}

// sendConnect sends this namespace's CONNECT on l; s.mu is held.
// Socket.IO v5 always sends it, with the auth object (merged with the
// recovery pid and offset after a first connection); v4 servers connect
// "/" by themselves when the connection opens (atOpen), and take other
// namespaces' auth as a query. Connecting "/" again later on the same v4
// connection (after a disconnect) needs an explicit CONNECT, which
// socket.io 2 accepts.
func (s *Socket) sendConnect(l *link, atOpen bool) {
	auth := s.auth
	if auth == nil {
		auth = s.c.opts.Auth
	}
	p := protocol.Packet{Type: protocol.PacketConnect, Namespace: s.nsp}
	if l.eio == protocol.EIO3 {
		if s.nsp == "/" && atOpen {
			return
		}
		if q := authQuery(auth); len(q) > 0 {
			p.Namespace = s.nsp + "?" + q.Encode()
		}
	} else {
		p.Data = connectData(auth, s.pid, s.offset)
	}
	if err := l.send(&p); err != nil {
		s.c.opts.Logger.Warn("sio client: send CONNECT", "nsp", s.nsp, "err", err)
	}
}

// connectData is the v5 CONNECT payload: auth, plus pid and offset when
// the socket has a session to recover.
func connectData(auth json.RawMessage, pid, offset string) json.RawMessage {
	if pid == "" {
		if len(auth) == 0 {
			return nil
		}
		return auth
	}
	fields := map[string]json.RawMessage{}
	if len(auth) > 0 {
		if m, err := objectFields(auth); err == nil {
			fields = m
		}
	}
	fields["pid"], _ = json.Marshal(pid)
	if offset != "" {
		fields["offset"], _ = json.Marshal(offset)
	}
	b, _ := json.Marshal(fields)
	return b
}

// onOpen is called for every socket when a connection opens: active
// sockets send their CONNECT on it.
func (s *Socket) onOpen(l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.active || s.state == stateConnected || s.link == l {
		return
	}
	s.state = stateConnecting
	s.link = l
	s.sendConnect(l, true)
}

// onLinkLost is called for every socket when connection l ends.
func (s *Socket) onLinkLost(l *link, reason protocol.DisconnectReason, reconnect bool) {
	s.mu.Lock()
	if s.link != l {
		s.mu.Unlock()
		return
	}
	wasConnected := s.state == stateConnected
	// A CONNECT still unanswered when the server ends the connection is
	// most often one it could not decode (another parser): say so.
	var lost error = &DisconnectError{Namespace: s.nsp, Reason: string(reason)}
	if s.state == stateConnecting && !s.everConnected && reason != protocol.ReasonIOClientDisconnect {
		lost = &ClosedOnConnectError{Namespace: s.nsp, Reason: string(reason), Parser: s.c.opts.Codec.Name()}
	}
	s.link = nil
	s.sid.Store("")
	s.recvBuf = nil
	acks := s.acks
	s.acks = make(map[uint64]chan ackResult)
	var waiters []chan error
	if s.active && reconnect {
		s.state = stateConnecting
		// Read by wait when its context ends before a reconnection
		// answers: the cause of the missing reply.
		s.lastErr = lost
	} else {
		s.state = stateDisconnected
		s.sendBuf = nil
		waiters, s.waiters = s.waiters, nil
		s.lastErr = reason
		if _, ok := lost.(*ClosedOnConnectError); ok {
			s.lastErr = lost
		}
	}
	s.mu.Unlock()
	finish(acks, waiters, lost)
	if wasConnected {
		s.c.emitState(State{Kind: StateDisconnect, Namespace: s.nsp, Reason: reason})
	}
}

// onRedial is called when connection l is dropped to dial again with
// EIO3 at once. A socket still waiting for its CONNECT reply on l keeps
// its waiters, acks and buffered emits for the next link (onOpen sends
// CONNECT again); one already connected on l has lost it.
func (s *Socket) onRedial(l *link) {
	s.mu.Lock()
	if s.link != l {
		s.mu.Unlock()
		return
	}
	if s.state != stateConnected {
		s.recvBuf = nil
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.onLinkLost(l, protocol.ReasonTransportClose, !s.c.opts.NoReconnect)
}

// onStop is called when the client stops for good.
func (s *Socket) onStop(err error) {
	s.mu.Lock()
	acks, waiters := s.resetLocked()
	s.lastErr = err
	s.mu.Unlock()
	finish(acks, waiters, err)
}

// sendDisconnectOnClose sends DISCONNECT on l before Close closes it.
func (s *Socket) sendDisconnectOnClose(l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateConnected && s.link == l {
		_ = l.send(&protocol.Packet{Type: protocol.PacketDisconnect, Namespace: s.nsp})
	}
}

// handle processes a packet for this namespace on the reader goroutine;
// an error is a protocol violation that closes the connection.
func (s *Socket) handle(l *link, p *protocol.Packet) error {
	switch p.Type {
	case protocol.PacketConnect:
		return s.onConnect(l, p)
	case protocol.PacketConnectError:
		s.onConnectError(l, p)
	case protocol.PacketDisconnect:
		s.onServerDisconnect(l)
	case protocol.PacketEvent, protocol.PacketBinaryEvent:
		return s.onEvent(l, p)
	case protocol.PacketAck, protocol.PacketBinaryAck:
		s.onAck(p)
	}
	return nil
}

func (s *Socket) onConnect(l *link, p *protocol.Packet) error {
	var sid, pid string
	if l.eio == protocol.EIO4 {
		var reply struct {
			SID *string `json:"sid"`
			PID *string `json:"pid"`
		}
		if len(p.Data) > 0 && json.Unmarshal(p.Data, &reply) != nil {
			return fmt.Errorf("CONNECT reply on %s: invalid payload", s.nsp)
		}
		if reply.SID == nil || *reply.SID == "" {
			// socket.io-client: "It seems you are trying to reach a
			// Socket.IO server in v2.x with a v3.x client".
			if l.serverIsV3("CONNECT reply without a sid") {
				return nil
			}
			s.connectFailed(l, ErrServerV4)
			return nil
		}
		sid = *reply.SID
		if reply.PID != nil {
			pid = *reply.PID
		}
	} else {
		sid = l.conn.SID()
		if s.nsp != "/" {
			sid = s.nsp + "#" + sid
		}
	}
	s.mu.Lock()
	if s.state != stateConnecting || s.link != l {
		s.mu.Unlock()
		s.c.opts.Logger.Debug("sio client: unexpected CONNECT", "nsp", s.nsp)
		return nil
	}
	s.recovered = pid != "" && pid == s.pid
	s.pid = pid
	if pid == "" {
		s.offset = ""
	}
	s.state = stateConnected
	s.everConnected = true
	s.sid.Store(sid)
	for i := range s.sendBuf {
		if err := l.send(&s.sendBuf[i]); err != nil {
			s.c.opts.Logger.Warn("sio client: send buffered packet", "nsp", s.nsp, "err", err)
		}
	}
	s.sendBuf = nil
	buffered := s.recvBuf
	s.recvBuf = nil
	waiters := s.waiters
	s.waiters = nil
	recovered := s.recovered
	s.mu.Unlock()
	for _, w := range waiters {
		w <- nil
	}
	s.c.emitState(State{Kind: StateConnect, Namespace: s.nsp, SID: sid, EIO: l.eio, Recovered: recovered})
	for i := range buffered {
		if name, args, err := splitEvent(&buffered[i]); err == nil {
			s.dispatch(&buffered[i], name, args)
		}
	}
	return nil
}

func (s *Socket) onConnectError(l *link, p *protocol.Packet) {
	// Socket.IO v5 refuses with an object; a string is socket.io 2's
	// ERROR, typically a "/" middleware that missed the auth, which a v2
	// server reads from the handshake query of an EIO3 dial.
	if l.eio == protocol.EIO4 && isJSONString(p.Data) && l.serverIsV3("CONNECT_ERROR with a string payload") {
		return
	}
	s.connectFailed(l, parseConnectError(s.nsp, p.Data))
}

// connectFailed ends a connection attempt refused with cerr (a
// *ConnectError, or ErrServerV4).
func (s *Socket) connectFailed(l *link, cerr error) {
	s.mu.Lock()
	if s.link != l || s.state == stateDisconnected {
		s.mu.Unlock()
		return
	}
	acks, waiters := s.resetLocked()
	s.lastErr = cerr
	s.mu.Unlock()
	finish(acks, waiters, cerr)
	s.c.emitState(State{Kind: StateConnectError, Namespace: s.nsp, Err: cerr})
}

func (s *Socket) onServerDisconnect(l *link) {
	s.mu.Lock()
	if s.link != l || s.state == stateDisconnected {
		s.mu.Unlock()
		return
	}
	wasConnected := s.state == stateConnected
	acks, waiters := s.resetLocked()
	reason := protocol.ReasonIOServerDisconnect
	s.lastErr = reason
	s.mu.Unlock()
	finish(acks, waiters, &DisconnectError{Namespace: s.nsp, Reason: string(reason)})
	if wasConnected {
		s.c.emitState(State{Kind: StateDisconnect, Namespace: s.nsp, Reason: reason})
	}
}

// splitEvent splits an event packet from the link's decoder, which has
// already checked that its data is a JSON array with a name first, without
// validating the JSON again.
func splitEvent(p *protocol.Packet) (name string, args []json.RawMessage, err error) {
	elems, ok := protocol.SplitValidArray(p.Data)
	if !ok || len(elems) == 0 {
		return "", nil, fmt.Errorf("EVENT data %.40q is not an array with a name", p.Data)
	}
	return p.EventName(), elems[1:], nil
}

func (s *Socket) onEvent(l *link, p *protocol.Packet) error {
	name, args, err := splitEvent(p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.link != l {
		s.mu.Unlock()
		return nil
	}
	if s.pid != "" && len(args) > 0 {
		var off string
		if jsonString(args[len(args)-1], &off) {
			s.offset = off
		}
	}
	switch s.state {
	case stateConnected:
		s.mu.Unlock()
		s.dispatch(p, name, args)
	case stateConnecting:
		// Recovery replays missed events before the CONNECT reply.
		if len(s.recvBuf) >= s.c.opts.MaxBuffer {
			s.mu.Unlock()
			return fmt.Errorf("more than %d events before the CONNECT reply on %s", s.c.opts.MaxBuffer, s.nsp)
		}
		s.recvBuf = append(s.recvBuf, *p)
		s.mu.Unlock()
	default:
		s.mu.Unlock()
	}
	return nil
}

// dispatch runs the handlers of event p, split into name and args, then
// answers its ack request automatically if none did.
func (s *Socket) dispatch(p *protocol.Packet, name string, args []json.RawMessage) {
	e := &Event{Namespace: s.nsp, Name: name, Args: args, Attachments: p.Attachments, Packet: *p, socket: s}
	s.mu.Lock()
	anyHs := s.anyHs
	hs := s.handlers[name]
	s.mu.Unlock()
	for _, h := range anyHs {
		s.call(h, e)
	}
	for _, h := range hs {
		s.call(h, e)
	}
	if !s.c.opts.NoAutoAck {
		e.autoAck(s.c.opts.AckReply)
	}
}

func (s *Socket) call(h func(*Event), e *Event) {
	defer func() {
		if r := recover(); r != nil {
			s.c.opts.Logger.Error("sio client: handler panicked", "nsp", s.nsp, "event", e.Name, "panic", r)
		}
	}()
	h(e)
}

func (s *Socket) onAck(p *protocol.Packet) {
	s.mu.Lock()
	ch, ok := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if !ok {
		s.c.opts.Logger.Debug("sio client: ACK with an unknown id", "nsp", s.nsp, "id", p.ID)
		return
	}
	// The decoder has checked that the data is a JSON array.
	args, ok := protocol.SplitValidArray(p.Data)
	if !ok {
		ch <- ackResult{err: fmt.Errorf("ACK data %.40q is not an array", p.Data)}
		return
	}
	ch <- ackResult{ack: &Ack{Namespace: s.nsp, Args: args, Attachments: p.Attachments, Packet: *p}}
}
