package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sioServer is sio's own Socket.IO server with a short heartbeat, a
// refusing middleware on /admin and an "ack" handler.
func sioServer(t *testing.T, opts server.Options) string {
	t.Helper()
	opts.PingInterval = 200 * time.Millisecond
	srv := server.New(opts)
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("ack", func(e *server.Event) { _ = e.Ack(e.Args.Values()...) })
		s.On("query", func(e *server.Event) {
			q := s.Handshake().Query
			_ = e.Ack(q.Get("from"), q.Get("v"))
		})
	})
	srv.Of("/admin").Use(func(s *server.Socket) error {
		return &server.ConnectError{Message: "unauthorized", Data: map[string]string{"need": "token"}}
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

func runDoctor(t *testing.T, opts Options) *Report {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	var streamed []string
	opts.OnResult = func(r Result) { streamed = append(streamed, r.ID) }
	r, err := Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(streamed) != len(r.Results) {
		t.Errorf("OnResult saw %v, the report has %d results", streamed, len(r.Results))
	}
	return r
}

func TestHealthySioServer(t *testing.T) {
	url := sioServer(t, server.Options{AllowEIO3: true, CORS: &server.CORS{Origins: []string{"http://app.example"}}})
	r := runDoctor(t, Options{URL: url, Origin: "http://app.example", Header: http.Header{"X-Trace": {"1"}}, EmitEvent: "ack", EmitArgs: []any{"x"}})
	for _, res := range r.Results {
		if res.Status != StatusOK {
			t.Errorf("%s %s: %s %s", res.Status.Symbol(), res.ID, res.Summary, res.Cause)
		}
	}
	if !r.OK() || len(r.Results) != 13 {
		t.Errorf("OK %v with %d results", r.OK(), len(r.Results))
	}
	if v, _ := r.Get("version"); v.Summary[:len("EIO 4 and 3")] != "EIO 4 and 3" || !strings.Contains(v.Summary, "2.x, 3.x, 4.x") {
		t.Errorf("version: %s", v.Summary)
	}
	if c, _ := r.Get("cors"); c.Data["preflight"] != "ok" {
		t.Errorf("cors: %+v", c)
	}
}

// The URL's query and Options.Query reach the server, as
// socket.io-client's query option does.
func TestQueryReachesServer(t *testing.T) {
	url := sioServer(t, server.Options{})
	r := runDoctor(t, Options{URL: url + "/?from=url", Query: map[string][]string{"v": {"1"}}, Pings: -1, EmitEvent: "query"})
	if e, _ := r.Get("emit"); e.Status != StatusOK || !strings.HasSuffix(e.Summary, `["url","1"]`) {
		t.Errorf("emit: %s %s %s", e.Status, e.Summary, e.Cause)
	}
	if !r.OK() {
		t.Errorf("not OK: %+v", r.Results)
	}
}

// An app under a prefix: io("https://host/api") with the endpoint at
// /api/socket.io/ is found, and the URL's path is not taken for a
// namespace.
func TestPathUnderPrefix(t *testing.T) {
	url := sioServer(t, server.Options{Path: "/api/socket.io/"})
	r := runDoctor(t, Options{URL: url + "/api", Pings: -1})
	p, _ := r.Get("path")
	if p.Status != StatusFail || p.Summary != "no Engine.IO endpoint at /socket.io/; it is at /api/socket.io/" ||
		!strings.Contains(p.Cause, "the URL's path is the namespace") || p.Fixes[0].Change != `path: "/api/socket.io/"` {
		t.Errorf("path: %+v", p)
	}
	if n, _ := r.Get("namespace"); n.Status != StatusOK || n.Data["namespace"] != "/" {
		t.Errorf("namespace: %+v", n)
	}
}

func TestConnectErrorDataAndFlag(t *testing.T) {
	url := sioServer(t, server.Options{})
	r := runDoctor(t, Options{URL: url + "/admin", Auth: []byte(`{"token":"it's"}`)})
	res, _ := r.Get("namespace")
	text := res.Summary + " " + res.Cause
	for _, f := range res.Fixes {
		text += " " + f.Change
	}
	for _, want := range []string{`refused the CONNECT: unauthorized`, `data {"need":"token"}`, `--auth '{"token":"it'\''s"}'`} {
		if !strings.Contains(text, want) {
			t.Errorf("namespace result lacks %q: %s", want, text)
		}
	}
	if res.Status != StatusFail || r.OK() {
		t.Errorf("status %s, OK %v", res.Status, r.OK())
	}
	if h, _ := r.Get("heartbeat"); h.Status != StatusSkip {
		t.Errorf("heartbeat %s after a refused CONNECT", h.Status)
	}
}

// A server that accepts connections and never answers costs one timeout
// per step, not one per probed path: the probes run at once.
func TestSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // a bare Node http server: requests are never answered
		case <-r.Context().Done():
		case <-done:
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() {
		close(done)
		srv.Shutdown(context.Background())
	})
	r := runDoctor(t, Options{URL: "http://" + l.Addr().String() + "/chat", Timeout: time.Second})
	h, _ := r.Get("http")
	p, _ := r.Get("path")
	if h.Status != StatusWarn || p.Status != StatusFail {
		t.Fatalf("http %s, path %s", h.Status, p.Status)
	}
	if !strings.Contains(p.Cause, "GET /socket.io/?EIO=4&transport=polling: no answer; nothing at /engine.io/, /chat/, /chat/socket.io/ either") {
		t.Errorf("path cause: %s", p.Cause)
	}
}

// http:// that redirects to https:// is named, with the URL to use.
func TestRedirect(t *testing.T) {
	hs := httptest.NewServer(http.RedirectHandler("https://secure.example/socket.io/", http.StatusMovedPermanently))
	t.Cleanup(hs.Close)
	r := runDoctor(t, Options{URL: hs.URL})
	p, _ := r.Get("path")
	if p.Status != StatusFail || p.Summary != "the server redirects the Engine.IO path" ||
		!strings.Contains(p.Cause, "HTTP 301 Moved Permanently to https://secure.example/socket.io/") {
		t.Errorf("path: %+v", p)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, tt := range []struct{ opts Options }{
		{Options{URL: "ftp://h"}},
		{Options{URL: "http://"}},
		{Options{URL: "http://h", Auth: []byte(`[1]`)}},
		{Options{URL: "::"}},
	} {
		if _, err := Run(t.Context(), tt.opts); err == nil {
			t.Errorf("%+v: no error", tt.opts)
		}
	}
}

func TestAnswerDecode(t *testing.T) {
	v3Body := string(protocol.AppendPayloadV3(nil,
		protocol.EnginePacket{Type: protocol.EngineOpen, Data: []byte(`{"sid":"b","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}`)},
		protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("0")}))
	tests := []struct {
		name, body, ctype string
		status            int
		hs, v3            bool
		code              int // engine error code, -1 none
	}{
		{"v4 open", `0{"sid":"a","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, "text/plain", 200, true, false, -1},
		{"v3 open and CONNECT", v3Body, "text/plain", 200, true, true, -1},
		{"engine error", `{"code":1,"message":"Session ID unknown"}`, "application/json", 400, false, false, 1},
		{"html", `<h1>It works</h1>`, "text/html", 200, false, false, -1},
		{"404", `Not Found`, "text/plain", 404, false, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := answer{status: tt.status, header: http.Header{"Content-Type": {tt.ctype}}, body: []byte(tt.body)}
			a.decode(protocol.EIO4)
			code := -1
			if a.engErr != nil {
				code = a.engErr.Code
			}
			if (a.hs != nil) != tt.hs || a.v3Format != tt.v3 || code != tt.code || a.engine() != (tt.hs || code >= 0) {
				t.Errorf("hs %v v3 %v code %d", a.hs, a.v3Format, code)
			}
			if tt.v3 && (len(a.packets) != 1 || string(a.packets[0].Data) != "0") {
				t.Errorf("packets after open: %+v", a.packets)
			}
		})
	}
}

func TestGenerationAndClients(t *testing.T) {
	v4, v3 := protocol.EIO4, protocol.EIO3
	tests := []struct {
		eios    []protocol.EIO
		hs      protocol.Handshake
		server  string
		clients string
	}{
		{[]protocol.EIO{v3}, protocol.Handshake{}, "socket.io 2.x", "1.x 2.x"},
		{[]protocol.EIO{v4}, protocol.Handshake{MaxPayload: 1e6}, "socket.io 4.x", "3.x 4.x"},
		{[]protocol.EIO{v4}, protocol.Handshake{}, "socket.io 3.x or 4.0", "3.x 4.x"},
		{[]protocol.EIO{v4, v3}, protocol.Handshake{MaxPayload: 1e6}, "socket.io 4.x", "2.x 3.x 4.x"},
	}
	for _, tt := range tests {
		server, clients := generation(tt.eios, tt.hs)
		if !strings.HasPrefix(server, tt.server) || strings.Join(clients, " ") != tt.clients {
			t.Errorf("%v %+v: %q %v", tt.eios, tt.hs, server, clients)
		}
	}
}

func TestCORSHelpers(t *testing.T) {
	if got := origins2("http://app.example"); got != `["app.example:*"]` {
		t.Errorf("origins2: %s", got)
	}
	if got := origins2("http://app.example:8080"); got != `["app.example:8080"]` {
		t.Errorf("origins2 with port: %s", got)
	}
	h := http.Header{"Origin": {"x"}, "X-Token": {"t"}, "Content-Type": {"text/plain"}, "Authorization": {"b"}}
	if got := strings.Join(preflightHeaders(h), ","); got != "authorization,x-token" {
		t.Errorf("preflightHeaders: %s", got)
	}
}

// Over TLS with the server's CA in RootCAs every check passes, WebSocket
// included; under another name the certificate is refused for it.
func TestTLS(t *testing.T) {
	srv := server.New(server.Options{PingInterval: 200 * time.Millisecond})
	hs := httptest.NewUnstartedServer(srv)
	// The tcp check connects and hangs up before any TLS: not an error here.
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	roots := x509.NewCertPool()
	roots.AddCert(hs.Certificate())
	r := runDoctor(t, Options{URL: hs.URL, TLSConfig: &tls.Config{RootCAs: roots}})
	for _, res := range r.Results {
		if res.Status != StatusOK {
			t.Errorf("%s %s: %s %s", res.Status.Symbol(), res.ID, res.Summary, res.Cause)
		}
	}
	if tl, _ := r.Get("tls"); !strings.Contains(tl.Summary, "certificate for 127.0.0.1 valid until") {
		t.Errorf("tls: %s", tl.Summary)
	}

	_, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	r = runDoctor(t, Options{URL: "https://localhost:" + port, TLSConfig: &tls.Config{RootCAs: roots}})
	tl, _ := r.Get("tls")
	if tl.Status != StatusFail || tl.Summary != "certificate is not for localhost" || len(tl.Fixes) != 3 || tl.Fixes[2].Change != "--insecure" {
		t.Errorf("tls under another name: %+v", tl)
	}
}

// TestTLSClientOptions: the client's TLS options reach every check. A
// server that requires a client certificate fails the session checks
// without one and passes with it, and ServerName verifies the
// certificate under the name the client is told to use.
func TestTLSClientOptions(t *testing.T) {
	srv := server.New(server.Options{PingInterval: 200 * time.Millisecond})
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	certFile, keyFile := testutil.WriteSelfSignedClientCert(t)
	clientCert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	hs.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: testutil.CertPool(t, certFile)}
	hs.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	roots := x509.NewCertPool()
	roots.AddCert(hs.Certificate())
	_, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	// httptest's certificate is for 127.0.0.1 and example.com, not localhost.
	url := "https://localhost:" + port

	r := runDoctor(t, Options{URL: url, TLSConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"}})
	if r.OK() {
		t.Fatalf("passed without the client certificate the server requires: %+v", r.Results)
	}
	if tl, _ := r.Get("tls"); tl.Status != StatusOK || !strings.Contains(tl.Summary, "certificate for example.com") {
		t.Errorf("tls under ServerName example.com: %+v", tl)
	}

	r = runDoctor(t, Options{URL: url, TLSConfig: &tls.Config{RootCAs: roots, ServerName: "example.com", Certificates: []tls.Certificate{clientCert}}})
	for _, res := range r.Results {
		if res.Status != StatusOK {
			t.Errorf("with the client certificate: %s %s: %s %s", res.Status.Symbol(), res.ID, res.Summary, res.Cause)
		}
	}
}
