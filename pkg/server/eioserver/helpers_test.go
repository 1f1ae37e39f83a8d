package eioserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// waitTimeout bounds every wait for an event: generous, since a loaded
// machine may be slow, and costless when it is not (the event ends it).
const waitTimeout = 15 * time.Second

// testServer is a Server behind httptest on 127.0.0.1, recording sessions
// and what they receive.
type testServer struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	url   string // base URL of the endpoint, ending in "/engine.io/"
	conns chan *Session
	msgs  chan received
	close chan closed
}

type received struct {
	sid    string
	data   string
	binary bool
}

type closed struct {
	sid    string
	reason protocol.DisconnectReason
}

// newTestServer starts a server whose sessions echo every message back
// unless echo is false.
func newTestServer(t *testing.T, opts Options, echo bool) *testServer {
	t.Helper()
	ts := &testServer{
		t:     t,
		conns: make(chan *Session, 100),
		msgs:  make(chan received, 1000),
		close: make(chan closed, 100),
	}
	ts.srv = NewServer(opts)
	ts.srv.OnConnection(func(s *Session) {
		s.OnMessage(func(data []byte, binary bool) {
			ts.msgs <- received{s.ID(), string(data), binary}
			if echo {
				_ = s.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: bytes.Clone(data), Binary: binary})
			}
		})
		s.OnClose(func(r protocol.DisconnectReason) { ts.close <- closed{s.ID(), r} })
		ts.conns <- s
	})
	ts.http = httptest.NewServer(ts.srv)
	ts.url = ts.http.URL + ts.srv.cfg.path
	t.Cleanup(func() {
		ts.srv.Close()
		ts.http.Close()
	})
	return ts
}

func (ts *testServer) session() *Session {
	ts.t.Helper()
	select {
	case s := <-ts.conns:
		return s
	case <-time.After(waitTimeout):
		ts.t.Fatal("no session")
		return nil
	}
}

func (ts *testServer) message() received {
	ts.t.Helper()
	select {
	case m := <-ts.msgs:
		return m
	case <-time.After(waitTimeout):
		ts.t.Fatal("no message")
		return received{}
	}
}

func (ts *testServer) closed() closed {
	ts.t.Helper()
	select {
	case c := <-ts.close:
		return c
	case <-time.After(waitTimeout):
		ts.t.Fatal("no close")
		return closed{}
	}
}

// noClose fails if a session has closed.
func (ts *testServer) noClose() {
	ts.t.Helper()
	select {
	case c := <-ts.close:
		ts.t.Fatalf("session %s closed: %s", c.sid, c.reason)
	default:
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (ts *testServer) do(method, query string, body []byte, header http.Header) response {
	ts.t.Helper()
	r, err := ts.doErr(ts.t.Context(), method, query, body, header)
	if err != nil {
		ts.t.Fatal(err)
	}
	return r
}

func (ts *testServer) doErr(ctx context.Context, method, query string, body []byte, header http.Header) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, ts.url+"?"+query, rd)
	if err != nil {
		return response{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := ts.http.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{res.StatusCode, res.Header, string(b)}, nil
}

// handshake opens a polling session and returns its sid and handshake.
func (ts *testServer) handshake(query string) (string, protocol.Handshake) {
	ts.t.Helper()
	r := ts.do("GET", query, nil, nil)
	if r.status != 200 {
		ts.t.Fatalf("handshake: %d %s", r.status, r.body)
	}
	body := r.body
	if strings.HasPrefix(query, "EIO=3") {
		i := strings.IndexByte(body, ':')
		body = body[i+1:]
	}
	if !strings.HasPrefix(body, "0") {
		ts.t.Fatalf("handshake body %q", r.body)
	}
	h, err := protocol.ParseHandshake([]byte(body[1:]))
	if err != nil {
		ts.t.Fatal(err)
	}
	return h.SID, h
}

func (ts *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(ts.url, "http") + "?" + query
}

func (ts *testServer) dial(query string) *websocket.Conn {
	ts.t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(ts.wsURL(query), nil)
	if err != nil {
		ts.t.Fatalf("dial %s: %v (%v)", query, err, res)
	}
	ts.t.Cleanup(func() { c.Close() })
	return c
}

func readWS(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	mt, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return mt, string(b)
}

func writeWS(t *testing.T, c *websocket.Conn, mt int, s string) {
	t.Helper()
	if err := c.WriteMessage(mt, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// expectWSClosed waits for the server to close c and returns the error.
func expectWSClosed(t *testing.T, c *websocket.Conn) error {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		mt, b, err := c.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if ok := asTimeout(err, &ne); ok && ne.Timeout() {
				t.Fatal("websocket not closed")
			}
			return err
		}
		t.Logf("ignored frame before close: %d %q", mt, b)
	}
}

func asTimeout(err error, target *interface{ Timeout() bool }) bool {
	if te, ok := err.(interface{ Timeout() bool }); ok {
		*target = te
		return true
	}
	return false
}

func jsonBody(t *testing.T, s string) protocol.EngineError {
	t.Helper()
	var e protocol.EngineError
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		t.Fatalf("body %q: %v", s, err)
	}
	return e
}

// tapRecorder collects traces.
type tapRecorder struct {
	mu     sync.Mutex
	traces []protocol.Trace
}

func (r *tapRecorder) tap(tr protocol.Trace) {
	raw := make([][]byte, len(tr.Raw))
	for i, b := range tr.Raw {
		raw[i] = bytes.Clone(b)
	}
	tr.Raw = raw
	tr.Engine.Data = bytes.Clone(tr.Engine.Data)
	r.mu.Lock()
	r.traces = append(r.traces, tr)
	r.mu.Unlock()
}

func (r *tapRecorder) snapshot() []protocol.Trace {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]protocol.Trace(nil), r.traces...)
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// blockingBody is a request body written piece by piece.
type blockingBody struct {
	data chan []byte
	cur  []byte
}

type blockingWriter struct{ b *blockingBody }

func newBlockingBody() (*blockingBody, blockingWriter) {
	b := &blockingBody{data: make(chan []byte, 1)}
	return b, blockingWriter{b}
}

func (b *blockingBody) Read(p []byte) (int, error) {
	if len(b.cur) == 0 {
		d, ok := <-b.data
		if !ok {
			return 0, io.EOF
		}
		b.cur = d
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

func (w blockingWriter) write(s string) { w.b.data <- []byte(s) }
func (w blockingWriter) close()         { close(w.b.data) }

// messageFrom waits for a message from sid, skipping others.
func (ts *testServer) messageFrom(sid string) received {
	ts.t.Helper()
	for {
		if m := ts.message(); m.sid == sid {
			return m
		}
	}
}

func httptestServer(t *testing.T, srv *Server) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs
}
