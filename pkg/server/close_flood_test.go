package server_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/server"
)

// TestLastEmitBeforeCloseArrives: a WebSocket client that emits and closes
// at once while the server is still sending to it. Closing the TCP
// connection with the server's frames unread in the client's receive
// buffer makes the kernel send a reset, and the server's kernel then drops
// what the client sent last; the client must finish the WebSocket closing
// handshake instead. Before it did, about half of such emits were lost
// (sio admin's one-shot actions over WebSocket found it).
func TestLastEmitBeforeCloseArrives(t *testing.T) {
	t.Parallel()
	const sessions = 30
	var mu sync.Mutex
	got := map[string]bool{}
	arrived := make(chan struct{}, sessions)
	srv := server.New(server.Options{})
	payload := strings.Repeat("x", 4<<10)
	srv.Of("/").OnConnection(func(s *server.Socket) {
		// Keep the client's receive buffer full while it works.
		go func() {
			for i := 0; i < 400 && s.Connected(); i++ { // 1.6 MB: more than loopback buffers, less than the send queue
				_ = s.Emit("flood", payload)
			}
		}()
		s.On("last", func(e *server.Event) {
			var id string
			_ = e.Args.Decode(0, &id)
			mu.Lock()
			got[id] = true
			mu.Unlock()
			arrived <- struct{}{}
		})
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})

	ids := make([]string, 0, sessions)
	for range sessions {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		c, err := client.Dial(ctx, hs.URL, client.Options{Transport: "websocket", NoReconnect: true})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		id := c.SID()
		ids = append(ids, id)
		if err := c.Emit("last", id); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// Every emit was handed to the kernel before Close returned: wait for
	// the arrivals, generously, then name the ones that never came.
	deadline := time.After(30 * time.Second)
	for n := 0; n < sessions; n++ {
		select {
		case <-arrived:
		case <-deadline:
			n = sessions
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var lost []string
	for _, id := range ids {
		if !got[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d emits sent just before Close never reached the server: %v", len(lost), sessions, lost)
	}
}
