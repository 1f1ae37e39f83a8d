package eioserver

import (
	"errors"
	"net/http"
	"time"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// WebSocket transport (PROTOCOL.md §1.6): exactly one engine.io packet per
// message. pkg/internal/wsframe does the handshake (as Node's ws) and the
// framing; frames are read in wsreader.go and written in wswriter.go.

// digits are the type digits of text packets, sliced without allocating.
var digits = []byte("0123456789")

// readBufKeep is the largest read buffer a reader keeps between messages.
const readBufKeep = 16 << 10

// handshakeWebSocket opens a WebSocket-only session: the open packet is the
// first frame and upgrades is [].
func (s *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request, h http.Header, sess *Session) {
	if !s.track(2) { // the session's token and its reader
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	nc, head, err := wsframe.Upgrade(w, r, responseHeader(h))
	if err != nil { // answered as ws does
		s.cfg.logger.Debug("engine.io websocket handshake", "remote", r.RemoteAddr, "err", err)
		s.wg.Add(-2)
		return
	}
	t := newWSTransport(nc, s.cfg.wsCloseTimeout)
	rd := sess.newReader(t)
	rd.buf = head
	sess.wst = t
	sess.ws = true
	sess.up = upDone
	sess.token = true
	if !s.register(sess) {
		t.close()
		s.wg.Add(-1) // the reader's count is released by rd.start
		rd.start(nil)
		return
	}
	s.cfg.logger.Debug("engine.io session opened", "sid", sess.id, "transport", TransportWebSocket, "eio", int(sess.eio), "remote", r.RemoteAddr)
	if s.onConn != nil {
		s.onConn(sess)
	}
	sess.startHeartbeat()
	sess.signal() // writes the open packet
	rd.start(s.poller())
}

// serveUpgrade handles GET …&transport=websocket&sid=X: a probe for an
// upgrade from polling. A session that cannot upgrade (closing, already
// upgrading or upgraded, upgrades disabled) gets its WebSocket accepted and
// closed at once, as Node does.
func (s *Server) serveUpgrade(w http.ResponseWriter, r *http.Request, h http.Header, sess *Session, transport string) {
	if !s.track(1) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	nc, head, err := wsframe.Upgrade(w, r, responseHeader(h))
	if err != nil {
		s.cfg.logger.Debug("engine.io websocket handshake", "sid", sess.id, "remote", r.RemoteAddr, "err", err)
		s.wg.Done()
		return
	}
	t := newWSTransport(nc, s.cfg.wsCloseTimeout)
	rd := sess.newReader(t)
	rd.buf = head
	rd.probe = true
	if transport != TransportWebSocket || !s.cfg.allowUpgrades || !sess.beginProbe(t) {
		t.close()
		rd.start(nil) // only releases the reader's count
		return
	}
	rd.start(s.poller())
}

func responseHeader(h http.Header) http.Header {
	if len(h) == 0 {
		return nil
	}
	return h
}

// newReader makes t's reader for this session; the caller sets probe
// for an upgrade probe, then starts it. Reading ends with the server's
// count of it.
func (s *Session) newReader(t *wsTransport) *wsReader {
	rd := &wsReader{
		t:   t,
		s:   s,
		dec: wsframe.Decoder{Limit: s.srv.cfg.maxPayload},
	}
	t.rd = rd
	return rd
}

// pong answers a ping of the peer: through the session's writer once t is
// the transport, directly on a probe.
func (s *Session) pong(t *wsTransport, payload []byte) {
	frame := wsframe.AppendHeader(make([]byte, 0, 2+len(payload)), wsframe.OpPong, len(payload))
	frame = append(frame, payload...)
	s.mu.Lock()
	transport := s.wst == t
	s.mu.Unlock()
	if transport {
		s.queueControl(frame)
		return
	}
	_ = t.writeNow(frame)
}

// onFrame handles a message of the session's transport; false stops
// reading.
func (s *Session) onFrame(binary bool, data []byte) bool {
	p, err := parseFrame(binary, data, s.eio)
	if err != nil {
		s.peerError(&SessionError{Transport: TransportWebSocket, Err: withCause(ErrInvalidPacket, err)})
		// Closed after what is queued is written (the replies to the
		// messages before it, which wait for the end of the read), as
		// Node's peer gets them: it writes each at once.
		s.writeDeferred()
		s.Close(protocol.ReasonParseError)
		return false
	}
	s.tap(protocol.In, TransportWebSocket, p, data)
	s.dispatchMu.Lock()
	ok := s.handlePacket(p, true)
	s.dispatchMu.Unlock()
	return ok
}

// onReadEnd ends the session when its transport's reading fails.
func (s *Session) onReadEnd(err error) {
	s.srv.cfg.logger.Debug("engine.io websocket read", "sid", s.id, "err", err)
	var we *wsframe.Error
	if errors.As(err, &we) { // the peer broke RFC 6455, or sent too much
		kind := ErrWebSocketProtocol
		if we.Code == wsframe.CloseTooBig {
			kind = ErrMessageTooBig
		}
		s.peerError(&SessionError{Transport: TransportWebSocket, Err: withCause(kind, we.Err), CloseCode: we.Code})
	}
	s.end(readErrorReason(err), closePacket)
}

// beginProbe makes t the session's upgrade probe (upNone → upProbing).
func (s *Session) beginProbe(t *wsTransport) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || s.ws || s.up != upNone {
		return false
	}
	s.probe = t
	s.up = upProbing
	s.upTimer = time.AfterFunc(s.srv.cfg.upgradeTimeout, func() {
		s.srv.cfg.logger.Debug("engine.io upgrade timed out", "sid", s.id)
		s.dropProbe(t)
	})
	return true
}

// dropProbeLocked abandons the upgrade in progress and returns the probe
// socket for the caller to close after unlocking.
func (s *Session) dropProbeLocked() *wsTransport {
	t := s.probe
	if t == nil {
		return nil
	}
	s.probe = nil
	s.up = upNone
	if s.upTimer != nil {
		s.upTimer.Stop()
	}
	return t
}

// dropProbe closes t if it is still the probe: the polling session goes
// on. A probe that was dropped already has been closed by whoever dropped
// it, and one that became the transport must stay open.
func (s *Session) dropProbe(t *wsTransport) {
	s.mu.Lock()
	isProbe := s.probe == t
	if isProbe {
		s.dropProbeLocked()
	}
	s.mu.Unlock()
	if isProbe {
		t.close()
	}
}

// onProbeFrame handles a message of the probe socket t: "2probe" is
// answered with "3probe", "5" completes the upgrade (t's reader goes on as
// the session's), anything else closes the probe.
func (s *Session) onProbeFrame(t *wsTransport, binary bool, data []byte) bool {
	p, err := parseFrame(binary, data, s.eio)
	if err != nil {
		s.dropProbe(t)
		return false
	}
	s.tap(protocol.In, TransportWebSocket, p, data)
	switch {
	case !binary && p.Type == protocol.EnginePing && string(p.Data) == "probe":
		s.mu.Lock()
		ok := s.probe == t
		if ok {
			s.up = upProbed
		}
		s.mu.Unlock()
		if !ok {
			t.close()
			return false
		}
		pong := protocol.EnginePacket{Type: protocol.EnginePong, Data: []byte("probe")}
		s.tap(protocol.Out, TransportWebSocket, pong, []byte("3probe"))
		if err := t.writeNow(appendWSFrame(nil, pong, s.eio)); err != nil {
			s.dropProbe(t)
			return false
		}
		s.signal() // a pending GET answers noop
		return true
	case !binary && p.Type == protocol.EngineUpgrade:
		if !s.completeUpgrade(t) {
			s.dropProbe(t)
			return false
		}
		t.rd.probe = false // the reader goes on as the session's
		return true
	default:
		s.srv.cfg.logger.Debug("engine.io unexpected packet on upgrade probe", "sid", s.id, "type", p.Type.String())
		s.dropProbe(t)
		return false
	}
}

// completeUpgrade switches the session to the probe socket t on "5": the
// queue moves to the WebSocket writer, a pending GET gets a noop, and
// polling requests for the sid get 400 from now on.
func (s *Session) completeUpgrade(t *wsTransport) bool {
	if !s.srv.track(1) { // the session's token
		return false
	}
	s.dispatchMu.Lock()
	defer s.dispatchMu.Unlock()
	s.mu.Lock()
	if s.state != stateOpen || s.probe != t {
		s.mu.Unlock()
		s.srv.wg.Done()
		return false
	}
	s.probe = nil
	s.wst = t
	s.ws = true
	s.up = upDone
	s.token = true
	s.upTimer.Stop()
	// Node closes the polling transport, destroying a POST still reading
	// its body: polling requests get 400 from now on.
	s.destroyPostLocked()
	s.mu.Unlock()
	s.signal() // flushes the queue on the WebSocket, and wakes a pending GET, which answers noop
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	s.srv.cfg.logger.Debug("engine.io session upgraded", "sid", s.id)
	if h != nil {
		h.OnUpgrade(TransportWebSocket)
	}
	return true
}

func parseFrame(binary bool, data []byte, v protocol.EIO) (protocol.EnginePacket, error) {
	if binary {
		return protocol.ParseEngineBinary(data, v)
	}
	return protocol.ParseEngineText(data)
}
