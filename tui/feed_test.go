package tui

import (
	"context"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestFeedNeverBlocks(t *testing.T) {
	t.Parallel()
	f := NewFeed(2)
	for i := range 2 {
		if !f.Send(PingEvent{}) {
			t.Fatalf("send %d within capacity failed", i)
		}
	}
	if f.Send(PingEvent{}) || f.Dropped() != 1 {
		t.Fatalf("a full feed accepted an event; dropped %d", f.Dropped())
	}
	f.Close()
	f.Close() // idempotent
	if f.Send(PingEvent{}) {
		t.Fatal("Send after Close succeeded")
	}
	if NewFeed(0).Cap() != DefaultFeedSize {
		t.Fatal("default size")
	}
}

func TestFeedTapCopiesAndSkipsMessages(t *testing.T) {
	t.Parallel()
	f := NewFeed(4)
	raw := []byte(`42["a"]`)
	data := []byte(`["a"]`)
	f.Tap(protocol.Trace{Layer: protocol.LayerSocket, Packet: protocol.Packet{Type: protocol.PacketEvent, Data: data}, Raw: [][]byte{raw}})
	f.Tap(protocol.Trace{Layer: protocol.LayerEngine, Engine: protocol.EnginePacket{Type: protocol.EngineMessage, Data: raw}})
	raw[0], data[0] = 'X', 'X' // the Tap's caller reuses its buffers
	if len(f.ch) != 1 {
		t.Fatalf("%d events queued, want 1 (engine messages are skipped)", len(f.ch))
	}
	tr := (<-f.ch).(TraceEvent).Trace
	if string(tr.Raw[0]) != `42["a"]` || string(tr.Packet.Data) != `["a"]` {
		t.Fatalf("trace was not copied: %q %q", tr.Raw[0], tr.Packet.Data)
	}
}

func TestWaitEvents(t *testing.T) {
	t.Parallel()
	f := NewFeed(10)
	for range 5 {
		f.Send(PingEvent{})
	}
	msg := waitEvents(t.Context(), f.ch, 3)()
	if b, ok := msg.(eventsMsg); !ok || len(b.events) != 3 {
		t.Fatalf("first batch = %#v", msg)
	}
	msg = waitEvents(t.Context(), f.ch, 3)()
	if b, ok := msg.(eventsMsg); !ok || len(b.events) != 2 {
		t.Fatalf("second batch = %#v", msg)
	}
	f.Close()
	if msg := waitEvents(t.Context(), f.ch, 3)(); msg != (sourceClosedMsg{}) {
		t.Fatalf("closed feed gave %#v", msg)
	}
	// A cancelled context releases the waiting command.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan any)
	go func() { done <- waitEvents(ctx, NewFeed(1).ch, 3)() }()
	cancel()
	select {
	case msg := <-done:
		if msg != nil {
			t.Fatalf("cancelled wait returned %#v", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitEvents ignored its context")
	}
}
