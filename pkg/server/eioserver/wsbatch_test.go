package eioserver

import (
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

func msg(s string) protocol.EnginePacket {
	return protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(s)}
}

// While a batch is open, SendDeferred only queues; closing it writes the
// session, everything queued in order; once closed, SendDeferred is Send.
func TestSendDeferredWritesAtBatchEnd(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	c := ts.dial(q("EIO", "4", "transport", "websocket"))
	s := ts.session()
	if _, open := readWS(t, c); open[0] != '0' {
		t.Fatalf("first frame %q, want the open packet", open)
	}
	if s.FlushBatch() == nil {
		t.Fatal("a WebSocket session has no FlushBatch")
	}
	waitWriterIdle(t, s)

	var b FlushBatch
	b.begin()
	for _, m := range []string{"a", "b", "c"} {
		if err := s.SendDeferred(&b, msg(m)); err != nil {
			t.Fatalf("SendDeferred: %v", err)
		}
	}
	s.mu.Lock()
	queued, writing := len(s.queue), s.writerOn
	s.mu.Unlock()
	if queued != 3 || writing {
		t.Fatalf("before the batch ends: %d queued, writer on %v; want 3 queued and no write", queued, writing)
	}
	if len(b.sessions) != 1 {
		t.Fatalf("batch recorded %d sessions, want 1", len(b.sessions))
	}
	b.end()
	if err := s.SendDeferred(&b, msg("d")); err != nil { // closed batch: at once
		t.Fatalf("SendDeferred after end: %v", err)
	}
	if err := s.SendDeferred(nil, msg("e")); err != nil {
		t.Fatalf("SendDeferred(nil): %v", err)
	}
	for _, want := range []string{"4a", "4b", "4c", "4d", "4e"} {
		if mt, got := readWS(t, c); mt != websocket.TextMessage || got != want {
			t.Fatalf("got %d %q, want %q", mt, got, want)
		}
	}
}

// A deferred send respects the queue bound: a full queue closes the
// session as a slow consumer, and a closed session refuses.
func TestSendDeferredQueueFull(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{SendQueue: 2}, false)
	c := ts.dial(q("EIO", "4", "transport", "websocket"))
	s := ts.session()
	readWS(t, c)
	var b FlushBatch
	b.begin()
	defer b.end()
	if err := s.SendDeferred(&b, msg("a"), msg("b")); err != nil {
		t.Fatalf("SendDeferred: %v", err)
	}
	if err := s.SendDeferred(&b, msg("c")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("over the bound: %v, want ErrQueueFull", err)
	}
	if got := ts.closed(); got.reason != protocol.ReasonTransportError {
		t.Fatalf("closed with %q, want transport error", got.reason)
	}
	if err := s.SendDeferred(&b, msg("d")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the end: %v, want ErrClosed", err)
	}
}

// The messages of one read that each send to another session reach it in
// one batch: nothing is written until the handlers of the read return.
func TestFlushBatchSpansOneRead(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	rc := ts.dial(q("EIO", "4", "transport", "websocket"))
	recv := ts.session()
	readWS(t, rc)
	sc := ts.dial(q("EIO", "4", "transport", "websocket"))
	sender := ts.session()
	readWS(t, sc)
	waitWriterIdle(t, recv)
	queued := make(chan int, 3)
	sender.OnMessage(func(data []byte, _ bool) {
		_ = recv.SendDeferred(sender.FlushBatch(), protocol.EnginePacket{Type: protocol.EngineMessage, Data: append([]byte(nil), data...)})
		recv.mu.Lock()
		queued <- len(recv.queue)
		recv.mu.Unlock()
	})
	// Three messages in one write(2): one segment on loopback, one read.
	var frames []byte
	for _, m := range []string{"4x", "4y", "4z"} {
		frames = append(frames, 0x81, 0x80|byte(len(m)), 0, 0, 0, 0)
		frames = append(frames, m...)
	}
	if _, err := sc.NetConn().Write(frames); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		var n int
		select {
		case n = <-queued:
		case <-time.After(waitTimeout):
			t.Fatalf("message %d not handled", i)
		}
		if n != i {
			t.Fatalf("after message %d the receiver has %d queued, want %d (written before the read's end)", i, n, i)
		}
	}
	for _, want := range []string{"4x", "4y", "4z"} {
		if _, got := readWS(t, rc); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// waitWriterIdle waits until the writer that sent s's open packet has
// stopped: the client can read the frame a moment before the writer marks
// itself idle, and a writer still on would take the next queued packets at
// once, which these tests must tell apart from a batch's flush.
func waitWriterIdle(t *testing.T, s *Session) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s.mu.Lock()
		idle := !s.writerOn && len(s.queue) == 0
		s.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never went idle")
		}
		time.Sleep(time.Millisecond) // polling a state, bounded by the deadline
	}
}
