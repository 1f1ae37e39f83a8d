package eioserver

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// Where there is a poller, idle WebSocket sessions wait in its epoll set
// (no goroutine of their own) and are read again when data comes.
func TestWebSocketIdleSessionsInPoller(t *testing.T) {
	ts := newTestServer(t, Options{}, true)
	if ts.srv.poller() == nil {
		t.Fatal("no poller")
	}
	var conns []*rawWS
	for range 20 {
		w := dialRaw(t, ts)
		w.frame()
		ts.session()
		conns = append(conns, w)
	}
	for _, w := range conns { // each still answers
		w.send(clientFrame(true, wsframe.OpText, "4ok"), 64)
		if _, p := w.frame(); p != "4ok" {
			t.Fatalf("got %q", p)
		}
		ts.message()
	}
	ts.srv.mu.Lock()
	p := ts.srv.pl
	ts.srv.mu.Unlock()
	p.qmu.Lock()
	workers := p.idle
	p.qmu.Unlock()
	p.mu.Lock()
	registered := len(p.readers)
	p.mu.Unlock()
	if registered != 20 || workers > maxIdleWorkers {
		t.Fatalf("%d registered, %d idle workers", registered, workers)
	}
}

// A client that writes one byte at a time (every frame split at every
// byte, each byte read alone by the poller's worker) is read correctly:
// lengths with a 16-bit extension, a fragmented message with a ping
// between its fragments, binary, an empty ping. Not parallel: it sets the
// package's read hook.
func TestWebSocketPollerOneByteReads(t *testing.T) {
	reads := make(chan int, 64)
	testHookBurstRead = func(n int) { reads <- n }
	t.Cleanup(func() { testHookBurstRead = nil })
	ts := newTestServer(t, Options{MaxPayload: 1 << 20}, true)
	w := dialRaw(t, ts)
	if op, p := w.frame(); op != wsframe.OpText || p[0] != '0' {
		t.Fatalf("open: %d %q", op, p)
	}
	sess := ts.session()
	long := "4" + strings.Repeat("long ", 60)
	script := slices.Concat(
		clientFrame(true, wsframe.OpText, long),
		clientFrame(false, wsframe.OpText, "4frag"),
		clientFrame(true, wsframe.OpPing, "hey"),
		clientFrame(false, wsframe.OpContinuation, "men"),
		clientFrame(true, wsframe.OpContinuation, "ted"),
		clientFrame(true, wsframe.OpBinary, "\x00\x01\x02"),
		clientFrame(true, wsframe.OpPing, ""),
	)
	for i, b := range script {
		if _, err := w.c.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-reads:
			if n != 1 {
				t.Fatalf("byte %d: a read of %d bytes", i, n)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("byte %d was not read", i)
		}
	}
	want := []struct {
		op byte
		p  string
	}{{wsframe.OpText, long}, {wsframe.OpPong, "hey"}, {wsframe.OpText, "4fragmented"}, {wsframe.OpBinary, "\x00\x01\x02"}, {wsframe.OpPong, ""}}
	for _, f := range want {
		if op, p := w.frame(); op != f.op || p != f.p {
			t.Fatalf("got %d %q, want %d %q", op, p, f.op, f.p)
		}
	}
	sess.mu.Lock()
	rd := sess.wst.rd
	sess.mu.Unlock()
	rd.mu.Lock()
	polled := rd.poller != nil
	rd.mu.Unlock()
	if !polled {
		t.Fatal("the session was not read through the poller")
	}
	for _, m := range []string{long[1:], "fragmented"} {
		if got := ts.message(); got.data != m || got.binary {
			t.Fatalf("message %q, want %q", got.data, m)
		}
	}
	if got := ts.message(); got.data != "\x00\x01\x02" || !got.binary {
		t.Fatalf("binary message %q", got.data)
	}
}

// A client that sends a message and closes at once (data and FIN read by
// one burst, whose short read would otherwise end it) is seen to close
// at once, not at the ping timeout.
func TestWebSocketPollerDataThenEOF(t *testing.T) {
	ts := newTestServer(t, Options{}, false)
	for i := range 30 {
		w := dialRaw(t, ts)
		w.frame()
		sess := ts.session()
		if _, err := w.c.Write(clientFrame(true, wsframe.OpText, "4bye")); err != nil {
			t.Fatal(err)
		}
		w.c.(*net.TCPConn).CloseWrite()
		if m := ts.message(); m.data != "bye" {
			t.Fatalf("round %d: message %q", i, m.data)
		}
		if c := ts.closed(); c.sid != sess.ID() || c.reason != protocol.ReasonTransportClose {
			t.Fatalf("round %d: closed %s %q, want %s transport close", i, c.sid, c.reason, sess.ID())
		}
		w.c.Close()
	}
}
