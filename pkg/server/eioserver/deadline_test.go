package eioserver

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// deadlineWait replaces the 5 s close timeout and the writer's
// PingInterval+PingTimeout in the tests below: long enough that a loaded
// machine still finishes each blocking write well within it, short enough
// to wait it out.
const deadlineWait = 3 * time.Second

// waitPast sleeps until the deadline of a blocking write started at or
// before start has passed: the time passing is what these tests are about.
func waitPast(start time.Time) {
	time.Sleep(time.Until(start.Add(deadlineWait + 200*time.Millisecond)))
}

// A session upgraded from polling is still written to after the deadline
// of its probe's "3probe" has passed (issue 10: the deadline was left set,
// and the first inline write after it failed, dropping every default
// socket.io-client with "transport error").
func TestUpgradedSessionWritesAfterProbeDeadline(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	ts.srv.cfg.wsCloseTimeout = deadlineWait
	sid, _ := ts.handshake("EIO=4&transport=polling")
	sess := ts.session()
	upgraded := make(chan struct{})
	sess.OnUpgrade(func(string) { close(upgraded) })
	c := ts.dial(q("EIO", "4", "transport", "websocket", "sid", sid))
	probeSent := time.Now() // before the server set the probe's deadline
	writeWS(t, c, websocket.TextMessage, "2probe")
	if _, s := readWS(t, c); s != "3probe" {
		t.Fatalf("probe answer %q", s)
	}
	writeWS(t, c, websocket.TextMessage, "5")
	select {
	case <-upgraded:
	case <-time.After(waitTimeout):
		t.Fatal("no upgrade")
	}
	waitPast(probeSent)
	// An inline write by a sender, then one by the reader (the echo).
	if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	if _, s := readWS(t, c); s != "4late" {
		t.Fatalf("got %q", s)
	}
	writeWS(t, c, websocket.TextMessage, "4echo")
	if _, s := readWS(t, c); s != "4echo" {
		t.Fatalf("got %q", s)
	}
	ts.noClose()
}

// After the writer goroutine has done a blocking write (the peer did not
// read for a while) and gone idle, an inline write after its deadline has
// passed still goes out.
func TestInlineWriteAfterWriterDeadline(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, false)
	ts.srv.cfg.writeWait = deadlineWait
	idle := make(chan struct{}, 1)
	ts.srv.testHookWriterIdle = func(*Session) {
		select {
		case idle <- struct{}{}:
		default:
		}
	}
	c := ts.dial("EIO=4&transport=websocket")
	readWS(t, c)
	sess := ts.session()
	// The client reads nothing until the socket is full and the writer
	// goroutine holds the rest: it is still on after Send returns.
	chunk := []byte(strings.Repeat("x", 64<<10))
	sent := 0
	for {
		if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: chunk}); err != nil {
			t.Fatal(err)
		}
		sent++
		sess.mu.Lock()
		blocked := sess.writerOn
		sess.mu.Unlock()
		if blocked {
			break
		}
		if sent == 1000 {
			t.Fatal("64 MB went out without blocking")
		}
	}
	for i := range sent {
		if _, s := readWS(t, c); len(s) != 1+len(chunk) {
			t.Fatalf("message %d: %d bytes", i, len(s))
		}
	}
	for {
		sess.mu.Lock()
		on := sess.writerOn
		sess.mu.Unlock()
		if !on {
			break
		}
		select {
		case <-idle:
		case <-time.After(waitTimeout):
			t.Fatal("the writer never went idle")
		}
	}
	waitPast(time.Now()) // the writer's last write started before now
	if err := sess.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	if _, s := readWS(t, c); s != "4late" {
		t.Fatalf("got %q", s)
	}
	ts.noClose()
}
