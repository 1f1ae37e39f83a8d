package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

const openWS = `0{"sid":"hostile","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`

// hostileServer answers Engine.IO over WebSocket (or polling when poll is
// set) with what script writes; it counts connections.
type hostileServer struct {
	*httptest.Server
	conns atomic.Int32
}

func newHostileServer(t *testing.T, ws func(c *websocket.Conn, n int32), poll http.HandlerFunc) *hostileServer {
	t.Helper()
	hs := &hostileServer{}
	up := websocket.Upgrader{}
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hs.conns.Add(1)
		if r.URL.Query().Get("transport") == "polling" {
			poll(w, r)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		ws(c, n)
		// Hold the connection until the client goes away.
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	return hs
}

func wsURL(hs *hostileServer) string { return hs.URL }

func writeText(c *websocket.Conn, frames ...string) {
	for _, f := range frames {
		if c.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
			return
		}
	}
}

// connectThen answers the handshake and the CONNECT, then sends frames.
func connectThen(frames ...string) func(c *websocket.Conn, n int32) {
	return func(c *websocket.Conn, n int32) {
		writeText(c, openWS)
		if _, _, err := c.ReadMessage(); err != nil { // "40"
			return
		}
		writeText(c, `40{"sid":"s1"}`)
		if n == 1 {
			writeText(c, frames...)
		}
	}
}

func TestHostileServerHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ws    func(c *websocket.Conn, n int32)
		poll  http.HandlerFunc
		trans string
	}{
		{"missing sid", func(c *websocket.Conn, _ int32) {
			writeText(c, `0{"upgrades":[],"pingInterval":25000,"pingTimeout":20000}`)
		}, nil, "websocket"},
		{"absurd pingInterval", func(c *websocket.Conn, _ int32) {
			writeText(c, `0{"sid":"x","upgrades":[],"pingInterval":1e300,"pingTimeout":20000}`)
		}, nil, "websocket"},
		{"garbage first frame", func(c *websocket.Conn, _ int32) { writeText(c, "hello, world") }, nil, "websocket"},
		{"binary first frame", func(c *websocket.Conn, _ int32) {
			_ = c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2})
		}, nil, "websocket"},
		{"polling garbage", nil, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>not engine.io</html>"))
		}, "polling"},
		{"polling endless handshake", nil, func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("4aaaaaaaaaaaaaaa", 4096))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "polling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := newHostileServer(t, tt.ws, tt.poll)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := Dial(ctx, wsURL(hs), Options{Transport: tt.trans, EIO: 4})
			if err == nil {
				t.Fatal("Dial succeeded")
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("hung until the deadline: %v", err)
			}
		})
	}
}

func TestHostileServerAfterConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		frames []string
	}{
		{"unknown engine packet", []string{"9"}},
		{"bad JSON", []string{`42["x",`}},
		{"unknown socket packet", []string{`49`}},
		{"placeholder without attachment", []string{`451-["x",{"_placeholder":true,"num":0}]`, `42["y"]`}},
		{"a million attachments", []string{`451000000-["x"]`}},
		{"reserved event", []string{`42["connect"]`}},
	}
	for _, tt := range tests {
		for _, reconnect := range []bool{false, true} {
			name := tt.name
			if reconnect {
				name += "/reconnect"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				hs := newHostileServer(t, connectThen(tt.frames...), nil)
				opts := Options{Transport: "websocket", EIO: 4, NoReconnect: !reconnect,
					ReconnectDelay: time.Millisecond, ReconnectDelayMax: time.Millisecond}
				c, err := New(wsURL(hs), opts)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				st := watchStates(c)
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				if err := c.Connect(ctx); err != nil {
					// The bad frame follows the CONNECT reply at once: it
					// may end the connection before Connect looks.
					if reconnect || errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, protocol.ReasonParseError) {
						t.Fatal(err)
					}
				}
				s := st.waitFor(t, StateClose)
				if s.Err == nil {
					t.Errorf("close without an error: %v", s)
				}
				if !reconnect {
					select {
					case <-c.Done():
					case <-time.After(10 * time.Second):
						t.Fatal("client did not stop")
					}
					return
				}
				st.waitFor(t, StateReconnect)
				st.waitFor(t, StateConnect)
				if hs.conns.Load() < 2 {
					t.Errorf("%d connections", hs.conns.Load())
				}
			})
		}
	}
}
