package engine

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// WebSocket transport (PROTOCOL.md §1.6): one reader goroutine and one
// writer goroutine per session, exactly one engine.io packet per message.

// digits are the type digits of text packets, sliced without allocating.
var digits = []byte("0123456789")

var v3BinaryType = []byte{byte(protocol.EngineMessage)}

// readBufKeep is the largest read buffer a reader keeps between messages.
const readBufKeep = 16 << 10

// handshakeWebSocket opens a WebSocket-only session: the open packet is the
// first frame and upgrades is [].
func (s *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request, h http.Header, sess *Session) {
	if !s.track(2) { // the session's token and its reader
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	c, err := s.upgrader.Upgrade(w, r, responseHeader(h))
	if err != nil { // gorilla has answered
		s.wg.Add(-2)
		return
	}
	sess.conn = c
	sess.wst = newWSTransport(c)
	sess.useTransport(c)
	sess.ws = true
	sess.up = upDone
	sess.token = true
	if !s.register(sess) {
		closeWS(c)
		s.wg.Add(-2)
		return
	}
	s.cfg.logger.Debug("engine.io session opened", "sid", sess.id, "transport", TransportWebSocket, "eio", int(sess.eio), "remote", r.RemoteAddr)
	if s.onConn != nil {
		s.onConn(sess)
	}
	sess.startHeartbeat()
	sess.signal() // writes the open packet
	go sess.readLoop(c)
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
	c, err := s.upgrader.Upgrade(w, r, responseHeader(h))
	if err != nil {
		s.wg.Done()
		return
	}
	if transport != TransportWebSocket || !s.cfg.allowUpgrades || !sess.beginProbe(c) {
		closeWS(c)
		s.wg.Done()
		return
	}
	go sess.probeLoop(c)
}

func responseHeader(h http.Header) http.Header {
	if len(h) == 0 {
		return nil
	}
	return h
}

// closeWS sends an empty close frame (Node's ws.close()) and closes c.
func closeWS(c *websocket.Conn) { closeWSWith(c, nil) }

// closeWSWith sends a close frame with payload and closes c.
func closeWSWith(c *websocket.Conn, payload []byte) {
	if payload == nil {
		payload = []byte{}
	}
	_ = c.WriteControl(websocket.CloseMessage, payload, time.Now().Add(wsCloseTimeout))
	_ = c.Close()
}

// beginProbe makes c the session's upgrade probe (upNone → upProbing).
func (s *Session) beginProbe(c *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || s.ws || s.up != upNone {
		return false
	}
	s.probe = c
	s.up = upProbing
	s.upTimer = time.AfterFunc(s.srv.cfg.upgradeTimeout, func() {
		s.srv.cfg.logger.Debug("engine.io upgrade timed out", "sid", s.id)
		s.dropProbe(c)
	})
	return true
}

// dropProbeLocked abandons the upgrade in progress and returns the probe
// socket for the caller to close after unlocking.
func (s *Session) dropProbeLocked() *websocket.Conn {
	c := s.probe
	if c == nil {
		return nil
	}
	s.probe = nil
	s.up = upNone
	if s.upTimer != nil {
		s.upTimer.Stop()
	}
	return c
}

// dropProbe closes c if it is still the probe: the polling session goes
// on. A probe that was dropped already has been closed by whoever dropped
// it, and one that became the transport must stay open.
func (s *Session) dropProbe(c *websocket.Conn) {
	s.mu.Lock()
	isProbe := s.probe == c
	if isProbe {
		s.dropProbeLocked()
	}
	s.mu.Unlock()
	if isProbe {
		closeWS(c)
	}
}

// probeLoop reads the probe socket: "2probe" is answered with "3probe", "5"
// completes the upgrade (and the loop goes on as the session's reader),
// anything else closes the probe.
func (s *Session) probeLoop(c *websocket.Conn) {
	defer s.srv.wg.Done()
	c.SetReadLimit(s.srv.cfg.maxPayload)
	var buf []byte
	for {
		mt, data, err := readMessage(c, buf)
		buf = data
		if err != nil {
			s.dropProbe(c)
			return
		}
		p, err := parseFrame(mt, data, s.eio)
		if err != nil {
			s.dropProbe(c)
			return
		}
		s.tap(protocol.In, TransportWebSocket, p, data)
		switch {
		case mt == websocket.TextMessage && p.Type == protocol.EnginePing && string(p.Data) == "probe":
			s.mu.Lock()
			ok := s.probe == c
			if ok {
				s.up = upProbed
			}
			s.mu.Unlock()
			if !ok {
				closeWS(c)
				return
			}
			pong := protocol.EnginePacket{Type: protocol.EnginePong, Data: []byte("probe")}
			if err := writeFrame(c, pong, s.eio); err != nil {
				s.dropProbe(c)
				return
			}
			s.tap(protocol.Out, TransportWebSocket, pong, []byte("3probe"))
			s.signal() // a pending GET answers noop
		case mt == websocket.TextMessage && p.Type == protocol.EngineUpgrade:
			if !s.completeUpgrade(c) {
				s.dropProbe(c)
				return
			}
			s.readFrames(c, buf)
			return
		default:
			s.srv.cfg.logger.Debug("engine.io unexpected packet on upgrade probe", "sid", s.id, "type", p.Type.String())
			s.dropProbe(c)
			return
		}
	}
}

// completeUpgrade switches the session to the probe socket c on "5": the
// queue moves to the WebSocket writer, a pending GET gets a noop, and
// polling requests for the sid get 400 from now on.
func (s *Session) completeUpgrade(c *websocket.Conn) bool {
	if !s.srv.track(1) { // the session's token
		return false
	}
	s.dispatchMu.Lock()
	defer s.dispatchMu.Unlock()
	s.mu.Lock()
	if s.state != stateOpen || s.probe != c {
		s.mu.Unlock()
		s.srv.wg.Done()
		return false
	}
	s.probe = nil
	s.conn = c
	s.wst = newWSTransport(c)
	s.useTransport(c)
	s.ws = true
	s.up = upDone
	s.token = true
	s.upTimer.Stop()
	s.mu.Unlock()
	s.signal() // flushes the queue on the WebSocket, and wakes a pending GET, which answers noop
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.mu.Lock()
	cb := s.onUpgrade
	s.mu.Unlock()
	s.srv.cfg.logger.Debug("engine.io session upgraded", "sid", s.id)
	if cb != nil {
		cb(TransportWebSocket)
	}
	return true
}

// readLoop is the reader goroutine of a WebSocket session.
func (s *Session) readLoop(c *websocket.Conn) {
	defer s.srv.wg.Done()
	c.SetReadLimit(s.srv.cfg.maxPayload)
	s.readFrames(c, nil)
}

// readFrames reads and handles frames until the connection or the session
// ends.
func (s *Session) readFrames(c *websocket.Conn, buf []byte) {
	for {
		mt, data, err := readMessage(c, buf)
		if err != nil {
			s.end(readErrorReason(err), closePacket)
			return
		}
		p, err := parseFrame(mt, data, s.eio)
		if err != nil {
			s.srv.cfg.logger.Warn("engine.io invalid websocket frame", "sid", s.id, "err", err)
			s.end(protocol.ReasonParseError, closePacket)
			return
		}
		s.tap(protocol.In, TransportWebSocket, p, data)
		s.dispatchMu.Lock()
		ok := s.handlePacket(p)
		s.dispatchMu.Unlock()
		if !ok {
			return
		}
		if cap(data) > readBufKeep {
			data = nil
		}
		buf = data
	}
}

// readErrorReason maps a read error to Node's reason: an oversized message
// is a transport error (ws emits "error"); the peer going away is a
// transport close.
func readErrorReason(err error) protocol.DisconnectReason {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return protocol.ReasonTransportError
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return protocol.ReasonTransportClose
	default:
		return protocol.ReasonTransportError
	}
}

// readMessage reads one whole message into buf's storage.
func readMessage(c *websocket.Conn, buf []byte) (int, []byte, error) {
	mt, r, err := c.NextReader()
	if err != nil {
		return 0, buf, err
	}
	if buf == nil {
		buf = make([]byte, 0, 512)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return mt, buf, nil
		}
		if err != nil {
			return 0, buf, err
		}
	}
}

func parseFrame(mt int, data []byte, v protocol.EIO) (protocol.EnginePacket, error) {
	if mt == websocket.BinaryMessage {
		return protocol.ParseEngineBinary(data, v)
	}
	return protocol.ParseEngineText(data)
}

// writeFrame writes p as one message without copying its data.
func writeFrame(c *websocket.Conn, p protocol.EnginePacket, v protocol.EIO) error {
	mt := websocket.TextMessage
	if p.Binary {
		mt = websocket.BinaryMessage
	}
	w, err := c.NextWriter(mt)
	if err != nil {
		return err
	}
	switch {
	case !p.Binary:
		_, err = w.Write(digits[p.Type : p.Type+1])
	case v == protocol.EIO3:
		_, err = w.Write(v3BinaryType)
	}
	if err == nil && len(p.Data) > 0 {
		_, err = w.Write(p.Data)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
