package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// wsLink is one proxied WebSocket: the client's connection and the one the
// proxy dialled to the server. Each direction has one goroutine reading
// its source and writing to the other end; injected messages share the
// write mutex of their destination, held only for the write.
type wsLink struct {
	p      *Proxy
	conns  [2]*websocket.Conn // indexed by Side: the connection to that side
	wmu    [2]sync.Mutex
	done   chan struct{}
	once   sync.Once
	client string
	cookie string
	eio    protocol.EIO

	mu sync.Mutex // guards sess
	// sess is the tracked session; nil for an untracked one, or until
	// the server's open packet arrives on a WebSocket-only connection.
	sess *session
}

func (l *wsLink) session() *session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess
}

// write sends one message to side to.
func (l *wsLink) write(to Side, typ int, data []byte) error {
	l.wmu[to].Lock()
	defer l.wmu[to].Unlock()
	return l.conns[to].WriteMessage(typ, data)
}

// close ends both connections at once, without close frames: each end
// sees its transport drop, as on a broken network.
func (l *wsLink) close() {
	l.once.Do(func() {
		close(l.done)
		l.conns[FromClient].NetConn().Close()
		l.conns[FromServer].NetConn().Close()
	})
}

// closeFrame passes a close frame on to side to, then ends both
// connections.
func (l *wsLink) closeFrame(to Side, code int, text string) {
	l.wmu[to].Lock()
	_ = l.conns[to].WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	l.wmu[to].Unlock()
	l.close()
}

// wsSkipHeaders are the request headers the dialer sets itself or that
// belong to one hop only.
var wsSkipHeaders = map[string]bool{
	"Connection": true, "Upgrade": true, "Keep-Alive": true, "Te": true, "Trailer": true, "Transfer-Encoding": true,
	"Proxy-Connection": true, "Proxy-Authorization": true, "Host": true,
	"Sec-Websocket-Key": true, "Sec-Websocket-Version": true, "Sec-Websocket-Extensions": true, "Sec-Websocket-Protocol": true,
	"Sec-Websocket-Accept": true,
}

// maxErrorBody bounds the body of a refused upgrade copied to the client.
const maxErrorBody = 64 << 10

func (p *Proxy) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sid := q.Get("sid")
	if p.opts.NoWebSocket {
		http.Error(w, "WebSocket refused by sio proxy --no-websocket", http.StatusForbidden)
		return
	}
	if sid != "" && p.wasKilled(sid) {
		http.Error(w, errKilled.Error(), http.StatusBadGateway)
		return
	}
	u := *p.wsTarget
	u.Path, u.RawPath = p.joinPath(r.URL.Path), ""
	u.RawQuery = r.URL.RawQuery
	hdr := http.Header{}
	for k, vs := range r.Header {
		if !wsSkipHeaders[http.CanonicalHeaderKey(k)] {
			hdr[k] = vs
		}
	}
	dialer := websocket.Dialer{
		NetDialContext:   (&net.Dialer{Timeout: DialTimeout}).DialContext,
		TLSClientConfig:  p.transport.TLSClientConfig,
		HandshakeTimeout: DialTimeout,
		Subprotocols:     websocket.Subprotocols(r),
	}
	ctx, cancel := context.WithTimeout(r.Context(), DialTimeout)
	sc, resp, err := dialer.DialContext(ctx, u.String(), hdr)
	cancel()
	if err != nil {
		if resp != nil {
			// The server refused the upgrade: the client gets its answer.
			for k, vs := range resp.Header {
				w.Header()[k] = vs
			}
			w.WriteHeader(resp.StatusCode)
			if resp.Body != nil {
				_, _ = io.Copy(w, io.LimitReader(resp.Body, maxErrorBody))
				resp.Body.Close()
			}
			if s := p.session(sid); s != nil {
				s.lifecycle(time.Now(), KindError, FromServer, "server refused the WebSocket: "+resp.Status, nil)
			}
			return
		}
		p.emitError(r, err)
		http.Error(w, "sio proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	respHdr := http.Header{}
	for k, vs := range resp.Header {
		if !wsSkipHeaders[http.CanonicalHeaderKey(k)] && http.CanonicalHeaderKey(k) != "Date" {
			respHdr[k] = vs
		}
	}
	up := websocket.Upgrader{
		CheckOrigin:  func(*http.Request) bool { return true }, // the server decides (it saw the Origin)
		Subprotocols: nonEmpty(sc.Subprotocol()),
	}
	cc, err := up.Upgrade(w, r, respHdr)
	if err != nil {
		sc.Close()
		return
	}
	cc.SetReadLimit(p.opts.MaxMessage)
	sc.SetReadLimit(p.opts.MaxMessage)
	l := &wsLink{p: p, done: make(chan struct{}), client: r.RemoteAddr, cookie: r.Header.Get("Cookie"), eio: protocol.ParseEIO(q.Get("EIO"))}
	l.conns[FromClient], l.conns[FromServer] = cc, sc
	if s := p.session(sid); s != nil {
		l.sess = s
		s.mu.Lock()
		s.ws = l
		s.mu.Unlock()
	}
	if !p.addLink(l) {
		l.close()
		return
	}
	p.wg.Add(2)
	go l.pump(FromClient)
	go l.pump(FromServer)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// pump forwards what from sends to the other end until either fails.
func (l *wsLink) pump(from Side) {
	defer l.p.wg.Done()
	to := from.other()
	src := l.conns[from]
	for {
		typ, data, err := src.ReadMessage()
		if err != nil {
			l.ended(from, err)
			return
		}
		now := time.Now()
		s := l.session()
		if s == nil && from == FromServer {
			s = l.open(now, typ, data)
		}
		v := forward
		if s != nil {
			var ep protocol.EnginePacket
			var perr error
			if typ == websocket.BinaryMessage {
				ep, perr = protocol.ParseEngineBinary(data, l.eio)
			} else {
				ep, perr = protocol.ParseEngineText(data)
			}
			if perr != nil {
				s.decodeError(now, from, "websocket", perr)
			} else {
				v = s.observe(now, from, "websocket", ep, data)
			}
		}
		if v != forward {
			continue
		}
		if !wait(l.p.faults.delay(), l.done) {
			return
		}
		if err := l.write(to, typ, data); err != nil {
			l.close()
			return
		}
	}
}

// open starts tracking a WebSocket-only session from the server's open
// packet (the first message).
func (l *wsLink) open(now time.Time, typ int, data []byte) *session {
	if typ != websocket.TextMessage {
		return nil
	}
	ep, err := protocol.ParseEngineText(data)
	if err != nil || ep.Type != protocol.EngineOpen {
		return nil
	}
	hs, err := protocol.ParseHandshake(ep.Data)
	if err != nil || hs.SID == "" {
		return nil
	}
	s := l.p.addSession(hs.SID, l.eio, "websocket", l.client, l.cookie, hs)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.ws, s.upgraded = l, true
	s.mu.Unlock()
	l.mu.Lock()
	l.sess = s
	l.mu.Unlock()
	s.opened(now, l.client, ep.Data)
	return s
}

// ended handles the end of from's connection: a close frame is passed on
// to the other end as it came; a dropped connection drops the other one.
func (l *wsLink) ended(from Side, err error) {
	select {
	case <-l.done:
		// The other direction (or Kill) ended the link and reported it.
		l.p.removeLink(l)
		return
	default:
	}
	reason := "transport close"
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		reason += " (" + from.String() + " sent close " + strconv.Itoa(ce.Code) + ")"
		if ce.Code != websocket.CloseAbnormalClosure { // 1006 is no frame at all
			l.closeFrame(from.other(), ce.Code, ce.Text)
		}
	} else {
		reason += " (" + from.String() + " connection: " + err.Error() + ")"
	}
	l.close()
	l.p.removeLink(l)
	s := l.session()
	if s == nil {
		return
	}
	s.mu.Lock()
	current := s.ws == l
	upgraded := s.upgraded
	if current {
		s.ws = nil
	}
	s.mu.Unlock()
	switch {
	case current && upgraded:
		s.end(from, reason)
	case current:
		// The probe connection went before the upgrade completed: the
		// session goes on (or ends) on polling.
		s.lifecycle(time.Now(), KindUpgrade, from, "not completed: "+reason, nil)
	}
}
