package eioclient

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// The upgrade must not lose, reorder or repeat a packet in either
// direction (issue 19): what the server sent on polling is delivered
// before anything that arrives on the WebSocket, and what the client sends
// while it upgrades reaches the server once, in order.

// waitSignal waits for ch, reporting a failure (from any goroutine) when
// it does not come.
func waitSignal[T any](t *testing.T, ch <-chan T, what string) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	case <-time.After(10 * time.Second):
		t.Errorf("timed out waiting for %s", what)
		var zero T
		return zero, false
	}
}

// TestUpgradeDeliversTheHeldPoll: the server holds the client's GET until
// it has answered the probe, then releases a payload of several packets
// (text and binary) on it, then sends more on the WebSocket after "5".
// "at 3probe" releases as soon as 3probe is written; "once paused" waits
// until the client has read 3probe, so that the response lands while the
// client pauses polling.
func TestUpgradeDeliversTheHeldPoll(t *testing.T) {
	t.Parallel()
	for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
		for _, release := range []string{"at 3probe", "once paused"} {
			t.Run(eio.String()+"/"+release, func(t *testing.T) {
				t.Parallel()
				polled := []protocol.EnginePacket{msg("p0"), msg("p1"), bin(0xb1), msg("p3"), msg("p4")}
				tapped3probe := make(chan struct{})
				s := newFakeServer(t, eio, func(s *fakeServer) {
					s.echo = false
					s.onProbe = func(ss *fakeSession, step string) {
						switch step {
						case "2probe": // the first poll is held: nothing is queued
							waitSignal(t, ss.gets, "the first poll")
						case "3probe":
							if release == "once paused" {
								waitSignal(t, tapped3probe, "the client to read 3probe")
							}
							ss.send(polled...)
						}
					}
				})
				tc := newTestClient()
				opts := tc.options(Options{EIO: eio})
				tap := opts.Tap
				opts.Tap = func(tr protocol.Trace) {
					tap(tr)
					if tr.Dir == protocol.In && tr.Engine.Type == protocol.EnginePong && string(tr.Engine.Data) == "probe" {
						close(tapped3probe)
					}
				}
				tc.conn = dialWith(t, s, opts)
				tc.waitUpgrade(t)
				s.waitLog(t, "ws< 5")
				ss := s.session(t)
				ss.send(msg("w0"), bin(0xb2), msg("w2"))

				want := []string{"p0", "p1", "\xb1", "p3", "p4", "w0", "\xb2", "w2"}
				for i, w := range want {
					if m := tc.recv(t); string(m.data) != w || m.binary != (w[0] == 0xb1 || w[0] == 0xb2) {
						t.Fatalf("message %d is %q (binary %v), want %q; traces %q", i, m.data, m.binary, w, tc.traceLog())
					}
				}
				// The held payload came on polling, the rest on the WebSocket.
				tc.mu.Lock()
				var transports []string
				for _, tr := range tc.traces {
					if tr.Dir == protocol.In && tr.Engine.Type == protocol.EngineMessage {
						transports = append(transports, tr.Transport)
					}
				}
				tc.mu.Unlock()
				wantTr := slices.Concat(slices.Repeat([]string{TransportPolling}, 5), slices.Repeat([]string{TransportWebSocket}, 3))
				if !slices.Equal(transports, wantTr) {
					t.Errorf("messages came on %q, want %q", transports, wantTr)
				}
			})
		}
	}
}

// TestUpgradeSendsEveryPacketOnce: the client sends before the upgrade,
// while the probe is in flight (between 2probe and 3probe), while polling
// pauses (right after 3probe), and after it. The server gets every
// message once and in order, whichever transport carried it.
func TestUpgradeSendsEveryPacketOnce(t *testing.T) {
	t.Parallel()
	for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
		t.Run(eio.String(), func(t *testing.T) {
			t.Parallel()
			conns := make(chan *Conn, 1)
			var want []string
			send := func(c *Conn, prefix string, n int) {
				for i := range n {
					if err := c.Send(msg(fmt.Sprintf("%s%d", prefix, i))); err != nil {
						t.Errorf("Send: %v", err)
					}
				}
			}
			for _, stage := range []struct {
				prefix string
				n      int
			}{{"before", 3}, {"probing", 20}, {"pausing", 20}, {"after", 3}} {
				for i := range stage.n {
					want = append(want, fmt.Sprintf("%s%d", stage.prefix, i))
				}
			}
			s := newFakeServer(t, eio, func(s *fakeServer) {
				s.echo = false
				s.onProbe = func(ss *fakeSession, step string) {
					c, ok := waitSignal(t, conns, "the connection")
					if !ok {
						return
					}
					conns <- c
					switch step {
					case "2probe":
						send(c, "probing", 20)
					case "3probe":
						send(c, "pausing", 20)
					}
				}
			})
			tc := newTestClient()
			tc.conn = dialWith(t, s, tc.options(Options{EIO: eio}))
			send(tc.conn, "before", 3)
			conns <- tc.conn
			tc.waitUpgrade(t)
			send(tc.conn, "after", 3)

			ss := s.session(t)
			var got []string
			for len(got) < len(want) {
				p, ok := waitSignal(t, ss.received, "a message at the server")
				if !ok {
					t.Fatalf("the server got %q", got)
				}
				if p.Type == protocol.EngineMessage {
					got = append(got, string(p.Data))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("the server got\n%q\nwant\n%q", got, want)
			}
			// Nothing more: no message was sent twice.
			if err := tc.conn.Send(msg("last")); err != nil {
				t.Fatal(err)
			}
			for {
				p, ok := waitSignal(t, ss.received, "the last message")
				if !ok {
					return
				}
				if p.Type == protocol.EngineMessage {
					if string(p.Data) != "last" {
						t.Fatalf("after every message, the server got %q again", p.Data)
					}
					break
				}
			}
			// The polling requests had all ended when 5 was sent.
			log := s.events()
			up := slices.Index(log, "ws< 5")
			count := map[string]int{}
			for _, ev := range log[:up] {
				count[ev]++
			}
			if count["POST start"] != count["POST end"] || count["GET start"] != count["GET end"] {
				t.Fatalf("a polling request was in flight at 5: %q", log)
			}
		})
	}
}

// TestNoDeadlineOutlivesItsPhase: the handshake is bounded by Dial's
// context and the probe by ProbeTimeout, and neither bound may stay on the
// socket afterwards (a WebSocket dialled under a deadline keeps it on its
// net.Conn unless it is cleared): a session idle past both still reads and
// writes.
func TestNoDeadlineOutlivesItsPhase(t *testing.T) {
	t.Parallel()
	const phase = 300 * time.Millisecond
	for _, transport := range []string{TransportAuto, TransportWebSocket} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer(t, protocol.EIO4, nil)
			tc := newTestClient()
			ctx, cancel := context.WithTimeout(t.Context(), phase)
			defer cancel()
			c, err := Dial(ctx, s.url(), tc.options(Options{Transport: transport, ProbeTimeout: phase}))
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			tc.conn = c
			t.Cleanup(func() { c.Close() })
			if transport == TransportAuto {
				tc.waitUpgrade(t)
			}
			// Idle past both bounds: time is what this test is about.
			time.Sleep(2 * phase)
			if err := c.Send(msg("late")); err != nil {
				t.Fatal(err)
			}
			if m := tc.recv(t); string(m.data) != "late" {
				t.Fatalf("got %q", m.data)
			}
			if tr := c.Transport(); tr != TransportWebSocket {
				t.Fatalf("transport %s", tr)
			}
		})
	}
}
