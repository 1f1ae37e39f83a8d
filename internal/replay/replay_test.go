package replay_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/internal/replay"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/pkg/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// appServer greets, echoes acks (with a suffix), and asks the client a
// question whose answer it sends back.
func appServer(t *testing.T, suffix string) *httptest.Server {
	t.Helper()
	srv := server.New(server.Options{})
	setup := func(s *server.Socket) {
		_ = s.Emit("welcome", s.Namespace().Name())
		s.On("echo", func(e *server.Event) {
			_ = e.Ack(append(e.Args.Values(), suffix)...)
		})
		s.On("ask", func(e *server.Event) {
			go func() {
				got, err := s.EmitWithAck(context.Background(), "question", "why")
				if err == nil {
					_ = s.Emit("answered", got.Values()...)
				}
			}()
		})
	}
	srv.Of("/").OnConnection(setup)
	auth := func(s *server.Socket) error {
		if !strings.Contains(string(s.Handshake().Auth), "secret") {
			return &server.ConnectError{Message: "unauthorized"}
		}
		return nil
	}
	srv.Of("/admin").Use(auth).OnConnection(setup)
	srv.Of("/locked").Use(auth).OnConnection(setup)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs
}

// record runs a client session through a proxy to target and returns the
// proxy's recording.
func record(t *testing.T, target string) []render.Record {
	t.Helper()
	var mu sync.Mutex
	var recs []render.Record
	u, _ := url.Parse(target)
	px, err := proxy.New(proxy.Options{Target: u, Tap: func(e proxy.Event) {
		r := render.FromProxyEvent(e, true)
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(px)
	defer px.Close()
	defer front.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, front.URL, client.Options{NoReconnect: true, Transport: "websocket"})
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan struct{})
	c.On("question", func(e *client.Event) { _ = e.Ack("because", []byte{1}) })
	c.On("answered", func(e *client.Event) { close(answered) })
	if _, err := c.EmitWithAck(ctx, "echo", "hi", []byte{7, 7}); err != nil {
		t.Fatal(err)
	}
	if err := c.Emit("ask"); err != nil {
		t.Fatal(err)
	}
	<-answered
	locked := c.Of("/locked")
	locked.SetAuth(json.RawMessage(`{"token":"wrong"}`))
	if err := locked.Connect(ctx); err == nil {
		t.Fatal("a wrong token was accepted")
	}
	admin := c.Of("/admin")
	admin.SetAuth(json.RawMessage(`{"token":"secret"}`))
	if err := admin.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.EmitWithAck(ctx, "echo", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	return append([]render.Record(nil), recs...)
}

func TestReplay(t *testing.T) {
	t.Parallel()
	recs := record(t, appServer(t, "v1").URL)

	rep, err := replay.Run(t.Context(), recs, replay.Options{Target: appServer(t, "v1").URL, Speed: 4, Settle: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || rep.Expected == 0 || rep.Received != rep.Expected {
		t.Fatalf("replay against the same server: %+v", rep)
	}

	// A server whose acks changed: exactly the two echo answers differ.
	rep, err = replay.Run(t.Context(), recs, replay.Options{Target: appServer(t, "v2").URL, Speed: 4, Settle: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 4 {
		t.Fatalf("differences %q", rep.Differences)
	}
	for _, d := range rep.Differences {
		if !strings.Contains(d, "ACK") || !strings.Contains(d, "of echo") {
			t.Errorf("unexpected difference %q", d)
		}
	}
}
