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
	"net/url"
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

// wrap watches the requests of the Engine.IO path for refusals the server
// does not log: a socket.io-client 2.x under --eio3=false, a polling POST
// over --max-payload (413), and a browser's origin outside --cors-origin
// (the server answers, the browser drops the answer).
func (d *serveDiag) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.opts.EIO3 && r.URL.Query().Get("EIO") == "3" && r.URL.Query().Get("sid") == "" {
			// The server refuses it without logging it.
			req := requestOf(r)
			req.Status, req.Error = protocol.ErrUnsupportedProtocol.HTTPStatus(), protocol.ErrUnsupportedProtocol.Message
			d.refused(req, d.engineHint(protocol.ErrUnsupportedProtocol, req.transport, "3"))
		}
		if origin := r.Header.Get("Origin"); origin != "" && r.Method == http.MethodGet && r.URL.Query().Get("sid") == "" && !d.originAllowed(origin) && r.Header.Get("Upgrade") == "" {
			req := requestOf(r)
			req.Error = "origin not allowed"
			d.refused(req, fmt.Sprintf("the browser will drop the answer: %s is not in --cors-origin (%s); add --cors-origin %s", origin, strings.Join(d.opts.CORSOrigins, ", "), origin))
		}
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusRequestEntityTooLarge {
			why := fmt.Sprintf("a polling request body over --max-payload (%d bytes) was refused with 413: the client reports \"transport error\"", d.opts.MaxPayload)
			if r.ContentLength > 0 {
				why = fmt.Sprintf("a polling request body of %d bytes is over --max-payload (%d bytes): refused with 413, the client reports \"transport error\"", r.ContentLength, d.opts.MaxPayload)
			}
			d.connError(r.URL.Query().Get("sid"), why)
		}
	})
}

func (d *serveDiag) originAllowed(origin string) bool {
	return slices.Contains(d.opts.CORSOrigins, "*") || slices.Contains(d.opts.CORSOrigins, origin)
}

// statusWriter records the status of a polling POST (which is never
// hijacked or flushed).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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

// logHandler is the slog.Handler of the server's logger: the records that
// explain a refusal or a closed connection become log lines (see
// serveDiag); the others at Warn and above go to next.
type logHandler struct {
	next slog.Handler
	d    *serveDiag
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l == slog.LevelDebug || l >= slog.LevelWarn
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	var sid, url, remote string
	var err error
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "sid":
			sid = a.Value.String()
		case "url":
			url = a.Value.String()
		case "remote":
			remote = a.Value.String()
		case "err":
			if e, ok := a.Value.Any().(error); ok {
				err = e
			}
		}
		return true
	})
	switch {
	case r.Message == "engine.io request rejected":
		h.d.rejected(remote, url, err)
		return nil
	case r.Message == "engine.io websocket read" && err != nil && strings.Contains(err.Error(), "message too big"):
		h.d.connError(sid, fmt.Sprintf("a WebSocket message over --max-payload (%d bytes): the connection is closed (code 1009), the client reports \"transport close\"", h.d.opts.MaxPayload))
		return nil
	case r.Level >= slog.LevelWarn && sid != "" && strings.HasPrefix(r.Message, "engine.io invalid"):
		why := strings.TrimPrefix(r.Message, "engine.io ")
		if err != nil {
			why += ": " + err.Error()
		}
		h.d.connError(sid, why)
		return nil
	case r.Level < slog.LevelWarn || !h.next.Enabled(ctx, r.Level):
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{next: h.next.WithAttrs(as), d: h.d}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name), d: h.d}
}

// rejected reports a request the Engine.IO server refused.
func (d *serveDiag) rejected(remote, rawURL string, err error) {
	u, perr := url.Parse(rawURL)
	if perr != nil {
		return
	}
	q := u.Query()
	req := request{Remote: remote, URL: u.RequestURI(), transport: q.Get("transport")}
	var e *protocol.EngineError
	if !errors.As(err, &e) {
		if err != nil {
			req.Error = err.Error()
		}
		d.refused(req, "")
		return
	}
	req.Status, req.Error = e.HTTPStatus(), e.Message
	d.refused(req, d.engineHint(*e, q.Get("transport"), q.Get("EIO")))
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
