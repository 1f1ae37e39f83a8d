package tui

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Event is something the client session or the server reports to the UI:
// a TraceEvent for every packet, a SessionEvent for each step in a
// connection's life (both are lines of the log), and status events
// (ConnEvent, NamespaceEvent, TransportEvent, PingEvent) for what the
// header shows. They all travel on the same Feed, in order.
type Event interface{ event() }

// TraceEvent is one packet in or out. Its Trace must own its slices: use
// Feed.Tap, which copies them, rather than sending a Tap's argument as is.
type TraceEvent struct{ Trace protocol.Trace }

// ConnState is the state of a client connection.
type ConnState uint8

const (
	StateConnecting   ConnState = iota // the first connection attempt
	StateConnected                     // the Engine.IO session is open
	StateReconnecting                  // waiting for or making attempt n
	StateDisconnected                  // gave up, or closed
)

func (s ConnState) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateDisconnected:
		return "disconnected"
	}
	return "connecting"
}

// ConnEvent reports a change of the client connection's state. Attempt is
// the reconnection attempt (StateReconnecting), Reason why the connection
// was lost or closed (Node's words: "transport close", "ping timeout"...).
type ConnEvent struct {
	Time    time.Time
	State   ConnState
	Attempt int
	Reason  string
}

// NamespaceEvent reports that a namespace of the client connected (with
// its socket id), was refused (Err holds the CONNECT_ERROR message), or
// was disconnected (Reason).
type NamespaceEvent struct {
	Time      time.Time
	Namespace string
	Connected bool
	SID       string
	Reason    string
	Err       string
}

// TransportEvent reports the transport in use: sent once connected and
// again after an upgrade (Upgraded true), with the protocol version.
type TransportEvent struct {
	Time      time.Time
	Transport string // "polling" or "websocket"
	EIO       protocol.EIO
	Upgraded  bool
}

// PingEvent reports the last heartbeat round trip (ping to pong).
type PingEvent struct{ RTT time.Duration }

// SessionEvent is a step in the life of a connection or a socket, shown in
// the log among the packets as a dimmed line marked "•": a server's
// "connect", "upgrade", "disconnect" (Reason: "transport close"...),
// "join"/"leave", a "refused" request or a connection closed on an
// "error" (Reason: the hint); a client's "open", "close",
// "reconnect_attempt"... Kind and the fields are those of the JSON-lines
// "session" records (CLI.md), which saving the log writes. Data is a JSON
// object, or nil. SID is the socket's id when there is one, so the line
// shows in that socket's traffic.
type SessionEvent struct {
	Time      time.Time
	SID       string
	Nsp       string
	Transport string
	Kind      string
	Reason    string
	Data      json.RawMessage
}

func (TraceEvent) event()     {}
func (ConnEvent) event()      {}
func (NamespaceEvent) event() {}
func (TransportEvent) event() {}
func (PingEvent) event()      {}
func (SessionEvent) event()   {}

// Feed is the one bounded channel of events from the network goroutines to
// the UI. Send and Tap never block: when the UI falls behind, events are
// dropped and counted, so the protocol never waits on the screen. Feed is
// safe for concurrent use; Send after Close is a no-op.
type Feed struct {
	mu      sync.RWMutex
	closed  bool
	ch      chan Event
	dropped atomic.Uint64
}

// DefaultFeedSize is the Feed capacity used when NewFeed gets n < 1.
const DefaultFeedSize = 8192

// NewFeed returns a Feed buffering up to n events (DefaultFeedSize if n < 1).
func NewFeed(n int) *Feed {
	if n < 1 {
		n = DefaultFeedSize
	}
	return &Feed{ch: make(chan Event, n)}
}

// Send queues ev without blocking. It reports false when ev was dropped
// because the feed is full or closed.
func (f *Feed) Send(ev Event) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return false
	}
	select {
	case f.ch <- ev:
		return true
	default:
		f.dropped.Add(1)
		return false
	}
}

// Tap is a Tap function for client.Options and server.Options: it copies
// the trace's slices (a Tap's argument may be reused after it returns) and
// sends it. Engine.IO "message" packets are skipped: the Socket.IO packet
// they carry is traced on its own, with the same bytes.
func (f *Feed) Tap(t protocol.Trace) {
	if t.Layer == protocol.LayerEngine && t.Engine.Type == protocol.EngineMessage {
		return
	}
	f.Send(TraceEvent{Trace: t.Clone()})
}

// Dropped returns how many events were dropped because the feed was full.
func (f *Feed) Dropped() uint64 { return f.dropped.Load() }

// Close closes the channel: the UI shows that the session ended. It is
// idempotent.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.ch)
	}
}

// eventsMsg carries a batch of events read from the feed.
type eventsMsg struct{ events []Event }

// sourceClosedMsg says the feed was closed: the session or server ended.
type sourceClosedMsg struct{}

// defaultBatch is how many events one Update takes from the feed at most.
const defaultBatch = 1024

// waitEvents returns a command that blocks until the feed has an event,
// then drains up to max events without blocking. The model re-arms it after
// each batch (bubbletea examples/realtime), so a flood costs about one
// Update per batch, not one per event. It gives up when ctx is done, so no
// goroutine outlives the program.
func waitEvents(ctx context.Context, ch <-chan Event, max int) tea.Cmd {
	return func() tea.Msg {
		var first Event
		var ok bool
		select {
		case first, ok = <-ch:
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return sourceClosedMsg{}
		}
		batch := make([]Event, 1, min(max, 1+len(ch)))
		batch[0] = first
		for len(batch) < max {
			select {
			case ev, ok := <-ch:
				if !ok {
					// The closing is seen again by the next read.
					return eventsMsg{events: batch}
				}
				batch = append(batch, ev)
			default:
				return eventsMsg{events: batch}
			}
		}
		return eventsMsg{events: batch}
	}
}

// Events is the receiving end of the feed, for a consumer other than the
// UI (a test, a recorder). The UI reads the same channel: use one or the
// other. It is closed by Close.
func (f *Feed) Events() <-chan Event { return f.ch }

// Cap returns the feed's capacity.
func (f *Feed) Cap() int { return cap(f.ch) }
