package eioserver

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// The heartbeat tests never race a timer: where the client answers,
// pingTimeout is generous (a pong is never late, however loaded the
// machine), and the ping timeout is tested where the client never answers,
// so that a short one can only fire at its time. Pings come every 50 ms
// either way, so the tests are quick when the machine is idle.
var (
	fastPings   = Options{PingInterval: 50 * time.Millisecond, PingTimeout: 30 * time.Second, AllowEIO3: true}
	fastTimeout = Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond, AllowEIO3: true}
)

func TestHeartbeatV4(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fastPings, false)
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c) // open
	for i := range 3 {
		if _, s := readWS(t, c); s != "2" {
			t.Fatalf("ping %d: %q", i, s)
		}
		writeWS(t, c, websocket.TextMessage, "3")
	}
	if _, s := readWS(t, c); s != "2" {
		t.Fatalf("ping: %q", s)
	}
	ts.noClose()
}

// No pong: the server closes the session with a plain close frame.
func TestHeartbeatV4Timeout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fastTimeout, false)
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c) // open
	if _, s := readWS(t, c); s != "2" {
		t.Fatalf("ping: %q", s)
	}
	if cl := ts.closed(); cl.reason != protocol.ReasonPingTimeout {
		t.Fatalf("reason %q", cl.reason)
	}
	err := expectWSClosed(t, c)
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseNoStatusReceived {
		t.Fatalf("close: %v", err)
	}
}

func TestHeartbeatV4Polling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fastPings, false)
	sid, h := ts.handshake("EIO=4&transport=polling")
	if h.PingInterval != 50 || h.PingTimeout != 30000 {
		t.Fatalf("handshake %+v", h)
	}
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	for i := range 2 {
		if r := ts.do("GET", sq, nil, nil); r.body != "2" {
			t.Fatalf("held GET %d ended with %q", i, r.body)
		}
		if r := ts.do("POST", sq, []byte("3"), nil); r.body != "ok" {
			t.Fatalf("pong POST %d %q", r.status, r.body)
		}
	}
}

func TestHeartbeatV4PollingTimeout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fastTimeout, false)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sq := q("EIO", "4", "transport", "polling", "sid", sid)
	if r := ts.do("GET", sq, nil, nil); r.body != "2" {
		t.Fatalf("held GET ended with %q", r.body)
	}
	if cl := ts.closed(); cl.reason != protocol.ReasonPingTimeout {
		t.Fatalf("reason %q", cl.reason)
	}
	if r := ts.do("GET", sq, nil, nil); r.status != 400 || jsonBody(t, r.body).Code != 1 {
		t.Fatalf("after timeout %d %q", r.status, r.body)
	}
}

func TestHeartbeatV3(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fastPings, false)
	c := ts.dial("EIO=3&transport=websocket")
	readWS(t, c) // open
	for range 3 {
		writeWS(t, c, websocket.TextMessage, "2")
		if _, s := readWS(t, c); s != "3" {
			t.Fatalf("pong %q", s)
		}
	}
	ts.noClose()
}

// The client never pings: closed after pingInterval+pingTimeout.
func TestHeartbeatV3Timeout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fastTimeout, false)
	c := ts.dial("EIO=3&transport=websocket")
	readWS(t, c) // open
	if cl := ts.closed(); cl.reason != protocol.ReasonPingTimeout {
		t.Fatalf("reason %q", cl.reason)
	}
	expectWSClosed(t, c)
}

func TestHeartbeatV3Polling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowEIO3: true}, false)
	sid, _ := ts.handshake("EIO=3&transport=polling")
	sq := q("EIO", "3", "transport", "polling", "sid", sid)
	ts.do("POST", sq, []byte("1:2"), nil)
	if r := ts.do("GET", sq, nil, nil); r.body != "1:3" {
		t.Fatalf("pong %q", r.body)
	}
}

func TestHeartbeatWrongDirection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ eio, pkt string }{{"4", "2"}, {"3", "3"}} {
		t.Run("EIO"+tt.eio, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, Options{AllowEIO3: true}, false)
			c := ts.dial("EIO=" + tt.eio + "&transport=websocket")
			readWS(t, c)
			writeWS(t, c, websocket.TextMessage, tt.pkt)
			if cl := ts.closed(); cl.reason != protocol.ReasonTransportError {
				t.Fatalf("reason %q", cl.reason)
			}
			expectWSClosed(t, c)
		})
	}
}
