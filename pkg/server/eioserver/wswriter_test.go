package eioserver

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

func TestAppendWSFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    protocol.EnginePacket
		v    protocol.EIO
		want []byte
	}{
		{"text", protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("hi")}, protocol.EIO4, []byte("\x81\x034hi")},
		{"ping", protocol.EnginePacket{Type: protocol.EnginePing}, protocol.EIO4, []byte("\x81\x012")},
		{"binary v4", protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte{1, 2}, Binary: true}, protocol.EIO4, []byte("\x82\x02\x01\x02")},
		{"binary v3", protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte{1, 2}, Binary: true}, protocol.EIO3, []byte("\x82\x03\x04\x01\x02")},
	}
	for _, tt := range tests {
		if got := appendWSFrame(nil, tt.p, tt.v); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got %q want %q", tt.name, got, tt.want)
		}
	}
	for _, n := range []int{125, 126, 0xffff, 0x10000} {
		h := wsframe.AppendHeader(nil, websocket.BinaryMessage, n)
		var got int
		switch h[1] {
		case 126:
			got = int(h[2])<<8 | int(h[3])
		case 127:
			for _, b := range h[2:10] {
				got = got<<8 | int(b)
			}
		default:
			got = int(h[1])
		}
		if got != n || h[0] != 0x82 {
			t.Errorf("length %d: header %x", n, h)
		}
	}
}

// A peer that stops reading fills the socket: the writer goroutine takes
// over from the non-blocking writes, and once the peer reads again every
// message arrives, in order, and the writer goes idle.
func TestWebSocketBackpressureKeepsOrder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{SendQueue: 100000}, false)
	idle := make(chan *Session, 1000)
	ts.srv.testHookWriterIdle = func(s *Session) {
		select {
		case idle <- s:
		default:
		}
	}
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	sess := ts.session()
	big := strings.Repeat("x", 16<<10)
	const n = 400 // 6.4 MB: more than loopback socket buffers hold
	for i := range n {
		if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(fmt.Sprintf("%04d%s", i, big))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		_, s := readWS(t, c)
		if want := fmt.Sprintf("4%04d", i); !strings.HasPrefix(s, want) || len(s) != 5+len(big) {
			t.Fatalf("message %d: got %q… (%d bytes)", i, s[:min(len(s), 8)], len(s))
		}
	}
	deadline := time.After(waitTimeout)
	for {
		sess.mu.Lock()
		done := !sess.writerOn && len(sess.queue) == 0
		sess.mu.Unlock()
		if done {
			break
		}
		select {
		case <-idle:
		case <-deadline:
			t.Fatal("writer never went idle")
		}
	}
}

// The peer's pings are answered by the session's writer, between messages.
func TestWebSocketPeerPing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	pongs := make(chan string, 1)
	c.SetPongHandler(func(s string) error { pongs <- s; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	writeWS(t, c, websocket.TextMessage, "4after")
	if _, s := readWS(t, c); s != "4after" { // the pong is handled while reading
		t.Fatalf("got %q", s)
	}
	select {
	case s := <-pongs:
		if s != "are you there" {
			t.Fatalf("pong %q", s)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no pong")
	}
}

// A close from the peer is answered with its code (ws echoes it) and ends
// the session with "transport close".
func TestWebSocketPeerCloseEchoed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye")
	if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	err := expectWSClosed(t, c)
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("close: %v", err)
	}
	if cl := ts.closed(); cl.reason != protocol.ReasonTransportClose {
		t.Fatalf("reason %q", cl.reason)
	}
}
