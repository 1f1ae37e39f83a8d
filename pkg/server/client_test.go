package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// testEnv is a real Server (engine included) on an httptest loopback server.
type testEnv struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
	hc  *http.Client
}

func newEnv(t *testing.T, opts Options, setup func(*Server)) *testEnv {
	t.Helper()
	srv := New(opts)
	if setup != nil {
		setup(srv)
	}
	ts := httptestServer(srv)
	tr := &http.Transport{}
	e := &testEnv{t: t, srv: srv, ts: ts, hc: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		tr.CloseIdleConnections()
	})
	return e
}

func (e *testEnv) url(query string) string {
	return e.ts.URL + "/socket.io/?" + query
}

// wsClient is a raw Engine.IO WebSocket client.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	sid  string
	eio  string
}

func (e *testEnv) dialWS(eio string) *wsClient {
	e.t.Helper()
	c := e.dialWSQuery("EIO=" + eio + "&transport=websocket")
	open := c.readRaw()
	if !strings.HasPrefix(open, "0{") {
		e.t.Fatalf("open packet %q", open)
	}
	h, err := protocol.ParseHandshake([]byte(open[1:]))
	if err != nil {
		e.t.Fatal(err)
	}
	c.sid = h.SID
	c.eio = eio
	return c
}

func (e *testEnv) dialWSQuery(query string) *wsClient {
	e.t.Helper()
	u := "ws" + strings.TrimPrefix(e.url(query), "http")
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial %s: %v (status %d)", u, err, status)
	}
	c := &wsClient{t: e.t, conn: conn}
	e.t.Cleanup(func() { conn.Close() })
	return c
}

func (c *wsClient) write(text string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) writeBinary(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readRaw reads the next frame: text as is, binary as "<bin:hex>".
func (c *wsClient) readRaw() string {
	c.t.Helper()
	s, err := c.tryRead(3 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return s
}

func (c *wsClient) tryRead(d time.Duration) (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	typ, b, err := c.conn.ReadMessage()
	if err != nil {
		return "", err
	}
	if typ == websocket.BinaryMessage {
		return "<bin:" + hexString(b) + ">", nil
	}
	return string(b), nil
}

// next returns the next engine message's data (after the "4"), answering
// pings.
func (c *wsClient) next() string {
	c.t.Helper()
	for {
		s := c.readRaw()
		switch {
		case s == "2":
			c.write("3")
		case strings.HasPrefix(s, "4"):
			return s[1:]
		case strings.HasPrefix(s, "<bin:"):
			return s
		default:
			c.t.Fatalf("unexpected frame %q", s)
		}
	}
}

func (c *wsClient) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

func (c *wsClient) expectPrefix(p string) string {
	c.t.Helper()
	got := c.next()
	if !strings.HasPrefix(got, p) {
		c.t.Fatalf("got %q, want prefix %q", got, p)
	}
	return got
}

// expectClosed reads until the server closes the connection and returns
// the close code (0 when the TCP connection just ended).
func (c *wsClient) expectClosed() int {
	c.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		_, err := c.tryRead(3 * time.Second)
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if ok := asCloseError(err, &ce); ok {
			return ce.Code
		}
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			c.t.Fatal("connection not closed")
		}
		return 0
	}
	c.t.Fatal("connection not closed")
	return 0
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	e, ok := err.(*websocket.CloseError)
	if ok {
		*ce = e
	}
	return ok
}

// connect sends CONNECT for nsp (v5) and returns the socket id.
func (c *wsClient) connect(nsp string) string {
	c.t.Helper()
	prefix := "0"
	if nsp != "/" {
		prefix += nsp + ","
	}
	c.write("4" + prefix)
	reply := c.expectPrefix(prefix + `{"sid":"`)
	var r struct{ SID string }
	_ = json.Unmarshal([]byte(strings.TrimPrefix(reply, prefix)), &r)
	return r.SID
}

// pollClient is a raw Engine.IO polling client.
type pollClient struct {
	e   *testEnv
	sid string
	eio string
}

func (e *testEnv) dialPolling(eio string) *pollClient {
	e.t.Helper()
	status, body := e.do("GET", e.url("EIO="+eio+"&transport=polling"), "", nil)
	if status != 200 {
		e.t.Fatalf("handshake: %d %s", status, body)
	}
	open := body
	if eio == "3" {
		open = body[strings.IndexByte(body, ':')+1:]
	}
	open = strings.SplitN(open, "\x1e", 2)[0]
	end := strings.LastIndexByte(open, '}')
	h, err := protocol.ParseHandshake([]byte(open[1 : end+1]))
	if err != nil {
		e.t.Fatalf("handshake %q: %v", body, err)
	}
	return &pollClient{e: e, sid: h.SID, eio: eio}
}

func (e *testEnv) do(method, url, contentType string, body []byte) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *pollClient) query() string {
	return "EIO=" + p.eio + "&transport=polling&sid=" + p.sid
}

func (p *pollClient) post(body string) (int, string) {
	p.e.t.Helper()
	return p.e.do("POST", p.e.url(p.query()), "text/plain;charset=UTF-8", []byte(body))
}

func (p *pollClient) get() (int, string) {
	p.e.t.Helper()
	return p.e.do("GET", p.e.url(p.query()), "", nil)
}

// expect GETs until a payload arrives and checks its packets (v4).
func (p *pollClient) expect(want ...string) {
	p.e.t.Helper()
	status, body := p.get()
	if status != 200 {
		p.e.t.Fatalf("GET: %d %q", status, body)
	}
	got := strings.Split(body, "\x1e")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		p.e.t.Fatalf("got %q, want %q", got, want)
	}
}

// httptestServer serves h on a free 127.0.0.1 port.
func httptestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
