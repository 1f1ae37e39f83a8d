package client

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// fakeEngine is an in-memory Engine.IO peer: each dial makes a fakeConn
// that the test drives as the server.
type fakeEngine struct {
	t     *testing.T
	eio   protocol.EIO
	conns chan *fakeConn

	mu     sync.Mutex
	dials  int
	failAt func(n int) error // dial n (from 1) fails with this error
	early  []string          // messages delivered before Dial returns
	// guess: a dial with EIO auto makes an EIO4 connection that reports
	// EIOGuessed, as engine does over WebSocket with a socket.io 2 server
	// slower than its detection window; other dials get eio.
	guess   bool
	lastCfg engineConfig
}

func newFakeEngine(t *testing.T, eio protocol.EIO) *fakeEngine {
	return &fakeEngine{t: t, eio: eio, conns: make(chan *fakeConn, 16)}
}

func (f *fakeEngine) dial(ctx context.Context, base *url.URL, cfg engineConfig) (engineConn, error) {
	f.mu.Lock()
	f.dials++
	n := f.dials
	fail := f.failAt
	early := f.early
	guess := f.guess && cfg.EIO == 0
	f.lastCfg = cfg
	f.mu.Unlock()
	if fail != nil {
		if err := fail(n); err != nil {
			return nil, err
		}
	}
	fc := &fakeConn{
		sid:  "eio" + string(rune('A'+n-1)),
		eio:  f.eio,
		cfg:  cfg,
		sent: make(chan protocol.EnginePacket, 1024),
		done: make(chan struct{}),
	}
	if guess {
		fc.eio, fc.guessed = protocol.EIO4, true
	}
	for _, m := range early {
		cfg.OnMessage([]byte(m), false)
	}
	f.conns <- fc
	return fc, nil
}

// next returns the connection made by the next dial.
func (f *fakeEngine) next(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case fc := <-f.conns:
		return fc
	case <-time.After(5 * time.Second):
		t.Fatal("no dial")
		return nil
	}
}

type fakeConn struct {
	sid     string
	eio     protocol.EIO
	guessed bool
	cfg     engineConfig
	sent    chan protocol.EnginePacket

	mu     sync.Mutex // serializes deliveries, like a reader goroutine
	once   sync.Once
	done   chan struct{}
	closed bool
	reason protocol.DisconnectReason
}

func (c *fakeConn) SID() string           { return c.sid }
func (c *fakeConn) EIO() protocol.EIO     { return c.eio }
func (c *fakeConn) EIOGuessed() bool      { return c.guessed }
func (c *fakeConn) Transport() string     { return "websocket" }
func (c *fakeConn) Done() <-chan struct{} { return c.done }
func (c *fakeConn) Flush(ctx context.Context) error {
	return nil
}

var errFakeClosed = errors.New("fake closed")

func (c *fakeConn) Send(msgs ...protocol.EnginePacket) error {
	select {
	case <-c.done:
		return errFakeClosed
	default:
	}
	for _, m := range msgs {
		m.Data = append([]byte(nil), m.Data...)
		select {
		case c.sent <- m:
		default:
			return errors.New("fake queue full")
		}
	}
	return nil
}

func (c *fakeConn) Close() error {
	c.end(protocol.ReasonIOClientDisconnect, nil)
	return nil
}

// end closes the connection as the transport would, reporting reason.
func (c *fakeConn) end(reason protocol.DisconnectReason, err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed, c.reason = true, reason
		c.mu.Unlock()
		close(c.done)
		c.cfg.OnClose(reason, err)
	})
}

func (c *fakeConn) closeReason() protocol.DisconnectReason {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// deliver hands the client a text Socket.IO message (without the "4").
func (c *fakeConn) deliver(msgs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		if c.closed {
			return
		}
		c.cfg.OnMessage([]byte(m), false)
	}
}

func (c *fakeConn) deliverBinary(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.cfg.OnMessage(b, true)
	}
}

// expect reads the next message the client sent and compares its text.
func (c *fakeConn) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case m := <-c.sent:
		if m.Binary {
			t.Fatalf("sent binary %x, want text %q", m.Data, want)
		}
		if string(m.Data) != want {
			t.Fatalf("sent %q, want %q", m.Data, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing sent, want %q", want)
	}
}

func (c *fakeConn) expectBinary(t *testing.T, want []byte) {
	t.Helper()
	select {
	case m := <-c.sent:
		if !m.Binary || string(m.Data) != string(want) {
			t.Fatalf("sent %q (binary %v), want binary %x", m.Data, m.Binary, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing sent, want binary %x", want)
	}
}

func (c *fakeConn) expectNothing(t *testing.T) {
	t.Helper()
	select {
	case m := <-c.sent:
		t.Fatalf("unexpected send %q", m.Data)
	default:
	}
}

func (c *fakeConn) waitClosed(t *testing.T) protocol.DisconnectReason {
	t.Helper()
	select {
	case <-c.done:
		return c.closeReason()
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
		return ""
	}
}

// states collects a client's lifecycle events on a channel.
type states chan State

func watchStates(c *Client) states {
	ch := make(states, 256)
	c.OnState(func(s State) {
		select {
		case ch <- s:
		default:
		}
	})
	return ch
}

// waitFor returns the next state of kind k, skipping others.
func (ch states) waitFor(t *testing.T, k StateKind) State {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s := <-ch:
			if s.Kind == k {
				return s
			}
		case <-deadline:
			t.Fatalf("no %s state", k)
		}
	}
}

// testOptions are fast, deterministic options on fake engine f.
func testOptions(f *fakeEngine) Options {
	return Options{
		dial:              f.dial,
		rand:              func() float64 { return 0 },
		ReconnectDelay:    time.Millisecond,
		ReconnectDelayMax: 5 * time.Millisecond,
	}
}

// dialFake connects a client on f, answering the CONNECT of "/" as a v5
// server with sid "S1" (or as v4 with the implicit "40").
func dialFake(t *testing.T, f *fakeEngine, rawURL string, opts Options) (*Client, *fakeConn, states) {
	t.Helper()
	c, err := New(rawURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	st := watchStates(c)
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	fc := f.next(t)
	nsp := c.mainNsp
	if f.eio == protocol.EIO4 {
		want := "0"
		if nsp != "/" {
			want += nsp + ","
		}
		if len(opts.Auth) > 0 {
			want += string(opts.Auth)
		}
		fc.expect(t, want)
		if nsp == "/" {
			fc.deliver(`0{"sid":"S1"}`)
		} else {
			fc.deliver("0" + nsp + `,{"sid":"S1"}`)
		}
	} else {
		if nsp != "/" {
			fc.expect(t, "0"+nsp+",")
			fc.deliver("0" + nsp + ",")
		} else {
			fc.deliver("0")
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, fc, st
}
