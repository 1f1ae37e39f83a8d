package server_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/server"
)

// TestClientSendsAcrossTheUpgrade is the mirror image of issue 19: a
// client (pkg/client, default transport) emits numbered events from its
// CONNECT until it has upgraded and a few more, and the server handles
// every one once, in order, whichever transport carried it. The session
// is repeated because where the upgrade falls in the stream varies.
func TestClientSendsAcrossTheUpgrade(t *testing.T) {
	t.Parallel()
	const (
		sessions = 40
		workers  = 4
		after    = 12 // events emitted once upgraded
	)
	type arrival struct {
		seq       int
		transport string
	}
	var mu sync.Mutex
	got := map[string][]arrival{} // by socket id
	srv := server.New(server.Options{AllowEIO3: true})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("seq", func(e *server.Event) {
			var n int
			if err := e.Args.Decode(0, &n); err != nil {
				t.Errorf("seq: %v", err)
			}
			mu.Lock()
			got[s.ID()] = append(got[s.ID()], arrival{n, s.Transport()})
			mu.Unlock()
		})
		s.On("done", func(e *server.Event) { _ = e.Ack() })
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})

	var next, straddled atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= sessions && !t.Failed() {
				arrivals, ok := func() ([]arrival, bool) {
					ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
					defer cancel()
					c, err := client.Dial(ctx, hs.URL, client.Options{NoReconnect: true})
					if err != nil {
						t.Error(err)
						return nil, false
					}
					defer c.Close()
					id := c.SID()
					sent := 0
					for left := after; left > 0; {
						// Four at a time, each batch on the network before the
						// next: polling paces the stream without a sleep.
						for range 4 {
							if err := c.Emit("seq", sent); err != nil {
								t.Error(err)
								return nil, false
							}
							sent++
						}
						if err := c.Flush(ctx); err != nil {
							t.Errorf("flush after %d: %v", sent, err)
							return nil, false
						}
						if c.Transport() == "websocket" {
							left -= 4
						}
					}
					// An ack after the last event: the server has handled them all.
					if _, err := c.EmitWithAck(ctx, "done"); err != nil {
						t.Errorf("closing ack: %v", err)
						return nil, false
					}
					mu.Lock()
					defer mu.Unlock()
					return got[id], true
				}()
				if !ok {
					return
				}
				polling, websocket := false, false
				if len(arrivals) == 0 {
					t.Error("the server handled no event")
					return
				}
				for i, a := range arrivals {
					if a.seq != i {
						t.Errorf("event %d handled as %d: lost, repeated or out of order (%v)", i, a.seq, arrivals)
						return
					}
					polling = polling || a.transport == "polling"
					websocket = websocket || a.transport == "websocket"
				}
				if polling && websocket {
					straddled.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d sessions, %d with events on both transports", sessions, straddled.Load())
	if !t.Failed() && straddled.Load() == 0 {
		t.Error("no session sent on both transports: the test does not test the upgrade")
	}
}
