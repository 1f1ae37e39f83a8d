package eioserver

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A peer that never reads, sent to without pause, is closed as a slow
// consumer once the bytes it holds (queued or in a write that cannot
// complete) would pass SendQueueBytes, long before the packet bound; the
// server never holds more than the bound for it, and a bystander is
// served all along and after.
func TestSlowConsumerBoundedInBytes(t *testing.T) {
	t.Parallel()
	const bound = 1 << 20
	chunk := []byte(strings.Repeat("x", 64<<10))
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			ts := newTestServer(t, Options{
				SendQueue:      1 << 20, // not the bound that acts here
				SendQueueBytes: bound,
				Logger:         slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			}, true)
			bystander := ts.dial("EIO=4&transport=websocket")
			readWS(t, bystander)
			bystanderSID := ts.session().ID()
			if transport == "websocket" {
				dialRaw(t, ts) // reads the 101 and nothing more
			} else {
				ts.handshake("EIO=4&transport=polling") // and never a GET
			}
			slow := ts.session()

			var sent, most int64
			const limit = 64 << 20 // far more than socket buffers and the bound
			for i := 0; ; i++ {
				err := slow.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: chunk})
				if err == ErrQueueFull {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				sent += int64(len(chunk))
				slow.mu.Lock()
				held := slow.pending
				slow.mu.Unlock()
				most = max(most, held)
				if held > bound {
					t.Fatalf("the slow session holds %d bytes, over the bound %d", held, bound)
				}
				if sent >= limit {
					t.Fatalf("%d MB sent to a peer that reads nothing and the session is still open", sent>>20)
				}
				if i%8 == 0 { // the bystander is served meanwhile
					writeWS(t, bystander, websocket.TextMessage, "4ping")
					if _, s := readWS(t, bystander); s != "4ping" {
						t.Fatalf("bystander got %q", s)
					}
					ts.messageFrom(bystanderSID)
				}
			}
			t.Logf("%s: closed after %d kB sent, at most %d kB held", transport, sent>>10, most>>10)
			if c := ts.closed(); c.sid != slow.ID() || c.reason != protocol.ReasonTransportError {
				t.Fatalf("closed %+v", c)
			}
			if l := logs.String(); !strings.Contains(l, "closing slow consumer") || !strings.Contains(l, "max_bytes=1048576") {
				t.Fatalf("log %q", l)
			}
			slow.mu.Lock()
			held, queued := slow.pending, len(slow.queue)
			slow.mu.Unlock()
			if held != 0 || queued != 0 {
				t.Fatalf("the closed session still holds %d bytes, %d packets", held, queued)
			}
			writeWS(t, bystander, websocket.TextMessage, "4after")
			if _, s := readWS(t, bystander); s != "4after" {
				t.Fatalf("bystander got %q", s)
			}
		})
	}
}

// A message larger than SendQueueBytes is taken by a session that holds
// nothing: the bound is on the backlog, not on one message.
func TestSendQueueBytesLargeMessage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{SendQueueBytes: 1000}, false)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sess := ts.session()
	big := strings.Repeat("y", 5000)
	if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(big)}); err != nil {
		t.Fatal(err)
	}
	if r := ts.do("GET", q("EIO", "4", "transport", "polling", "sid", sid), nil, nil); r.body != "4"+big {
		t.Fatalf("GET %d bytes", len(r.body))
	}
	sess.mu.Lock()
	held := sess.pending
	sess.mu.Unlock()
	if held != 0 {
		t.Fatalf("%d bytes still counted after the GET", held)
	}
	// Held, the same message and one more pass the bound.
	m := protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(big)}
	if err := sess.Send(m); err != nil {
		t.Fatal(err)
	}
	if err := sess.Send(m); err != ErrQueueFull {
		t.Fatalf("got %v", err)
	}
}
