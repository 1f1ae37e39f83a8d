package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// serveDiag explains, in the log, what a client only sees as "xhr poll
// error", "websocket error" or "transport error": requests the server
// refuses (a disabled transport, a refused protocol version, an unknown
// session, a body over --max-payload, a wrong path, an origin outside
// --cors-origin, a TLS certificate the client does not trust) and the
// connections it closes for a protocol violation. Each becomes a session
// line: "refused" for a request, "error" for a connection, with a hint.
type serveDiag struct {
	opts *serveOptions
	obs  serveObserver
	srv  *server.Server // set once built; maps engine sessions to sockets
}

// request is what a "refused" line says about the request.
type request struct {
	Remote    string `json:"remote"`
	Method    string `json:"method,omitempty"`
	URL       string `json:"url,omitempty"`
	Origin    string `json:"origin,omitempty"`
	Status    int    `json:"status,omitempty"`
	Error     string `json:"error,omitempty"`
	transport string
}

func requestOf(r *http.Request) request {
	return request{Remote: r.RemoteAddr, Method: r.Method, URL: r.URL.RequestURI(), Origin: r.Header.Get("Origin"), transport: r.URL.Query().Get("transport")}
}

// refused reports a refused request, with a hint when there is one.
func (d *serveDiag) refused(req request, hint string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(req) // strings and an int
	data := bytes.TrimSpace(buf.Bytes())
	d.obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "refused", Transport: req.transport, Data: data, Reason: hint})
}

// connError reports why the connection of engine session sid is being
// closed, on the line of each of its sockets (or the session's, before any
// socket).
func (d *serveDiag) connError(sid, why string) {
	var socks []server.SocketInfo
	if d.srv != nil && sid != "" {
		for _, s := range d.srv.Sockets() {
			if s.EngineID == sid {
				socks = append(socks, s)
			}
		}
	}
	if len(socks) == 0 {
		d.obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "error", SID: sid, Reason: why})
		return
	}
	for _, s := range socks {
		d.obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "error", SID: s.ID, Nsp: s.Namespace, Transport: s.Transport, Reason: why})
	}
}

// wrap watches the requests of the Engine.IO path for a refusal the server
// cannot see: a browser's origin outside --cors-origin (the server answers,
// the browser drops the answer). The server's own refusals come as typed
// events (engineHooks).
func (d *serveDiag) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && r.Method == http.MethodGet && r.URL.Query().Get("sid") == "" && !d.originAllowed(origin) && r.Header.Get("Upgrade") == "" {
			req := requestOf(r)
			req.Error = "origin not allowed"
			d.refused(req, fmt.Sprintf("the browser will drop the answer: %s is not in --cors-origin (%s); add --cors-origin %s", origin, strings.Join(d.opts.CORSOrigins, ", "), origin))
		}
		next.ServeHTTP(w, r)
	})
}

func (d *serveDiag) originAllowed(origin string) bool {
	return slices.Contains(d.opts.CORSOrigins, "*") || slices.Contains(d.opts.CORSOrigins, origin)
}

// engineHooks subscribes d to the server's Engine.IO events: refused
// requests and peers that break the protocol. The hints are built on the
// events' types, never on the text of a log line.
func (d *serveDiag) engineHooks(so *server.Options) {
	so.OnEngineReject = d.rejected
	so.OnPeerError = d.peerError
}

// rejected reports a request the Engine.IO server refused.
func (d *serveDiag) rejected(r *http.Request, e protocol.EngineError) {
	req := requestOf(r)
	req.Status, req.Error = e.HTTPStatus(), e.Message
	d.refused(req, d.engineHint(e, req.transport, r.URL.Query().Get("EIO")))
}

// peerError reports a connection the server closes (or a polling body it
// refuses) because the client broke the protocol.
func (d *serveDiag) peerError(e *server.PeerError) {
	var why string
	switch {
	case errors.Is(e, server.ErrMessageTooBig) && e.Transport == "polling":
		why = fmt.Sprintf("a polling request body over --max-payload (%d bytes) was refused with 413: the client reports \"transport error\"", d.opts.MaxPayload)
		if e.Size > 0 {
			why = fmt.Sprintf("a polling request body of %d bytes is over --max-payload (%d bytes): refused with 413, the client reports \"transport error\"", e.Size, d.opts.MaxPayload)
		}
	case errors.Is(e, server.ErrMessageTooBig):
		why = fmt.Sprintf("a WebSocket message over --max-payload (%d bytes): the connection is closed (code 1009), the client reports \"transport close\"", d.opts.MaxPayload)
	case errors.Is(e, server.ErrInvalidPacket):
		why = fmt.Sprintf("invalid %s payload (%v): the connection is closed with \"parse error\"", e.Transport, e.Err)
	case errors.Is(e, server.ErrHeartbeatDirection):
		why = "invalid heartbeat direction (a ping from an Engine.IO v4 client, or a pong from a v3 one): the connection is closed"
	case errors.Is(e, server.ErrWebSocketProtocol):
		why = fmt.Sprintf("%v: the connection is closed (code %d)", e.Err, e.CloseCode)
	default:
		why = e.Err.Error()
	}
	d.connError(e.SID, why)
}

// notFound reports a Socket.IO client on the wrong path.
func (d *serveDiag) notFound(r *http.Request) {
	q := r.URL.Query()
	if q.Get("EIO") == "" || q.Get("transport") == "" {
		return
	}
	req := requestOf(r)
	req.Status, req.Error = http.StatusNotFound, "not the Engine.IO path"
	d.refused(req, fmt.Sprintf("a Socket.IO client on path %s, but this server's path is %s: set path: %q on the client, or run sio serve --path %s", r.URL.Path, d.opts.Path, d.opts.Path, r.URL.Path))
}

// engineHint explains an Engine.IO error answer to a request.
func (d *serveDiag) engineHint(e protocol.EngineError, transport, eio string) string {
	switch e.Code {
	case protocol.ErrTransportUnknown.Code:
		if transport == "polling" || transport == "websocket" {
			return fmt.Sprintf("transport %s is off (--transports %s): the client needs transports: [%q]", transport, strings.Join(d.opts.Transports, ","), d.opts.Transports[0])
		}
		return fmt.Sprintf("unknown transport %q", transport)
	case protocol.ErrSessionIDUnknown.Code:
		return "no such session (it ended, or the server restarted): the client reconnects by itself"
	case protocol.ErrUnsupportedProtocol.Code:
		if eio == "3" {
			return "a socket.io-client 2.x (Engine.IO v3), refused by --eio3=false"
		}
		return "unsupported Engine.IO version EIO=" + eio
	case protocol.ErrBadHandshakeMethod.Code:
		return "a handshake must be a GET"
	}
	return ""
}

// logHandler is the slog.Handler of the server's logger: it passes on the
// records at Warn and above. What the Debug records say about refusals and
// closed connections comes to serveDiag as typed events (engineHooks).
type logHandler struct {
	next slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(as)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name)}
}

// httpErrorLog receives net/http's own errors (the server's ErrorLog): a
// failed TLS handshake becomes a "refused" line with a hint, others go to
// the logger.
type httpErrorLog struct {
	d      *serveDiag
	logger *slog.Logger
	url    string // https://host:port, for the hint
}

const tlsHandshakePrefix = "http: TLS handshake error from "

func (w *httpErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	rest, ok := strings.CutPrefix(msg, tlsHandshakePrefix)
	if !ok {
		w.logger.Warn(msg)
		return len(p), nil
	}
	// "ADDR: ERR"; ADDR may be [::1]:port.
	addr, why := rest, ""
	if host, port, found := strings.Cut(rest, ": "); found {
		addr, why = host, port
	}
	if why == "EOF" || strings.Contains(why, "connection reset") {
		// A port probe or a client that gave up: nothing to explain.
		return len(p), nil
	}
	hint := ""
	if strings.Contains(why, "certificate") {
		hint = "the client does not trust this certificate: a browser must accept it once (open " + w.url + "/), Node needs NODE_EXTRA_CA_CERTS=" + w.d.opts.TLSCert + " (or rejectUnauthorized: false), sio --insecure"
	} else if strings.Contains(why, "HTTP request to an HTTPS server") {
		hint = "this server speaks HTTPS: use " + w.url
	}
	w.d.refused(request{Remote: addr, Method: "TLS", Error: "TLS handshake: " + why}, hint)
	return len(p), nil
}

// untrustedCert says why this machine would not trust the certificate for
// host, or "" when it does.
func untrustedCert(leaf *x509.Certificate, host string) string {
	if leaf == nil {
		return ""
	}
	opts := x509.VerifyOptions{DNSName: host}
	if ip := net.ParseIP(host); ip != nil {
		opts.DNSName = ip.String()
	}
	_, err := leaf.Verify(opts)
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ua):
		return "self-signed, or signed by an unknown authority"
	case errors.As(err, &he):
		return "not valid for " + host
	}
	return err.Error()
}
