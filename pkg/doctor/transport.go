package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/client/eioclient"
	"github.com/sio-dev/sio/pkg/protocol"
)

// wsResult is what a WebSocket dial to the Engine.IO path got.
type wsResult struct {
	conn   *websocket.Conn
	status int    // the handshake's HTTP status, 0 without an answer
	body   string // the body of a refused handshake
	err    error
	hs     *protocol.Handshake // the open packet (new sessions only)
	noOpen bool                // 101, but no open packet came
}

func (w wsResult) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}

// engineErr decodes a refused handshake's Engine.IO error.
func (w wsResult) engineErr() (protocol.EngineError, bool) {
	he := &eioclient.HTTPError{StatusCode: w.status, Body: w.body}
	return he.EngineError()
}

func (w wsResult) describe() string {
	switch {
	case w.noOpen:
		return "101 Switching Protocols, then no open packet"
	case w.status != 0 && w.status != http.StatusSwitchingProtocols:
		s := fmt.Sprintf("HTTP %d %s instead of 101", w.status, http.StatusText(w.status))
		if b := strings.TrimSpace(w.body); b != "" {
			if len(b) > 120 {
				b = b[:120] + "…"
			}
			s += ": " + b
		}
		return s
	case w.err != nil:
		if errors.Is(w.err, context.DeadlineExceeded) || os.IsTimeout(w.err) {
			return "no answer"
		}
		return w.err.Error()
	}
	return "ok"
}

// wsOpen dials a WebSocket to the Engine.IO path. Without sid it is a new
// session and waits for its open packet; with one it is an upgrade probe.
func (d *doctor) wsOpen(ctx context.Context, eio protocol.EIO, sid string) wsResult {
	u, _ := url.Parse(d.endpoint(d.path, eio, "websocket", sid))
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	dialer := websocket.Dialer{TLSClientConfig: d.tlsConfig, Proxy: http.ProxyFromEnvironment}
	h := http.Header{}
	for k, vs := range d.header {
		switch http.CanonicalHeaderKey(k) {
		case "Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol":
			continue // the dialer sets these
		}
		h[k] = vs
	}
	conn, resp, err := dialer.DialContext(ctx, u.String(), h)
	var w wsResult
	if resp != nil {
		w.status = resp.StatusCode
		if resp.Body != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
			resp.Body.Close()
			w.body = string(b)
		}
	}
	if err != nil {
		w.err = err
		return w
	}
	w.conn = conn
	conn.SetReadLimit(maxBody) // doctor reads handshakes and short answers only
	if sid != "" {
		return w
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	_, data, err := conn.ReadMessage()
	if err != nil {
		w.err, w.noOpen = err, true
		return w
	}
	p, err := protocol.ParseEngineText(data)
	if err != nil || p.Type != protocol.EngineOpen {
		w.err, w.noOpen = fmt.Errorf("the first frame is %q, not an open packet", data), true
		return w
	}
	hs, err := protocol.ParseHandshake(p.Data)
	if err != nil {
		w.err = err
		return w
	}
	w.hs = &hs
	return w
}

// roundTrip proves that messages flow on an open WebSocket session: v3
// answers a client ping with pong; v4 answers a Socket.IO CONNECT.
func (d *doctor) roundTrip(ctx context.Context, conn *websocket.Conn, eio protocol.EIO) error {
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	send, want := d.connectPackets(), protocol.EngineMessage
	if eio == protocol.EIO3 {
		send, want = []protocol.EnginePacket{{Type: protocol.EnginePing}}, protocol.EnginePong
	}
	for _, p := range send {
		frame, binary := protocol.AppendEngineFrame(nil, p, eio)
		mt := websocket.TextMessage
		if binary {
			mt = websocket.BinaryMessage
		}
		if err := conn.WriteMessage(mt, frame); err != nil {
			return err
		}
	}
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if mt == websocket.BinaryMessage && want == protocol.EngineMessage {
			return nil // a msgpack answer
		}
		p, err := protocol.ParseEngineText(data)
		if err != nil {
			continue
		}
		if p.Type == want {
			return nil
		}
		if p.Type == protocol.EnginePing && eio == protocol.EIO4 {
			// Answer the server's heartbeat, or it closes the session
			// after pingInterval + pingTimeout, while we still wait.
			if err := conn.WriteMessage(websocket.TextMessage, []byte("3")); err != nil {
				return err
			}
		}
	}
}

// stripFixes are the proxy settings that pass the WebSocket upgrade on.
var stripFixes = []Fix{
	{FixProxy, "nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\";"},
	{FixProxy, "Apache: RewriteCond %{HTTP:Upgrade} websocket [NC] + RewriteRule → ws://backend (mod_proxy_wstunnel)"},
	{FixClient, "transports: [\"polling\"] (works without WebSocket, with more latency)"},
}

// explainWS turns a failed WebSocket handshake into a cause and fixes.
func (d *doctor) explainWS(w wsResult) (cause string, fixes []Fix) {
	seen := w.describe()
	if ee, isEngine := w.engineErr(); isEngine {
		switch ee.Code {
		case protocol.ErrBadRequest.Code:
			return seen + ": the request reached Engine.IO without its Upgrade header, as through a proxy that drops hop-by-hop headers", stripFixes
		case protocol.ErrTransportUnknown.Code:
			return seen + ": the server does not offer WebSocket", []Fix{
				{FixServer, "transports: [\"polling\", \"websocket\"]"},
				{FixClient, "transports: [\"polling\"]"}}
		case protocol.ErrSessionIDUnknown.Code:
			return seen + ": the WebSocket reached another server node than the polling requests", []Fix{
				{FixProxy, "enable sticky sessions (nginx: upstream { ip_hash; })"},
				{FixClient, "transports: [\"websocket\"]"}}
		}
	}
	if w.noOpen {
		return seen + ": something between the client and Engine.IO accepts the WebSocket but does not pass its frames", append([]Fix{
			{FixProxy, "pass WebSocket frames through to the backend (no buffering; nginx proxy_buffering off for this location)"}}, stripFixes[2])
	}
	switch w.status {
	case 0:
		if errors.Is(w.err, websocket.ErrBadHandshake) || strings.Contains(seen, "EOF") {
			return seen + ": the connection was closed without an answer to the upgrade", stripFixes
		}
		return seen, stripFixes
	case http.StatusOK, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed:
		return seen + ": the upgrade request was answered as plain HTTP, as by a proxy that drops the Upgrade header", stripFixes
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return seen + ": the proxy could not pass the upgrade to the backend", stripFixes
	}
	return seen, stripFixes
}

// checkPolling opens a polling-only session with eioclient and proves a
// round trip: socket.io 2 sends its CONNECT at once; v4 answers ours.
func (d *doctor) checkPolling(ctx context.Context) (Result, bool) {
	if !d.polling {
		return fail("the server refuses the polling transport", "the handshake over polling got 400 {\"code\":0,\"message\":\"Transport unknown\"}: the server has transports: [\"websocket\"], so a default client (which starts with polling) never connects",
			Fix{FixClient, "transports: [\"websocket\"]"},
			Fix{FixServer, "transports: [\"polling\", \"websocket\"] (the default)"},
			Fix{FixSio, "--transport websocket"})
	}
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	eio := d.bestEIO()
	got := make(chan struct{}, 1)
	type ended struct {
		reason protocol.DisconnectReason
		err    error
	}
	closed := make(chan ended, 1)
	base := *d.u
	base.Path, base.RawQuery = "", "" // Options.Query carries the query
	conn, err := eioclient.Dial(sctx, &base, eioclient.Options{
		Path: d.path, Transport: eioclient.TransportPolling, EIO: eio, Header: d.header, Query: d.query(), TLSConfig: d.tlsConfig,
		OnMessage: func([]byte, bool) {
			select {
			case got <- struct{}{}:
			default:
			}
		},
		OnClose: func(reason protocol.DisconnectReason, err error) { closed <- ended{reason, err} },
	})
	if err != nil {
		return fail("the polling handshake failed", err.Error())
	}
	defer func() {
		conn.Close() // only starts the close: wait for its goroutines
		<-conn.Done()
	}()
	if eio == protocol.EIO4 {
		if err := conn.Send(d.connectPackets()...); err != nil {
			return fail("cannot send over polling", err.Error())
		}
	}
	select {
	case <-got:
		return ok(fmt.Sprintf("polling session %s: handshake and a message round trip", conn.SID()), nil)
	case end := <-closed:
		err := end.err
		var he *eioclient.HTTPError
		if errors.As(err, &he) {
			if ee, isEngine := he.EngineError(); isEngine && ee.Code == protocol.ErrSessionIDUnknown.Code {
				return fail("the session's next request got 400 Session ID unknown",
					"the requests of one session reach different server nodes (see the sticky check)",
					Fix{FixProxy, "enable sticky sessions on the load balancer"},
					Fix{FixClient, "transports: [\"websocket\"]"})
			}
		}
		if eio == protocol.EIO4 && end.reason == protocol.ReasonForcedClose {
			d.goOn["polling"] = true // the transport works; the parser does not
			return fail("the server closed the polling session in answer to our CONNECT",
				"Node does this when it cannot decode the CONNECT: the server uses another parser", d.parserFixes()...)
		}
		return fail("the polling session ended at once", fmt.Sprintf("%s: %v", end.reason, err))
	case <-sctx.Done():
		// The session stayed open: Engine.IO works, only no Socket.IO
		// answered (the namespace check tells), or a proxy holds it back.
		return warn("the polling session stays open, but no message came back within "+d.timeout.String(),
			"nothing answered the Socket.IO CONNECT: an Engine.IO server without Socket.IO (see the namespace check), or a proxy that buffers long-polling responses",
			Fix{FixProxy, "disable response buffering for the Socket.IO path (nginx: proxy_buffering off)"})
	}
}

// checkWebSocket opens a WebSocket-only session, as transports:
// ["websocket"] does, and proves a round trip.
func (d *doctor) checkWebSocket(ctx context.Context) (Result, bool) {
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	eio := d.bestEIO()
	w := d.wsOpen(sctx, eio, "")
	defer w.close()
	if w.hs == nil {
		cause, fixes := d.explainWS(w)
		summary := "a WebSocket session does not open"
		if w.noOpen {
			summary = "the WebSocket opens (101) but no frame arrives"
		}
		return fail(summary, cause, fixes...)
	}
	if err := d.roundTrip(sctx, w.conn, eio); err != nil {
		if sctx.Err() != nil {
			d.websocket = true // the session is open; only no answer came
			return warn("the WebSocket session stays open, but no message came back within "+d.timeout.String(),
				"nothing answered the Socket.IO CONNECT: an Engine.IO server without Socket.IO (see the namespace check), or a proxy that passes frames one way only",
				Fix{FixProxy, "pass WebSocket frames through in both directions"})
		}
		if eio == protocol.EIO4 {
			d.websocket = true // the transport works; the parser does not
			return fail("the server closed the WebSocket session in answer to our CONNECT", err.Error()+
				": Node does this when it cannot decode the CONNECT: the server uses another parser", d.parserFixes()...)
		}
		return fail("the WebSocket session ended at once", err.Error(),
			Fix{FixProxy, "pass WebSocket frames through in both directions"})
	}
	_ = w.conn.WriteMessage(websocket.TextMessage, []byte("1"))
	d.websocket = true
	return ok("WebSocket session "+w.hs.SID+": open packet and a message round trip", nil)
}

// checkUpgrade does what a default client does: polling first, then the
// WebSocket probe (2probe, 3probe) and the switch (5).
func (d *doctor) checkUpgrade(ctx context.Context) (Result, bool) {
	if !contains(d.hs.Upgrades, "websocket") {
		return warn("the server offers no upgrade (upgrades: [])",
			"clients stay on long-polling: more requests and latency",
			Fix{FixServer, "transports: [\"polling\", \"websocket\"] (the default)"})
	}
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	eio := d.bestEIO()
	sid, failed := d.pollingHandshake(sctx, eio)
	if failed != nil {
		return *failed, true
	}
	w := d.wsOpen(sctx, eio, sid)
	defer w.close()
	if w.conn == nil {
		d.closeSession(d.path, eio, sid)
		cause, fixes := d.explainWS(w)
		return fail("the upgrade to WebSocket fails; clients stay on polling", cause, fixes...)
	}
	stop := context.AfterFunc(sctx, func() { w.conn.SetReadDeadline(time.Now()) })
	defer stop()
	if err := w.conn.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		return fail("the upgrade probe could not be sent", err.Error())
	}
	_, data, err := w.conn.ReadMessage()
	if err != nil || string(data) != "3probe" {
		d.closeSession(d.path, eio, sid)
		cause := fmt.Sprintf("the probe \"2probe\" got %q", data)
		if err != nil {
			cause = "the probe \"2probe\" got no answer: " + err.Error()
		}
		return fail("the upgrade never completes; clients stay on polling", cause+": a proxy accepts the WebSocket but does not pass frames",
			append([]Fix{{FixProxy, "pass WebSocket frames through (no buffering)"}}, stripFixes...)...)
	}
	if err := w.conn.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
		return fail("the upgrade packet could not be sent", err.Error())
	}
	_ = w.conn.WriteMessage(websocket.TextMessage, []byte("1"))
	d.upgrade = true
	return ok("polling upgrades to WebSocket (2probe, 3probe, 5)", nil)
}
