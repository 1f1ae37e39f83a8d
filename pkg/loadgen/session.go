package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// target is everything a connection needs to reach one Socket.IO namespace.
type target struct {
	wsURL      *url.URL // ws(s)://host/path?EIO=..&transport=websocket&query
	httpURL    *url.URL // http(s)://host, for the engine (polling)
	path       string
	query      url.Values   // the user's query (the engine adds its own)
	transport  string       // "websocket" (the lean path), "polling" or "auto"
	httpClient *http.Client // the engine's polling client, shared by a run
	header     http.Header
	tls        *tls.Config
	eio        protocol.EIO
	namespace  string          // "/" or "/admin"
	auth       json.RawMessage // CONNECT payload (EIO4), nil for none
	nspQuery   string          // EIO3: "?k=v" appended to a non-root namespace
	msgpack    bool            // socket.io-msgpack-parser's packets
	maxMsg     int
}

// newTarget builds a target from a Socket.IO URL (its path is the namespace)
// and the engine path.
func newTarget(raw, path string, eio protocol.EIO, query url.Values, header http.Header, auth json.RawMessage, tlsConf *tls.Config) (*target, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse URL %q: %w", raw, err)
	}
	ws := *u
	switch u.Scheme {
	case "http", "ws":
		ws.Scheme = "ws"
	case "https", "wss":
		ws.Scheme = "wss"
	default:
		return nil, fmt.Errorf("URL %q: scheme %q not supported (http, https, ws, wss)", raw, u.Scheme)
	}
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	if path == "" {
		path = "/socket.io/"
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	ws.Path, ws.RawPath = path, ""
	ws.Fragment = ""
	hu := *u
	hu.Scheme = map[string]string{"ws": "http", "wss": "https"}[ws.Scheme]
	hu.Path, hu.RawPath, hu.RawQuery, hu.Fragment = "", "", "", ""
	t := &target{wsURL: &ws, httpURL: &hu, path: path, header: header, tls: tlsConf, namespace: nsp, auth: auth,
		maxMsg: 1 << 20, transport: "websocket"}
	// The URL's own query travels on the engine request, as socket.io-client does.
	q := u.Query()
	for k, vs := range query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	if len(query) > 0 && nsp != "/" {
		t.nspQuery = "?" + query.Encode()
	}
	t.query = u.Query()
	for k, vs := range query {
		for _, v := range vs {
			t.query.Add(k, v)
		}
	}
	t.setEIO(eio, q)
	return t, nil
}

func (t *target) setEIO(eio protocol.EIO, q url.Values) {
	if q == nil {
		q = t.wsURL.Query()
	}
	t.eio = eio
	q.Set("EIO", fmt.Sprint(int(eio)))
	q.Set("transport", "websocket")
	t.wsURL.RawQuery = q.Encode()
}

// session is one Socket.IO connection to the target namespace.
type session struct {
	w      wire
	eio    protocol.EIO
	hs     protocol.Handshake
	prefix string // "/admin," for a namespace other than "/"
	// recovery: events from the server end with an offset argument, which
	// next strips so replies compare with what was sent.
	recovery bool
	// mp: packets are socket.io-msgpack-parser maps in binary messages;
	// nsp is the namespace they must name. binType: the wire's binary
	// messages carry the engine.io type byte 0x04 (the lean WebSocket
	// path on EIO3; the engine strips it itself).
	mp      bool
	nsp     string
	binType bool

	pingMu    sync.Mutex
	pingTimer *time.Timer // EIO3: the client pings
	closed    bool
}

// ConnectError is a CONNECT_ERROR answer from the server.
type ConnectError struct{ Data string }

func (e *ConnectError) Error() string { return "CONNECT_ERROR: " + e.Data }

// dialSession opens the connection (the lean WebSocket or long-polling
// path, or the engine for auto), gets the open packet and joins the namespace. ctx bounds the
// whole exchange.
func dialSession(ctx context.Context, t *target, d *net.Dialer) (*session, error) {
	var w wire
	var hs *protocol.Handshake
	eio := t.eio
	switch t.transport {
	case "polling":
		pw, err := dialPolling(ctx, t, d)
		if err != nil {
			return nil, err
		}
		w = pw
	case "auto":
		ew, err := dialEngine(ctx, t, d)
		if err != nil {
			return nil, err
		}
		h := ew.conn.Handshake()
		w, hs, eio = ew, &h, ew.conn.EIO()
	default:
		ws, err := dialWS(ctx, d, t.tls, t.wsURL, t.header, t.maxMsg)
		if err != nil {
			return nil, err
		}
		w = ws
	}
	if dl, ok := ctx.Deadline(); ok {
		w.setReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { w.close() })
	s, err := openSession(w, t, eio, hs)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		w.close()
		return nil, err
	}
	w.setReadDeadline(noDeadline)
	return s, nil
}

// openSession joins the namespace over w. hs is the open packet when the
// wire already read it (the engine); otherwise it is the first message.
func openSession(w wire, t *target, eio protocol.EIO, hs *protocol.Handshake) (*session, error) {
	s := &session{w: w, eio: eio, mp: t.msgpack, nsp: t.namespace}
	_, lean := w.(*wsConn)
	s.binType = lean && eio == protocol.EIO3
	if t.namespace != "/" {
		s.prefix = t.namespace + ","
	}
	if hs != nil {
		s.hs = *hs
	} else {
		op, msg, err := w.readMessage()
		if err != nil {
			return nil, fmt.Errorf("read open packet: %w", err)
		}
		if op != opText || len(msg) == 0 || msg[0] != '0' {
			return nil, fmt.Errorf("first message %q is not an open packet", clip(msg))
		}
		if s.hs, err = protocol.ParseHandshake(msg[1:]); err != nil {
			return nil, fmt.Errorf("open packet: %w", err)
		}
	}
	if s.mp {
		return s, s.connectMsgpack(t)
	}
	// Ask for the namespace.
	var connect []byte
	switch {
	case s.eio == protocol.EIO4:
		connect = append(connect, "40"...)
		connect = append(connect, s.prefix...)
		connect = append(connect, t.auth...)
	case t.namespace != "/":
		connect = append(connect, "40"...)
		connect = append(connect, t.namespace...)
		connect = append(connect, t.nspQuery...)
		connect = append(connect, ',')
	}
	if connect != nil {
		if err := w.write(opText, connect); err != nil {
			return nil, err
		}
	}
	for {
		op, msg, err := w.readMessage()
		if err != nil {
			return nil, connectReadError(err, ParserJSON)
		}
		if op == opBinary {
			if s.binType && len(msg) > 0 {
				msg = msg[1:]
			}
			if p, err := parseMpPacket(msg); err == nil && (p.typ == 0 || p.typ == 4) {
				return nil, &ParserError{Parser: ParserJSON, Detail: "the server answered with a socket.io-msgpack-parser CONNECT"}
			}
			continue
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case '2':
			if s.eio == protocol.EIO4 {
				if err := w.write(opText, pongFrame); err != nil {
					return nil, err
				}
			}
			continue
		case '1':
			return nil, connectReadError(errServerClose, ParserJSON)
		case '4':
		default:
			continue
		}
		if len(msg) < 2 {
			continue
		}
		body, ok := s.inNamespace(msg[2:])
		if !ok {
			continue
		}
		switch msg[1] {
		case '0':
			if s.eio == protocol.EIO3 {
				// socket.io 2 connects "/" by itself; the ack for another
				// namespace is "40/admin," with no payload.
				if !w.heartbeat() {
					s.startPings()
				}
				return s, nil
			}
			if len(body) == 0 || body[0] != '{' {
				return nil, fmt.Errorf("CONNECT reply %q has no sid: a socket.io 2 server? try --eio 3", clip(msg))
			}
			// A "pid" means connection state recovery is on: the server
			// appends its offset to every event it emits (PROTOCOL.md §3).
			s.recovery = bytes.Contains(body, []byte(`"pid"`))
			return s, nil
		case '4':
			return nil, &ConnectError{Data: string(body)}
		}
	}
}

// connectMsgpack joins the namespace with socket.io-msgpack-parser's
// CONNECT, {type: 0, nsp, data: auth} (EIO3: only for a namespace other
// than "/", with the query in nsp, as socket.io 2 reads it), and waits for
// the answer.
func (s *session) connectMsgpack(t *target) error {
	w := s.w
	var connect []byte
	switch {
	case s.eio == protocol.EIO4:
		connect, _ = protocol.AppendMsgpackPacket(s.binPrefix(nil), &protocol.Packet{Type: protocol.PacketConnect, Namespace: t.namespace, Data: t.auth})
	case t.namespace != "/":
		connect, _ = protocol.AppendMsgpackPacket(s.binPrefix(nil), &protocol.Packet{Type: protocol.PacketConnect, Namespace: t.namespace + t.nspQuery})
	}
	if connect != nil {
		if err := w.write(opBinary, connect); err != nil {
			return err
		}
	}
	for {
		op, msg, err := w.readMessage()
		if err != nil {
			return connectReadError(err, ParserMsgpack)
		}
		if op == opText {
			switch {
			case len(msg) == 0:
				continue
			case msg[0] == '2' && s.eio == protocol.EIO4:
				if err := w.write(opText, pongFrame); err != nil {
					return err
				}
			case msg[0] == '1':
				return connectReadError(errServerClose, ParserMsgpack)
			case msg[0] == '4':
				return &ParserError{Parser: ParserMsgpack, Detail: fmt.Sprintf("the server sent the text Socket.IO packet %q, as socket.io-parser does", clip(msg[1:]))}
			}
			continue
		}
		if s.binType {
			if len(msg) == 0 || msg[0] != 4 {
				return errors.New("wait for CONNECT: EIO3 binary message without its type byte 4")
			}
			msg = msg[1:]
		}
		p, err := parseMpPacket(msg)
		if err != nil {
			return fmt.Errorf("wait for CONNECT: %w", err)
		}
		if string(p.nsp) != s.nsp {
			continue
		}
		switch p.typ {
		case 0:
			if s.eio == protocol.EIO3 {
				if !w.heartbeat() {
					s.startPings()
				}
				return nil
			}
			var data map[string]json.RawMessage
			if j, _, n, err := protocol.ReadMsgpackValue(p.data); err == nil && n == len(p.data) {
				json.Unmarshal(j, &data)
			}
			if _, ok := data["sid"]; !ok {
				return fmt.Errorf("CONNECT reply %s has no sid: a socket.io 2 server? try --eio 3", mpShow(p.data))
			}
			// notepack writes a "pid" of undefined when recovery is off;
			// ReadMsgpackValue drops it.
			_, s.recovery = data["pid"]
			return nil
		case 4:
			j, _, _, err := protocol.ReadMsgpackValue(p.data)
			if err != nil {
				j = []byte(mpShow(p.data))
			}
			return &ConnectError{Data: string(j)}
		}
	}
}

// binPrefix appends what a binary message starts with on this wire:
// EIO3's type byte on the lean WebSocket path, else nothing.
func (s *session) binPrefix(b []byte) []byte {
	if s.binType {
		return append(b, 4)
	}
	return b
}

// ParserError means the server most likely speaks the other Socket.IO
// packet format: it closed the connection in answer to the CONNECT (Node
// does, with "parse error", when its parser cannot read it) or answered in
// the other format.
type ParserError struct {
	// Parser is the one this load generator used: "json" or "msgpack".
	Parser string
	Detail string
}

func (e *ParserError) Error() string {
	return fmt.Sprintf("wait for CONNECT: %s: a server with another parser? try --parser %s", e.Detail, e.OtherParser())
}

// OtherParser names the format the server probably uses.
func (e *ParserError) OtherParser() string {
	if e.Parser == ParserMsgpack {
		return ParserJSON
	}
	return ParserMsgpack
}

// connectReadError wraps a read error met while waiting for the CONNECT
// answer: a server that ended the connection then is a ParserError.
func connectReadError(err error, parser string) error {
	var ce *closeError
	var dr protocol.DisconnectReason
	if errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, errServerClose) || errors.As(err, &dr) {
		return &ParserError{Parser: parser, Detail: fmt.Sprintf("the server closed the connection in answer to the CONNECT (%v)", err)}
	}
	return fmt.Errorf("wait for CONNECT: %w", err)
}

var (
	pongFrame = []byte("3")
	pingFrame = []byte("2")
)

// inNamespace strips this session's namespace from a packet body (after
// the type digit) and reports whether the packet belongs to it.
func (s *session) inNamespace(b []byte) ([]byte, bool) {
	if s.prefix == "" {
		if len(b) > 0 && b[0] == '/' {
			return nil, false
		}
		return b, true
	}
	if len(b) >= len(s.prefix) && string(b[:len(s.prefix)]) == s.prefix {
		return b[len(s.prefix):], true
	}
	// "/admin" at the very end, without the comma (PROTOCOL.md §6.7).
	if string(b) == s.prefix[:len(s.prefix)-1] {
		return nil, true
	}
	return nil, false
}

// startPings starts the v3 heartbeat: the client pings every pingInterval.
func (s *session) startPings() {
	iv := time.Duration(s.hs.PingInterval) * time.Millisecond
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	s.pingTimer = time.AfterFunc(iv, func() {
		if s.w.write(opText, pingFrame) != nil {
			return
		}
		s.pingMu.Lock()
		if !s.closed {
			s.pingTimer.Reset(iv)
		}
		s.pingMu.Unlock()
	})
}

// close ends the session from our side.
func (s *session) close() {
	s.pingMu.Lock()
	s.closed = true
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.pingMu.Unlock()
	s.w.close()
}

// Kinds of incoming Socket.IO packets the scenarios care about.
type inKind uint8

const (
	inEvent inKind = iota + 1
	inAck
	inBinary // a binary packet or attachment: not produced by the scenarios
	inDisconnect
	inText // msgpack: a text Socket.IO packet (data: the packet), which that parser never sends
)

// inPacket is one incoming packet for our namespace, decoded only as far as
// validation needs: the ack id and the raw JSON after it (msgpack: the raw
// msgpack of the data array). data aliases the read buffer.
type inPacket struct {
	kind  inKind
	id    uint64
	hasID bool
	data  []byte
}

// next reads until a packet of our namespace arrives, answering v4 pings
// on the way. Errors are read errors or a server-side close.
func (s *session) next() (inPacket, error) {
	for {
		op, msg, err := s.w.readMessage()
		if err != nil {
			return inPacket{}, err
		}
		if op == opBinary {
			if s.mp {
				p, ok, err := s.parseMsgpack(msg)
				if err != nil || ok {
					return p, err
				}
				continue
			}
			return inPacket{kind: inBinary}, nil
		}
		if len(msg) == 0 {
			return inPacket{}, errors.New("empty engine.io packet")
		}
		switch msg[0] {
		case '2':
			if s.eio == protocol.EIO4 {
				if err := s.w.writeSoon(opText, pongFrame); err != nil {
					return inPacket{}, err
				}
			}
			continue
		case '3', '6':
			continue
		case '1':
			return inPacket{}, errServerClose
		case '4':
			if s.mp {
				return inPacket{kind: inText, data: msg[1:]}, nil
			}
		default:
			return inPacket{}, fmt.Errorf("engine.io packet %q unknown", clip(msg))
		}
		if len(msg) < 2 {
			return inPacket{}, errors.New("empty socket.io packet")
		}
		t := msg[1]
		body, ok := s.inNamespace(msg[2:])
		if !ok {
			continue
		}
		var p inPacket
		switch t {
		case '2':
			p.kind = inEvent
		case '3':
			p.kind = inAck
		case '1':
			return inPacket{kind: inDisconnect}, nil
		case '5', '6':
			return inPacket{kind: inBinary}, nil
		default:
			continue
		}
		i := 0
		for i < len(body) && body[i] >= '0' && body[i] <= '9' && i < 20 {
			p.id = p.id*10 + uint64(body[i]-'0')
			p.hasID = true
			i++
		}
		p.data = body[i:]
		if s.recovery && p.kind == inEvent {
			p.data = stripOffset(p.data)
		}
		return p, nil
	}
}

// parseMsgpack reads a socket.io-msgpack-parser packet; ok is false for
// one of another namespace or of a type the scenarios ignore.
func (s *session) parseMsgpack(msg []byte) (p inPacket, ok bool, err error) {
	if s.binType {
		if len(msg) == 0 || msg[0] != 4 {
			return p, false, errors.New("EIO3 binary message without its type byte 4")
		}
		msg = msg[1:]
	}
	mp, err := parseMpPacket(msg)
	if err != nil {
		return p, false, err
	}
	if string(mp.nsp) != s.nsp {
		return p, false, nil
	}
	switch mp.typ {
	case 2:
		p.kind = inEvent
	case 3:
		p.kind = inAck
	case 1:
		return inPacket{kind: inDisconnect}, true, nil
	case 5, 6:
		return inPacket{kind: inBinary}, true, nil
	default:
		return p, false, nil
	}
	p.id, p.hasID, p.data = mp.id, mp.hasID, mp.data
	if s.recovery && p.kind == inEvent {
		p.data = mpStripOffset(p.data)
	}
	return p, true, nil
}

var errServerClose = errors.New("engine.io close packet from server")

// stripOffset removes a trailing string argument (a recovery offset, which
// has no quotes or escapes) from an event's data: [a,b,"off"] → [a,b].
func stripOffset(d []byte) []byte {
	n := len(d)
	if n < 4 || d[n-1] != ']' || d[n-2] != '"' {
		return d
	}
	i := bytes.LastIndexByte(d[:n-2], '"')
	if i < 1 || d[i-1] != ',' || bytes.IndexByte(d[i+1:n-2], '\\') >= 0 {
		return d
	}
	// Rewrite in place: the data aliases the read buffer, which this
	// message owns until the next read.
	d[i-1] = ']'
	return d[:i]
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
