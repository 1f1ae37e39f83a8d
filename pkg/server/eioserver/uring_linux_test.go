//go:build linux && !sio_nouring

package eioserver

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// The io_uring flush of a FlushBatch. The rest of the package's tests run
// with it as it is by default (on where the kernel allows it); `go test
// -tags sio_nouring` builds the package without it (scripts/test.sh runs
// ./pkg/server/... so too).

// ringUsed reports how many io_uring_enter calls the server made and
// whether its ring is up.
func ringUsed(srv *Server) (int, bool) {
	srv.uring.mu.Lock()
	defer srv.uring.mu.Unlock()
	return srv.uring.enters, srv.uring.r != nil
}

// needRing skips the test where io_uring cannot be set up.
func needRing(t *testing.T) {
	t.Helper()
	r, err := newRing(8)
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	r.Close()
}

// setRingHooks installs test replacements (under the ring's lock: the
// server's goroutines read them under it).
func setRingHooks(srv *Server, setup func() (*ring, error), enter func(*ring, uint32, time.Duration) (int, error)) {
	srv.uring.mu.Lock()
	srv.uring.newRing, srv.uring.enter = setup, enter
	srv.uring.mu.Unlock()
}

// wsPeers dials n WebSocket sessions and reads their open packets.
func wsPeers(t *testing.T, ts *testServer, n int) ([]*websocket.Conn, []*Session) {
	t.Helper()
	cs := make([]*websocket.Conn, n)
	ss := make([]*Session, n)
	for i := range n {
		cs[i] = ts.dial(q("EIO", "4", "transport", "websocket"))
		ss[i] = ts.session()
		if _, open := readWS(t, cs[i]); open[0] != '0' {
			t.Fatalf("first frame %q, want the open packet", open)
		}
		waitWriterIdle(t, ss[i])
	}
	return cs, ss
}

// broadcast sends data to every session through one FlushBatch, as a
// reader handling a broadcast does.
func broadcast(ss []*Session, data string) {
	var b FlushBatch
	b.begin()
	for _, s := range ss {
		_ = s.SendDeferred(&b, msg(data))
	}
	b.end()
}

// readUntil reads c's messages until last (included) or the connection's
// end, and returns them.
func readUntil(c *websocket.Conn, last string) ([]string, error) {
	var got []string
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return got, err
		}
		got = append(got, string(b))
		if string(b) == last {
			return got, nil
		}
	}
}

// Two broadcasters fan out to 40 sessions with the ring on and off: every
// peer gets each broadcaster's frames exactly once and in order.
func TestFlushBatchFanOutExactlyOnce(t *testing.T) {
	for _, mode := range []IOUringMode{IOUringAuto, IOUringOff} {
		t.Run(string(mode), func(t *testing.T) {
			if mode == IOUringAuto {
				needRing(t)
			}
			ts := newTestServer(t, Options{IOUring: mode}, false)
			cs, ss := wsPeers(t, ts, 40)
			const rounds = 150
			var wg sync.WaitGroup
			for _, who := range []string{"a", "b"} {
				wg.Go(func() {
					for i := range rounds {
						broadcast(ss, fmt.Sprintf("%s%d", who, i))
					}
				})
			}
			var rg sync.WaitGroup
			errs := make(chan error, len(cs))
			for _, c := range cs {
				rg.Go(func() {
					next := map[byte]int{'a': 0, 'b': 0}
					_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
					for next['a'] < rounds || next['b'] < rounds {
						_, b, err := c.ReadMessage()
						if err != nil {
							errs <- err
							return
						}
						want := fmt.Sprintf("4%c%d", b[1], next[b[1]])
						if string(b) != want {
							errs <- fmt.Errorf("got %q, want %q", b, want)
							return
						}
						next[b[1]]++
					}
				})
			}
			wg.Wait()
			rg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			ts.noClose()
			enters, up := ringUsed(ts.srv)
			switch {
			case mode == IOUringOff && (enters != 0 || up):
				t.Errorf("ring used with IOUringOff: %d enters", enters)
			case mode == IOUringAuto && (enters == 0 || !up):
				t.Errorf("ring not used: %d enters, up %v", enters, up)
			}
		})
	}
}

// A peer that reads nothing while large broadcasts fill its socket does
// not hold up the others (its writer goroutine waits for it), and gets
// everything in order once it reads.
func TestFlushBatchUringSlowReceiver(t *testing.T) {
	needRing(t)
	ts := newTestServer(t, Options{SendQueueBytes: 1 << 30}, false)
	cs, ss := wsPeers(t, ts, 4)
	big := strings.Repeat("x", 256<<10)
	const rounds = 40 // 10 MB: more than a loopback socket buffers
	for i := range rounds {
		broadcast(ss, fmt.Sprintf("%d%s", i, big))
	}
	broadcast(ss, "end")
	for i, c := range cs[1:] { // cs[0] has not read yet
		c.SetReadLimit(1 << 20)
		got, err := readUntil(c, "4end")
		if err != nil || len(got) != rounds+1 {
			t.Fatalf("peer %d: %d messages, %v", i+1, len(got), err)
		}
	}
	cs[0].SetReadLimit(1 << 20)
	got, err := readUntil(cs[0], "4end")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != rounds+1 {
		t.Fatalf("slow peer got %d messages, want %d", len(got), rounds+1)
	}
	for i, m := range got[:rounds] {
		if !strings.HasPrefix(m, fmt.Sprintf("4%d", i)) || len(m) != len(fmt.Sprintf("4%d", i))+len(big) {
			t.Fatalf("slow peer's message %d: %q…", i, m[:10])
		}
	}
	ts.noClose()
	if enters, _ := ringUsed(ts.srv); enters == 0 {
		t.Error("ring not used")
	}
}

// A peer that goes away in the middle of the broadcasts, and a connection
// that breaks under the server (its sends fail: EPIPE in the CQE), end
// their sessions; the others get everything.
func TestFlushBatchUringReceiverLeaves(t *testing.T) {
	needRing(t)
	ts := newTestServer(t, Options{}, false)
	cs, ss := wsPeers(t, ts, 10)
	for i := range 100 {
		switch i {
		case 30:
			cs[3].UnderlyingConn().Close()
		case 50:
			_ = ss[5].wst.nc.(*net.TCPConn).CloseWrite()
		}
		broadcast(ss, fmt.Sprint(i))
	}
	broadcast(ss, "end")
	for i, c := range cs {
		if i == 3 || i == 5 {
			continue
		}
		if got, err := readUntil(c, "4end"); err != nil || len(got) != 101 {
			t.Fatalf("peer %d: %d messages, %v", i, len(got), err)
		}
	}
	if got, err := readUntil(cs[5], "4end"); err == nil || len(got) != 50 {
		t.Fatalf("peer 5 (broken at 50): %d messages, %v", len(got), err)
	}
	gone := map[string]protocol.DisconnectReason{}
	for range 2 {
		c := ts.closed()
		gone[c.sid] = c.reason
	}
	if _, ok := gone[ss[3].ID()]; !ok {
		t.Errorf("the session whose peer left did not end: %v", gone)
	}
	if r := gone[ss[5].ID()]; r != protocol.ReasonTransportError {
		t.Errorf("the broken session ended with %q, want transport error", r)
	}
	ts.noClose()
}

// A server whose ring cannot be set up (seccomp, an old kernel) writes
// with write(2).
func TestFlushBatchUringSetupFails(t *testing.T) {
	ts := newTestServer(t, Options{}, false)
	setRingHooks(ts.srv, func() (*ring, error) { return nil, errors.New("io_uring_setup: operation not permitted") }, nil)
	cs, ss := wsPeers(t, ts, 5)
	for i := range 20 {
		broadcast(ss, fmt.Sprint(i))
	}
	broadcast(ss, "end")
	for i, c := range cs {
		if got, err := readUntil(c, "4end"); err != nil || len(got) != 21 {
			t.Fatalf("peer %d: %d messages, %v", i, len(got), err)
		}
	}
	if enters, up := ringUsed(ts.srv); enters != 0 || up {
		t.Fatalf("%d enters, ring up %v", enters, up)
	}
}

var errUringInjected = errors.New("injected io_uring_enter failure")

// An io_uring_enter that fails after the kernel took the sends, their
// completions lost: their outcome is unknown to the server, so each
// session ends with a transport error (no frame written again), and the
// ring is off for good: later broadcasts use write(2).
func TestFlushBatchUringEnterFails(t *testing.T) {
	needRing(t)
	ts := newTestServer(t, Options{}, false)
	failed := false
	setRingHooks(ts.srv, nil, func(r *ring, minComplete uint32, wait time.Duration) (int, error) {
		if failed {
			t.Error("the ring was entered after its failure")
		}
		failed = true
		_, _ = r.Enter(minComplete, wait) // the frames go out
		r.Reap(func(*cqe) {})             // and their completions are lost
		return 0, errUringInjected
	})
	cs, ss := wsPeers(t, ts, 6)
	broadcast(ss, "m0")
	closedSIDs := map[string]bool{}
	for range ss {
		c := ts.closed()
		if c.reason != protocol.ReasonTransportError {
			t.Fatalf("session closed with %q, want transport error", c.reason)
		}
		closedSIDs[c.sid] = true
	}
	for i, c := range cs {
		got, err := readUntil(c, "")
		if err == nil || len(got) > 1 || (len(got) == 1 && got[0] != "4m0") {
			t.Fatalf("peer %d got %q (%v); want m0 at most once, then the end", i, got, err)
		}
		if !closedSIDs[ss[i].ID()] {
			t.Fatalf("session %d not closed", i)
		}
	}
	if _, up := ringUsed(ts.srv); up {
		t.Fatal("the ring is still on")
	}
	cs, ss = wsPeers(t, ts, 3)
	broadcast(ss, "m1")
	broadcast(ss, "end")
	for i, c := range cs {
		if got, err := readUntil(c, "4end"); err != nil || strings.Join(got, " ") != "4m1 4end" {
			t.Fatalf("peer %d after the failure: %q, %v", i, got, err)
		}
	}
	ts.noClose()
}

// A partial submit (the kernel takes the first half of the SQEs): the
// sends taken complete as usual, the rest are written with write(2), every
// frame arrives once, and the SQEs left in the SQ are never submitted: the
// ring is off for good.
func TestFlushBatchUringPartialSubmit(t *testing.T) {
	needRing(t)
	ts := newTestServer(t, Options{}, false)
	calls := 0
	setRingHooks(ts.srv, nil, func(r *ring, minComplete uint32, wait time.Duration) (int, error) {
		calls++
		switch calls {
		case 1:
			r.HoldBack(r.Pending() / 2)
			return r.Enter(minComplete/2, wait)
		case 2: // waiting for the half taken, if not all completed at once
			return r.Enter(minComplete, wait)
		}
		t.Error("the ring was entered after a partial submit")
		return 0, errUringInjected
	})
	cs, ss := wsPeers(t, ts, 8)
	for i := range 5 {
		broadcast(ss, fmt.Sprint(i))
	}
	broadcast(ss, "end")
	for i, c := range cs {
		got, err := readUntil(c, "4end")
		if err != nil || strings.Join(got, " ") != "40 41 42 43 44 4end" {
			t.Fatalf("peer %d: %q, %v", i, got, err)
		}
	}
	if _, up := ringUsed(ts.srv); up {
		t.Fatal("the ring is still on")
	}
	ts.noClose()
}

// Replies held by a poller worker for one submission (the sessions its
// reads sent to, written once its queue is empty): 30 peers each send 300
// messages, in bursts of several frames per write, to an echo server; each
// gets every reply once and in order, with the ring on and off.
func TestRepliesWrittenByWorkerExactlyOnce(t *testing.T) {
	for _, mode := range []IOUringMode{IOUringAuto, IOUringOff} {
		t.Run(string(mode), func(t *testing.T) {
			if mode == IOUringAuto {
				needRing(t)
			}
			ts := newTestServer(t, Options{IOUring: mode}, true)
			const peers, msgs, burst = 30, 300, 3
			var ws []*rawWS
			for range peers {
				w := dialRaw(t, ts)
				w.frame()
				ts.session()
				ws = append(ws, w)
			}
			done := make(chan struct{})
			defer close(done)
			go func() { // the test server reports every message: drain
				for {
					select {
					case <-ts.msgs:
					case <-done:
						return
					}
				}
			}()
			var wg sync.WaitGroup
			errs := make(chan error, peers)
			for p, w := range ws {
				wg.Go(func() {
					for i := 0; i < msgs; i += burst {
						var b []byte
						for j := i; j < i+burst; j++ {
							b = append(b, clientFrame(true, wsframe.OpText, fmt.Sprintf("4p%d-%d", p, j))...)
						}
						if _, err := w.c.Write(b); err != nil {
							errs <- err
							return
						}
					}
				})
				wg.Go(func() {
					for i := range msgs {
						if _, got := w.frame(); got != fmt.Sprintf("4p%d-%d", p, i) {
							errs <- fmt.Errorf("peer %d: reply %d is %q", p, i, got)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			ts.noClose()
			enters, _ := ringUsed(ts.srv)
			t.Logf("%d io_uring submissions for %d replies", enters, peers*msgs)
		})
	}
}
