package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/control"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/tui"
)

func TestServerControl(t *testing.T) {
	noLeaks(t)
	gone := make(chan string, 4)
	srv := server.New(server.Options{OnDisconnect: func(s *server.Socket, _ protocol.DisconnectReason) { gone <- s.ID() }})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})

	news := make(chan string, 4)
	c, err := client.New(hs.URL, client.Options{Transport: "websocket", NoAutoAck: true, NoReconnect: true,
		Query: url.Values{"room": {"lobby"}}, Header: http.Header{"X-Test": {"yes"}}, Auth: json.RawMessage(`{"token":"t"}`)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.On("question", func(e *client.Event) { _ = e.Ack("yes", []byte{7}) })
	c.On("news", func(e *client.Event) { news <- string(e.Args[0]) })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	sid := c.SID()
	ctl := newServerControl(srv)

	socks := ctl.Sockets()
	if len(socks) != 1 || socks[0].ID != sid || socks[0].Namespace != "/" || socks[0].Transport != "websocket" ||
		socks[0].EIO != protocol.EIO4 || socks[0].RemoteAddr == "" || socks[0].Since.IsZero() {
		t.Fatalf("sockets %+v", socks)
	}
	one := tui.Target{Namespace: "/", SID: sid}

	// Issue 15.9: the dashboard's handshake details.
	hsk, ok := ctl.Handshake("/", sid)
	if !ok || hsk.Query["room"][0] != "lobby" || hsk.Query["EIO"][0] != "4" || hsk.Headers["X-Test"][0] != "yes" ||
		string(hsk.Auth) != `{"token":"t"}` || hsk.Address == "" || hsk.URL == "" || hsk.Time.IsZero() {
		t.Errorf("handshake %+v %v", hsk, ok)
	}
	if _, ok := ctl.Handshake("/", "nosuchsocket"); ok {
		t.Error("the handshake of a socket that is not there")
	}
	if _, ok := ctl.Handshake("/nowhere", sid); ok {
		t.Error("the handshake of a socket in a namespace that is not there")
	}

	acks, err := ctl.Emit(ctx, one, "question", raws(`"there?"`), nil, true)
	if err != nil || len(acks) != 1 || acks[0].SID != sid || acks[0].Err != "" ||
		joinRaw(acks[0].Args) != `["yes",{"_placeholder":true,"num":0}]` || acks[0].Attachments[0][0] != 7 {
		t.Fatalf("emit with ack: %+v %v", acks, err)
	}

	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	acks, err = ctl.Emit(short, one, "ignored", nil, nil, true)
	cancelShort()
	if err != nil || len(acks) != 1 || acks[0].Err != "timeout" {
		t.Errorf("unanswered emit: %+v %v", acks, err)
	}

	if err := ctl.Join(ctx, tui.Target{Namespace: "/"}, "lobby"); err != nil {
		t.Fatal(err)
	}
	rooms := ctl.Rooms()
	if len(rooms) != 1 || rooms[0].Name != "lobby" || rooms[0].Namespace != "/" || !slices.Equal(rooms[0].Members, []string{sid}) {
		t.Errorf("rooms after join %+v", rooms)
	}
	if s := ctl.Sockets(); len(s) != 1 || !slices.Equal(s[0].Rooms, []string{"lobby"}) {
		t.Errorf("socket rooms %+v", s)
	}
	lobby := tui.Target{Namespace: "/", Room: "lobby"}
	if _, err := ctl.Emit(ctx, lobby, "news", raws(`"to the lobby"`), nil, false); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-news:
		if got != `"to the lobby"` {
			t.Errorf("news %s", got)
		}
	case <-ctx.Done():
		t.Fatal("the room's member got nothing")
	}
	// Issue 15.4: leaving a room the socket is not in is an error, not
	// "left".
	if err := ctl.Leave(ctx, one, "nosuchroom"); err == nil || !strings.Contains(err.Error(), `not in room "nosuchroom"`) {
		t.Errorf("leave of a room the socket is not in: %v", err)
	}
	if err := ctl.Leave(ctx, tui.Target{Namespace: "/"}, "nosuchroom"); err == nil || !strings.Contains(err.Error(), `no socket of everyone on / is in room "nosuchroom"`) {
		t.Errorf("leave by everyone of a room nobody is in: %v", err)
	}
	if err := ctl.Leave(ctx, lobby, "lobby"); err != nil {
		t.Fatal(err)
	}
	if r := ctl.Rooms(); len(r) != 0 {
		t.Errorf("rooms after leave %+v", r)
	}
	if _, err := ctl.Emit(ctx, lobby, "news", nil, nil, false); !errors.Is(err, errNobody) {
		t.Errorf("emit to an empty room: %v", err)
	}
	if err := ctl.Join(ctx, lobby, "x"); !errors.Is(err, errNobody) {
		t.Errorf("join of an empty room: %v", err)
	}
	if _, err := ctl.Emit(ctx, tui.Target{Namespace: "/nowhere"}, "news", nil, nil, false); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("emit to an unknown namespace: %v", err)
	}

	if err := ctl.Disconnect(ctx, one); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-gone:
		if id != sid {
			t.Errorf("disconnected %s", id)
		}
	case <-ctx.Done():
		t.Fatal("the socket was not disconnected")
	}
	if s := ctl.Sockets(); len(s) != 0 {
		t.Errorf("sockets after disconnect %+v", s)
	}
	if err := ctl.Disconnect(ctx, one); !errors.Is(err, control.ErrNotFound) && !errors.Is(err, errNobody) {
		t.Errorf("disconnect of a gone socket: %v", err)
	}
}

func TestDashboardObserver(t *testing.T) {
	feed := tui.NewFeed(4)
	o := &dashboardObserver{feed: feed, log: discardLogger()}
	data := []byte(`["chat"]`)
	o.Trace(protocol.Trace{Dir: protocol.In, Layer: protocol.LayerSocket, Packet: protocol.Packet{Type: protocol.PacketEvent, Namespace: "/", Data: data}})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o.Lifecycle(lifecycle{Time: at, Kind: "disconnect", SID: "s", Nsp: "/", Transport: "websocket", Reason: "transport close", Data: json.RawMessage(`{"x":1}`)})
	data[2] = 'X' // the feed holds its own copy
	feed.Close()
	var got []tui.Event
	for ev := range feed.Events() {
		got = append(got, ev)
	}
	if len(got) != 2 {
		t.Fatalf("%d events, want the trace and the session line", len(got))
	}
	if te := got[0].(tui.TraceEvent); string(te.Trace.Packet.Data) != `["chat"]` {
		t.Errorf("trace data %s", te.Trace.Packet.Data)
	}
	want := tui.SessionEvent{Time: at, SID: "s", Nsp: "/", Transport: "websocket", Kind: "disconnect", Reason: "transport close", Data: json.RawMessage(`{"x":1}`)}
	if se, ok := got[1].(tui.SessionEvent); !ok || !reflect.DeepEqual(se, want) {
		t.Errorf("session line %#v, want %#v", got[1], want)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
