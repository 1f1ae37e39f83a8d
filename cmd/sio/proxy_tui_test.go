package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/tui"
)

// The proxy view's actions on a real proxy in front of a server: the
// socket is listed, e injects an event the client receives, D kills the
// session and the client sees its transport close; the traffic reaches
// the dashboard's feed.
func TestProxyControl(t *testing.T) {
	srv := server.New(server.Options{})
	answer := make(chan struct{}) // the server answers "slow" once the hold is set
	var answerOnce sync.Once
	release := func() { answerOnce.Do(func() { close(answer) }) }
	defer release() // a failed test does not leave the handler waiting
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("slow", func(e *server.Event) {
			go func() {
				<-answer
				_ = e.Ack("answer")
			}()
		})
	})
	tgt := httptest.NewServer(srv)
	defer tgt.Close()
	defer srv.Close()

	feed := tui.NewFeed(0)
	urls := make(chan string, 1)
	var px *proxy.Proxy
	opts := &proxyOptions{Target: tgt.URL, Listen: "127.0.0.1:0", Path: "/socket.io/", Parser: "json", Output: "json", MaxMessage: proxy.DefaultMaxMessage,
		onListen: func(u string, p *proxy.Proxy) { px = p; urls <- u }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serveProxy(ctx, io.Discard, opts, func(e proxy.Event) { proxyFeed(feed, e) }) }()
	defer func() {
		cancel()
		<-done
		feed.Close()
	}()
	var u string
	select {
	case u = <-urls:
	case err := <-done:
		t.Fatal(err)
	}
	c, err := client.New(u, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 1)
	c.On("injected", func(e *client.Event) { got <- string(e.Inline()) })
	lost := make(chan client.State, 1)
	c.OnState(func(s client.State) {
		if s.Kind == client.StateClose {
			lost <- s
		}
	})
	if err := c.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctl := proxyControl{p: px}
	var socks []tui.SocketInfo
	for deadline := time.Now().Add(10 * time.Second); len(socks) == 0 && time.Now().Before(deadline); {
		socks = ctl.Sockets()
		time.Sleep(10 * time.Millisecond)
	}
	// The row goes by the socket id, or the Engine.IO session's while the
	// proxy does not know it.
	if len(socks) != 1 || (socks[0].ID != c.SID() && socks[0].ID != c.EngineSID()) || socks[0].Namespace != "/" {
		t.Fatalf("sockets %+v, client sid %s, sessions %+v", socks, c.SID(), px.Sessions())
	}
	target := tui.Target{Namespace: "/", SID: socks[0].ID}
	if _, err := ctl.Emit(t.Context(), target, "injected", []json.RawMessage{json.RawMessage(`"from the proxy"`)}, nil, false); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g != `["from the proxy"]` {
			t.Errorf("client got %s", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the injected event did not reach the client")
	}
	if _, err := ctl.Emit(t.Context(), target, "x", nil, nil, true); err == nil {
		t.Error("an injected event with an ack was accepted")
	}
	if err := ctl.Join(t.Context(), target, "r"); !errors.Is(err, errProxyRooms) {
		t.Errorf("join: %v", err)
	}
	if _, err := ctl.Emit(t.Context(), tui.Target{Namespace: "/nobody"}, "x", nil, nil, false); err == nil || !strings.Contains(err.Error(), "no proxied session") {
		t.Errorf("emit to nobody: %v", err)
	}
	// h: the answer to a client's request is held until released.
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	acked := make(chan error, 1)
	go func() {
		_, err := c.EmitWithAck(wctx, "slow")
		acked <- err
	}()
	// The client's first ack request has id 0. It may not have passed the
	// proxy yet: retry until it has.
	req := protocol.Trace{Dir: protocol.In, EngineSID: c.EngineSID(), Packet: protocol.Packet{Namespace: "/", ID: 0}}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err = ctl.HoldAck(t.Context(), req, true); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil {
		t.Fatalf("hold: %v", err)
	}
	release()
	// The server's answer arrives and is held (the proxy says so), not
	// delivered.
	for deadline := time.Now().Add(10 * time.Second); !heldAnswered(px); {
		if time.Now().After(deadline) {
			t.Fatalf("the answer was not held: %+v", px.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-acked:
		t.Fatalf("the held answer reached the client (%v)", err)
	default:
	}
	if err := ctl.HoldAck(t.Context(), req, false); err != nil {
		t.Fatal(err)
	}
	if err := <-acked; err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := ctl.Disconnect(t.Context(), target); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(30 * time.Second):
		t.Fatal("the client did not lose its transport after the kill")
	}
	// The feed saw the injected event and the kill.
	var sawInject, sawKill bool
	for !sawInject || !sawKill {
		select {
		case ev := <-feed.Events():
			switch ev := ev.(type) {
			case tui.TraceEvent:
				sawInject = sawInject || ev.Trace.Packet.EventName() == "injected"
			case tui.SessionEvent:
				sawKill = sawKill || ev.Kind == string(proxy.KindKill)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("feed: inject %v kill %v", sawInject, sawKill)
		}
	}
}

// heldAnswered reports an ack answer the proxy holds.
func heldAnswered(p *proxy.Proxy) bool {
	for _, s := range p.Sessions() {
		for _, a := range s.PendingAcks {
			if a.Held && a.Answered {
				return true
			}
		}
	}
	return false
}
