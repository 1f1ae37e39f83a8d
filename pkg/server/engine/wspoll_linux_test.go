package engine

import "testing"

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
		w.send(clientFrame(true, opText, "4ok"), 64)
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
