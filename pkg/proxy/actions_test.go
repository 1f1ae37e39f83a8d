package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/control"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/pkg/server"
)

// TestInject: an event injected towards the client arrives as if the
// server sent it, and one towards the server as if the client did, on
// both transports.
func TestInject(t *testing.T) {
	for _, tc := range []struct {
		transport string
		codec     protocol.Codec
		eio       protocol.EIO
	}{
		{"websocket", nil, 0}, {"polling", nil, 0},
		{"websocket", nil, protocol.EIO3}, {"polling", nil, protocol.EIO3},
		{"websocket", protocol.MsgpackCodec{}, 0}, {"polling", protocol.MsgpackCodec{}, 0},
	} {
		transport := tc.transport
		name := transport
		if tc.codec != nil {
			name += "/msgpack"
		}
		if tc.eio != 0 {
			name += "/" + tc.eio.String()
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, proxy.Options{Codec: tc.codec})
			got := make(chan string, 4)
			f.tg.srv.Of("/").OnConnection(func(s *server.Socket) {
				s.On("from-proxy", func(e *server.Event) { got <- "server:" + string(e.Args.Inline(0)) })
			})
			c := dial(t, f.hs.URL, client.Options{Transport: transport, Codec: tc.codec, EIO: tc.eio})
			c.On("to-client", func(e *client.Event) { got <- "client:" + string(e.Inline()) })
			sid := c.EngineSID()
			if err := f.px.Inject(sid, proxy.FromServer, "/", "from-proxy", []json.RawMessage{json.RawMessage(`{"a":1}`)}, nil); err != nil {
				t.Fatal(err)
			}
			if err := f.px.Inject(sid, proxy.FromClient, "/", "to-client", []json.RawMessage{json.RawMessage(`"x"`), json.RawMessage(`{"_placeholder":true,"num":0}`)}, [][]byte{{7}}); err != nil {
				t.Fatal(err)
			}
			// Towards a polling client the proxy answers the poll it has
			// waiting: the server sends nothing, and the event arrives long
			// before the server's next ping (25 s).
			want := map[string]bool{`server:{"a":1}`: true, `client:["x",{"$binary":"Bw=="}]`: true}
			for len(want) > 0 {
				select {
				case g := <-got:
					if !want[g] {
						t.Fatalf("unexpected %s", g)
					}
					delete(want, g)
				case <-time.After(15 * time.Second):
					t.Fatalf("still waiting for %v", want)
				}
			}
			f.rec.waitFor(t, "the inject event", func(e proxy.Event) bool {
				return e.Kind == proxy.KindInject && e.Trace.Packet.EventName() == "to-client"
			})
			if err := f.px.Inject("nope", proxy.FromClient, "/", "x", nil, nil); !errors.Is(err, proxy.ErrNoSession) {
				t.Errorf("inject into an unknown session: %v", err)
			}
		})
	}
}

// TestAnswerAndHoldAcks: the proxy answers a server's ack request itself
// (the client's real answer is swallowed), and holds a client's ack answer
// until released.
func TestAnswerAndHoldAcks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{})
	answers := make(chan string, 2)
	f.tg.srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("start", func(e *server.Event) {
			go func() {
				got, err := s.EmitWithAck(context.Background(), "q")
				if err != nil {
					answers <- "error " + err.Error()
					return
				}
				answers <- string(got.Inline(0))
			}()
		})
	})
	c := dial(t, f.hs.URL, client.Options{Transport: "websocket"})
	// The client answers when the test says so, so that the proxy can be
	// told to hold or answer first.
	questions := make(chan func(...any) error, 1)
	c.On("q", func(e *client.Event) { questions <- e.TakeAck() })
	sid := c.EngineSID()
	ask := func() (uint64, func(...any) error) {
		t.Helper()
		if err := c.Emit("start"); err != nil {
			t.Fatal(err)
		}
		answer := <-questions
		s := f.px.Sessions()
		if len(s) != 1 || len(s[0].PendingAcks) != 1 || s[0].PendingAcks[0].From != "server" || s[0].PendingAcks[0].Event != "q" {
			t.Fatalf("sessions %+v", s)
		}
		return s[0].PendingAcks[0].ID, answer
	}

	// 1. Hold the client's answer to the server's question, then release.
	id, answer := ask()
	if err := f.px.Hold(sid, proxy.FromServer, "/", id); err != nil {
		t.Fatal(err)
	}
	if err := answer("real"); err != nil {
		t.Fatal(err)
	}
	f.rec.waitFor(t, "the held answer", func(e proxy.Event) bool { return e.Kind == proxy.KindHold })
	select {
	case a := <-answers:
		t.Fatalf("the server got %s while the answer was held", a)
	default:
	}
	if s := f.px.Sessions()[0]; len(s.PendingAcks) != 1 || !s.PendingAcks[0].Held || !s.PendingAcks[0].Answered {
		t.Fatalf("pending acks while held: %+v", s.PendingAcks)
	}
	if err := f.px.Release(sid, proxy.FromServer, "/", id); err != nil {
		t.Fatal(err)
	}
	if a := <-answers; a != `"real"` {
		t.Fatalf("released answer = %s", a)
	}

	// 2. Answer the next question from the proxy: the client's real answer
	// never reaches the server.
	id, answer = ask()
	if err := f.px.AnswerAck(sid, proxy.FromServer, "/", id, []json.RawMessage{json.RawMessage(`"from proxy"`)}, nil); err != nil {
		t.Fatal(err)
	}
	if a := <-answers; a != `"from proxy"` {
		t.Fatalf("answer = %s", a)
	}
	if err := answer("real"); err != nil {
		t.Fatal(err)
	}
	f.rec.waitFor(t, "the swallowed answer", func(e proxy.Event) bool {
		return e.Kind == proxy.KindHold && strings.Contains(e.Reason, "answered this ack itself")
	})
	if err := f.px.AnswerAck(sid, proxy.FromServer, "/", 999, nil, nil); !errors.Is(err, proxy.ErrNoAck) {
		t.Errorf("answer to no request: %v", err)
	}
	if s := f.px.Sessions()[0]; len(s.PendingAcks) != 0 {
		t.Errorf("pending acks left: %+v", s.PendingAcks)
	}
}

// TestKill: killing a session drops its transport — a WebSocket's two
// connections at once, a polling session's requests with 502 — and the
// client reconnects through the proxy with a new session.
func TestKill(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, proxy.Options{})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			c, err := client.Dial(ctx, f.hs.URL, client.Options{Transport: transport, ReconnectDelay: 10 * time.Millisecond, RandomizationFactor: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			first := c.EngineSID()
			if err := f.px.Kill(first); err != nil {
				t.Fatal(err)
			}
			f.rec.waitFor(t, "the kill", func(e proxy.Event) bool { return e.Kind == proxy.KindKill && e.SID == first })
			for c.EngineSID() == first || c.SID() == "" {
				select {
				case <-ctx.Done():
					t.Fatal("no reconnection after the kill")
				case <-time.After(10 * time.Millisecond):
				}
			}
			if _, err := c.EmitWithAck(ctx, "echo", 1); err != nil {
				t.Fatalf("after reconnecting: %v", err)
			}
			if err := f.px.Kill(first); !errors.Is(err, proxy.ErrNoSession) {
				t.Errorf("killing the old session again: %v", err)
			}
		})
	}
}

// TestNoWebSocket: the handshake offers no upgrade and an upgrade attempt
// is refused; a default client stays on polling and works.
func TestNoWebSocket(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{NoWebSocket: true})
	c := dial(t, f.hs.URL, client.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if _, err := c.EmitWithAck(ctx, "echo", 1); err != nil {
		t.Fatal(err)
	}
	if c.Transport() != "polling" {
		t.Fatalf("transport %s", c.Transport())
	}
	open := f.rec.waitFor(t, "the open", func(e proxy.Event) bool { return e.Kind == proxy.KindOpen })
	if !strings.Contains(string(open.Data), `"upgrades":[]`) {
		t.Errorf("handshake %s still offers upgrades", open.Data)
	}
	req, _ := http.NewRequest(http.MethodGet, f.hs.URL+"/socket.io/?EIO=4&transport=websocket", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upgrade answered %s", resp.Status)
	}
}

// TestDropAndDelay: with DropRate 1 every EVENT is dropped (acks are not
// affected), and Delay holds each message at least that long.
func TestDropAndDelay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{})
	c := dial(t, f.hs.URL, client.Options{Transport: "websocket"})
	if err := f.px.SetFaults(proxy.Faults{Delay: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := c.EmitWithAck(ctx, "echo", 1); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 200*time.Millisecond {
		t.Errorf("round trip %v with a 100ms delay each way", rtt)
	}
	if err := f.px.SetFaults(proxy.Faults{DropRate: 1}); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelShort()
	if _, err := c.EmitWithAck(short, "echo", 2); err == nil {
		t.Fatal("an event went through with drop rate 1")
	}
	f.rec.waitFor(t, "the drop", func(e proxy.Event) bool { return e.Kind == proxy.KindDrop })
	if err := f.px.SetFaults(proxy.Faults{DropRate: 1.5}); err == nil {
		t.Error("drop rate 1.5 accepted")
	}
}

// TestControlAPI drives the actions over HTTP, with the token.
func TestControlAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{})
	f.px.SetControl(control.NewProxyHandler(f.px, "t0k"))
	got := make(chan string, 1)
	f.tg.srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("hello", func(e *server.Event) { got <- string(e.Args.Inline(0)) })
	})
	c := dial(t, f.hs.URL, client.Options{Transport: "websocket"})
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, f.hs.URL+"/_sio/"+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := call("GET", "sessions", "wrong", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	code, body := call("GET", "sessions", "t0k", "")
	if code != 200 || !strings.Contains(body, `"sid":"`+c.EngineSID()+`"`) || !strings.Contains(body, `"transport":"websocket"`) {
		t.Fatalf("sessions: %d %s", code, body)
	}
	code, body = call("POST", "inject", "t0k", `{"sid":"`+c.EngineSID()+`","to":"server","event":"hello","args":[{"$binary":"AQ=="}]}`)
	if code != 200 {
		t.Fatalf("inject: %d %s", code, body)
	}
	if g := <-got; g != `{"$binary":"AQ=="}` {
		t.Errorf("server got %s", g)
	}
	for _, tc := range []struct{ path, body string }{
		{"inject", `{"sid":"` + c.EngineSID() + `","to":"sideways","event":"x"}`},
		{"inject", `{"sid":"` + c.EngineSID() + `","to":"client"}`},
		{"ack", `{"sid":"` + c.EngineSID() + `","from":"server","action":"answer"}`},
		{"faults", `{"drop_rate":3}`},
		{"faults", `{"delay":"soon"}`},
	} {
		if code, body := call("POST", tc.path, "t0k", tc.body); code != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, code, body)
		}
	}
	if code, body := call("POST", "kill", "t0k", `{"sid":"nope"}`); code != http.StatusNotFound {
		t.Errorf("kill unknown: %d %s", code, body)
	}
	if code, body := call("POST", "faults", "t0k", `{"delay":"5ms","drop_rate":0.25}`); code != 200 || body != `{"delay":"5ms","jitter":"0s","drop_rate":0.25}`+"\n" {
		t.Errorf("faults: %d %s", code, body)
	}
	if f := f.px.Faults(); f.Delay != 5*time.Millisecond || f.DropRate != 0.25 {
		t.Errorf("faults now %+v", f)
	}
	if code, body := call("POST", "kill", "t0k", `{"sid":"`+c.EngineSID()+`"}`); code != 200 {
		t.Errorf("kill: %d %s", code, body)
	}
	f.rec.waitFor(t, "the kill", func(e proxy.Event) bool { return e.Kind == proxy.KindKill })
}

// TestSubscribe: a subscriber gets copies of the events, alongside Tap,
// and its channel closes on cancel.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{})
	events, cancel := f.px.Subscribe(1024)
	c := dial(t, f.hs.URL, client.Options{Transport: "websocket"})
	ctx, cancelCtx := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancelCtx()
	if _, err := c.EmitWithAck(ctx, "echo", "sub"); err != nil {
		t.Fatal(err)
	}
	var opened, acked bool
	for !opened || !acked {
		select {
		case e := <-events:
			opened = opened || e.Kind == proxy.KindOpen && e.SID == c.EngineSID()
			acked = acked || e.Acked && e.AckEvent == "echo" && string(e.Trace.Packet.Data) == `["sub"]`
		case <-ctx.Done():
			t.Fatalf("subscription: open %v, ack %v", opened, acked)
		}
	}
	cancel()
	cancel() // idempotent
	for range events {
		// drain what was queued: the channel must end
	}
	f.rec.waitFor(t, "the Tap's copy of the ack", func(e proxy.Event) bool { return e.Acked && e.AckEvent == "echo" })
}
