package eioserver

import (
	"net/http"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// sessionState is the life cycle of a session.
type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // Close(reason) called: flushing the queue, then closing
	stateClosed               // ended: Done is closed and the sid is unknown
)

// upgradeState is the transport state machine of a session, guarded by
// Session.mu (engine.io-protocol, "Upgrade"; PROTOCOL.md §1.8):
//
//	               GET …&transport=websocket&sid=X (101)
//	upNone ───────────────────────────────────────────────► upProbing
//	(polling)  ◄─── probe closed: bad packet, error, ───────  │  C→S "2probe"
//	   ▲            upgradeTimeout                            ▼  S→C "3probe", pending GET ← "6"
//	   └───────────────────────────────────────────────────  upProbed
//	                                                          │  C→S "5"
//	                                                          ▼
//	                     queue moved to the websocket ──►  upDone (websocket)
//
// A session opened over WebSocket starts in upDone. "5" is also accepted in
// upProbing, as Node does. Any state goes to closed when the session ends;
// the probe socket is then closed too.
type upgradeState uint8

const (
	upNone upgradeState = iota
	upProbing
	upProbed
	upDone
)

// timerPhase says what the session's one timer is waiting for.
type timerPhase uint8

const (
	phasePing       timerPhase = iota // v4: time to send the next ping
	phasePong                         // v4: a ping was sent, waiting for its pong
	phaseClientPing                   // v3: waiting for the client's next ping
	phaseClose                        // closing: bound on the flush / on the close packet's GET
)

// What a GET pending when the session ends receives.
const (
	closePacket = byte(protocol.EngineClose)
	noopPacket  = byte(protocol.EngineNoop)
)

// Session is one Engine.IO connection (Node's Socket). Its methods are safe
// for concurrent use.
type Session struct {
	srv *Server
	id  string
	eio protocol.EIO
	req *RequestInfo
	b64 bool // v3 client asked for base64 instead of binary polling bodies

	// dispatchMu serializes the readers (POST bodies, WebSocket frames) so
	// that OnMessage is never called concurrently. Lock order: dispatchMu,
	// then mu. Neither is held during network I/O; only dispatchMu is held
	// while OnMessage runs, and nothing an OnMessage callback may call takes it.
	dispatchMu sync.Mutex

	mu     sync.Mutex
	reason protocol.DisconnectReason // set when closing or closed
	queue  []protocol.EnginePacket
	// pending is the bytes of packet data queued or in a WebSocket write
	// not yet done (bounded by Options.SendQueueBytes).
	pending  int64
	ctrl     [][]byte                // control frames (pongs) for the WebSocket writer
	spare    []protocol.EnginePacket // a written batch's slice, for the next queue
	deferGen uint64                  // the FlushBatch opening that last recorded this session
	// postRC is set while a POST reads its body, which destroyPostLocked
	// may cut short (postCut).
	postRC  *http.ResponseController
	h       Handler      // the session's callbacks; nil: none
	wst     *wsTransport // the WebSocket transport, once ws
	probe   *wsTransport // an upgrade probe in progress
	due     int64        // when the deadline passes (monoNow)
	upTimer *time.Timer  // upgradeTimeout of the probe

	// The small fields together, so that the struct packs.
	state    sessionState
	endReply byte // for a GET pending at the end: closePacket or noopPacket
	ws       bool // the current transport is websocket
	up       upgradeState
	writerOn bool // a WebSocket writer is running (inline in a sender, or its goroutine)
	// token is a WaitGroup count a WebSocket session holds from its start
	// to its end, so that writers may be started (wg.Add) at any time
	// before the end without racing Shutdown's Wait.
	token      bool
	getPending bool
	postActive bool
	postCut    bool
	// dispatching is set while OnMessage runs; an end meanwhile leaves
	// OnClose to the reader (closeDue), so callbacks never overlap.
	dispatching bool
	closeDue    bool
	phase       timerPhase // what the deadline (srv.dl) is for
	refreshed   bool       // v4: a packet already extended the current pong wait

	wake chan struct{} // cap 1: a pending polling GET has something to do; nil for WebSocket-only sessions
	// done is closed at the end; a WebSocket-only session makes it on
	// the first call of Done (most never have one: 96 bytes saved per
	// idle connection).
	done chan struct{}

	// The session's place in the server's deadline heap (srv.dl), which
	// guards them: index + 1 (0: no deadline set), and when (monoNow).
	dlIdx  int32
	dlWhen int64
}

func newSession(srv *Server, id string, eio protocol.EIO, r *http.Request, transport string) *Session {
	s := &Session{
		srv: srv,
		id:  id,
		eio: eio,
		req: NewRequestInfo(r, srv.cfg.now()),
	}
	if transport == TransportPolling {
		s.wake = make(chan struct{}, 1)
		s.done = make(chan struct{}) // a pending GET waits on it
	}
	cfg := &srv.cfg
	open := protocol.AppendHandshake(make([]byte, 0, 128), protocol.Handshake{
		SID:          id,
		Upgrades:     cfg.upgrades(transport),
		PingInterval: cfg.pingInterval.Milliseconds(),
		PingTimeout:  cfg.pingTimeout.Milliseconds(),
		MaxPayload:   cfg.maxPayload,
	})
	s.queue = append(s.queue, protocol.EnginePacket{Type: protocol.EngineOpen, Data: open})
	s.pending = int64(len(open))
	return s
}

// startHeartbeat arms the first heartbeat deadline: v4 pings after
// PingInterval, v3 expects a ping within PingInterval+PingTimeout.
func (s *Session) startHeartbeat() {
	cfg := &s.srv.cfg
	s.mu.Lock()
	if s.state == stateOpen {
		if s.eio == protocol.EIO3 {
			s.armLocked(phaseClientPing, cfg.pingInterval+cfg.pingTimeout)
		} else {
			s.armLocked(phasePing, cfg.pingInterval)
		}
	}
	s.mu.Unlock()
}

// ID returns the session id (sid).
func (s *Session) ID() string { return s.id }

// EIO returns the protocol revision the client speaks.
func (s *Session) EIO() protocol.EIO { return s.eio }

// Request returns the handshake request. It must not be modified.
func (s *Session) Request() *RequestInfo { return s.req }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		if s.state == stateClosed {
			return closedChan
		}
		s.done = make(chan struct{})
	}
	return s.done
}

// closedChan is the Done of a session that ended before anyone asked.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Transport returns the current transport: "polling" or "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws {
		return TransportWebSocket
	}
	return TransportPolling
}

// Handler receives the events of a session, as the OnMessage, OnClose and
// OnUpgrade callbacks do; SetHandler installs all three at once as one
// value (a server with many idle sessions then keeps no closures per
// session).
type Handler interface {
	OnMessage(data []byte, binary bool)
	OnClose(reason protocol.DisconnectReason)
	OnUpgrade(transport string)
}

// SetHandler sets the session's callbacks to h's methods, replacing any
// set before. Set it inside OnConnection.
func (s *Session) SetHandler(h Handler) {
	s.mu.Lock()
	s.h = h
	s.mu.Unlock()
}

// funcHandler is the Handler of the callbacks set one by one. It is
// replaced, never changed, once installed: a copy of s.h taken under
// s.mu is called without it.
type funcHandler struct {
	msg   func([]byte, bool)
	close func(protocol.DisconnectReason)
	up    func(string)
}

func (f *funcHandler) OnMessage(data []byte, binary bool) {
	if f.msg != nil {
		f.msg(data, binary)
	}
}

func (f *funcHandler) OnClose(reason protocol.DisconnectReason) {
	if f.close != nil {
		f.close(reason)
	}
}

func (f *funcHandler) OnUpgrade(transport string) {
	if f.up != nil {
		f.up(transport)
	}
}

// setFuncLocked installs a copy of the session's funcHandler (a new one
// when the handler is not one) changed by set. Caller holds s.mu.
func (s *Session) setFuncLocked(set func(*funcHandler)) {
	nh := &funcHandler{}
	if old, ok := s.h.(*funcHandler); ok {
		*nh = *old
	}
	set(nh)
	s.h = nh
}

// OnMessage sets the callback for each received message: text data after
// the '4', or the bytes of a binary message. It is called sequentially in
// arrival order on the session's reader, never under a lock; data may be
// reused after it returns. Set it inside OnConnection.
func (s *Session) OnMessage(fn func(data []byte, binary bool)) {
	s.mu.Lock()
	s.setFuncLocked(func(f *funcHandler) { f.msg = fn })
	s.mu.Unlock()
}

// OnClose sets the callback run once when the session ends, with Node's
// reason. It never overlaps an OnMessage call.
func (s *Session) OnClose(fn func(reason protocol.DisconnectReason)) {
	s.mu.Lock()
	s.setFuncLocked(func(f *funcHandler) { f.close = fn })
	s.mu.Unlock()
}

// OnUpgrade sets the callback run when the transport changes to websocket.
func (s *Session) OnUpgrade(fn func(transport string)) {
	s.mu.Lock()
	s.setFuncLocked(func(f *funcHandler) { f.up = fn })
	s.mu.Unlock()
}

// Send queues messages atomically and in order. It never blocks. The
// session owns the Data slices afterwards (they may be shared between
// sessions). A full queue closes the session ("transport error") and
// returns ErrQueueFull; a session closing or closed returns ErrClosed.
func (s *Session) Send(msgs ...protocol.EnginePacket) error {
	return s.send(nil, msgs)
}

// send queues msgs, then writes the session when b is nil or closed, or
// records it in b to be written when b closes. A nil b is the session's own
// reader's batch: while that reader handles a read (a reply to a message,
// typically), the write waits for the end of it, so that the replies to
// the messages of one read go out in one write, and a poller worker writes
// those of several connections in one io_uring submission.
func (s *Session) send(b *FlushBatch, msgs []protocol.EnginePacket) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	if !s.queueLocked(msgs) {
		return s.queueFull()
	}
	if b == nil && s.wst != nil && s.wst.rd != nil {
		b = &s.wst.rd.batch
	}
	s.mu.Unlock()
	if b != nil && b.record(s) {
		return nil
	}
	s.signal()
	return nil
}

// dataBytes is what msgs count against SendQueueBytes.
func dataBytes(msgs []protocol.EnginePacket) int64 {
	var n int64
	for _, p := range msgs {
		n += int64(len(p.Data))
	}
	return n
}

// queueLocked queues msgs if both bounds allow it; otherwise it unlocks
// s.mu (the caller then calls queueFull) and reports false. Caller holds
// s.mu and the session is open.
func (s *Session) queueLocked(msgs []protocol.EnginePacket) bool {
	n := dataBytes(msgs)
	if len(s.queue)+len(msgs) > s.srv.cfg.sendQueue || (s.pending > 0 && s.pending+n > s.srv.cfg.sendQueueBytes) {
		packets, bytes := len(s.queue), s.pending
		s.mu.Unlock()
		s.srv.cfg.logger.Warn("engine.io send queue full, closing slow consumer", "sid", s.id,
			"queued_packets", packets, "queued_bytes", bytes, "adding_packets", len(msgs), "adding_bytes", n,
			"max_packets", s.srv.cfg.sendQueue, "max_bytes", s.srv.cfg.sendQueueBytes)
		return false
	}
	s.queue = append(s.queue, msgs...)
	s.pending += n
	return true
}

// queueFull closes a slow consumer whose queue cannot take more.
func (s *Session) queueFull() error {
	s.end(protocol.ReasonTransportError, closePacket)
	return ErrQueueFull
}

// SendVolatile queues msgs only if the transport can write them right now
// (the WebSocket writer is idle, or a polling GET is pending) and nothing is
// queued; otherwise it drops them and returns false.
func (s *Session) SendVolatile(msgs ...protocol.EnginePacket) bool {
	s.mu.Lock()
	ok := s.state == stateOpen && len(s.queue) == 0 && len(msgs) <= s.srv.cfg.sendQueue &&
		((s.ws && !s.writerOn) || (!s.ws && s.getPending))
	if ok {
		s.queue = append(s.queue, msgs...)
		s.pending += dataBytes(msgs)
	}
	s.mu.Unlock()
	if ok {
		s.signal()
	}
	return ok
}

// Close flushes what is queued and ends the session with reason. Over
// polling the queue and a close packet go to the pending or next GET (Node
// waits up to 30s for it); over WebSocket the queue is written, then a close
// frame (bounded by 5s). Close is idempotent and does not block.
func (s *Session) Close(reason protocol.DisconnectReason) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.reason = reason
	probe := s.dropProbeLocked()
	d := pollCloseTimeout
	if s.ws {
		d = s.srv.cfg.wsCloseTimeout
	}
	s.armLocked(phaseClose, d)
	s.mu.Unlock()
	if probe != nil {
		probe.close()
	}
	s.signal()
}

// end ends the session at once: state closed, timers stopped, sid removed,
// the probe closed, the WebSocket writer told to send its close frame, a
// pending GET answered with reply, then OnClose (unless a reader is inside
// OnMessage: it calls OnClose when that returns). Idempotent.
func (s *Session) end(reason protocol.DisconnectReason, reply byte) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	s.reason = reason
	s.endReply = reply
	// A POST still reading its body is destroyed with the session, as
	// Node's transport close does (a body that never ends is not held).
	s.destroyPostLocked()
	// A polling session closed by its client with no GET pending keeps its
	// sid a little for a GET that raced the close (closeLinger). Retired
	// under s.mu: a GET that sees the state closed finds it lingering.
	s.srv.retire(s, reply == noopPacket && s.wake != nil && !s.ws && !s.getPending)
	s.srv.dl.remove(s)
	probe := s.dropProbeLocked()
	wst, writing := s.wst, s.writerOn
	// The writer sends the close frame and closes the connection: the
	// running one, or one started here while the token still counts.
	startCloser := wst != nil && s.startWriterLocked()
	token := s.token
	s.token = false
	clear(s.queue)
	s.queue = nil
	s.pending = 0
	h := s.h
	s.closeDue = s.dispatching
	callNow := !s.dispatching
	if s.done != nil {
		close(s.done)
	}
	s.mu.Unlock()

	if startCloser {
		go s.writeLoop(wst, nil, nil)
	}
	if token {
		s.srv.wg.Done()
	}
	if wst != nil && writing {
		// Unblock a writer stuck on a peer that does not read.
		_ = wst.nc.SetWriteDeadline(time.Now().Add(s.srv.cfg.wsCloseTimeout))
	}
	if probe != nil {
		probe.close()
	}
	s.srv.cfg.logger.Debug("engine.io session closed", "sid", s.id, "reason", string(reason))
	if callNow && h != nil {
		h.OnClose(reason)
	}
}

// writeDeferred writes, before the session ends for what its peer sent,
// what the earlier messages of the same read queued (replies wait for the
// end of their read): written at once, as Node writes them, the peer would
// have had them before the close. Only on the reader's goroutine, which
// owns its batch.
func (s *Session) writeDeferred() {
	s.mu.Lock()
	var b *FlushBatch
	if s.wst != nil && s.wst.rd != nil {
		b = &s.wst.rd.batch
	}
	s.mu.Unlock()
	if b != nil {
		b.end()
	}
}

// signal wakes the current writer: over WebSocket, with no writer
// running, the caller becomes the writer (flush); over polling it wakes a
// pending GET.
func (s *Session) signal() {
	s.mu.Lock()
	start := s.startWriterLocked()
	wst, wake := s.wst, s.wake
	s.mu.Unlock()
	if start {
		s.flush(wst)
		return
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// startWriterLocked reports whether the caller must run the WebSocket
// writer (flush) after unlocking: the transport is websocket and no writer
// runs. It counts the writer in the server's
// WaitGroup while the session's token keeps the count above zero.
// Caller holds s.mu.
func (s *Session) startWriterLocked() bool {
	if s.wst == nil || s.writerOn || !s.token {
		return false
	}
	s.writerOn = true
	s.srv.wg.Add(1)
	return true
}

// armLocked (re)sets the session's one deadline. Caller holds s.mu.
func (s *Session) armLocked(phase timerPhase, d time.Duration) {
	s.phase = phase
	s.due = monoNow() + int64(d)
	s.srv.dl.set(s, s.due)
}

// onTimer runs on a goroutine of its own when the deadline passes.
func (s *Session) onTimer() {
	cfg := &s.srv.cfg
	s.mu.Lock()
	if s.state == stateClosed || monoNow() < s.due { // stopped, or re-armed after firing
		s.mu.Unlock()
		return
	}
	switch s.phase {
	case phasePing:
		s.refreshed = false
		s.queue = append(s.queue, protocol.EnginePacket{Type: protocol.EnginePing})
		s.armLocked(phasePong, cfg.pingTimeout)
		s.mu.Unlock()
		s.signal()
	case phasePong, phaseClientPing:
		s.mu.Unlock()
		s.end(protocol.ReasonPingTimeout, closePacket)
	default: // phaseClose: the flush or the close packet's GET took too long
		reason := s.reason
		s.mu.Unlock()
		s.end(reason, closePacket)
	}
}

// handlePacket processes one received packet (Node's Socket.onPacket) and
// reports whether the reader should go on; fromReader: it came from the
// session's WebSocket reader, on its goroutine. The caller holds dispatchMu.
func (s *Session) handlePacket(p protocol.EnginePacket, fromReader bool) bool {
	cfg := &s.srv.cfg
	s.mu.Lock()
	if s.state != stateOpen { // Node ignores packets unless readyState is "open"
		s.mu.Unlock()
		return false
	}
	if s.eio == protocol.EIO4 && s.phase == phasePong && !s.refreshed && p.Type != protocol.EnginePong {
		// engine.io 6.6: traffic while a pong is awaited extends the wait once.
		s.refreshed = true
		s.armLocked(phasePong, cfg.pingTimeout)
	}
	switch p.Type {
	case protocol.EnginePing:
		if s.eio == protocol.EIO4 {
			s.mu.Unlock()
			s.peerError(&SessionError{Transport: s.Transport(), Err: ErrHeartbeatDirection})
			if fromReader {
				s.writeDeferred()
			}
			s.end(protocol.ReasonTransportError, closePacket)
			return false
		}
		s.armLocked(phaseClientPing, cfg.pingInterval+cfg.pingTimeout)
		s.queue = append(s.queue, protocol.EnginePacket{Type: protocol.EnginePong})
		s.mu.Unlock()
		s.signal()
		return true
	case protocol.EnginePong:
		if s.eio == protocol.EIO3 {
			s.mu.Unlock()
			s.peerError(&SessionError{Transport: s.Transport(), Err: ErrHeartbeatDirection})
			if fromReader {
				s.writeDeferred()
			}
			s.end(protocol.ReasonTransportError, closePacket)
			return false
		}
		s.armLocked(phasePing, cfg.pingInterval)
		s.mu.Unlock()
		return true
	case protocol.EngineClose:
		s.mu.Unlock()
		if fromReader {
			s.writeDeferred()
		}
		s.end(protocol.ReasonTransportClose, noopPacket)
		return false
	case protocol.EngineMessage:
		h := s.h
		s.dispatching = true
		s.mu.Unlock()
		ok := true
		if h != nil {
			ok = s.callMessage(h, p)
		}
		s.mu.Lock()
		s.dispatching = false
		due, h, reason := s.closeDue, s.h, s.reason
		s.closeDue = false
		s.mu.Unlock()
		if due {
			if h != nil {
				h.OnClose(reason)
			}
			return false
		}
		if !ok {
			s.end(protocol.ReasonTransportError, closePacket)
			return false
		}
		return true
	default: // open, upgrade, noop: ignored, as Node does
		s.mu.Unlock()
		return true
	}
}

// callMessage runs an OnMessage callback; a panic is logged and reported
// as false, which closes the session.
func (s *Session) callMessage(h Handler, p protocol.EnginePacket) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			s.srv.cfg.logger.Error("engine.io OnMessage panicked", "sid", s.id, "panic", v)
			ok = false
		}
	}()
	h.OnMessage(p.Data, p.Binary)
	return true
}

// tap reports one packet to Options.Tap.
func (s *Session) tap(dir protocol.Direction, transport string, p protocol.EnginePacket, raw []byte) {
	t := s.srv.cfg.tap
	if t == nil {
		return
	}
	t(protocol.Trace{
		Time:      s.srv.cfg.now(),
		Dir:       dir,
		Layer:     protocol.LayerEngine,
		EngineSID: s.id,
		Transport: transport,
		EIO:       s.eio,
		Engine:    p,
		Raw:       [][]byte{raw},
	})
}
