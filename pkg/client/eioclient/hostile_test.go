package eioclient

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

const goodOpen = `0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`

// hostileServer serves scripted answers: poll(w, r, n) for the n-th
// polling GET (0 is the handshake) and ws(conn) after a WebSocket upgrade.
func hostileServer(t *testing.T, poll func(w http.ResponseWriter, r *http.Request, n int), ws func(*websocket.Conn)) *url.URL {
	t.Helper()
	var gets atomic.Int32
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counted before a hijack, so srv.Close (which waits for the
		// request until then) orders this Add before wg.Wait.
		wg.Add(1)
		defer wg.Done()
		if r.URL.Query().Get("transport") == "websocket" {
			if ws == nil {
				http.Error(w, "Bad request", http.StatusBadRequest)
				return
			}
			conn, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer conn.Close()
			ws(conn)
			// Hold the socket until the client goes away.
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
			}
		}
		if r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok")
			return
		}
		poll(w, r, int(gets.Add(1)-1))
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	u, _ := url.Parse(srv.URL)
	return u
}

func body(s string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			io.WriteString(w, s)
			return
		}
		<-r.Context().Done()
	}
}

// afterOpen answers the handshake with goodOpen (v3: length-prefixed) and
// the next GET with next.
func afterOpen(eio protocol.EIO, next func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			if eio == protocol.EIO3 {
				w.Write(protocol.AppendPayloadV3(nil, protocol.EnginePacket{Type: protocol.EngineOpen, Data: []byte(goodOpen[1:])}))
			} else {
				io.WriteString(w, goodOpen)
			}
		case 1:
			next(w, r)
		default:
			<-r.Context().Done()
		}
	}
}

func endless(w http.ResponseWriter, r *http.Request) {
	chunk := []byte(strings.Repeat("4", 32<<10))
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

func wsSend(frames ...any) func(*websocket.Conn) {
	return func(c *websocket.Conn) {
		for _, f := range frames {
			switch f := f.(type) {
			case string:
				c.WriteMessage(websocket.TextMessage, []byte(f))
			case []byte:
				c.WriteMessage(websocket.BinaryMessage, f)
			}
		}
	}
}

func TestHostileServers(t *testing.T) {
	t.Parallel()
	isProtocol := func(err error) bool { return errors.Is(err, ErrProtocol) }
	isDeadline := func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
	isHTTP := func(code int) func(error) bool {
		return func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.StatusCode == code
		}
	}
	tests := []struct {
		name      string
		transport string
		eio       protocol.EIO
		maxRead   int64
		timeout   time.Duration
		poll      func(http.ResponseWriter, *http.Request, int)
		ws        func(*websocket.Conn)
		dialErr   func(error) bool          // Dial must fail so
		reason    protocol.DisconnectReason // or the connection must close so
	}{
		{name: "bad JSON handshake", poll: body(`0{"sid":`), dialErr: isProtocol},
		{name: "missing sid", poll: body(`0{"upgrades":[],"pingInterval":25000,"pingTimeout":20000}`), dialErr: isProtocol},
		{name: "sid not a string", poll: body(`0{"sid":5,"upgrades":[],"pingInterval":25000,"pingTimeout":20000}`), dialErr: isProtocol},
		{name: "pingInterval 0", poll: body(`0{"sid":"a","upgrades":[],"pingInterval":0,"pingTimeout":20000}`), dialErr: isProtocol},
		{name: "pingInterval negative", poll: body(`0{"sid":"a","upgrades":[],"pingInterval":-5,"pingTimeout":20000}`), dialErr: isProtocol},
		{name: "pingInterval 1e12", poll: body(`0{"sid":"a","upgrades":[],"pingInterval":1000000000000,"pingTimeout":20000}`), dialErr: isProtocol},
		{name: "pingTimeout huge", poll: body(`0{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":1e300}`), dialErr: isProtocol},
		{name: "unknown packet type", poll: body("9hello"), dialErr: isProtocol},
		{name: "garbage payload", poll: body("\xff\xfe\x00garbage"), dialErr: isProtocol},
		{name: "empty body", poll: body(""), dialErr: isProtocol},
		{name: "message before open", poll: body("4hi\x1e" + goodOpen), dialErr: isProtocol},
		{name: "v3 length prefix 1e15", eio: protocol.EIO3, poll: body("1000000000000000:" + goodOpen), dialErr: isProtocol},
		{name: "v3 length longer than body", eio: protocol.EIO3, poll: body("500:" + goodOpen), dialErr: isProtocol},
		{name: "endless handshake body", maxRead: 64 << 10, poll: func(w http.ResponseWriter, r *http.Request, _ int) { endless(w, r) }, dialErr: isProtocol},
		{name: "never answers", timeout: 200 * time.Millisecond, poll: func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() }, dialErr: isDeadline},
		{name: "404", poll: func(w http.ResponseWriter, r *http.Request, _ int) { http.NotFound(w, r) }, dialErr: isHTTP(404)},
		{name: "500", poll: func(w http.ResponseWriter, r *http.Request, _ int) { http.Error(w, "<html>oops", 500) }, dialErr: isHTTP(500)},

		{name: "ws binary first frame", transport: TransportWebSocket, ws: wsSend([]byte{0, 1}), dialErr: isProtocol},
		{name: "ws message instead of open", transport: TransportWebSocket, ws: wsSend("4hello"), dialErr: isProtocol},
		{name: "ws bad handshake JSON", transport: TransportWebSocket, ws: wsSend(`0[]`), dialErr: isProtocol},
		{name: "ws oversized first frame", transport: TransportWebSocket, maxRead: 1 << 10, ws: wsSend("0" + strings.Repeat(" ", 4<<10)), dialErr: isProtocol},
		{name: "ws never sends open", transport: TransportWebSocket, timeout: 200 * time.Millisecond, ws: func(*websocket.Conn) {}, dialErr: isDeadline},
		{name: "ws refused", transport: TransportWebSocket, dialErr: isHTTP(400)},

		{name: "garbage after open", poll: afterOpen(protocol.EIO4, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "\x1e\x1e") }), reason: protocol.ReasonParseError},
		{name: "unknown type after open", poll: afterOpen(protocol.EIO4, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "8") }), reason: protocol.ReasonParseError},
		{name: "bad base64 after open", poll: afterOpen(protocol.EIO4, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "b!!!") }), reason: protocol.ReasonParseError},
		{name: "endless body after open", maxRead: 64 << 10, poll: afterOpen(protocol.EIO4, endless), reason: protocol.ReasonParseError},
		{name: "500 after open", poll: afterOpen(protocol.EIO4, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "x", 500) }), reason: protocol.ReasonTransportError},
		{name: "v3 bad length after open", eio: protocol.EIO3, poll: afterOpen(protocol.EIO3, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "5:4hi") }), reason: protocol.ReasonParseError},
		{name: "v3 binary payload bad header", eio: protocol.EIO3, poll: afterOpen(protocol.EIO3, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", contentTypeBinary)
			w.Write([]byte{7, 1, 0xff, '4'})
		}), reason: protocol.ReasonParseError},
		{name: "v3 binary payload length 1e15", eio: protocol.EIO3, poll: afterOpen(protocol.EIO3, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", contentTypeBinary)
			w.Write([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, '4'})
		}), reason: protocol.ReasonParseError},
		{name: "ws garbage text after open", transport: TransportWebSocket, ws: wsSend(goodOpen, "x"), reason: protocol.ReasonParseError},
		{name: "ws empty text after open", transport: TransportWebSocket, ws: wsSend(goodOpen, ""), reason: protocol.ReasonParseError},
		{name: "ws v3 binary without type byte", transport: TransportWebSocket, eio: protocol.EIO3, ws: wsSend(goodOpen, []byte{9, 9}), reason: protocol.ReasonParseError},
		{name: "ws oversized frame after open", transport: TransportWebSocket, maxRead: 1 << 10, ws: wsSend(goodOpen, "4"+strings.Repeat("a", 4<<10)), reason: protocol.ReasonParseError},
		{name: "ws server sends close packet", transport: TransportWebSocket, ws: wsSend(goodOpen, "1"), reason: protocol.ReasonForcedClose},
		{name: "ws unknown but valid packets ignored, then close", transport: TransportWebSocket, ws: wsSend(goodOpen, "6", "5", "3", "0{}", "1"), reason: protocol.ReasonForcedClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := hostileServer(t, tt.poll, tt.ws)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			tc := newTestClient()
			transport := tt.transport
			if transport == "" {
				transport = TransportPolling
			}
			eio := tt.eio
			if eio == 0 {
				eio = protocol.EIO4
			}
			c, err := Dial(ctx, u, tc.options(Options{Transport: transport, EIO: eio, MaxReadSize: tt.maxRead}))
			if tt.dialErr != nil {
				if err == nil {
					c.Close()
					t.Fatal("Dial succeeded")
				}
				if !tt.dialErr(err) {
					t.Fatalf("Dial error %v (%T) is not the expected kind", err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			ev := tc.waitClose(t)
			if ev.reason != tt.reason {
				t.Fatalf("OnClose(%q, %v), want %q", ev.reason, ev.err, tt.reason)
			}
			if tt.reason == protocol.ReasonParseError && !errors.Is(ev.err, ErrProtocol) {
				t.Fatalf("cause %v does not wrap ErrProtocol", ev.err)
			}
		})
	}
}

func TestDialErrorsAreTyped(t *testing.T) {
	t.Parallel()
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		for _, transport := range []string{TransportPolling, TransportWebSocket} {
			_, err := Dial(t.Context(), &url.URL{Scheme: "http", Host: addr}, Options{Transport: transport})
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("%s: %v is not ECONNREFUSED", transport, err)
			}
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Fatalf("%s: %T is not a *url.Error", transport, err)
			}
		}
	})
	t.Run("unsupported protocol version", func(t *testing.T) {
		t.Parallel()
		s := newFakeServer(t, protocol.EIO3, func(s *fakeServer) { s.refuseV4 = true })
		_, err := Dial(t.Context(), s.url(), Options{EIO: protocol.EIO4})
		var he *HTTPError
		if !errors.As(err, &he) {
			t.Fatalf("%v is not an *HTTPError", err)
		}
		if ee, ok := he.EngineError(); !ok || ee.Code != 5 || he.StatusCode != 400 || !strings.Contains(he.URL, "EIO=4") {
			t.Fatalf("HTTPError %+v, engine error %+v", he, ee)
		}
		if msg := err.Error(); !strings.Contains(msg, "400 Bad Request") || !strings.Contains(msg, "Unsupported protocol version") {
			t.Fatalf("error text %q", msg)
		}
	})
	t.Run("bad scheme and transport", func(t *testing.T) {
		t.Parallel()
		if _, err := Dial(t.Context(), &url.URL{Scheme: "ftp", Host: "127.0.0.1:1"}, Options{}); err == nil {
			t.Fatal("ftp accepted")
		}
		if _, err := Dial(t.Context(), &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, Options{Transport: "carrier-pigeon"}); err == nil {
			t.Fatal("unknown transport accepted")
		}
		if _, err := Dial(t.Context(), &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, Options{EIO: 7}); err == nil {
			t.Fatal("EIO 7 accepted")
		}
	})
}

func TestTLS(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{TransportAuto, TransportWebSocket} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, protocol.EIO4, func(s *fakeServer) { s.tls = true })
			_, err := Dial(t.Context(), s.url(), Options{Transport: transport})
			var cve *tls.CertificateVerificationError
			if !errors.As(err, &cve) {
				t.Fatalf("untrusted certificate: %v (%T)", err, err)
			}
			u := s.url()
			if transport == TransportWebSocket {
				u.Scheme = "wss"
			}
			tc := dialFake(t, s, Options{Transport: transport, TLSConfig: &tls.Config{InsecureSkipVerify: true}})
			if transport == TransportAuto {
				tc.waitUpgrade(t)
			}
			if err := tc.conn.Send(msg("secure")); err != nil {
				t.Fatal(err)
			}
			if m := tc.recv(t); string(m.data) != "secure" {
				t.Fatalf("got %q", m.data)
			}
		})
	}
}

// forwardProxy is a minimal HTTP proxy: absolute-URI requests are forwarded
// and CONNECT is tunnelled. It logs what it saw.
type forwardProxy struct {
	srv *httptest.Server
	tr  *http.Transport
	wg  sync.WaitGroup
	mu  sync.Mutex
	log []string
}

func newForwardProxy(t *testing.T) *forwardProxy {
	p := &forwardProxy{tr: &http.Transport{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.tr.CloseIdleConnections()
		p.wg.Wait()
	})
	return p
}

func (p *forwardProxy) record(s string) {
	p.mu.Lock()
	p.log = append(p.log, s)
	p.mu.Unlock()
}

func (p *forwardProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.wg.Add(1) // before any hijack: see hostileServer
	defer p.wg.Done()
	if r.Method == http.MethodConnect {
		p.record("CONNECT " + r.Host)
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		p.wg.Add(2)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			p.wg.Add(-2)
			upstream.Close()
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(upstream, conn)
		go pipe(conn, upstream)
		return
	}
	p.record(r.Method + " " + r.URL.Scheme + "://" + r.URL.Host + r.URL.Path)
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func TestProxy(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, protocol.EIO4, nil)
	p := newForwardProxy(t)
	pu, _ := url.Parse(p.srv.URL)
	tc := dialFake(t, s, Options{Proxy: http.ProxyURL(pu)})
	tc.waitUpgrade(t)
	if err := tc.conn.Send(msg("via proxy")); err != nil {
		t.Fatal(err)
	}
	if m := tc.recv(t); string(m.data) != "via proxy" {
		t.Fatalf("got %q", m.data)
	}
	p.mu.Lock()
	log := strings.Join(p.log, "\n")
	p.mu.Unlock()
	host := s.url().Host
	if !strings.Contains(log, "GET http://"+host+"/socket.io/") || !strings.Contains(log, "CONNECT "+host) {
		t.Fatalf("proxy log:\n%s", log)
	}
}

// TestV3ResponseForms decodes the three v3 polling encodings (PROTOCOL.md
// §1.5.2): text, base64 inside text, and the binary (XHR2) payload.
func TestV3ResponseForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        []byte
	}{
		{"text", "text/plain; charset=UTF-8", []byte("2:4€10:b4AQIDBA==")},
		{"binary payload", contentTypeBinary, []byte{0x00, 0x04, 0xff, '4', 0xe2, 0x82, 0xac, 0x01, 0x05, 0xff, 0x04, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := hostileServer(t, afterOpen(protocol.EIO3, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.Write(tt.body)
			}), nil)
			tc := newTestClient()
			c, err := Dial(t.Context(), u, tc.options(Options{Transport: TransportPolling, EIO: protocol.EIO3}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if m := tc.recv(t); m.binary || string(m.data) != "€" {
				t.Fatalf("first %q binary=%v", m.data, m.binary)
			}
			if m := tc.recv(t); !m.binary || string(m.data) != "\x01\x02\x03\x04" {
				t.Fatalf("second %v binary=%v", m.data, m.binary)
			}
		})
	}
}

// The failures a wrong --path or --eio produces against Node each come
// with an error the CLI can explain.
func TestDialErrorsOfWrongPathAndVersion(t *testing.T) {
	t.Parallel()
	t.Run("polling handshake never answered", func(t *testing.T) {
		t.Parallel()
		// A bare Node http server under a wrong path never answers.
		release := make(chan struct{})
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(func() { close(release); hs.Close() })
		u, _ := url.Parse(hs.URL)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := Dial(ctx, u, Options{Transport: TransportPolling})
		if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrNoAnswer and deadline exceeded", err)
		}
	})
	t.Run("unreachable is not no answer", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = Dial(t.Context(), &url.URL{Scheme: "http", Host: addr}, Options{Transport: TransportPolling})
		if errors.Is(err, ErrNoAnswer) {
			t.Fatalf("refused connection reported as %v", err)
		}
	})
	t.Run("websocket upgrade closed without an answer", func(t *testing.T) {
		t.Parallel()
		// Node ends upgrade requests on paths it does not serve.
		addr := rawServer(t, func(c net.Conn) {
			_, _ = http.ReadRequest(bufio.NewReader(c))
		})
		_, err := Dial(t.Context(), &url.URL{Scheme: "ws", Host: addr}, Options{Transport: TransportWebSocket})
		if !errors.Is(err, ErrUpgradeUnanswered) {
			t.Fatalf("err = %v, want ErrUpgradeUnanswered", err)
		}
	})
	t.Run("101 then an HTTP 400 is a protocol error", func(t *testing.T) {
		t.Parallel()
		// socket.io 4 refusing EIO=3 over WebSocket does exactly this.
		addr := rawServer(t, func(c net.Conn) {
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(h[:]))
			fmt.Fprintf(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 28\r\n\r\nUnsupported protocol version")
		})
		_, err := Dial(t.Context(), &url.URL{Scheme: "ws", Host: addr}, Options{Transport: TransportWebSocket, EIO: protocol.EIO3})
		if !errors.Is(err, ErrProtocol) {
			t.Fatalf("err = %v, want ErrProtocol", err)
		}
	})
	t.Run("v3 answer with EIO forced to 4", func(t *testing.T) {
		t.Parallel()
		s := newFakeServer(t, protocol.EIO3, nil)
		_, err := Dial(t.Context(), s.url(), Options{Transport: TransportPolling, EIO: protocol.EIO4})
		if !errors.Is(err, ErrServerEIO3) || !errors.Is(err, ErrProtocol) {
			t.Fatalf("err = %v, want ErrServerEIO3 and ErrProtocol", err)
		}
	})
}

// rawServer serves each TCP connection with handle, then closes it.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestEngineErrorFromPlainTextBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		code int
		ok   bool
	}{
		{`{"code":5,"message":"Unsupported protocol version"}`, 5, true},
		{"Unsupported protocol version", 5, true}, // a refused WebSocket upgrade
		{"Transport unknown\n", 0, true},
		{"Not Found", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		ee, ok := (&HTTPError{StatusCode: 400, Body: tt.body}).EngineError()
		if ok != tt.ok || (ok && ee.Code != tt.code) {
			t.Errorf("%q: %+v %v", tt.body, ee, ok)
		}
	}
}

// A WebSocket that drops without a close frame (the server process died)
// is a plain "transport close", without gorilla's 1006 text as a cause;
// other close codes keep theirs, said once.
func TestWebSocketDropIsTransportClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		end     func(*websocket.Conn)
		wantErr string
	}{
		{"dropped", func(c *websocket.Conn) { c.NetConn().Close() }, ""},
		{"going away", func(c *websocket.Conn) {
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"))
		}, "websocket: close 1001 (going away): bye"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := hostileServer(t, nil, func(c *websocket.Conn) {
				_ = c.WriteMessage(websocket.TextMessage, []byte(goodOpen))
				tt.end(c)
			})
			type closed struct {
				reason protocol.DisconnectReason
				err    error
			}
			got := make(chan closed, 1)
			conn, err := Dial(t.Context(), u, Options{Transport: TransportWebSocket, EIO: protocol.EIO4,
				OnClose: func(r protocol.DisconnectReason, err error) { got <- closed{r, err} }})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			select {
			case c := <-got:
				errText := ""
				if c.err != nil {
					errText = c.err.Error()
				}
				if c.reason != protocol.ReasonTransportClose || errText != tt.wantErr {
					t.Errorf("closed with %q, %q; want transport close, %q", c.reason, errText, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no close")
			}
		})
	}
}
