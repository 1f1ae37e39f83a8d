package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/proxy"
)

// BenchmarkWebSocketRoundTrip measures what the proxy adds to a message:
// a raw Engine.IO WebSocket peer that answers each EVENT with an ACK, and
// a client that sends one and waits for the answer, through the proxy
// (decoding both) and through nothing.
func BenchmarkWebSocketRoundTrip(b *testing.B) {
	upgrader := websocket.Upgrader{}
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.WriteMessage(websocket.TextMessage, []byte(`0{"sid":"BENCH","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if strings.HasPrefix(string(msg), "40") {
				_ = c.WriteMessage(websocket.TextMessage, []byte(`40{"sid":"S"}`))
				continue
			}
			_ = c.WriteMessage(websocket.TextMessage, []byte(`431["ok",{"n":1}]`))
		}
	}))
	defer peer.Close()
	u, _ := url.Parse(peer.URL)
	px, err := proxy.New(proxy.Options{Target: u})
	if err != nil {
		b.Fatal(err)
	}
	front := httptest.NewServer(px)
	defer front.Close()
	defer px.Close()
	for _, tc := range []struct{ name, base string }{{"direct", peer.URL}, {"proxy", front.URL}} {
		b.Run(tc.name, func(b *testing.B) {
			c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(tc.base, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			_, _, _ = c.ReadMessage()
			_ = c.WriteMessage(websocket.TextMessage, []byte("40"))
			_, _, _ = c.ReadMessage()
			msg := []byte(`421["echo","hello",{"n":1,"list":[1,2,3]}]`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
