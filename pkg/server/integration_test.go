package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

func echoSetup(srv *Server) {
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("echo", func(e *Event) {
			if e.WantsAck() {
				_ = e.Ack(e.Values()...)
				return
			}
			_ = s.Emit("echo", e.Values()...)
		})
	})
}

func TestWebSocketEchoAckBinary(t *testing.T) {
	env := newEnv(t, Options{}, echoSetup)
	c := env.dialWS("4")
	c.connect("/")
	c.write(`42["echo",1,"2",{"3":[true]}]`)
	c.expect(`2["echo",1,"2",{"3":[true]}]`)
	c.write(`421["echo","x"]`)
	c.expect(`31["x"]`)
	c.write(`451-["echo",{"_placeholder":true,"num":0}]`)
	c.writeBinary([]byte{1, 2, 3})
	c.expect(`51-["echo",{"_placeholder":true,"num":0}]`)
	c.expect(`<bin:010203>`)
}

func TestPollingEchoAndUpgrade(t *testing.T) {
	upgraded := make(chan string, 1)
	env := newEnv(t, Options{OnUpgrade: func(s *Socket, tr string) { upgraded <- tr }}, echoSetup)
	p := env.dialPolling("4")
	if st, body := p.post("40"); st != 200 || body != "ok" {
		t.Fatalf("POST %d %q", st, body)
	}
	_, body := p.get()
	if !strings.HasPrefix(body, `40{"sid":"`) {
		t.Fatalf("connect reply %q", body)
	}
	p.post(`42["echo","a"]` + "\x1e" + `423["echo","b"]`)
	_, body = p.get()
	if body != `42["echo","a"]`+"\x1e"+`433["b"]` {
		t.Fatalf("got %q", body)
	}

	ws := env.dialWSQuery("EIO=4&transport=websocket&sid=" + p.sid)
	ws.write("2probe")
	if got := ws.readRaw(); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	ws.write("5")
	if tr := <-upgraded; tr != "websocket" {
		t.Fatal(tr)
	}
	ws.write(`42["echo","c"]`)
	if got := ws.readRaw(); got != `42["echo","c"]` {
		t.Fatalf("after upgrade %q", got)
	}
	infos := env.srv.Sockets()
	if len(infos) != 1 || infos[0].Transport != "websocket" || infos[0].PacketsIn != 3 {
		t.Fatalf("infos %+v", infos)
	}
}

func TestEIO3OverWebSocket(t *testing.T) {
	env := newEnv(t, Options{AllowEIO3: true}, func(srv *Server) {
		srv.Of("/admin").OnConnection(func(s *Socket) {
			s.On("hi", func(e *Event) { _ = e.Ack("ok", []byte{9}) })
		})
	})
	c := env.dialWS("3")
	c.expect("0")
	c.write(`40/admin?token=abc,`)
	c.expect("0/admin,")
	c.write(`42/admin,1["hi"]`)
	c.expect(`61-/admin,1["ok",{"_placeholder":true,"num":0}]`)
	if got := c.readRaw(); got != "<bin:0409>" {
		t.Fatalf("v3 binary frame %q", got)
	}
}

func TestNamespacesAndAuthOverWebSocket(t *testing.T) {
	env := newEnv(t, Options{}, func(srv *Server) {
		srv.Of("/admin").Use(func(s *Socket) error {
			var auth struct{ Token string }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			if auth.Token != "secret" {
				return &ConnectError{Message: "not authorized", Data: map[string]any{"reason": "bad token"}}
			}
			return nil
		})
	})
	c := env.dialWS("4")
	c.write(`40/admin,{"token":"bad"}`)
	c.expect(`4/admin,{"message":"not authorized","data":{"reason":"bad token"}}`)
	c.write(`40/admin,{"token":"secret"}`)
	c.expectPrefix(`0/admin,{"sid":"`)
	sids := env.srv.Of("/admin").SocketInfos()
	if len(sids) != 1 {
		t.Fatalf("sockets %v", sids)
	}
	if err := env.srv.Of("/admin").Emit("hello"); err != nil {
		t.Fatal(err)
	}
	c.expect(`2/admin,["hello"]`)
}

func TestHooksAndTap(t *testing.T) {
	type hook struct {
		what, id string
		reason   protocol.DisconnectReason
	}
	hooks := make(chan hook, 4)
	var mu sync.Mutex
	var traces []protocol.Trace
	env := newEnv(t, Options{
		OnConnect:    func(s *Socket) { hooks <- hook{what: "connect", id: s.ID()} },
		OnDisconnect: func(s *Socket, r protocol.DisconnectReason) { hooks <- hook{"disconnect", s.ID(), r} },
		Tap: func(tr protocol.Trace) {
			mu.Lock()
			traces = append(traces, tr)
			mu.Unlock()
		},
	}, echoSetup)
	c := env.dialWS("4")
	id := c.connect("/")
	if h := <-hooks; h.what != "connect" || h.id != id {
		t.Fatalf("hook %+v", h)
	}
	c.write(`421["echo","x"]`)
	c.expect(`31["x"]`)
	c.conn.Close()
	if h := <-hooks; h.what != "disconnect" || h.id != id || h.reason != protocol.ReasonTransportClose {
		t.Fatalf("hook %+v", h)
	}
	mu.Lock()
	defer mu.Unlock()
	var engineIn, socketIn, socketOut int
	for _, tr := range traces {
		switch {
		case tr.Layer == protocol.LayerEngine && tr.Dir == protocol.In:
			engineIn++
		case tr.Layer == protocol.LayerSocket && tr.Dir == protocol.In:
			socketIn++
		case tr.Layer == protocol.LayerSocket && tr.Dir == protocol.Out:
			socketOut++
			if tr.SID != id || tr.EngineSID != c.sid || tr.Transport != "websocket" {
				t.Errorf("socket trace %+v", tr)
			}
		}
	}
	if engineIn < 2 || socketIn != 2 || socketOut != 2 {
		t.Fatalf("traces: engine in %d, socket in %d, socket out %d", engineIn, socketIn, socketOut)
	}
}

func TestShutdownReal(t *testing.T) {
	env := newEnv(t, Options{}, nil)
	c := env.dialWS("4")
	c.connect("/")
	if err := env.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()
	_ = protocol.EIO4
}

// TestSlowConsumerIsDisconnected: a client that stops reading fills its
// bounded queue (in packets, or in bytes) and is disconnected as too slow,
// while a client that keeps reading gets every broadcast.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	for name, opts := range map[string]Options{
		"packets": {SendQueue: 8},
		"bytes":   {SendQueue: 1 << 20, SendQueueBytes: 1 << 20},
	} {
		t.Run(name, func(t *testing.T) {
			gone := make(chan protocol.DisconnectReason, 2)
			opts.OnDisconnect = func(s *Socket, r protocol.DisconnectReason) { gone <- r }
			var logs lockedWriter
			opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			env := newEnv(t, opts, nil)
			slow := env.dialWS("4")
			slow.connect("/")
			fast := env.dialWS("4")
			fast.connect("/")
			big := strings.Repeat("x", 200_000)
			for i := 0; ; i++ {
				if i == 200 { // 40 MB: far more than socket buffers and either bound
					t.Fatal("the slow client was never disconnected")
				}
				if err := env.srv.Emit("big", big); err != nil {
					t.Fatal(err)
				}
				if got := fast.next(); len(got) != len(big)+11 {
					t.Fatalf("fast client got %d bytes", len(got))
				}
				select {
				case r := <-gone:
					if r != protocol.ReasonTransportError {
						t.Fatalf("reason %q", r)
					}
					// The engine names the bound it applied: the one set here.
					bound := fmt.Sprintf("max_packets=%d max_bytes=%d", opts.SendQueue, opts.SendQueueBytes)
					if name == "packets" {
						bound = fmt.Sprintf("max_packets=%d ", opts.SendQueue)
					}
					if l := logs.String(); !strings.Contains(l, "closing slow consumer") || !strings.Contains(l, bound) {
						t.Fatalf("log %q, want %q", l, bound)
					}
					_ = env.srv.Emit("after", 1)
					fast.expect(`2["after",1]`)
					return
				default:
				}
			}
		})
	}
}

// The handshake's headers and query reach the socket (kept packed by the
// session, unpacked on each Handshake call).
func TestHandshakeHeadersAndQuery(t *testing.T) {
	got := make(chan Handshake, 1)
	env := newEnv(t, Options{}, func(srv *Server) {
		srv.Of("/").OnConnection(func(s *Socket) { got <- s.Handshake() })
	})
	c := env.dialWSQuery("EIO=4&transport=websocket&room=a&room=b%20c")
	c.readRaw()
	c.write(`40`)
	c.expectPrefix(`0{"sid":"`)
	h := <-got
	if q := h.Query; q.Get("EIO") != "4" || !slices.Equal(q["room"], []string{"a", "b c"}) {
		t.Fatalf("query %v", q)
	}
	if h.Headers.Get("Sec-Websocket-Version") != "13" || h.Headers.Get("Upgrade") != "websocket" {
		t.Fatalf("headers %v", h.Headers)
	}
	if !strings.Contains(h.URL, "room=b%20c") || h.Address == "" || h.Time.IsZero() {
		t.Fatalf("handshake %+v", h)
	}
}

// With SocketTapOnly the Tap sees the Socket.IO packets and no Engine.IO
// trace is built.
func TestSocketTapOnly(t *testing.T) {
	var mu sync.Mutex
	layers := map[protocol.Layer]int{}
	// The CONNECT, its answer, the event and its ack: the ack's trace is
	// recorded after its write, so it may come after the client has it.
	fourSocketTraces := make(chan struct{})
	env := newEnv(t, Options{
		SocketTapOnly: true,
		Tap: func(tr protocol.Trace) {
			mu.Lock()
			defer mu.Unlock()
			layers[tr.Layer]++
			if tr.Layer == protocol.LayerSocket && layers[tr.Layer] == 4 {
				close(fourSocketTraces)
			}
		},
	}, echoSetup)
	c := env.dialWS("4")
	c.connect("/")
	c.write(`421["echo","x"]`)
	c.expect(`31["x"]`)
	select {
	case <-fourSocketTraces:
	case <-time.After(30 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	if layers[protocol.LayerEngine] != 0 || layers[protocol.LayerSocket] < 4 {
		t.Fatalf("traces by layer: %v, want socket packets only", layers)
	}
}

// lockedWriter collects log output written from any goroutine.
type lockedWriter struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
