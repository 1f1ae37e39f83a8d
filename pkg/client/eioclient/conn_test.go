package eioclient

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type received struct {
	data   []byte
	binary bool
}

type closeEvent struct {
	reason protocol.DisconnectReason
	err    error
}

// testClient records what the callbacks see.
type testClient struct {
	conn     *Conn
	msgs     chan received
	upgraded chan string
	closed   chan closeEvent
	closes   int
	mu       sync.Mutex
	traces   []protocol.Trace
}

func (tc *testClient) options(opts Options) Options {
	opts.OnMessage = func(data []byte, binary bool) {
		select {
		case tc.msgs <- received{bytes.Clone(data), binary}:
		default:
		}
	}
	opts.OnUpgrade = func(tr string) { tc.upgraded <- tr }
	opts.OnClose = func(r protocol.DisconnectReason, err error) {
		tc.mu.Lock()
		tc.closes++
		tc.mu.Unlock()
		tc.closed <- closeEvent{r, err}
	}
	opts.Tap = func(tr protocol.Trace) {
		tr.Engine.Data = bytes.Clone(tr.Engine.Data)
		tr.Raw = [][]byte{bytes.Clone(tr.Raw[0])}
		tc.mu.Lock()
		tc.traces = append(tc.traces, tr)
		tc.mu.Unlock()
	}
	return opts
}

func newTestClient() *testClient {
	return &testClient{
		msgs:     make(chan received, 256),
		upgraded: make(chan string, 1),
		closed:   make(chan closeEvent, 2),
	}
}

func dialFake(t *testing.T, s *fakeServer, opts Options) *testClient {
	t.Helper()
	tc := newTestClient()
	tc.conn = dialWith(t, s, tc.options(opts))
	return tc
}

// dialWith dials s with opts as they are, closing the connection at the
// end of the test.
func dialWith(t *testing.T, s *fakeServer, opts Options) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, s.url(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { closeWait(t, c) })
	return c
}

// closeWait closes c and waits for its end: Close itself never blocks.
func closeWait(t testing.TB, c *Conn) {
	t.Helper()
	c.Close()
	select {
	case <-c.Done():
	case <-time.After(30 * time.Second):
		t.Error("Done not closed 30s after Close")
	}
}

func (tc *testClient) recv(t *testing.T) received {
	t.Helper()
	select {
	case m := <-tc.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a message")
		return received{}
	}
}

func (tc *testClient) waitClose(t *testing.T) closeEvent {
	t.Helper()
	select {
	case ev := <-tc.closed:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for OnClose")
		return closeEvent{}
	}
}

func (tc *testClient) waitUpgrade(t *testing.T) {
	t.Helper()
	select {
	case tr := <-tc.upgraded:
		if tr != TransportWebSocket {
			t.Fatalf("upgraded to %q", tr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the upgrade")
	}
}

func (tc *testClient) traceLog() []string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	var out []string
	for _, tr := range tc.traces {
		out = append(out, tr.Dir.String()+" "+tr.Transport+" "+string(tr.Raw[0]))
	}
	return out
}

func msg(s string) protocol.EnginePacket {
	return protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(s)}
}

func bin(b ...byte) protocol.EnginePacket {
	return protocol.EnginePacket{Type: protocol.EngineMessage, Data: b, Binary: true}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
		for _, transport := range []string{TransportPolling, TransportWebSocket, TransportAuto} {
			t.Run(eio.String()+"/"+transport, func(t *testing.T) {
				t.Parallel()
				s := newFakeServer(t, eio, nil)
				tc := dialFake(t, s, Options{Transport: transport, EIO: eio})
				if tc.conn.EIO() != eio {
					t.Fatalf("EIO() = %v", tc.conn.EIO())
				}
				if tc.conn.SID() != "sid1" || tc.conn.Handshake().SID != "sid1" {
					t.Fatalf("SID() = %q", tc.conn.SID())
				}
				if transport == TransportAuto {
					tc.waitUpgrade(t)
				}
				want := transport
				if want == TransportAuto {
					want = TransportWebSocket
				}
				if got := tc.conn.Transport(); got != want {
					t.Fatalf("Transport() = %q, want %q", got, want)
				}
				big := strings.Repeat("x", 70000)
				if err := tc.conn.Send(msg("hello €"), bin(1, 2, 3, 4), msg("😀"), msg(big)); err != nil {
					t.Fatal(err)
				}
				if err := tc.conn.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				wants := []received{{[]byte("hello €"), false}, {[]byte{1, 2, 3, 4}, true}, {[]byte("😀"), false}, {[]byte(big), false}}
				for _, w := range wants {
					if m := tc.recv(t); m.binary != w.binary || !bytes.Equal(m.data, w.data) {
						t.Fatalf("got %q binary=%v, want %q binary=%v", m.data[:min(len(m.data), 20)], m.binary, w.data[:min(len(w.data), 20)], w.binary)
					}
				}
				tc.conn.Close()
				if ev := tc.waitClose(t); ev.reason != protocol.ReasonIOClientDisconnect || ev.err != nil {
					t.Fatalf("OnClose(%q, %v)", ev.reason, ev.err)
				}
			})
		}
	}
}

func TestEIOAuto(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		serverEIO  protocol.EIO
		configure  func(*fakeServer)
		transport  string
		want       protocol.EIO
		handshakes int  // handshake requests the server saw
		guessed    bool // EIOGuessed: EIO4 assumed, not detected
	}{
		{"v4 server polling", protocol.EIO4, nil, TransportPolling, protocol.EIO4, 1, false},
		{"v4 server websocket", protocol.EIO4, nil, TransportWebSocket, protocol.EIO4, 1, false},
		{"v3 format answer polling", protocol.EIO3, nil, TransportPolling, protocol.EIO3, 1, false},
		{"v3 format answer auto", protocol.EIO3, nil, TransportAuto, protocol.EIO3, 1, false},
		{"code 5 retry polling", protocol.EIO3, func(s *fakeServer) { s.refuseV4 = true }, TransportPolling, protocol.EIO3, 1, false},
		{"code 5 retry websocket", protocol.EIO3, func(s *fakeServer) { s.refuseV4 = true }, TransportWebSocket, protocol.EIO3, 1, false},
		{"socket.io 2 websocket sends 40 first", protocol.EIO3, func(s *fakeServer) {
			s.initial = []protocol.EnginePacket{msg("0")}
		}, TransportWebSocket, protocol.EIO3, 1, false},
		{"old v4 server websocket without maxPayload", protocol.EIO4, func(s *fakeServer) { s.maxPayload = 0 }, TransportWebSocket, protocol.EIO4, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, tt.serverEIO, tt.configure)
			tc := dialFake(t, s, Options{Transport: tt.transport})
			if got := tc.conn.EIO(); got != tt.want {
				t.Fatalf("EIO() = %v, want %v", got, tt.want)
			}
			if got := tc.conn.EIOGuessed(); got != tt.guessed {
				t.Errorf("EIOGuessed() = %v, want %v", got, tt.guessed)
			}
			n := 0
			for _, ev := range s.events() {
				if strings.HasPrefix(ev, "handshake") {
					n++
				}
			}
			if n != tt.handshakes {
				t.Errorf("server saw %d handshakes, want %d: %q", n, tt.handshakes, s.events())
			}
			if tt.configure != nil && len(s.initial) > 0 {
				if m := tc.recv(t); string(m.data) != "0" {
					t.Fatalf("first message %q", m.data)
				}
			}
			// The session works in the chosen revision, binary included.
			if err := tc.conn.Send(bin(9, 8, 7)); err != nil {
				t.Fatal(err)
			}
			if m := tc.recv(t); !m.binary || !bytes.Equal(m.data, []byte{9, 8, 7}) {
				t.Fatalf("echo %v binary=%v", m.data, m.binary)
			}
		})
	}
}

// TestUpgradeSequence checks the exact probe order and that polling is
// paused (no new GET or POST) between 3probe and 5.
func TestUpgradeSequence(t *testing.T) {
	t.Parallel()
	for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
		t.Run(eio.String(), func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, eio, nil)
			tc := dialFake(t, s, Options{EIO: eio})
			tc.waitUpgrade(t)
			if err := tc.conn.Send(msg("after")); err != nil {
				t.Fatal(err)
			}
			if m := tc.recv(t); string(m.data) != "after" {
				t.Fatalf("got %q", m.data)
			}
			s.waitLog(t, "ws< message after")

			log := s.events()
			idx := func(ev string) int {
				i := slices.Index(log, ev)
				if i < 0 {
					t.Fatalf("no %q in %q", ev, log)
				}
				return i
			}
			probe, p3, up := idx("ws< 2probe"), idx("ws> 3probe"), idx("ws< 5")
			if !(probe < p3 && p3 < up) {
				t.Fatalf("order 2probe=%d 3probe=%d 5=%d in %q", probe, p3, up, log)
			}
			// Paused: every request in flight when 3probe arrived has ended
			// before 5 (a GET may start after the server wrote 3probe and
			// before the client read it; it is answered with noop).
			count := map[string]int{}
			for _, ev := range log[:up] {
				count[ev]++
			}
			if count["GET start"] != count["GET end"] || count["POST start"] != count["POST end"] {
				t.Fatalf("polling request still in flight at 5: %q", log)
			}
			for _, ev := range log[up:] {
				if strings.HasPrefix(ev, "GET") || strings.HasPrefix(ev, "POST") {
					t.Fatalf("polling after the upgrade: %q", log)
				}
			}
			// The client's Tap shows the same frames in the same order.
			var wsFrames []string
			for _, l := range tc.traceLog() {
				if strings.Contains(l, " websocket ") {
					wsFrames = append(wsFrames, l)
				}
			}
			wantPrefix := []string{"out websocket 2probe", "in websocket 3probe", "out websocket 5"}
			if len(wsFrames) < 3 || !slices.Equal(wsFrames[:3], wantPrefix) {
				t.Fatalf("websocket traces %q", wsFrames)
			}
		})
	}
}

func TestUpgradeProbeFailsStaysOnPolling(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, protocol.EIO4, func(s *fakeServer) { s.refuseProbe = true })
	tc := dialFake(t, s, Options{})
	s.waitLog(t, "ws> 3nope")
	if err := tc.conn.Send(msg("still here")); err != nil {
		t.Fatal(err)
	}
	if m := tc.recv(t); string(m.data) != "still here" {
		t.Fatalf("got %q", m.data)
	}
	if tr := tc.conn.Transport(); tr != TransportPolling {
		t.Fatalf("Transport() = %q", tr)
	}
	select {
	case tr := <-tc.upgraded:
		t.Fatalf("OnUpgrade(%q) after a failed probe", tr)
	default:
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		eio       protocol.EIO
		transport string
		configure func(*fakeServer)
		want      string // server event that repeats while healthy
	}{
		{"v4 polling answers pings", protocol.EIO4, TransportPolling, func(s *fakeServer) { s.serverPings = true }, "POST pong"},
		{"v4 websocket answers pings", protocol.EIO4, TransportWebSocket, func(s *fakeServer) { s.serverPings = true }, "ws< pong"},
		{"v3 polling sends pings", protocol.EIO3, TransportPolling, nil, "POST ping"},
		{"v3 websocket sends pings", protocol.EIO3, TransportWebSocket, nil, "ws< ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, tt.eio, func(s *fakeServer) {
				s.pingInterval, s.pingTimeout = 40, 200
				if tt.configure != nil {
					tt.configure(s)
				}
			})
			tc := dialFake(t, s, Options{Transport: tt.transport, EIO: tt.eio})
			for range 4 {
				s.waitLog(t, tt.want)
			}
			select {
			case ev := <-tc.closed:
				t.Fatalf("closed while healthy: %q %v", ev.reason, ev.err)
			default:
			}
		})
	}
}

func TestPingTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		eio       protocol.EIO
		transport string
		configure func(*fakeServer)
	}{
		{"v4 polling server never pings", protocol.EIO4, TransportPolling, nil},
		{"v4 websocket server never pings", protocol.EIO4, TransportWebSocket, nil},
		{"v3 polling no pong", protocol.EIO3, TransportPolling, func(s *fakeServer) { s.answerPings = false }},
		{"v3 websocket no pong", protocol.EIO3, TransportWebSocket, func(s *fakeServer) { s.answerPings = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, tt.eio, func(s *fakeServer) {
				s.pingInterval, s.pingTimeout = 30, 30
				if tt.configure != nil {
					tt.configure(s)
				}
			})
			tc := dialFake(t, s, Options{Transport: tt.transport, EIO: tt.eio})
			if ev := tc.waitClose(t); ev.reason != protocol.ReasonPingTimeout {
				t.Fatalf("OnClose(%q, %v), want ping timeout", ev.reason, ev.err)
			}
			<-tc.conn.Done()
			if err := tc.conn.Send(msg("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after close: %v", err)
			}
		})
	}
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		eio       protocol.EIO
		transport string
		want      protocol.DisconnectReason
	}{
		{"v4 polling close packet", protocol.EIO4, TransportPolling, protocol.ReasonForcedClose},
		{"v3 polling close packet", protocol.EIO3, TransportPolling, protocol.ReasonForcedClose},
		{"v4 websocket closed", protocol.EIO4, TransportWebSocket, protocol.ReasonTransportClose},
		{"v3 websocket closed", protocol.EIO3, TransportWebSocket, protocol.ReasonTransportClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, tt.eio, nil)
			tc := dialFake(t, s, Options{Transport: tt.transport, EIO: tt.eio})
			if tt.transport == TransportPolling {
				s.waitLog(t, "GET start")
			}
			s.session(t).shut()
			if ev := tc.waitClose(t); ev.reason != tt.want {
				t.Fatalf("OnClose(%q, %v), want %q", ev.reason, ev.err, tt.want)
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		eio       protocol.EIO
		transport string
		want      string // what the server sees last
	}{
		{"v4 polling posts 1", protocol.EIO4, TransportPolling, "POST close "},
		{"v3 polling posts 1:1", protocol.EIO3, TransportPolling, "POST close "},
		{"v4 websocket close frame", protocol.EIO4, TransportWebSocket, "ws closed"},
		{"v3 websocket close frame", protocol.EIO3, TransportWebSocket, "ws closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, tt.eio, func(s *fakeServer) { s.echo = false })
			tc := dialFake(t, s, Options{Transport: tt.transport, EIO: tt.eio})
			// Queued messages are flushed before the close.
			if err := tc.conn.Send(msg("last words")); err != nil {
				t.Fatal(err)
			}
			if err := tc.conn.Close(); err != nil {
				t.Fatal(err)
			}
			closeWait(t, tc.conn)
			if err := tc.conn.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if ev := tc.waitClose(t); ev.reason != protocol.ReasonIOClientDisconnect || ev.err != nil {
				t.Fatalf("OnClose(%q, %v)", ev.reason, ev.err)
			}
			tc.mu.Lock()
			closes := tc.closes
			tc.mu.Unlock()
			if closes != 1 {
				t.Fatalf("OnClose called %d times", closes)
			}
			s.waitLog(t, tt.want)
			log := s.events()
			last, words := -1, -1
			for i, ev := range log {
				if strings.HasSuffix(ev, "message last words") {
					words = i
				}
				if strings.HasPrefix(ev, tt.want) {
					last = i
				}
			}
			if words < 0 || last < words {
				t.Fatalf("want the message before the close: %q", log)
			}
			if err := tc.conn.Send(msg("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after Close: %v", err)
			}
			if err := tc.conn.Flush(t.Context()); err != nil {
				t.Fatalf("Flush with nothing queued: %v", err)
			}
		})
	}
}

func TestCloseFromCallback(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{TransportPolling, TransportWebSocket} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, protocol.EIO4, nil)
			tc := newTestClient()
			var conn *Conn
			var mu sync.Mutex
			returned := make(chan struct{})
			opts := tc.options(Options{Transport: transport})
			opts.OnMessage = func([]byte, bool) {
				mu.Lock()
				c := conn
				mu.Unlock()
				c.Close() // must not deadlock on the reader it runs on
				close(returned)
			}
			opts.OnClose = func(protocol.DisconnectReason, error) {
				mu.Lock()
				c := conn
				mu.Unlock()
				c.Close() // idempotent, from the finisher
			}
			c, err := Dial(t.Context(), s.url(), opts)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			conn = c
			mu.Unlock()
			if err := c.Send(msg("boom")); err != nil {
				t.Fatal(err)
			}
			select {
			case <-returned:
			case <-time.After(10 * time.Second):
				t.Fatal("Close from OnMessage did not return")
			}
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("not done")
			}
		})
	}
}

// TestCloseFromOnUpgrade closes the connection from the callback the
// upgrading reader runs: Close must return at once (it never waits for the
// goroutine it is called on) and the connection must still end.
func TestCloseFromOnUpgrade(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, protocol.EIO4, nil)
	tc := newTestClient()
	conns := make(chan *Conn, 1)
	returned := make(chan error, 1)
	opts := tc.options(Options{Transport: TransportAuto})
	opts.OnUpgrade = func(string) {
		c := <-conns
		returned <- c.Close()
	}
	c, err := Dial(t.Context(), s.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	conns <- c
	select {
	case err := <-returned:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close from OnUpgrade did not return")
	}
	if ev := tc.waitClose(t); ev.reason != protocol.ReasonIOClientDisconnect || ev.err != nil {
		t.Fatalf("OnClose(%q, %v)", ev.reason, ev.err)
	}
	<-c.Done() // OnClose has returned: Done follows at once
}

func TestFlushWaitsForTheNetwork(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{TransportPolling, TransportWebSocket} {
		for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
			t.Run(eio.String()+"/"+transport, func(t *testing.T) {
				t.Parallel()
				s := newFakeServer(t, eio, func(s *fakeServer) { s.echo = false })
				tc := dialFake(t, s, Options{Transport: transport, EIO: eio})
				const n = 200
				for i := range n {
					if err := tc.conn.Send(msg("m" + strings.Repeat("y", i))); err != nil {
						t.Fatal(err)
					}
				}
				if err := tc.conn.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				ss := s.session(t)
				// Everything queued before Flush reached the server's
				// session; for polling the POSTs were answered, so the
				// packets are already in the channel.
				got := 0
				deadline := time.After(10 * time.Second)
				for got < n {
					select {
					case p := <-ss.received:
						if p.Type == protocol.EngineMessage {
							got++
						}
					case <-deadline:
						t.Fatalf("server got %d of %d messages", got, n)
					}
				}
				if transport == TransportPolling {
					ss.mu.Lock()
					posts := ss.posts
					ss.mu.Unlock()
					if posts >= n {
						t.Errorf("%d POSTs for %d messages: no batching", posts, n)
					}
				}
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				if err := tc.conn.Send(msg("z")); err != nil {
					t.Fatal(err)
				}
				if err := tc.conn.Flush(ctx); err != nil && !errors.Is(err, context.Canceled) {
					t.Fatalf("Flush with a cancelled context: %v", err)
				}
			})
		}
	}
}

func TestSendQueueBounds(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, protocol.EIO4, nil)
	tc := dialFake(t, s, Options{Transport: TransportWebSocket, MaxQueue: 4})
	if err := tc.conn.Send(msg("1"), msg("2"), msg("3"), msg("4"), msg("5")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send of 5 with MaxQueue 4: %v", err)
	}
	if err := tc.conn.Send(protocol.EnginePacket{Type: protocol.EnginePing, Binary: true}); err == nil {
		t.Fatal("binary ping accepted")
	}
	// Send copies: changing the buffer afterwards does not change the packet.
	buf := []byte("original")
	if err := tc.conn.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: buf}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	if m := tc.recv(t); string(m.data) != "original" {
		t.Fatalf("got %q", m.data)
	}
}

func TestBatchRespectsMaxPayload(t *testing.T) {
	t.Parallel()
	c := &Conn{opts: Options{MaxQueue: 100}}
	for range 10 {
		c.queue = append(c.queue, msg(strings.Repeat("a", 30)))
	}
	c.queue = append(c.queue, bin(make([]byte, 30)...))
	// Each text packet costs 30 + 2; 1 for the start: 3 fit in 100.
	batch, n := c.takeLocked(nil, 100)
	if n != 3 || len(batch) != 3 || len(c.queue) != 8 {
		t.Fatalf("batch %d (n=%d), left %d", len(batch), n, len(c.queue))
	}
	if body := protocol.AppendPayloadV4(nil, batch...); len(body) > 100 {
		t.Fatalf("payload %d bytes > 100", len(body))
	}
	// A packet larger than the limit still goes alone.
	c.queue = []protocol.EnginePacket{msg(strings.Repeat("b", 500)), msg("c")}
	batch, n = c.takeLocked(batch[:0], 100)
	if n != 1 || len(batch) != 1 {
		t.Fatalf("oversized packet: batch %d", len(batch))
	}
	// Control packets go first and count.
	c.ctrl = []protocol.EnginePacket{{Type: protocol.EnginePong}}
	c.queue = []protocol.EnginePacket{msg("d")}
	batch, n = c.takeLocked(batch[:0], 100)
	if n != 1 || len(batch) != 2 || batch[0].Type != protocol.EnginePong {
		t.Fatalf("ctrl batch %+v", batch)
	}
}

func TestHeadersQueryAndPath(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{TransportAuto, TransportWebSocket} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, protocol.EIO4, nil)
			h := http.Header{}
			h.Set("X-Test", "yes")
			tc := dialFake(t, s, Options{
				Path:      "socket.io", // slashes added
				Transport: transport,
				Header:    h,
				Query:     map[string][]string{"foo": {"bar"}},
			})
			if transport == TransportAuto {
				tc.waitUpgrade(t)
			}
			if err := tc.conn.Send(msg("q")); err != nil {
				t.Fatal(err)
			}
			tc.recv(t)
			s.mu.Lock()
			reqs := append([]string(nil), s.requests...)
			s.mu.Unlock()
			if len(reqs) == 0 {
				t.Fatal("no requests")
			}
			for _, r := range reqs {
				if !strings.HasSuffix(r, "X-Test=yes foo=bar") {
					t.Errorf("request without header or query: %q", r)
				}
			}
		})
	}
}

func TestTap(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, protocol.EIO4, nil)
	tc := dialFake(t, s, Options{Transport: TransportPolling})
	if err := tc.conn.Send(msg("tapped"), bin(1, 2)); err != nil {
		t.Fatal(err)
	}
	tc.recv(t)
	tc.recv(t)
	closeWait(t, tc.conn)
	tc.mu.Lock()
	traces := slices.Clone(tc.traces)
	tc.mu.Unlock()
	var got []string
	for _, tr := range traces {
		if tr.Layer != protocol.LayerEngine || tr.EngineSID != "sid1" || tr.EIO != protocol.EIO4 || tr.Transport != TransportPolling || tr.Time.IsZero() {
			t.Fatalf("trace %+v", tr)
		}
		got = append(got, tr.Dir.String()+" "+tr.Engine.Type.String()+" "+string(tr.Raw[0]))
	}
	want := []string{
		"out message 4tapped", "out message bAQI=",
		"in message 4tapped", "in message bAQI=",
		"out close 1",
	}
	if !strings.HasPrefix(got[0], "in open 0{\"sid\":\"sid1\"") {
		t.Fatalf("first trace %q", got[0])
	}
	var rest []string
	for _, g := range got[1:] {
		// The pending GET ends with noop (Node) or close (this fake).
		if !strings.Contains(g, "noop") && g != "in close 1" {
			rest = append(rest, g)
		}
	}
	if !slices.Equal(rest, want) {
		t.Fatalf("traces\n got %q\nwant %q", rest, want)
	}
}

// TestCloseDuringUpgrade closes at every stage of the upgrade: the queued
// message is still delivered, and nothing leaks or hangs.
func TestCloseDuringUpgrade(t *testing.T) {
	t.Parallel()
	for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
		t.Run(eio.String(), func(t *testing.T) {
			t.Parallel()
			for i := range 15 {
				s := newFakeServer(t, eio, func(s *fakeServer) { s.echo = false })
				tc := newTestClient()
				c, err := Dial(t.Context(), s.url(), tc.options(Options{EIO: eio}))
				if err != nil {
					t.Fatal(err)
				}
				if i%3 == 1 {
					s.waitLog(t, "ws< 2probe")
				} else if i%3 == 2 {
					s.waitLog(t, "ws> 3probe")
				}
				if err := c.Send(msg("bye")); err != nil {
					t.Fatal(err)
				}
				c.Close()
				if ev := tc.waitClose(t); ev.reason != protocol.ReasonIOClientDisconnect {
					t.Fatalf("OnClose(%q, %v)", ev.reason, ev.err)
				}
				s.waitLogFunc(t, func(ev string) bool { return strings.HasSuffix(ev, "message bye") })
				s.close()
			}
		})
	}
}

func TestCallbackPanicClosesTheConnection(t *testing.T) {
	t.Parallel()
	s := newFakeServer(t, protocol.EIO4, nil)
	tc := newTestClient()
	opts := tc.options(Options{Transport: TransportWebSocket})
	opts.OnMessage = func([]byte, bool) { panic("handler bug") }
	c, err := Dial(t.Context(), s.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(msg("x")); err != nil {
		t.Fatal(err)
	}
	ev := tc.waitClose(t)
	if ev.reason != protocol.ReasonTransportError || ev.err == nil || !strings.Contains(ev.err.Error(), "handler bug") {
		t.Fatalf("OnClose(%q, %v)", ev.reason, ev.err)
	}
}
