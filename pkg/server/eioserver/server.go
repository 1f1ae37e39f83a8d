package eioserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// ErrClosed is returned by Send on a session that has ended or is closing.
var ErrClosed = errors.New("engine.io session closed")

// ErrQueueFull is returned by Send when the session's queue is full; the
// session is then closed as a slow consumer.
var ErrQueueFull = errors.New("engine.io send queue full")

// Server is an Engine.IO server: an http.Handler for the endpoint's path
// (polling and the WebSocket upgrade) and the set of live sessions.
type Server struct {
	cfg    config
	onConn func(*Session)

	// mu guards sessions and closed. Lock order: Session.dispatchMu, then
	// Session.mu, then Server.mu; Server.mu is never held while taking a
	// session's lock.
	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool
	wg       sync.WaitGroup // every goroutine and pending request of every session

	// lingering are the polling sessions their client closed in the last
	// closeLinger, oldest first in lingerQ, whose first GET still gets
	// the noop (Session.end); lingerTimer drops them when they expire.
	// Guarded by mu.
	lingering   map[string]*Session
	lingerQ     []lingerEntry
	lingerTimer *time.Timer

	// pl is the epoll set of idle WebSocket connections (Linux), made on
	// first use and closed after the last session; guarded by mu.
	pl      *poller
	plTried bool

	// dl is the heartbeat and close deadlines of the sessions.
	dl deadlines

	// uring is the io_uring of FlushBatch flushes (Options.IOUring), set
	// up on first use and released at Close.
	uring uringState

	// testHookPollWait, when set, runs each time a polling GET starts
	// waiting for data.
	testHookPollWait func(*Session)
	// testHookPostRead, when set, runs when a POST starts reading its body.
	testHookPostRead func(*Session)
	// testHookWriterIdle, when set, runs each time a WebSocket writer
	// starts waiting for packets.
	testHookWriterIdle func(*Session)
}

// RequestInfo describes the handshake request of a session. The headers
// and the query are kept packed (a session lives long and is rarely asked
// for them): Header and Query make them anew on each call.
type RequestInfo struct {
	RemoteAddr string
	Secure     bool   // TLS
	URL        string // the request URI
	Time       time.Time
	header     string // "Key:value\n" per value
}

// NewRequestInfo returns the RequestInfo of r, received at t. RemoteAddr,
// URL and the headers share one allocation: kept apart, the remote
// address and the whole request line (which URL sliced) were two more
// strings held for the life of every connection.
func NewRequestInfo(r *http.Request, t time.Time) *RequestInfo {
	n := len(r.RemoteAddr) + len(r.RequestURI)
	for k, vv := range r.Header {
		for _, v := range vv {
			n += len(k) + len(v) + 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(r.RemoteAddr)
	b.WriteString(r.RequestURI)
	writePackedHeader(&b, r.Header)
	all := b.String()
	a, u := len(r.RemoteAddr), len(r.RequestURI)
	return &RequestInfo{RemoteAddr: all[:a], Secure: r.TLS != nil, URL: all[a : a+u], Time: t, header: all[a+u:]}
}

// writePackedHeader writes h as "Key:value\n" lines (a header value holds
// no newline).
func writePackedHeader(b *strings.Builder, h http.Header) {
	for k, vv := range h {
		for _, v := range vv {
			b.WriteString(k)
			b.WriteByte(':')
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
}

// Header returns the request's headers (a new map each call).
func (ri *RequestInfo) Header() http.Header {
	h := make(http.Header, strings.Count(ri.header, "\n"))
	for line := range strings.Lines(ri.header) {
		k, v, _ := strings.Cut(line[:len(line)-1], ":")
		h[k] = append(h[k], v)
	}
	return h
}

// Query returns the request's query parameters (a new map each call).
func (ri *RequestInfo) Query() url.Values {
	_, q, _ := strings.Cut(ri.URL, "?")
	v, _ := url.ParseQuery(q)
	return v
}

// NewServer returns a Server for opts.
func NewServer(opts Options) *Server {
	s := &Server{cfg: newConfig(opts), sessions: make(map[string]*Session)}
	return s
}

// OnConnection sets the function called once per new session, before any of
// its messages is delivered. Set it before serving.
func (s *Server) OnConnection(fn func(*Session)) { s.onConn = fn }

// SessionCount returns the number of live sessions.
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Shutdown stops accepting requests, closes every session with reason
// "forced close" (flushing what is queued: a polling session's close packet
// waits for the client's next GET) and waits until every session has ended
// and all their goroutines have returned, or until ctx is done; then it
// ends what is left at once and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	all := s.stop()
	for _, sess := range all {
		sess.Close(protocol.ReasonForcedClose)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, sess := range all {
			select {
			case <-sess.Done():
			case <-ctx.Done():
				return
			}
		}
		s.wg.Wait()
	}()
	select {
	case <-done:
		s.closePoller()
		s.uring.close()
		return nil
	case <-ctx.Done():
		s.Close()
		<-done
		return ctx.Err()
	}
}

// poller returns the server's epoll set, made on first use; nil where
// there is none (every reader then has a goroutine).
func (s *Server) poller() *poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.plTried && !s.closed {
		s.plTried = true
		s.pl = newPoller()
	}
	return s.pl
}

// closePoller stops the epoll set once every session has ended.
func (s *Server) closePoller() {
	s.mu.Lock()
	pl := s.pl
	s.plTried = true // none after this
	s.mu.Unlock()
	if pl != nil {
		pl.close()
	}
}

// Close ends every session at once (reason "forced close", nothing flushed)
// and waits for their goroutines. It is idempotent.
func (s *Server) Close() {
	s.stop()
	s.mu.Lock()
	all := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.end(protocol.ReasonForcedClose, closePacket)
	}
	s.wg.Wait()
	s.closePoller()
	s.uring.close()
}

// stop marks the server closed, forgets the lingering sessions and returns
// the live ones.
func (s *Server) stop() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.lingerTimer != nil {
		s.lingerTimer.Stop()
	}
	s.lingering, s.lingerQ = nil, nil
	all := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	return all
}

// track adds n to the WaitGroup unless the server is closed.
func (s *Server) track(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(n)
	return true
}

// lookup finds a live session; for a polling GET (pollGET) also one that
// its client closed lately, whose sid still answers that GET.
func (s *Server) lookup(id string, pollGET bool) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.sessions[id]; sess != nil || !pollGET {
		return sess
	}
	return s.lingering[id]
}

// closeLinger is how long the sid of a polling session closed by its
// client (a "1" in a POST) still answers one GET with a noop. A client
// that closes sends no GET afterwards, but one it sent together with the
// close (engine.io-client's close() while polling, the official test
// suite) may be handled after it, on another goroutine: Node, handling
// requests in arrival order on one thread, answers that GET with the
// noop, and so does sio within closeLinger. Later GETs, and any after the
// first, get 400 "Session ID unknown". A lingering session holds what an
// ended session holds (no queue, no connection), for this long only.
const closeLinger = 5 * time.Second

type lingerEntry struct {
	sess *Session
	at   time.Time
}

// retire removes an ended session from the live ones; linger keeps its sid
// for the GET that raced the client's close (closeLinger). Called by
// Session.end under the session's lock, so that a GET that sees the session
// closed finds it lingering.
func (s *Server) retire(sess *Session, linger bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
	}
	if !linger || s.closed {
		return
	}
	if s.lingering == nil {
		s.lingering = make(map[string]*Session)
	}
	s.lingering[sess.id] = sess
	s.lingerQ = append(s.lingerQ, lingerEntry{sess, time.Now()})
	if len(s.lingerQ) == 1 {
		s.armLingerLocked()
	}
}

// unlinger claims the one noop GET of a lingering session; false when it
// is not lingering (any more).
func (s *Server) unlinger(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lingering[sess.id] != sess {
		return false
	}
	delete(s.lingering, sess.id)
	return true
}

// armLingerLocked arms lingerTimer for the oldest lingering session.
// Caller holds s.mu; lingerQ is not empty.
func (s *Server) armLingerLocked() {
	d := time.Until(s.lingerQ[0].at.Add(s.cfg.closeLinger))
	if s.lingerTimer == nil {
		s.lingerTimer = time.AfterFunc(d, s.expireLingering)
	} else {
		s.lingerTimer.Reset(d)
	}
}

// expireLingering drops the sessions that have lingered closeLinger.
func (s *Server) expireLingering() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	q := s.lingerQ
	for len(q) > 0 && now.Sub(q[0].at) >= s.cfg.closeLinger {
		if sess := q[0].sess; s.lingering[sess.id] == sess {
			delete(s.lingering, sess.id)
		}
		q[0] = lingerEntry{}
		q = q[1:]
	}
	if len(q) == 0 {
		q = nil
	}
	s.lingerQ = q
	if len(q) > 0 {
		s.armLingerLocked()
	}
}

// ServeHTTP handles the endpoint: handshakes, polling GET/POST and WebSocket
// upgrades, in Node's order (CORS middleware, then verify, then the
// transport).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 { // a body (-1: chunked), which may never end
		b := &bodyReader{ReadCloser: r.Body}
		r.Body = b
		defer b.cutUnread(w)
	}
	if !strings.HasPrefix(r.URL.Path, s.cfg.path) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	upgrade := wsframe.IsUpgrade(r)
	h := w.Header()
	if s.cfg.cors != nil {
		var hdr http.Header
		if upgrade {
			hdr = make(http.Header)
		} else {
			hdr = h
		}
		if s.applyCORS(hdr, r) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if upgrade {
			h = hdr
		}
	}
	q := r.URL.Query()
	transport := q.Get("transport")
	sid := q.Get("sid")
	if err := s.verify(r, q, transport, sid, upgrade); err != nil {
		s.cfg.logger.Debug("engine.io request rejected", "remote", r.RemoteAddr, "url", r.URL.String(), "err", err)
		s.reject(r, *err)
		if upgrade {
			abortUpgrade(w, *err)
			return
		}
		writeError(w, *err)
		return
	}
	if sid != "" {
		sess := s.lookup(sid, !upgrade && r.Method == http.MethodGet)
		if sess == nil { // ended between verify and here
			s.reject(r, protocol.ErrSessionIDUnknown)
			if upgrade {
				abortUpgrade(w, protocol.ErrSessionIDUnknown)
			} else {
				writeError(w, protocol.ErrSessionIDUnknown)
			}
			return
		}
		if upgrade {
			s.serveUpgrade(w, r, h, sess, transport)
			return
		}
		switch r.Method {
		case http.MethodGet:
			sess.servePoll(w, r)
		case http.MethodPost:
			sess.serveData(w, r)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
		return
	}
	s.handshake(w, r, h, q, transport, upgrade)
}

// bodyReader notes whether a request's body was read to its end.
type bodyReader struct {
	io.ReadCloser
	eof bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// cutUnread runs when the handler returns: a body it did not read to its
// end (a refused request, a 413, a destroyed POST) is cut. net/http would
// otherwise read what is left before sending the response, without a
// bound in time unless the http.Server has a ReadTimeout: a body that
// never ends (chunked without its last chunk, a Content-Length never
// reached) would hold the request and its connection forever. With the
// read deadline passed, the response goes out at once and the connection
// is closed unless net/http had already buffered the rest. Node answers
// such a request at once too, and closes its connection after its
// keepAliveTimeout (5 s).
func (b *bodyReader) cutUnread(w http.ResponseWriter) {
	if !b.eof {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

// verify is Node's Server.verify: transport, Origin, sid, method and
// allowRequest checks. A nil result accepts the request.
func (s *Server) verify(r *http.Request, q url.Values, transport, sid string, upgrade bool) *protocol.EngineError {
	if !s.cfg.transportEnabled(transport) {
		return &protocol.ErrTransportUnknown
	}
	if invalidHeaderValue(r.Header.Get("Origin")) {
		return &protocol.ErrBadRequest
	}
	if sid != "" {
		sess := s.lookup(sid, !upgrade && r.Method == http.MethodGet)
		if sess == nil {
			return &protocol.ErrSessionIDUnknown
		}
		if !upgrade && sess.Transport() != transport {
			return &protocol.ErrBadRequest
		}
		if protocol.ParseEIO(q.Get("EIO")) != sess.eio {
			return &protocol.ErrBadRequest
		}
		return nil
	}
	if r.Method != http.MethodGet {
		return &protocol.ErrBadHandshakeMethod
	}
	if transport == TransportWebSocket && !upgrade {
		return &protocol.ErrBadRequest
	}
	if s.cfg.allowRequest != nil {
		if err := s.cfg.allowRequest(r); err != nil {
			e := protocol.ErrForbidden
			if msg := err.Error(); msg != "" {
				e.Message = msg
			}
			return &e
		}
	}
	return nil
}

// invalidHeaderValue is Node's checkInvalidHeaderChar: only tab and
// printable bytes (0x20-0x7e, 0x80-0xff) are allowed.
func invalidHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\t' && (c < 0x20 || c == 0x7f) {
			return true
		}
	}
	return false
}

// handshake opens a session (Node's Server.handshake).
func (s *Server) handshake(w http.ResponseWriter, r *http.Request, h http.Header, q url.Values, transport string, upgrade bool) {
	eio := protocol.ParseEIO(q.Get("EIO"))
	reject := func(e protocol.EngineError) {
		s.reject(r, e)
		if upgrade {
			abortUpgrade(w, e)
		} else {
			writeError(w, e)
		}
	}
	if eio == protocol.EIO3 && !s.cfg.allowEIO3 {
		reject(protocol.ErrUnsupportedProtocol)
		return
	}
	id := s.cfg.newID()
	if id == "" {
		reject(protocol.ErrBadRequest)
		return
	}
	sess := newSession(s, id, eio, r, transport)
	sess.b64 = q.Get("b64") != ""
	if transport == TransportWebSocket {
		s.handshakeWebSocket(w, r, h, sess)
		return
	}
	if !s.register(sess) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.cfg.logger.Debug("engine.io session opened", "sid", id, "transport", transport, "eio", int(eio), "remote", r.RemoteAddr)
	open := sess.takeOpen()
	if s.onConn != nil {
		s.onConn(sess)
	}
	sess.serveHandshakePoll(w, r, open)
}

// register adds sess to the live sessions unless the server is closed.
func (s *Server) register(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if _, dup := s.sessions[sess.id]; dup {
		return false
	}
	s.sessions[sess.id] = sess
	return true
}

// writeError writes Node's JSON error response (abortRequest).
func writeError(w http.ResponseWriter, e protocol.EngineError) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // like JSON.stringify
	_ = enc.Encode(e)        // cannot fail: an int and a string
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(body)
}

// abortUpgrade answers a refused WebSocket upgrade the way Node does: a raw
// HTTP/1.1 400 with the message as text, then the connection is destroyed.
func abortUpgrade(w http.ResponseWriter, e protocol.EngineError) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, e)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	msg := e.Message
	_ = conn.SetWriteDeadline(time.Now().Add(wsCloseTimeout))
	_, _ = brw.WriteString("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: " +
		strconv.Itoa(len(msg)) + "\r\n\r\n" + msg)
	_ = brw.Flush()
}
