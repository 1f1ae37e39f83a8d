package eioclient

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// fakeServer is just enough of a Node Engine.IO server for the client's
// tests: handshake, polling (held GET, POST), WebSocket-only sessions and
// the upgrade, in v3 or v4, on 127.0.0.1. It records the frames it sees in
// order so tests can assert sequences.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	eio          protocol.EIO // v3: ignores the EIO parameter like engine.io 3
	refuseV3     bool         // v4 server without allowEIO3: 400 code 5 for EIO≠4
	refuseV4     bool         // v3 server that checks EIO: 400 code 5 for EIO=4
	pingInterval int64
	pingTimeout  int64
	maxPayload   int64
	serverPings  bool // v4: send pings every pingInterval
	answerPings  bool // v3: answer pings with pong
	noUpgrades   bool // handshake upgrades: []
	refuseProbe  bool // answer 2probe with garbage
	echo         bool // send every message back
	tls          bool // serve https/wss with httptest's self-signed certificate
	initial      []protocol.EnginePacket
	// onProbe, when set, runs at each step of the upgrade: "2probe" once
	// the probe ping is read (before the answer), "3probe" once the answer
	// is written (before a pending GET is released).
	onProbe func(ss *fakeSession, step string)

	wg       sync.WaitGroup // handlers, hijacked ones included
	mu       sync.Mutex
	sessions map[string]*fakeSession
	conns    []*websocket.Conn
	requests []string // "METHOD transport X-Test=… foo=…" per request
	log      []string
	logCh    chan string
	nextID   int
}

type fakeSession struct {
	srv *fakeServer
	sid string
	eio protocol.EIO

	mu        sync.Mutex
	queue     []protocol.EnginePacket
	notify    chan struct{}
	ws        *websocket.Conn
	wsMu      sync.Mutex // serialises writes on ws
	closed    bool
	upgrading bool // 3probe sent: every GET is answered with noop (Node)
	done      chan struct{}
	received  chan protocol.EnginePacket
	gets      chan struct{} // a GET has started (buffered, never blocks)
	posts     int
}

func newFakeServer(t *testing.T, eio protocol.EIO, configure func(*fakeServer)) *fakeServer {
	t.Helper()
	s := &fakeServer{
		t:            t,
		eio:          eio,
		pingInterval: 25000,
		pingTimeout:  20000,
		maxPayload:   1000000,
		answerPings:  true,
		echo:         true,
		sessions:     map[string]*fakeSession{},
		logCh:        make(chan string, 1024),
	}
	if eio == protocol.EIO3 {
		s.maxPayload = 0
	}
	if configure != nil {
		configure(s)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	if s.tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) url() *url.URL {
	u, _ := url.Parse(s.srv.URL)
	return u
}

func (s *fakeServer) close() {
	s.mu.Lock()
	sessions := make([]*fakeSession, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.shut()
	}
	s.mu.Lock()
	conns := s.conns
	s.mu.Unlock()
	for _, ws := range conns {
		ws.Close()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.wg.Wait()
}

// record appends an event to the server's ordered log.
func (s *fakeServer) record(ev string) {
	s.mu.Lock()
	s.log = append(s.log, ev)
	s.mu.Unlock()
	select {
	case s.logCh <- ev:
	default:
	}
}

// waitLog waits for an event with the given prefix.
func (s *fakeServer) waitLog(t *testing.T, prefix string) {
	t.Helper()
	s.waitLogFunc(t, func(ev string) bool { return strings.HasPrefix(ev, prefix) })
}

// waitLogFunc waits for an event that match accepts.
func (s *fakeServer) waitLogFunc(t *testing.T, match func(string) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.logCh:
			if match(ev) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for a server event; log: %q", s.events())
		}
	}
}

func (s *fakeServer) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *fakeServer) session(t *testing.T) *fakeSession {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		return ss
	}
	t.Fatal("no session")
	return nil
}

func (s *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1) // before any hijack, so srv.Close orders it before wg.Wait
	defer s.wg.Done()
	if !strings.HasPrefix(r.URL.Path, DefaultPath) {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+q.Get("transport")+" X-Test="+r.Header.Get("X-Test")+" foo="+q.Get("foo"))
	s.mu.Unlock()
	eio := s.eio
	if s.refuseV4 && q.Get("EIO") == "4" {
		writeEngineError(w, protocol.ErrUnsupportedProtocol)
		return
	}
	if s.eio == protocol.EIO4 {
		eio = protocol.ParseEIO(q.Get("EIO"))
		if eio == protocol.EIO3 && s.refuseV3 {
			writeEngineError(w, protocol.ErrUnsupportedProtocol)
			return
		}
	}
	sid := q.Get("sid")
	switch q.Get("transport") {
	case "polling":
		if sid == "" {
			s.handshakePolling(w, r, eio)
			return
		}
		ss := s.lookup(sid)
		if ss == nil {
			writeEngineError(w, protocol.ErrSessionIDUnknown)
			return
		}
		if r.Method == http.MethodPost {
			ss.handlePost(w, r)
		} else {
			ss.handleGet(w, r)
		}
	case "websocket":
		s.handleWebSocket(w, r, eio, sid)
	default:
		writeEngineError(w, protocol.ErrTransportUnknown)
	}
}

func writeEngineError(w http.ResponseWriter, e protocol.EngineError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.HTTPStatus())
	io.WriteString(w, `{"code":`+strconv.Itoa(e.Code)+`,"message":"`+e.Message+`"}`)
}

func (s *fakeServer) lookup(sid string) *fakeSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[sid]
}

func (s *fakeServer) newSession(eio protocol.EIO) *fakeSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	ss := &fakeSession{
		srv:      s,
		sid:      "sid" + strconv.Itoa(s.nextID),
		eio:      eio,
		notify:   make(chan struct{}, 1),
		done:     make(chan struct{}),
		received: make(chan protocol.EnginePacket, 256),
		gets:     make(chan struct{}, 1024),
	}
	s.sessions[ss.sid] = ss
	return ss
}

func (s *fakeServer) openPacket(ss *fakeSession, upgrades []string) protocol.EnginePacket {
	h := protocol.Handshake{SID: ss.sid, Upgrades: upgrades, PingInterval: s.pingInterval, PingTimeout: s.pingTimeout, MaxPayload: s.maxPayload}
	return protocol.EnginePacket{Type: protocol.EngineOpen, Data: protocol.AppendHandshake(nil, h)}
}

func (s *fakeServer) handshakePolling(w http.ResponseWriter, r *http.Request, eio protocol.EIO) {
	ss := s.newSession(eio)
	s.record("handshake polling " + r.URL.RawQuery)
	upgrades := []string{"websocket"}
	if s.noUpgrades {
		upgrades = []string{}
	}
	pkts := append([]protocol.EnginePacket{s.openPacket(ss, upgrades)}, s.initial...)
	ss.writePayload(w, pkts)
	ss.startPings()
}

func (ss *fakeSession) writePayload(w http.ResponseWriter, pkts []protocol.EnginePacket) {
	var body []byte
	ct := "text/plain; charset=UTF-8"
	if ss.eio == protocol.EIO4 {
		body = protocol.AppendPayloadV4(nil, pkts...)
	} else {
		binary := false
		for _, p := range pkts {
			binary = binary || p.Binary
		}
		if binary {
			body = protocol.AppendPayloadV3Binary(nil, pkts...)
			ct = "application/octet-stream"
		} else {
			body = protocol.AppendPayloadV3(nil, pkts...)
		}
	}
	w.Header().Set("Content-Type", ct)
	w.Write(body)
}

// send queues packets for the client on the session's current transport.
func (ss *fakeSession) send(pkts ...protocol.EnginePacket) {
	ss.mu.Lock()
	ws := ss.ws
	if ws == nil {
		ss.queue = append(ss.queue, pkts...)
	}
	ss.mu.Unlock()
	if ws != nil {
		for _, p := range pkts {
			ss.writeWS(ws, p)
		}
		return
	}
	select {
	case ss.notify <- struct{}{}:
	default:
	}
}

func (ss *fakeSession) writeWS(ws *websocket.Conn, p protocol.EnginePacket) {
	frame, bin := protocol.AppendEngineFrame(nil, p, ss.eio)
	mt := websocket.TextMessage
	if bin {
		mt = websocket.BinaryMessage
	}
	ss.wsMu.Lock()
	defer ss.wsMu.Unlock()
	ws.WriteMessage(mt, frame)
}

func (ss *fakeSession) handleGet(w http.ResponseWriter, r *http.Request) {
	ss.srv.record("GET start")
	defer ss.srv.record("GET end")
	select {
	case ss.gets <- struct{}{}:
	default:
	}
	for {
		ss.mu.Lock()
		if len(ss.queue) > 0 {
			pkts := ss.queue
			ss.queue = nil
			ss.mu.Unlock()
			ss.writePayload(w, pkts)
			return
		}
		closed, upgrading := ss.closed, ss.upgrading
		ss.mu.Unlock()
		if upgrading {
			ss.writePayload(w, []protocol.EnginePacket{{Type: protocol.EngineNoop}})
			return
		}
		if closed {
			ss.writePayload(w, []protocol.EnginePacket{{Type: protocol.EngineClose}})
			return
		}
		select {
		case <-ss.notify:
		case <-ss.done:
		case <-r.Context().Done():
			return
		}
	}
}

func (ss *fakeSession) handlePost(w http.ResponseWriter, r *http.Request) {
	ss.srv.record("POST start")
	defer ss.srv.record("POST end")
	body, _ := io.ReadAll(r.Body)
	var seq func(func(protocol.EnginePacket, error) bool)
	switch {
	case ss.eio == protocol.EIO4:
		seq = protocol.PayloadV4(body)
	case r.Header.Get("Content-Type") == contentTypeBinary:
		seq = protocol.PayloadV3Binary(body)
	default:
		seq = protocol.PayloadV3(body)
	}
	ss.mu.Lock()
	ss.posts++
	ss.mu.Unlock()
	for p, err := range seq {
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ss.srv.record("POST " + describe(p))
		ss.onPacket(p)
	}
	w.Header().Set("Content-Type", "text/html")
	io.WriteString(w, "ok")
}

func describe(p protocol.EnginePacket) string {
	if p.Binary {
		return "binary " + string(p.Data)
	}
	return p.Type.String() + " " + string(p.Data)
}

func (ss *fakeSession) onPacket(p protocol.EnginePacket) {
	p.Data = append([]byte(nil), p.Data...)
	select {
	case ss.received <- p:
	default:
	}
	switch p.Type {
	case protocol.EngineMessage:
		if ss.srv.echo {
			ss.send(p)
		}
	case protocol.EnginePing:
		if ss.eio == protocol.EIO3 && ss.srv.answerPings {
			ss.send(protocol.EnginePacket{Type: protocol.EnginePong})
		}
	case protocol.EngineClose:
		ss.shut()
	}
}

// shut ends the session: a pending GET gets close, a WebSocket is closed.
func (ss *fakeSession) shut() {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return
	}
	ss.closed = true
	ws := ss.ws
	close(ss.done)
	ss.mu.Unlock()
	if ws != nil {
		ws.Close()
	}
}

// startPings sends v4 pings every pingInterval while the session lives.
func (ss *fakeSession) startPings() {
	if ss.eio != protocol.EIO4 || !ss.srv.serverPings {
		return
	}
	go func() {
		t := time.NewTicker(time.Duration(ss.srv.pingInterval) * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				ss.send(protocol.EnginePacket{Type: protocol.EnginePing})
			case <-ss.done:
				return
			}
		}
	}()
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *fakeServer) handleWebSocket(w http.ResponseWriter, r *http.Request, eio protocol.EIO, sid string) {
	var ss *fakeSession
	if sid != "" {
		if ss = s.lookup(sid); ss == nil {
			writeEngineError(w, protocol.ErrSessionIDUnknown)
			return
		}
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	s.mu.Lock()
	s.conns = append(s.conns, ws)
	s.mu.Unlock()
	if ss == nil {
		ss = s.newSession(eio)
		s.record("handshake websocket " + r.URL.RawQuery)
		ss.mu.Lock()
		ss.ws = ws
		ss.mu.Unlock()
		ss.writeWS(ws, s.openPacket(ss, []string{}))
		ss.send(s.initial...)
		ss.startPings()
	} else if !s.probe(ss, ws) {
		return
	}
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			s.record("ws closed")
			ss.shut()
			return
		}
		var p protocol.EnginePacket
		if mt == websocket.TextMessage {
			p, err = protocol.ParseEngineText(data)
		} else {
			p, err = protocol.ParseEngineBinary(data, ss.eio)
		}
		if err != nil {
			s.record("ws parse error")
			ss.shut()
			return
		}
		s.record("ws< " + describe(p))
		ss.onPacket(p)
	}
}

// probe runs the server side of the upgrade: 2probe → 3probe, noop to the
// pending GET, then 5 moves the session to ws.
func (s *fakeServer) probe(ss *fakeSession, ws *websocket.Conn) bool {
	s.record("probe open")
	_, data, err := ws.ReadMessage()
	if err != nil || string(data) != "2probe" {
		s.record("probe bad " + string(data))
		return false
	}
	s.record("ws< 2probe")
	if s.onProbe != nil {
		s.onProbe(ss, "2probe")
	}
	if s.refuseProbe {
		ws.WriteMessage(websocket.TextMessage, []byte("3nope"))
		s.record("ws> 3nope")
		return false
	}
	ws.WriteMessage(websocket.TextMessage, []byte("3probe"))
	s.record("ws> 3probe")
	if s.onProbe != nil {
		s.onProbe(ss, "3probe")
	}
	ss.mu.Lock()
	ss.upgrading = true
	ss.mu.Unlock()
	select {
	case ss.notify <- struct{}{}:
	default:
	}
	_, data, err = ws.ReadMessage()
	if err != nil || string(data) != "5" {
		s.record("probe bad " + string(data))
		return false
	}
	s.record("ws< 5")
	ss.mu.Lock()
	ss.ws = ws
	ss.upgrading = false
	pending := ss.queue
	ss.queue = nil
	ss.mu.Unlock()
	for _, p := range pending {
		if p.Type != protocol.EngineNoop {
			ss.writeWS(ws, p)
		}
	}
	return true
}
