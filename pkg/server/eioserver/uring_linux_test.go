package eioserver

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// useRing turns the experimental io_uring flush on for the test, and off
// again after it unless SIO_URING=1 had it on already.
func useRing(t *testing.T) {
	t.Helper()
	uringState.once.Do(func() {})
	uringState.mu.Lock()
	defer uringState.mu.Unlock()
	if uringState.r == nil {
		r, err := newRing(1024, 0, 0)
		if err != nil {
			t.Skipf("io_uring unavailable: %v", err)
		}
		uringState.r = r
		t.Cleanup(func() {
			uringState.mu.Lock()
			uringState.r = nil
			uringState.mu.Unlock()
			r.close()
		})
	}
}

// One batch over three sessions through the ring: a peer that reads gets
// its frame; a peer that does not read yet gets a frame larger than the
// socket takes at once (a short send or EAGAIN: the writer goroutine
// finishes it); a peer that has gone is ended, not hung on.
func TestFlushBatchUringShortAndClosed(t *testing.T) {
	useRing(t)
	ts := newTestServer(t, Options{}, false)
	var cs []*websocket.Conn
	var ss []*Session
	for range 3 {
		c := ts.dial(q("EIO", "4", "transport", "websocket"))
		s := ts.session()
		readWS(t, c) // open
		waitWriterIdle(t, s)
		cs, ss = append(cs, c), append(ss, s)
	}
	cs[2].UnderlyingConn().Close()
	time.Sleep(50 * time.Millisecond)

	big := strings.Repeat("x", 8<<20)
	var b FlushBatch
	b.begin()
	for i, s := range ss {
		data := "small"
		if i == 1 {
			data = big
		}
		_ = s.SendDeferred(&b, msg(data))
	}
	b.end()
	if _, got := readWS(t, cs[0]); got != "4small" {
		t.Fatalf("reading peer got %q", got)
	}
	cs[1].SetReadLimit(16 << 20)
	if _, got := readWS(t, cs[1]); got != "4"+big {
		t.Fatalf("slow peer got %d bytes, want %d", len(got), 1+len(big))
	}
	waitWriterIdle(t, ss[1])
	_ = ss[2].Send(msg("again")) // a reset connection fails at the latest now
	select {
	case <-ts.close:
	case <-time.After(5 * time.Second):
		t.Fatal("the session of the closed peer did not end")
	}
}
