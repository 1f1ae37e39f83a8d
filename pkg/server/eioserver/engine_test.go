package eioserver

import (
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestPollingHandshakeV4(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{NewID: func() string { return "lv_VI97HAXpY6yYWAAAC" }}, true)
	r := ts.do("GET", "EIO=4&transport=polling", nil, nil)
	want := `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if r.status != 200 || r.body != want {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("content-type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("cache-control %q", cc)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header without CORS option")
	}
	ts.session()
}

func TestPollingEchoV4(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	r := ts.do("POST", q("EIO", "4", "transport", "polling", "sid", sid), []byte("4hello\x1ebAQIDBA=="), nil)
	if r.status != 200 || r.body != "ok" || r.header.Get("Content-Type") != "text/html" {
		t.Fatalf("post: %d %q %v", r.status, r.body, r.header)
	}
	if m := ts.message(); m.data != "hello" || m.binary {
		t.Errorf("got %+v", m)
	}
	if m := ts.message(); m.data != "\x01\x02\x03\x04" || !m.binary {
		t.Errorf("got %+v", m)
	}
	r = ts.do("GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil)
	if r.body != "4hello\x1ebAQIDBA==" {
		t.Fatalf("get %q", r.body)
	}
}

func TestWebSocketOnlyEcho(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	c := ts.dial("EIO=4&transport=websocket")
	mt, open := readWS(t, c)
	if mt != websocket.TextMessage || !strings.HasPrefix(open, `0{"sid":"`) || !strings.Contains(open, `"upgrades":[]`) {
		t.Fatalf("open %d %q", mt, open)
	}
	writeWS(t, c, websocket.TextMessage, "4hello €")
	if _, s := readWS(t, c); s != "4hello €" {
		t.Fatalf("echo %q", s)
	}
	writeWS(t, c, websocket.BinaryMessage, "\x01\x02\x03\x04")
	if mt, s := readWS(t, c); mt != websocket.BinaryMessage || s != "\x01\x02\x03\x04" {
		t.Fatalf("echo %d %q", mt, s)
	}
	writeWS(t, c, websocket.TextMessage, "1")
	if cl := ts.closed(); cl.reason != protocol.ReasonTransportClose {
		t.Fatalf("reason %q", cl.reason)
	}
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sess := ts.session()
	upgraded := make(chan string, 1)
	sess.OnUpgrade(func(tr string) { upgraded <- tr })
	poll := make(chan response, 1)
	go func() {
		r, _ := ts.doErr(t.Context(), "GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil)
		poll <- r
	}()
	c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
	writeWS(t, c, websocket.TextMessage, "2probe")
	if _, s := readWS(t, c); s != "3probe" {
		t.Fatalf("probe answer %q", s)
	}
	if r := <-poll; r.body != "6" {
		t.Fatalf("pending GET got %d %q", r.status, r.body)
	}
	if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("queued")}); err != nil {
		t.Fatal(err)
	}
	writeWS(t, c, websocket.TextMessage, "5")
	if _, s := readWS(t, c); s != "4queued" {
		t.Fatalf("flushed %q", s)
	}
	if tr := <-upgraded; tr != "websocket" || sess.Transport() != "websocket" {
		t.Fatalf("transport %q %q", tr, sess.Transport())
	}
	r := ts.do("GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil)
	if r.status != 400 || jsonBody(t, r.body).Code != 3 {
		t.Fatalf("poll after upgrade: %d %q", r.status, r.body)
	}
	writeWS(t, c, websocket.TextMessage, "4after")
	if _, s := readWS(t, c); s != "4after" {
		t.Fatalf("echo %q", s)
	}
}
