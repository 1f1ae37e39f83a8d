package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// events collects a socket's events of one name.
func collect(s *client.Socket, name string) chan *client.Event {
	ch := make(chan *client.Event, 16)
	s.On(name, func(e *client.Event) {
		select {
		case ch <- e:
		default:
		}
	})
	return ch
}

func next(t *testing.T, ch chan *client.Event, what string) *client.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		return nil
	}
}

type stateLog chan client.State

func watch(c *client.Client) stateLog {
	ch := make(stateLog, 256)
	c.OnState(func(s client.State) {
		select {
		case ch <- s:
		default:
		}
	})
	return ch
}

func (ch stateLog) waitFor(t *testing.T, k client.StateKind) client.State {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case s := <-ch:
			if s.Kind == k {
				return s
			}
		case <-deadline:
			t.Fatalf("no %s", k)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestTransportsAndVersions: every transport mode against socket.io 4.8,
// 3.1 (EIO4 without maxPayload) and 2.x with --eio auto; events, acks and
// binary both ways.
func TestTransportsAndVersions(t *testing.T) {
	peers := map[int]*peer{4: startPeer(t, peerConfig{Version: 4}), 3: startPeer(t, peerConfig{Version: 3}),
		2: startPeer(t, peerConfig{Version: 2})}
	for _, version := range []int{4, 3, 2} {
		for _, transport := range []string{"auto", "polling", "websocket"} {
			t.Run(transport+"/socket.io@"+string(rune('0'+version)), func(t *testing.T) {
				p := peers[version]
				opts := client.Options{Transport: transport, AckReply: func(e *client.Event) []any {
					return []any{"yes", []byte{7}}
				}}
				c, err := client.New(p.url("/"), opts)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				welcome := collect(c.Socket(), "welcome")
				answers := collect(c.Socket(), "answer")
				binout := collect(c.Socket(), "binout")
				if err := c.Connect(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				wantEIO := protocol.EIO4
				if version == 2 {
					wantEIO = protocol.EIO3
				}
				if c.EIO() != wantEIO {
					t.Errorf("EIO %v, want %v", c.EIO(), wantEIO)
				}
				if e := next(t, welcome, "welcome"); string(e.Args[0]) != `"/"` {
					t.Errorf("welcome %s", e.Inline())
				}
				ack, err := c.EmitWithAck(ctxT(t), "ack", "a", 1, map[string]any{"k": []any{true}})
				if err != nil {
					t.Fatal(err)
				}
				if got := string(ack.Inline()); got != `["a",1,{"k":[true]}]` {
					t.Errorf("ack %s", got)
				}
				ack, err = c.EmitWithAck(ctxT(t), "binecho", []byte{1, 2}, client.Notation(`{"$binary":"AwQ="}`), "s")
				if err != nil {
					t.Fatal(err)
				}
				if got := string(ack.Inline()); got != `[["buffer:0102","buffer:0304","string"],{"$binary":"AQI="},{"$binary":"AwQ="},"s"]` {
					t.Errorf("binary ack %s", got)
				}
				if err := c.Emit("bin"); err != nil {
					t.Fatal(err)
				}
				e := next(t, binout, "binout")
				if len(e.Attachments) != 2 || string(e.Attachments[0]) != "\x01\x02\x03" || string(e.Attachments[1]) != "\x04" {
					t.Errorf("binout %s", e.Inline())
				}
				if err := c.Emit("askme"); err != nil {
					t.Fatal(err)
				}
				if e := next(t, answers, "answer"); string(e.Inline()) != `["yes",{"$binary":"Bw=="}]` {
					t.Errorf("the server got our ack as %s", e.Inline())
				}
				if transport == "auto" {
					deadline := time.Now().Add(10 * time.Second)
					for c.Transport() != "websocket" && time.Now().Before(deadline) {
						if _, err := c.EmitWithAck(ctxT(t), "ack"); err != nil {
							t.Fatal(err)
						}
					}
					if c.Transport() != "websocket" {
						t.Errorf("no upgrade: transport %s", c.Transport())
					}
				}
			})
		}
	}
}

func TestNamespacesAuth(t *testing.T) {
	for _, version := range []int{4, 3, 2} {
		t.Run("socket.io@"+string(rune('0'+version)), func(t *testing.T) {
			p := startPeer(t, peerConfig{Version: version})
			c, err := client.Dial(ctxT(t), p.url("/"), client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Refused: the engine.io connection stays up.
			bad := c.Of("/admin")
			bad.SetAuth(json.RawMessage(`{"token":"wrong"}`))
			err = bad.Connect(ctxT(t))
			var ce *client.ConnectError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConnectError", err)
			}
			if version != 2 && (ce.Message != "unauthorized" || string(ce.Data) != `{"reason":"bad token"}`) {
				t.Errorf("v5 CONNECT_ERROR %+v %s", ce, ce.Data)
			}
			if version == 2 && string(ce.Data) != `{"reason":"bad token"}` {
				t.Errorf("v4 ERROR %+v %s", ce, ce.Data)
			}
			// Accepted on the same connection.
			admin := c.Of("/admin")
			admin.SetAuth(json.RawMessage(`{"token":"secret"}`))
			welcome := collect(admin, "welcome")
			if err := admin.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if e := next(t, welcome, "welcome"); string(e.Args[0]) != `"/admin"` {
				t.Errorf("welcome %s", e.Inline())
			}
			ack, err := admin.EmitWithAck(ctxT(t), "ack", "on admin")
			if err != nil || string(ack.Inline()) != `["on admin"]` {
				t.Errorf("admin ack %v %v", ack, err)
			}
			if !c.Socket().Connected() {
				t.Error("/ lost")
			}
		})
	}
}

func TestRoomsBroadcast(t *testing.T) {
	for _, version := range []int{4, 3, 2} {
		t.Run("socket.io@"+string(rune('0'+version)), func(t *testing.T) {
			p := startPeer(t, peerConfig{Version: version})
			a, err := client.New(p.url("/"), client.Options{Transport: "websocket"})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			news := collect(a.Socket(), "news")
			if err := a.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			b, err := client.Dial(ctxT(t), p.url("/"), client.Options{Transport: "polling"})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if ack, err := a.EmitWithAck(ctxT(t), "join", "r1"); err != nil || string(ack.Inline()) != `["joined r1"]` {
				t.Fatalf("join: %v %v", ack, err)
			}
			if err := b.Emit("toroom", "r1", "news", "for r1"); err != nil {
				t.Fatal(err)
			}
			e := next(t, news, "news")
			if string(e.Args[0]) != `"for r1"` {
				t.Errorf("news %s", e.Inline())
			}
		})
	}
}

func TestServerRestartReconnects(t *testing.T) {
	for _, version := range []int{4, 2} {
		t.Run("socket.io@"+string(rune('0'+version)), func(t *testing.T) {
			p := startPeer(t, peerConfig{Version: version})
			c, err := client.New(p.url("/"), client.Options{ReconnectDelay: 100 * time.Millisecond, ReconnectDelayMax: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := watch(c)
			if err := c.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			first := c.SID()
			p.stop()
			st.waitFor(t, client.StateDisconnect)
			st.waitFor(t, client.StateReconnectAttempt)
			startPeer(t, peerConfig{Version: version, Port: p.Port})
			st.waitFor(t, client.StateReconnect)
			if s := st.waitFor(t, client.StateConnect); s.Recovered {
				t.Error("recovered on a new server")
			}
			if c.SID() == "" || c.SID() == first {
				t.Errorf("sid %q after restart (was %q)", c.SID(), first)
			}
			if ack, err := c.EmitWithAck(ctxT(t), "ack", 1); err != nil || string(ack.Inline()) != `[1]` {
				t.Errorf("after reconnect: %v %v", ack, err)
			}
		})
	}
}

func TestConnectionStateRecovery(t *testing.T) {
	p := startPeer(t, peerConfig{Version: 4, Recovery: true})
	c, err := client.New(p.url("/"), client.Options{Transport: "websocket", ReconnectDelay: 200 * time.Millisecond, ReconnectDelayMax: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := watch(c)
	news := collect(c.Socket(), "news")
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, client.StateConnect)
	sid := c.SID()
	if err := c.Emit("echo", "x"); err != nil { // an event with an offset
		t.Fatal(err)
	}
	if err := c.Emit("drop"); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, client.StateDisconnect)
	s := st.waitFor(t, client.StateConnect)
	if !s.Recovered || !c.Socket().Recovered() {
		t.Error("session not recovered")
	}
	if c.SID() != sid {
		t.Errorf("sid %q after recovery, want %q", c.SID(), sid)
	}
	e := next(t, news, "missed news")
	if string(e.Args[0]) != `"while-away"` {
		t.Errorf("news %s", e.Inline())
	}
}
