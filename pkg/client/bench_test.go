package client_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/server"
)

var benchPayload = json.RawMessage(`{"user":"bench","text":"hello there, this is 64 bytes...."}`)

// benchServer is the in-process pkg/server: "ack" is acked with its
// arguments, "echo" is emitted back.
func benchServer(b *testing.B) string {
	b.Helper()
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("ack", func(e *server.Event) { _ = e.Ack(e.Args.Values()...) })
		s.On("echo", func(e *server.Event) { _ = s.Emit("echo", e.Args.Values()...) })
	})
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

func benchAck(b *testing.B, transport string) {
	url := benchServer(b)
	c, err := client.Dial(context.Background(), url, client.Options{Transport: transport})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.EmitWithAck(ctx, "ack", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAckRoundTripWebSocket: EmitWithAck answered by the server,
// over loopback WebSocket.
func BenchmarkAckRoundTripWebSocket(b *testing.B) { benchAck(b, "websocket") }

// BenchmarkAckRoundTripPolling: the same over long-polling.
func BenchmarkAckRoundTripPolling(b *testing.B) { benchAck(b, "polling") }

// BenchmarkEmitEchoWebSocket: Emit, and the server's echo reaches a handler.
func BenchmarkEmitEchoWebSocket(b *testing.B) {
	url := benchServer(b)
	c, err := client.New(url, client.Options{Transport: "websocket"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	got := make(chan struct{}, 1)
	c.On("echo", func(*client.Event) { got <- struct{}{} })
	if err := c.Connect(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Emit("echo", benchPayload); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// BenchmarkEmitBatchWebSocket: 100 emits, then one round trip that
// proves they were all written (throughput of Emit).
func BenchmarkEmitBatchWebSocket(b *testing.B) {
	url := benchServer(b)
	c, err := client.Dial(context.Background(), url, client.Options{Transport: "websocket"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for range 100 {
			if err := c.Emit("noop", benchPayload); err != nil {
				b.Fatal(err)
			}
		}
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
