package eioserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestWebSocketV3Binary(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true}, true)
	c := ts.dial("EIO=3&transport=websocket")
	readWS(t, c)
	writeWS(t, c, websocket.BinaryMessage, "\x04\x01\x02\x03\x04")
	if m := ts.message(); m.data != "\x01\x02\x03\x04" || !m.binary {
		t.Fatalf("got %+v", m)
	}
	if mt, s := readWS(t, c); mt != websocket.BinaryMessage || s != "\x04\x01\x02\x03\x04" {
		t.Fatalf("echo %d %q", mt, s)
	}
}

func TestWebSocketMaxPayload1009(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxPayload: 100}, true)
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	writeWS(t, c, websocket.TextMessage, "4"+strings.Repeat("x", 99)) // exactly MaxPayload
	if _, s := readWS(t, c); len(s) != 100 {
		t.Fatalf("echo of %d bytes", len(s))
	}
	writeWS(t, c, websocket.TextMessage, "4"+strings.Repeat("x", 100))
	err := expectWSClosed(t, c)
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("close: %v", err)
	}
	if cl := ts.closed(); cl.reason != protocol.ReasonTransportError {
		t.Fatalf("reason %q", cl.reason)
	}
}

func TestWebSocketServerClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	sess := ts.session()
	for _, m := range []string{"a", "b", "c"} {
		if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(m)}); err != nil {
			t.Fatal(err)
		}
	}
	sess.Close(protocol.ReasonForcedClose)
	sess.Close(protocol.ReasonForcedClose) // idempotent
	for _, m := range []string{"4a", "4b", "4c"} {
		if _, s := readWS(t, c); s != m {
			t.Fatalf("got %q want %q", s, m)
		}
	}
	err := expectWSClosed(t, c)
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseNoStatusReceived {
		t.Fatalf("close: %v (no close packet expected first)", err)
	}
	if cl := ts.closed(); cl.reason != protocol.ReasonForcedClose {
		t.Fatalf("reason %q", cl.reason)
	}
}

func TestWebSocketQueueFullAndVolatile(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{SendQueue: 2}, false)
	idle := make(chan *Session, 10)
	ts.srv.testHookWriterIdle = func(s *Session) { idle <- s }
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	sess := <-idle // the open packet is written
	m := protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("m")}
	if !sess.SendVolatile(m) {
		t.Fatal("volatile dropped by an idle writer")
	}
	if _, s := readWS(t, c); s != "4m" {
		t.Fatalf("got %q", s)
	}
	big := make([]protocol.EnginePacket, 3)
	for i := range big {
		big[i] = m
	}
	if err := sess.Send(big...); err != ErrQueueFull {
		t.Fatalf("got %v", err)
	}
	if cl := ts.closed(); cl.reason != protocol.ReasonTransportError {
		t.Fatalf("reason %q", cl.reason)
	}
	expectWSClosed(t, c)
}

func TestUpgradeV3Noop(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true}, true)
	waiting := make(chan *Session, 1)
	ts.srv.testHookPollWait = func(s *Session) {
		select {
		case waiting <- s:
		default:
		}
	}
	sid, _ := ts.handshake("EIO=3&transport=polling")
	sq := q("EIO", "3", "transport", "polling", "sid", sid)
	c := ts.dial(q("EIO", "3", "transport", "websocket", "sid", sid))
	writeWS(t, c, websocket.TextMessage, "2probe")
	if _, s := readWS(t, c); s != "3probe" {
		t.Fatalf("%q", s)
	}
	// A GET arriving after 3probe gets a noop.
	if r := ts.do("GET", sq, nil, nil); r.body != "1:6" {
		t.Fatalf("GET %q", r.body)
	}
	writeWS(t, c, websocket.TextMessage, "5")
	writeWS(t, c, websocket.BinaryMessage, "\x04\x09")
	if mt, s := readWS(t, c); mt != websocket.BinaryMessage || s != "\x04\x09" {
		t.Fatalf("echo %d %q", mt, s)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	t.Parallel()
	// The default upgrade timeout (10 s): only "upgrade timeout" below
	// waits for one, on a server of its own.
	ts := newTestServer(t, Options{}, true)
	t.Run("probe garbage", func(t *testing.T) {
		sid, _ := ts.handshake("EIO=4&transport=polling")
		c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
		writeWS(t, c, websocket.TextMessage, "4hello")
		expectWSClosed(t, c)
		assertPollingWorks(t, ts, sid)
	})
	t.Run("ping without probe", func(t *testing.T) {
		sid, _ := ts.handshake("EIO=4&transport=polling")
		c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
		writeWS(t, c, websocket.TextMessage, "2")
		expectWSClosed(t, c)
		assertPollingWorks(t, ts, sid)
	})
	t.Run("upgrade timeout", func(t *testing.T) {
		// A short timeout, and nothing that must happen before it: the
		// probe may already be closed when "2probe" is written or its
		// answer read (expectWSClosed skips "3probe" when it comes).
		const timeout = 50 * time.Millisecond
		ts := newTestServer(t, Options{UpgradeTimeout: timeout}, true)
		sid, _ := ts.handshake("EIO=4&transport=polling")
		start := time.Now() // before the server arms the timeout
		c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
		_ = c.WriteMessage(websocket.TextMessage, []byte("2probe"))
		expectWSClosed(t, c)
		if d := time.Since(start); d < timeout {
			t.Fatalf("probe closed after %v, before the upgrade timeout", d)
		}
		assertPollingWorks(t, ts, sid)
	})
	t.Run("second websocket while upgrading", func(t *testing.T) {
		sid, _ := ts.handshake("EIO=4&transport=polling")
		c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
		writeWS(t, c, websocket.TextMessage, "2probe")
		readWS(t, c)
		c2 := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
		expectWSClosed(t, c2)
		writeWS(t, c, websocket.TextMessage, "5")
		writeWS(t, c, websocket.TextMessage, "4x")
		if _, s := readWS(t, c); s != "4x" {
			t.Fatalf("echo %q", s)
		}
		// And after the upgrade: accepted (101), then closed at once.
		c3 := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
		expectWSClosed(t, c3)
		writeWS(t, c, websocket.TextMessage, "4y")
		if _, s := readWS(t, c); s != "4y" {
			t.Fatalf("echo %q", s)
		}
	})
}

func assertPollingWorks(t *testing.T, ts *testServer, sid string) {
	t.Helper()
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	if r := ts.do("POST", sq, []byte("4still"), nil); r.status != 200 {
		t.Fatalf("post %d %q", r.status, r.body)
	}
	if m := ts.message(); m.data != "still" {
		t.Fatalf("got %q", m.data)
	}
	if r := ts.do("GET", sq, nil, nil); r.body != "4still" {
		t.Fatalf("get %q", r.body)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	waiting := make(chan *Session, 1)
	ts.srv.testHookPollWait = func(s *Session) {
		select {
		case waiting <- s:
		default:
		}
	}
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	get := make(chan response, 1)
	go func() {
		r, _ := ts.doErr(context.Background(), "GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil)
		get <- r
	}()
	<-waiting
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-get; r.body != "1" {
		t.Fatalf("pending GET %q", r.body)
	}
	expectWSClosed(t, c)
	for range 2 {
		if cl := ts.closed(); cl.reason != protocol.ReasonForcedClose {
			t.Fatalf("reason %q", cl.reason)
		}
	}
	if n := ts.srv.SessionCount(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	if r := ts.do("GET", "EIO=4&transport=polling", nil, nil); r.status != 503 {
		t.Fatalf("handshake after shutdown: %d", r.status)
	}
}

func TestTap(t *testing.T) {
	t.Parallel()
	var rec tapRecorder
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := newTestServer(t, Options{Tap: rec.tap, Now: func() time.Time { return now }, NewID: func() string { return "SID" }}, true)
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	writeWS(t, c, websocket.BinaryMessage, "\x01\x02")
	readWS(t, c)
	want := []struct {
		dir       protocol.Direction
		typ       protocol.EngineType
		raw       string
		transport string
	}{
		{protocol.Out, protocol.EngineOpen, `0{"sid":"SID","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, "websocket"},
		{protocol.In, protocol.EngineMessage, "\x01\x02", "websocket"},
		{protocol.Out, protocol.EngineMessage, "\x01\x02", "websocket"},
	}
	got := rec.snapshot()
	if len(got) != len(want) {
		t.Fatalf("%d traces: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Dir != w.dir || g.Engine.Type != w.typ || len(g.Raw) != 1 || string(g.Raw[0]) != w.raw ||
			g.Transport != w.transport || g.EngineSID != "SID" || g.EIO != protocol.EIO4 ||
			g.Layer != protocol.LayerEngine || !g.Time.Equal(now) {
			t.Errorf("trace %d: %+v", i, g)
		}
	}
}

func TestTapPolling(t *testing.T) {
	t.Parallel()
	var rec tapRecorder
	ts := newTestServer(t, Options{Tap: rec.tap, AllowEIO3: true}, true)
	sid, _ := ts.handshake("EIO=3&transport=polling")
	sq := q("EIO", "3", "transport", "polling", "sid", sid)
	ts.do("POST", sq, []byte("6:4hello10:b4AQIDBA=="), nil)
	ts.do("GET", sq, nil, nil)
	got := rec.snapshot()
	want := []string{"", "6:4hello", "10:b4AQIDBA==", "\x00\x06\xff4hello", "\x01\x05\xff\x04\x01\x02\x03\x04"}
	if len(got) != len(want) {
		t.Fatalf("%d traces", len(got))
	}
	for i, w := range want[1:] {
		if g := got[i+1]; string(g.Raw[0]) != w || g.Transport != "polling" || g.EIO != protocol.EIO3 {
			t.Errorf("trace %d: raw %q transport %s", i+1, g.Raw[0], g.Transport)
		}
	}
}

func TestShutdownPollingWaitsForGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		res <- ts.srv.Shutdown(ctx)
	}()
	// The close packet waits for the client's next GET.
	if r := ts.do("GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil); r.body != "1" {
		t.Fatalf("GET %d %q", r.status, r.body)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if c := ts.closed(); c.reason != protocol.ReasonForcedClose {
		t.Fatalf("reason %q", c.reason)
	}
}

func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	ts.handshake("EIO=4&transport=polling")
	sess := ts.session()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := ts.srv.Shutdown(ctx); err != context.Canceled {
		t.Fatalf("got %v", err)
	}
	<-sess.Done()
	if c := ts.closed(); c.reason != protocol.ReasonForcedClose {
		t.Fatalf("reason %q", c.reason)
	}
}

func TestCloseInOnConnection(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(Options{SendQueue: 1})
			closed := make(chan protocol.DisconnectReason, 1)
			srv.OnConnection(func(s *Session) {
				s.OnClose(func(r protocol.DisconnectReason) { closed <- r })
				m := protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("x")}
				_ = s.Send(m, m, m) // queue full: the session ends inside OnConnection
			})
			ts := &testServer{t: t, srv: srv}
			ts.http = httptestServer(t, srv)
			ts.url = ts.http.URL + srv.cfg.path
			if transport == "polling" {
				if r := ts.do("GET", "EIO=4&transport=polling", nil, nil); r.status != 200 || !strings.HasPrefix(r.body, "0{") {
					t.Fatalf("handshake %d %q", r.status, r.body)
				}
			} else {
				c := ts.dial("EIO=4&transport=websocket")
				expectWSClosed(t, c)
			}
			if r := <-closed; r != protocol.ReasonTransportError {
				t.Fatalf("reason %q", r)
			}
		})
	}
}

func TestOnCloseWaitsForOnMessage(t *testing.T) {
	t.Parallel()
	srv := NewServer(Options{SendQueue: 1})
	inside, release := make(chan *Session), make(chan struct{})
	closed := make(chan protocol.DisconnectReason, 1)
	srv.OnConnection(func(s *Session) {
		s.OnMessage(func([]byte, bool) {
			inside <- s
			<-release
		})
		s.OnClose(func(r protocol.DisconnectReason) { closed <- r })
	})
	ts := &testServer{t: t, srv: srv}
	ts.http = httptestServer(t, srv)
	ts.url = ts.http.URL + srv.cfg.path
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	writeWS(t, c, websocket.TextMessage, "4x")
	sess := <-inside
	m := protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("m")}
	if err := sess.Send(m, m); err != ErrQueueFull {
		t.Fatalf("got %v", err)
	}
	<-sess.Done()
	select {
	case r := <-closed:
		t.Fatalf("OnClose(%q) ran while OnMessage was running", r)
	default:
	}
	close(release)
	if r := <-closed; r != protocol.ReasonTransportError {
		t.Fatalf("reason %q", r)
	}
}
