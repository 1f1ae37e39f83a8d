package server

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// fakeSession is a recording Engine.IO session: what the server sends goes
// to a channel, what the test sends is fed to the conn's reader.
type fakeSession struct {
	id         string
	eio        protocol.EIO
	transport  string
	out        chan protocol.EnginePacket
	done       chan struct{}
	volatileOK bool

	mu     sync.Mutex
	closed bool
	reason protocol.DisconnectReason
	c      *conn
	readMu sync.Mutex // one reader at a time, like the engine
}

func (f *fakeSession) ID() string        { return f.id }
func (f *fakeSession) EIO() protocol.EIO { return f.eio }
func (f *fakeSession) Transport() string { return f.transport }
func (f *fakeSession) Send(msgs ...protocol.EnginePacket) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errFakeClosed
	}
	if len(f.out)+len(msgs) > cap(f.out) {
		go f.Close(protocol.ReasonTransportError)
		return errFakeFull
	}
	for _, m := range msgs {
		f.out <- m
	}
	return nil
}
func (f *fakeSession) SendVolatile(msgs ...protocol.EnginePacket) bool {
	if !f.volatileOK {
		return false
	}
	return f.Send(msgs...) == nil
}
func (f *fakeSession) Close(reason protocol.DisconnectReason) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.reason = reason
	close(f.done)
	f.mu.Unlock()
	if f.c != nil {
		f.c.onClose(reason)
	}
}

type fakeErr string

func (e fakeErr) Error() string { return string(e) }

const (
	errFakeClosed = fakeErr("closed")
	errFakeFull   = fakeErr("queue full")
)

// fakeClient drives a fakeSession from the client side.
type fakeClient struct {
	t    *testing.T
	sess *fakeSession
}

func dialFake(t *testing.T, srv *Server, eio protocol.EIO) *fakeClient {
	t.Helper()
	f := &fakeSession{id: srv.opts.NewID(), eio: eio, transport: "websocket", out: make(chan protocol.EnginePacket, 64), done: make(chan struct{}), volatileOK: true}
	c := srv.attach(f, &requestInfo{RemoteAddr: "127.0.0.1:1234", Time: time.Now()})
	if c == nil {
		t.Fatal("attach refused")
	}
	f.c = c
	c.start()
	t.Cleanup(func() { f.Close(protocol.ReasonTransportClose) })
	return &fakeClient{t: t, sess: f}
}

// send feeds one text message (without the engine "4").
func (c *fakeClient) send(text string) {
	c.sess.readMu.Lock()
	defer c.sess.readMu.Unlock()
	c.sess.c.onMessage([]byte(text), false)
}

func (c *fakeClient) sendBinary(b []byte) {
	c.sess.readMu.Lock()
	defer c.sess.readMu.Unlock()
	c.sess.c.onMessage(b, true)
}

// next returns the next message the server sent: text as is, binary as
// "<bin:hex>".
func (c *fakeClient) next() string {
	c.t.Helper()
	select {
	case m := <-c.sess.out:
		if m.Binary {
			return "<bin:" + hexString(m.Data) + ">"
		}
		return string(m.Data)
	case <-time.After(2 * time.Second):
		c.t.Fatal("timed out waiting for a server message")
		return ""
	}
}

func (c *fakeClient) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// expectPrefix checks a message's start and returns it.
func (c *fakeClient) expectPrefix(prefix string) string {
	c.t.Helper()
	got := c.next()
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("got %q, want prefix %q", got, prefix)
	}
	return got
}

func (c *fakeClient) expectNothing() {
	c.t.Helper()
	select {
	case m := <-c.sess.out:
		c.t.Fatalf("unexpected message %q", m.Data)
	case <-time.After(50 * time.Millisecond):
	}
}

func (c *fakeClient) expectClosed(reason protocol.DisconnectReason) {
	c.t.Helper()
	select {
	case <-c.sess.done:
	case <-time.After(2 * time.Second):
		c.t.Fatal("session not closed")
	}
	c.sess.mu.Lock()
	defer c.sess.mu.Unlock()
	if c.sess.reason != reason {
		c.t.Fatalf("closed with %q, want %q", c.sess.reason, reason)
	}
}

func (c *fakeClient) isClosed() bool {
	select {
	case <-c.sess.done:
		return true
	default:
		return false
	}
}

func hexString(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, hex[x>>4], hex[x&0xf])
	}
	return string(out)
}

// connectV5 connects nsp and returns the socket id from the reply.
func (c *fakeClient) connectV5(nsp string) string {
	c.t.Helper()
	prefix := "0"
	if nsp != "/" {
		prefix += nsp + ","
	}
	c.send(prefix)
	reply := c.expectPrefix(prefix + `{"sid":"`)
	return strings.TrimSuffix(strings.TrimPrefix(reply, prefix+`{"sid":"`), `"}`)
}
