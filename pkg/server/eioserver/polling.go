package eioserver

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// HTTP long-polling (PROTOCOL.md §1.4): no goroutine of its own. A pending
// GET is the writer, a POST the reader.

const (
	contentTypeText   = "text/plain; charset=UTF-8"
	contentTypeBinary = "application/octet-stream"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 1<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// takeOpen removes the open packet from the queue before OnConnection runs,
// so that the handshake GET carries it alone, as in Node (what
// OnConnection sends goes to the next GET).
func (s *Session) takeOpen() protocol.EnginePacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := s.queue[0]
	s.queue = append(s.queue[:0], s.queue[1:]...)
	s.pending -= int64(len(open.Data))
	return open
}

// serveHandshakePoll answers the handshake GET with the open packet.
func (s *Session) serveHandshakePoll(w http.ResponseWriter, r *http.Request, open protocol.EnginePacket) {
	s.startHeartbeat()
	s.writePayload(w, r, []protocol.EnginePacket{open})
}

// servePoll is a polling GET: it waits until there is something to send
// (queued packets, a ping, the close packet, a noop during an upgrade) and
// writes it as one payload.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		if s.srv.unlinger(s) { // the GET sent with the client's close
			s.writePayload(w, r, []protocol.EnginePacket{{Type: protocol.EngineNoop}})
			return
		}
		writeError(w, protocol.ErrSessionIDUnknown)
		return
	case s.ws:
		s.mu.Unlock()
		writeError(w, protocol.ErrBadRequest)
		return
	case s.getPending:
		// A second concurrent GET: the session closes, the first GET gets
		// the close packet and this one 400 (Node: "overlap from client").
		s.mu.Unlock()
		s.srv.cfg.logger.Warn("engine.io concurrent polling GET", "sid", s.id)
		s.end(protocol.ReasonTransportError, closePacket)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// Counted for Close's wait while the server is open; during a Shutdown
	// the GET that carries the close packet is still served.
	if s.srv.track(1) {
		defer s.srv.wg.Done()
	}
	s.getPending = true
	var pkts []protocol.EnginePacket
	closing := false
	abort := r.Context().Done()
	for {
		if s.state == stateClosed {
			pkts = []protocol.EnginePacket{{Type: protocol.EngineType(s.endReply)}}
			break
		}
		if s.ws { // upgraded meanwhile
			pkts = []protocol.EnginePacket{{Type: protocol.EngineNoop}}
			break
		}
		if len(s.queue) > 0 {
			pkts = s.takeLocked()
			closing = s.state == stateClosing && len(s.queue) == 0
			break
		}
		if s.state == stateClosing {
			closing = true
			break
		}
		if s.up == upProbed { // make the client's paused poll return
			pkts = []protocol.EnginePacket{{Type: protocol.EngineNoop}}
			break
		}
		wake := s.wake
		s.mu.Unlock()
		if hook := s.srv.testHookPollWait; hook != nil {
			hook(s)
		}
		select {
		case <-wake:
		case <-s.done:
		case <-abort:
			s.mu.Lock()
			s.getPending = false
			s.mu.Unlock()
			s.srv.cfg.logger.Debug("engine.io poll connection closed prematurely", "sid", s.id)
			s.end(protocol.ReasonTransportError, closePacket)
			return
		}
		s.mu.Lock()
	}
	s.getPending = false
	reason := s.reason
	s.mu.Unlock()
	if closing {
		pkts = append(pkts, protocol.EnginePacket{Type: protocol.EngineClose})
	}
	s.writePayload(w, r, pkts)
	if closing {
		s.end(reason, closePacket)
	}
}

// takeLocked removes from the queue what goes into one GET response: up to
// about MaxPayload bytes, at least one packet.
func (s *Session) takeLocked() []protocol.EnginePacket {
	limit := s.srv.cfg.maxPayload
	n, size := 0, int64(0)
	for n < len(s.queue) {
		p := s.queue[n]
		sz := int64(len(p.Data)) + 2
		if p.Binary {
			sz = int64(base64.StdEncoding.EncodedLen(len(p.Data))) + 2
		}
		if n > 0 && size+sz > limit {
			break
		}
		size += sz
		n++
	}
	s.pending -= dataBytes(s.queue[:n])
	if n == len(s.queue) {
		out := s.queue
		s.queue = nil
		return out
	}
	out := make([]protocol.EnginePacket, n)
	copy(out, s.queue)
	rest := copy(s.queue, s.queue[n:])
	clear(s.queue[rest:])
	s.queue = s.queue[:rest]
	return out
}

// writePayload writes pkts as one polling response body.
func (s *Session) writePayload(w http.ResponseWriter, r *http.Request, pkts []protocol.EnginePacket) {
	bp := getBuf()
	defer putBuf(bp)
	body := *bp
	ctype := contentTypeText
	binary := false
	switch {
	case s.eio == protocol.EIO4:
		body = protocol.AppendPayloadV4(body, pkts...)
	case !s.b64 && hasBinary(pkts):
		binary = true
		ctype = contentTypeBinary
		body = protocol.AppendPayloadV3Binary(body, pkts...)
	default:
		body = protocol.AppendPayloadV3(body, pkts...)
	}
	*bp = body
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	setPollHeaders(h, r)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if s.srv.cfg.tap != nil {
		for _, p := range pkts {
			s.tap(protocol.Out, TransportPolling, p, s.appendRecord(nil, p, binary))
		}
	}
}

// appendRecord appends p as it appears inside a payload of this session.
func (s *Session) appendRecord(dst []byte, p protocol.EnginePacket, binaryPayload bool) []byte {
	switch {
	case s.eio == protocol.EIO4:
		return protocol.AppendEngineText(dst, p)
	case binaryPayload:
		return protocol.AppendPayloadV3Binary(dst, p)
	default:
		return protocol.AppendPayloadV3(dst, p)
	}
}

func hasBinary(pkts []protocol.EnginePacket) bool {
	for _, p := range pkts {
		if p.Binary {
			return true
		}
	}
	return false
}

// setPollHeaders adds the headers of Node's Polling.headers.
func setPollHeaders(h http.Header, r *http.Request) {
	if ua := r.Header.Get("User-Agent"); strings.Contains(ua, ";MSIE") || strings.Contains(ua, "Trident/") {
		h.Set("X-XSS-Protection", "0")
	}
	h.Set("Cache-Control", "no-store")
}

// serveData is a polling POST: it reads the body (at most MaxPayload bytes,
// else 413), delivers its packets, then answers "ok".
func (s *Session) serveData(w http.ResponseWriter, r *http.Request) {
	binary := r.Header.Get("Content-Type") == contentTypeBinary
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		writeError(w, protocol.ErrSessionIDUnknown)
		return
	case s.postActive:
		// Node ("data request overlap from client"): this one gets 400, the
		// session closes, and the POST in progress is destroyed: its read is
		// cut short and its connection closed without a response.
		s.destroyPostLocked()
		s.mu.Unlock()
		s.srv.cfg.logger.Warn("engine.io concurrent polling POST", "sid", s.id)
		s.end(protocol.ReasonTransportError, closePacket)
		w.WriteHeader(http.StatusBadRequest)
		return
	case binary && s.eio == protocol.EIO4:
		s.mu.Unlock()
		s.srv.cfg.logger.Warn("engine.io binary POST body from a v4 client", "sid", s.id)
		s.end(protocol.ReasonTransportError, closePacket)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.postActive = true
	s.postRC = http.NewResponseController(w)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.postActive = false
		s.mu.Unlock()
	}()

	if hook := s.srv.testHookPostRead; hook != nil {
		hook(s)
	}
	bp := getBuf()
	defer putBuf(bp)
	body, err := readBody(*bp, r.Body, s.srv.cfg.maxPayload)
	*bp = body
	s.mu.Lock()
	cut := s.postCut
	s.postRC, s.postCut = nil, false // the body is read: nothing cuts it now
	s.mu.Unlock()
	if cut {
		// net/http closes the connection without a response and without
		// logging: Node's req.destroy().
		panic(http.ErrAbortHandler)
	}
	switch {
	case err == errTooLarge:
		s.peerError(&SessionError{Transport: TransportPolling, Err: ErrMessageTooBig, Size: max(r.ContentLength, 0)})
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		s.srv.cfg.logger.Debug("engine.io data request closed prematurely", "sid", s.id, "err", err)
		s.end(protocol.ReasonTransportError, closePacket)
		return
	}
	s.readPayload(body, binary)
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	setPollHeaders(h, r)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// destroyPostLocked cuts short the POST reading its body, if any (Node's
// dataReq.destroy()): its read fails now, and its handler closes the
// connection without a response. The read deadline is set under s.mu while
// postRC is set, so while that handler is still reading: set later, it
// would outlive the request and fail the connection's next one (the
// handler's ResponseController must not be used after the handler
// returns).
func (s *Session) destroyPostLocked() {
	if s.postRC == nil {
		return
	}
	s.postCut = true
	_ = s.postRC.SetReadDeadline(time.Now())
	s.postRC = nil
}

type tooLargeError struct{}

func (tooLargeError) Error() string { return "request body too large" }

var errTooLarge error = tooLargeError{}

// readBody reads r into dst, failing with errTooLarge beyond limit bytes.
func readBody(dst []byte, r io.Reader, limit int64) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if int64(len(dst)) > limit {
			return dst, errTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// readPayload decodes a POST body and handles its packets in order; a
// decoding error closes the session ("parse error") after the packets
// before it.
func (s *Session) readPayload(body []byte, binary bool) {
	var seq func(func(protocol.EnginePacket, error) bool)
	switch {
	case s.eio == protocol.EIO4:
		seq = protocol.PayloadV4(body)
	case binary:
		seq = protocol.PayloadV3Binary(body)
	default:
		seq = protocol.PayloadV3(body)
	}
	s.dispatchMu.Lock()
	defer s.dispatchMu.Unlock()
	for p, err := range seq {
		if err != nil {
			s.peerError(&SessionError{Transport: TransportPolling, Err: withCause(ErrInvalidPacket, err)})
			s.end(protocol.ReasonParseError, closePacket)
			return
		}
		if s.srv.cfg.tap != nil {
			s.tap(protocol.In, TransportPolling, p, s.appendRecord(nil, p, binary))
		}
		if !s.handlePacket(p, false) {
			return
		}
	}
}
