package eioserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Resources a broken or hostile client holds: each test holds one and
// checks that the server releases it in bounded time (issue 10).

// rawRequest writes head (a request without its final CRLF CRLF), then
// body, on a new connection, and leaves the connection open.
func rawRequestConn(t *testing.T, addr, head, body string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	return c
}

// awaitServerClose reads c until the server closes it and returns what
// came (the response, if any); it fails if c is still open after
// waitTimeout.
func awaitServerClose(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	b, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after %v (read %q)", waitTimeout, b)
	}
	return string(b)
}

// unfinishedBodies are POST bodies that never end.
var unfinishedBodies = []struct {
	name, header, body string
}{
	{"lying Content-Length", "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 1000", "4hello"},
	{"chunked without its last chunk", "Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked", "6\r\n4hello\r\n"},
}

func postHead(path, query, header string) string {
	return "POST " + path + "?" + query + " HTTP/1.1\r\nHost: x\r\n" + header
}

// awaitHook waits for a test hook's signal.
func awaitHook(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("no %s", what)
	}
}

// A POST whose body never ends is destroyed when its session dies (here
// because of two concurrent GETs; a ping timeout ends it the same way, and
// would come, since the pong could only be sent in another POST), as Node
// destroys it: no response, the connection closed.
func TestUnfinishedPOSTCutWhenSessionDies(t *testing.T) {
	t.Parallel()
	for _, ub := range unfinishedBodies {
		t.Run(ub.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, Options{}, false)
			reading, polling := make(chan struct{}, 1), make(chan struct{}, 1)
			ts.srv.testHookPostRead = func(*Session) { reading <- struct{}{} }
			ts.srv.testHookPollWait = func(*Session) { polling <- struct{}{} }
			sid, _ := ts.handshake("EIO=4&transport=polling")
			sq := q("EIO", "4", "transport", "polling", "sid", sid)
			c := rawRequestConn(t, ts.http.Listener.Addr().String(), postHead(ts.srv.cfg.path, sq, ub.header), ub.body)
			awaitHook(t, reading, "POST")
			go func() { _, _ = ts.doErr(t.Context(), "GET", sq, nil, nil) }()
			awaitHook(t, polling, "GET")
			if r := ts.do("GET", sq, nil, nil); r.status != 400 {
				t.Fatalf("second GET %d %q", r.status, r.body)
			}
			if cl := ts.closed(); cl.sid != sid {
				t.Fatalf("closed %+v", cl)
			}
			if got := awaitServerClose(t, c); got != "" {
				t.Fatalf("the destroyed POST got %q", got)
			}
			select {
			case m := <-ts.msgs:
				t.Fatalf("delivered %+v", m)
			default:
			}
		})
	}
}

// A POST still reading its body when the session upgrades is destroyed
// (Node closes the polling transport); the session goes on over
// WebSocket.
func TestUnfinishedPOSTCutOnUpgrade(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	reading := make(chan struct{}, 1)
	ts.srv.testHookPostRead = func(*Session) { reading <- struct{}{} }
	sid, _ := ts.handshake("EIO=4&transport=polling")
	ub := unfinishedBodies[0]
	post := rawRequestConn(t, ts.http.Listener.Addr().String(),
		postHead(ts.srv.cfg.path, q("EIO", "4", "transport", "polling", "sid", sid), ub.header), ub.body)
	awaitHook(t, reading, "POST")
	c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
	writeWS(t, c, websocket.TextMessage, "2probe")
	if _, s := readWS(t, c); s != "3probe" {
		t.Fatalf("probe answer %q", s)
	}
	writeWS(t, c, websocket.TextMessage, "5")
	if got := awaitServerClose(t, post); got != "" {
		t.Fatalf("the destroyed POST got %q", got)
	}
	writeWS(t, c, websocket.TextMessage, "4still")
	if _, s := readWS(t, c); s != "4still" {
		t.Fatalf("echo %q", s)
	}
}

// A request refused before its body is read gets its answer at once, and
// a body that never ends is not waited for: the connection is closed
// (net/http would read the rest before answering, without end).
func TestRefusedUnfinishedBodyCut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxPayload: 100}, false)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	path := ts.srv.cfg.path
	tests := []struct {
		name, head, body, status string
	}{
		{"unknown sid", postHead(path, "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", unfinishedBodies[0].header), "4hello", "400"},
		{"POST handshake", postHead(path, "EIO=4&transport=polling", unfinishedBodies[1].header), unfinishedBodies[1].body, "400"},
		{"over MaxPayload", postHead(path, q("EIO", "4", "transport", "polling", "sid", sid), unfinishedBodies[0].header), "4" + strings.Repeat("x", 200), "413"},
		{"wrong path", postHead("/elsewhere/", "", unfinishedBodies[0].header), "4hello", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rawRequestConn(t, ts.http.Listener.Addr().String(), tt.head, tt.body)
			got := awaitServerClose(t, c)
			res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
			if err != nil {
				t.Fatalf("response %q: %v", got, err)
			}
			if fmt.Sprint(res.StatusCode) != tt.status || !res.Close {
				t.Fatalf("got %d (close %v), want %s and the connection closed", res.StatusCode, res.Close, tt.status)
			}
		})
	}
	// A refused POST whose body is complete keeps its connection.
	res, err := ts.http.Client().Post(ts.url+"?EIO=4&transport=polling&sid=nope", "text/plain", strings.NewReader("4x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 || res.Close {
		t.Fatalf("got %d (close %v)", res.StatusCode, res.Close)
	}
}

// newTimeoutServer serves srv from an http.Server with the given
// timeouts.
func newTimeoutServer(t *testing.T, srv *Server, set func(*http.Server)) *httptest.Server {
	t.Helper()
	hs := httptest.NewUnstartedServer(srv)
	set(hs.Config)
	hs.Start()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs
}

// With Node's http.Server timeouts, an idle keep-alive connection is
// closed after KeepAliveTimeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	t.Parallel()
	srv := NewServer(Options{})
	hs := newTimeoutServer(t, srv, func(s *http.Server) {
		s.IdleTimeout, s.ReadHeaderTimeout, s.ReadTimeout = KeepAliveTimeout, HeadersTimeout, RequestTimeout
	})
	c := rawRequestConn(t, hs.Listener.Addr().String(), "GET "+srv.cfg.path+"?EIO=4&transport=polling HTTP/1.1\r\nHost: x", "")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(res.Body)
	res.Body.Close()
	idle := time.Now()
	_ = c.SetReadDeadline(idle.Add(KeepAliveTimeout + waitTimeout))
	if _, err := br.ReadByte(); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the idle connection is still open")
	}
	if d := time.Since(idle); d < KeepAliveTimeout-time.Second {
		t.Fatalf("closed after %v, before the keep-alive timeout", d)
	}
}

// A long poll is held past the http.Server's ReadTimeout (which bounds
// receiving the request, as Node's requestTimeout): it ends with the ping.
func TestLongPollOutlivesReadTimeout(t *testing.T) {
	t.Parallel()
	const readTimeout = 2 * time.Second
	srv := NewServer(Options{PingInterval: 2 * readTimeout})
	hs := newTimeoutServer(t, srv, func(s *http.Server) { s.ReadTimeout = readTimeout })
	ts := &testServer{t: t, srv: srv, http: hs, url: hs.URL + srv.cfg.path}
	sid, _ := ts.handshake("EIO=4&transport=polling")
	if r := ts.do("GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil); r.status != 200 || r.body != "2" {
		t.Fatalf("held GET: %d %q", r.status, r.body)
	}
}
