package proxy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
)

// TestLongLivedSession keeps one session through the proxy to a Node
// socket.io 4.8 server for 60 s — past two heartbeats, across the upgrade
// — with acked events both ways all along, and checks that nothing was
// lost, reordered or reported as an error.
func TestLongLivedSession(t *testing.T) {
	if testing.Short() {
		t.Skip("60 s session")
	}
	t.Parallel()
	srv := startServer(t, `{"version":4}`)
	hs, px, rec := startProxy(t, srv.port, proxy.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, hs.URL, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	questions := 0
	c.On("question", func(e *client.Event) {
		questions++
		_ = e.Ack("answer")
	})
	answered := make(chan struct{}, 1)
	c.On("answered", func(*client.Event) { answered <- struct{}{} })
	sid := c.EngineSID()
	end := time.Now().Add(60 * time.Second)
	sent := 0
	for time.Now().Before(end) {
		want := fmt.Sprintf(`["seq",%d]`, sent)
		ack, err := c.EmitWithAck(ctx, "echo", "seq", sent)
		if err != nil {
			t.Fatalf("echo %d: %v", sent, err)
		}
		if got := string(ack.Inline()); got != want {
			t.Fatalf("echo %d answered %s", sent, got)
		}
		if sent%20 == 0 {
			if err := c.Emit("ask", sent); err != nil {
				t.Fatal(err)
			}
			select {
			case <-answered:
			case <-ctx.Done():
				t.Fatalf("no answer to question %d", sent)
			}
		}
		sent++
		time.Sleep(50 * time.Millisecond) // a steady trickle, as an app's traffic
	}
	if c.EngineSID() != sid || c.Transport() != "websocket" {
		t.Errorf("session %s on %s, started as %s", c.EngineSID(), c.Transport(), sid)
	}
	pings := 0
	for _, e := range rec.snapshot() {
		switch {
		case e.Kind == proxy.KindError:
			t.Errorf("proxy error: %s", e.Reason)
		case e.Kind == proxy.KindPacket && e.Trace.Layer == protocol.LayerEngine && e.Trace.Engine.Type == protocol.EnginePing:
			pings++
		}
	}
	if pings < 2 {
		t.Errorf("%d heartbeats went through in 60 s", pings)
	}
	if s := px.Sessions(); len(s) != 1 || len(s[0].PendingAcks) != 0 {
		t.Errorf("sessions %+v", s)
	}
	t.Logf("%d acked events and %d questions over 60 s, %d heartbeats", sent, questions, pings)
}
