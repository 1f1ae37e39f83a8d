package server

import (
	"sync"
	"testing"

	"github.com/sio-dev/sio/pkg/protocol"
)

// A packet sent with attachments is a BINARY_EVENT / BINARY_ACK on the
// wire, and the Tap must say so (sio serve logs the trace's type).
func TestTapTypesOutgoingBinaryPackets(t *testing.T) {
	var mu sync.Mutex
	var out []protocol.PacketType
	srv := newFakeServer(t, Options{Tap: func(tr protocol.Trace) {
		if tr.Layer == protocol.LayerSocket && tr.Dir == protocol.Out {
			mu.Lock()
			out = append(out, tr.Packet.Type)
			mu.Unlock()
		}
	}})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("x", func(e *Event) {
			_ = s.Emit("bin", []byte{2})
			_ = s.Emit("text", "a")
			_ = e.Ack([]byte{1})
		})
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	c.send(`23["x"]`)
	c.expect(`51-["bin",{"_placeholder":true,"num":0}]`)
	c.expect(`<bin:02>`)
	c.expect(`2["text","a"]`)
	c.expect(`61-3[{"_placeholder":true,"num":0}]`)
	c.expect(`<bin:01>`)
	mu.Lock()
	defer mu.Unlock()
	want := []protocol.PacketType{protocol.PacketConnect, protocol.PacketBinaryEvent, protocol.PacketEvent, protocol.PacketBinaryAck}
	if len(out) != len(want) {
		t.Fatalf("traced %v, want %v", out, want)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("trace %d: %v, want %v", i, out[i], want[i])
		}
	}
}
