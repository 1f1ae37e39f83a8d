package eioserver

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestPollingHandshakeV3(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true, NewID: func() string { return "lv_VI97HAXpY6yYWAAAC" }}, true)
	r := ts.do("GET", "EIO=3&transport=polling", nil, nil)
	open := `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if want := strconv.Itoa(len(open)) + ":" + open; r.status != 200 || r.body != want {
		t.Fatalf("got %d %q, want %q", r.status, r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != contentTypeText {
		t.Errorf("content-type %q", ct)
	}
	if s := ts.session(); s.EIO() != protocol.EIO3 || s.Transport() != "polling" {
		t.Errorf("session %v %s", s.EIO(), s.Transport())
	}
}

func TestPollingV3Payloads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		b64      bool
		post     string
		postType string
		want     []received
		get      string // exact body of the GET that returns the echo
		getType  string
	}{
		{
			name: "text vector 12",
			post: "6:4hello2:4€",
			want: []received{{data: "hello"}, {data: "€"}},
			get:  "6:4hello2:4€", getType: contentTypeText,
		},
		{
			name: "surrogate pair vector 13",
			post: "3:4😀",
			want: []received{{data: "😀"}},
			get:  "3:4😀", getType: contentTypeText,
		},
		{
			name: "base64 vector 14, echoed as binary payload vector 15",
			post: "2:4€10:b4AQIDBA==",
			want: []received{{data: "€"}, {data: "\x01\x02\x03\x04", binary: true}},
			get:  "\x00\x04\xff4€\x01\x05\xff\x04\x01\x02\x03\x04", getType: contentTypeBinary,
		},
		{
			name: "base64 echoed as base64 with b64=1",
			b64:  true,
			post: "2:4€10:b4AQIDBA==",
			want: []received{{data: "€"}, {data: "\x01\x02\x03\x04", binary: true}},
			get:  "2:4€10:b4AQIDBA==", getType: contentTypeText,
		},
		{
			name: "binary POST vector 16", postType: contentTypeBinary,
			post: "\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04",
			want: []received{{data: "hello"}, {data: "\x01\x02\x03\x04", binary: true}},
			get:  "\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04", getType: contentTypeBinary,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, Options{AllowEIO3: true}, true)
			hq := "EIO=3&transport=polling"
			if tt.b64 {
				hq += "&b64=1"
			}
			sid, _ := ts.handshake(hq)
			var hdr http.Header
			if tt.postType != "" {
				hdr = http.Header{"Content-Type": {tt.postType}}
			}
			sq := q("EIO", "3", "transport", "polling", "sid", sid)
			if r := ts.do("POST", sq, []byte(tt.post), hdr); r.status != 200 || r.body != "ok" {
				t.Fatalf("post %d %q", r.status, r.body)
			}
			for _, w := range tt.want {
				if m := ts.message(); m.data != w.data || m.binary != w.binary {
					t.Fatalf("got %+v, want %+v", m, w)
				}
			}
			r := ts.do("GET", sq, nil, nil)
			if r.body != tt.get || r.header.Get("Content-Type") != tt.getType {
				t.Fatalf("get %q (%s), want %q (%s)", r.body, r.header.Get("Content-Type"), tt.get, tt.getType)
			}
		})
	}
}

func TestPollingV4Vectors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	ts.do("POST", sq, []byte("4test1\x1e4test2\x1e4test3"), nil)
	for _, w := range []string{"test1", "test2", "test3"} {
		if m := ts.message(); m.data != w {
			t.Fatalf("got %q want %q", m.data, w)
		}
	}
	if r := ts.do("GET", sq, nil, nil); r.body != "4test1\x1e4test2\x1e4test3" {
		t.Fatalf("get %q", r.body)
	}
}

func TestPollingServerSendsHeldGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	waiting := make(chan *Session, 1)
	ts.srv.testHookPollWait = func(s *Session) {
		select {
		case waiting <- s:
		default:
		}
	}
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sess := ts.session()
	got := make(chan response, 1)
	go func() {
		r, _ := ts.doErr(context.Background(), "GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil)
		got <- r
	}()
	<-waiting
	if !sess.SendVolatile(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("v")}) {
		t.Fatal("volatile dropped with a GET pending")
	}
	if r := <-got; r.body != "4v" {
		t.Fatalf("got %q", r.body)
	}
	// No GET pending: volatile messages are dropped.
	if sess.SendVolatile(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("x")}) {
		t.Fatal("volatile queued without a GET")
	}
	// Queued messages drain into one payload, in order.
	for _, m := range []string{"a", "b"} {
		if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(m)}); err != nil {
			t.Fatal(err)
		}
	}
	if sess.SendVolatile(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("x")}) {
		t.Fatal("volatile queued behind a non-empty queue")
	}
	if r := ts.do("GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil); r.body != "4a\x1e4b" {
		t.Fatalf("got %q", r.body)
	}
}

func TestPollingPayloadBoundedByMaxPayload(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxPayload: 100}, false)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sess := ts.session()
	big := strings.Repeat("x", 60)
	for range 3 {
		if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(big)}); err != nil {
			t.Fatal(err)
		}
	}
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	for i := range 3 {
		if r := ts.do("GET", sq, nil, nil); r.body != "4"+big {
			t.Fatalf("GET %d: %q", i, r.body)
		}
	}
}

func TestPollingDuplicateGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	waiting := make(chan *Session, 1)
	ts.srv.testHookPollWait = func(s *Session) { waiting <- s }
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	first := make(chan response, 1)
	go func() {
		r, _ := ts.doErr(context.Background(), "GET", sq, nil, nil)
		first <- r
	}()
	<-waiting
	if r := ts.do("GET", sq, nil, nil); r.status != 400 || r.body != "" {
		t.Fatalf("second GET %d %q", r.status, r.body)
	}
	if r := <-first; r.status != 200 || r.body != "1" {
		t.Fatalf("first GET %d %q", r.status, r.body)
	}
	if c := ts.closed(); c.reason != protocol.ReasonTransportError {
		t.Fatalf("reason %q", c.reason)
	}
	if r := ts.do("GET", sq, nil, nil); r.status != 400 || jsonBody(t, r.body).Code != 1 {
		t.Fatalf("after close %d %q", r.status, r.body)
	}
}

func TestPollingDuplicatePOST(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	reading := make(chan *Session, 2)
	ts.srv.testHookPostRead = func(s *Session) { reading <- s }
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	pr, pw := newBlockingBody()
	first := make(chan error, 1)
	req, _ := http.NewRequest("POST", ts.url+"?"+sq, pr)
	go func() {
		res, err := ts.http.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		first <- err
	}()
	pw.write("4a")
	<-reading
	if r := ts.do("POST", sq, []byte("4b"), nil); r.status != 400 || r.body != "" {
		t.Fatalf("second POST %d %q", r.status, r.body)
	}
	if c := ts.closed(); c.reason != protocol.ReasonTransportError {
		t.Fatalf("reason %q", c.reason)
	}
	// As in Node, the first POST is destroyed: no response, and its
	// packets are not delivered. (The client returns once its body ends.)
	pw.close()
	select {
	case err := <-first:
		if err == nil {
			t.Fatal("the first POST got a response")
		}
	case <-time.After(waitTimeout):
		t.Fatal("the first POST is still open")
	}
	select {
	case m := <-ts.msgs:
		t.Fatalf("delivered %+v", m)
	default:
	}
}

func TestPollingAbortedGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	waiting := make(chan *Session, 1)
	ts.srv.testHookPollWait = func(s *Session) { waiting <- s }
	sid, _ := ts.handshake("EIO=4&transport=polling")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		_, _ = ts.doErr(ctx, "GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil)
		close(done)
	}()
	<-waiting
	cancel()
	<-done
	if c := ts.closed(); c.reason != protocol.ReasonTransportError {
		t.Fatalf("reason %q", c.reason)
	}
}

func TestPollingMaxPayload413(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxPayload: 10}, true)
	sid, h := ts.handshake("EIO=4&transport=polling")
	if h.MaxPayload != 10 {
		t.Fatalf("maxPayload %d", h.MaxPayload)
	}
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	if r := ts.do("POST", sq, []byte("4"+strings.Repeat("x", 10)), nil); r.status != 413 || r.body != "" {
		t.Fatalf("post %d %q", r.status, r.body)
	}
	// The session goes on.
	if r := ts.do("POST", sq, []byte("4small"), nil); r.status != 200 {
		t.Fatalf("post %d %q", r.status, r.body)
	}
	if m := ts.message(); m.data != "small" {
		t.Fatalf("got %q", m.data)
	}
}

func TestPollingClientClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	waiting := make(chan *Session, 1)
	ts.srv.testHookPollWait = func(s *Session) { waiting <- s }
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	get := make(chan response, 1)
	go func() {
		r, _ := ts.doErr(context.Background(), "GET", sq, nil, nil)
		get <- r
	}()
	<-waiting
	if r := ts.do("POST", sq, []byte("1"), nil); r.body != "ok" {
		t.Fatalf("post %q", r.body)
	}
	if r := <-get; r.body != "6" {
		t.Fatalf("pending GET %q", r.body)
	}
	if c := ts.closed(); c.reason != protocol.ReasonTransportClose {
		t.Fatalf("reason %q", c.reason)
	}
}

func TestPollingServerClose(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"3", "4"} {
		t.Run("EIO"+v, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, Options{AllowEIO3: true}, false)
			sid, _ := ts.handshake("EIO=" + v + "&transport=polling")
			sess := ts.session()
			sq := q("EIO", v, "transport", "polling", "sid", sid)
			_ = sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("bye")})
			sess.Close(protocol.ReasonForcedClose)
			if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage}); err != ErrClosed {
				t.Fatalf("send after close: %v", err)
			}
			want := "4bye\x1e1"
			if v == "3" {
				want = "4:4bye1:1"
			}
			if r := ts.do("GET", sq, nil, nil); r.body != want {
				t.Fatalf("GET %q, want %q", r.body, want)
			}
			if c := ts.closed(); c.reason != protocol.ReasonForcedClose {
				t.Fatalf("reason %q", c.reason)
			}
			<-sess.Done()
			if r := ts.do("GET", sq, nil, nil); r.status != 400 || jsonBody(t, r.body).Code != 1 {
				t.Fatalf("after close %d %q", r.status, r.body)
			}
		})
	}
}

func TestPollingQueueFull(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{SendQueue: 3}, false)
	ts.handshake("EIO=4&transport=polling")
	sess := ts.session()
	m := protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("m")}
	if err := sess.Send(m, m, m); err != nil {
		t.Fatal(err)
	}
	if err := sess.Send(m); err != ErrQueueFull {
		t.Fatalf("got %v", err)
	}
	if c := ts.closed(); c.reason != protocol.ReasonTransportError {
		t.Fatalf("reason %q", c.reason)
	}
	if err := sess.Send(m); err != ErrClosed {
		t.Fatalf("got %v", err)
	}
}

// A GET sent together with the POST "1" that closes the session gets the
// noop, as from Node, whichever of the two the server handles first (the
// official test suite's "forcefully closes the session"); the GET after it
// gets 400 "Session ID unknown".
func TestPollingGETRacingClientClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true}, false)
	for i := range 500 {
		eio, closeBody, noop := "4", "1", "6"
		if i%2 == 1 {
			eio, closeBody, noop = "3", "1:1", "1:6"
		}
		sid, _ := ts.handshake("EIO=" + eio + "&transport=polling")
		ts.session()
		sq := q("EIO", eio, "transport", "polling", "sid", sid)
		get := make(chan response, 1)
		go func() {
			r, err := ts.doErr(t.Context(), "GET", sq, nil, nil)
			if err != nil {
				r.body = err.Error()
			}
			get <- r
		}()
		if r := ts.do("POST", sq, []byte(closeBody), nil); r.status != 200 || r.body != "ok" {
			t.Fatalf("round %d: POST %d %q", i, r.status, r.body)
		}
		if r := <-get; r.status != 200 || r.body != noop {
			t.Fatalf("round %d (EIO=%s): GET %d %q, want the noop", i, eio, r.status, r.body)
		}
		if c := ts.closed(); c.sid != sid || c.reason != protocol.ReasonTransportClose {
			t.Fatalf("round %d: closed %+v", i, c)
		}
		if r := ts.do("GET", sq, nil, nil); r.status != 400 || jsonBody(t, r.body).Code != 1 {
			t.Fatalf("round %d: GET after the close %d %q", i, r.status, r.body)
		}
	}
}

// The sid of a session its client closed lingers for a GET for a bounded
// time only.
func TestPollingClosedSessionLingersBounded(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	ts.srv.cfg.closeLinger = 50 * time.Millisecond
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	ts.do("POST", sq, []byte("1"), nil)
	ts.closed()
	deadline := time.Now().Add(waitTimeout)
	for {
		ts.srv.mu.Lock()
		n, queued := len(ts.srv.lingering), len(ts.srv.lingerQ)
		ts.srv.mu.Unlock()
		if n == 0 && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions lingering, %d queued", n, queued)
		}
		time.Sleep(10 * time.Millisecond) // polling a state, bounded by the deadline
	}
	if r := ts.do("GET", sq, nil, nil); r.status != 400 || jsonBody(t, r.body).Code != 1 {
		t.Fatalf("GET after the linger %d %q", r.status, r.body)
	}
}
