package eioclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// wsPeer is a WebSocket-only v4 server for benchmarks: it opens the
// session, then either discards what it reads or sends n messages.
func wsPeer(b *testing.B, send int) *url.URL {
	b.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte(goodOpen))
		frame := []byte(`42["tick",{"n":1}]`)
		for range send {
			if ws.WriteMessage(websocket.TextMessage, frame) != nil {
				return
			}
		}
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
		}
	}))
	b.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	u, _ := url.Parse(srv.URL)
	return u
}

func BenchmarkWebSocketSend(b *testing.B) {
	u := wsPeer(b, 0)
	c, err := Dial(context.Background(), u, Options{Transport: TransportWebSocket, EIO: protocol.EIO4})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p := msg(`2["event",{"hello":"world"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(p); err != nil {
			b.Fatal(err)
		}
		if err := c.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWebSocketReceive(b *testing.B) {
	got := make(chan struct{}, 1)
	n := 0
	target := 0
	b.ReportAllocs()
	b.StopTimer()
	target = b.N
	u := wsPeer(b, target)
	b.StartTimer()
	c, err := Dial(context.Background(), u, Options{
		Transport: TransportWebSocket, EIO: protocol.EIO4,
		OnMessage: func([]byte, bool) {
			n++
			if n == target {
				got <- struct{}{}
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	<-got
}
