package server

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// discardSession is an Engine.IO session that drops what is sent, for
// measuring the Socket.IO layer alone.
type discardSession struct {
	id   string
	sent atomic.Int64
	last atomic.Pointer[protocol.EnginePacket]
	c    *conn
	keep bool
}

func (d *discardSession) ID() string        { return d.id }
func (d *discardSession) EIO() protocol.EIO { return protocol.EIO4 }
func (d *discardSession) Transport() string { return "websocket" }
func (d *discardSession) Send(msgs ...protocol.EnginePacket) error {
	d.sent.Add(int64(len(msgs)))
	if d.keep {
		m := msgs[0]
		d.last.Store(&m)
	}
	return nil
}
func (d *discardSession) SendVolatile(msgs ...protocol.EnginePacket) bool {
	return d.Send(msgs...) == nil
}
func (d *discardSession) Close(reason protocol.DisconnectReason) {
	if d.c != nil {
		d.c.onClose(reason)
	}
}

func benchConn(b *testing.B, srv *Server, keep bool) (*discardSession, *Socket) {
	b.Helper()
	d := &discardSession{id: srv.opts.NewID(), keep: keep}
	c := srv.attach(d, &requestInfo{Time: time.Now()})
	d.c = c
	c.start()
	c.onMessage([]byte("0"), false)
	s := c.socket("/")
	if s == nil {
		b.Fatal("not connected")
	}
	return d, s
}

var payload64 = `{"user":"ann","text":"hello, world","n":12345,"tags":["a","b"]}`

// BenchmarkEventDispatch: one incoming EVENT decoded and dispatched to its
// handler, which reads an argument.
func BenchmarkEventDispatch(b *testing.B) {
	srv := newServer(Options{})
	defer srv.Close()
	var seen int
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("chat", func(e *Event) { seen += len(e.Raw[0]) })
	})
	d, _ := benchConn(b, srv, false)
	msg := []byte(`2["chat",` + payload64 + `]`)
	b.ReportAllocs()
	for b.Loop() {
		d.c.onMessage(msg, false)
	}
	if seen == 0 {
		b.Fatal("handler not called")
	}
}

// BenchmarkEcho: an incoming EVENT whose handler emits it back.
func BenchmarkEcho(b *testing.B) {
	srv := newServer(Options{})
	defer srv.Close()
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("echo", func(e *Event) { _ = s.Emit("echo", e.Raw[0]) })
	})
	d, _ := benchConn(b, srv, false)
	msg := []byte(`2["echo",` + payload64 + `]`)
	b.ReportAllocs()
	for b.Loop() {
		d.c.onMessage(msg, false)
	}
	if d.sent.Load() == 0 {
		b.Fatal("nothing sent")
	}
}

// BenchmarkAckRoundTrip: client→server event with an ack id, answered by
// the handler (decode, dispatch, encode the ACK).
func BenchmarkAckRoundTrip(b *testing.B) {
	srv := newServer(Options{})
	defer srv.Close()
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("ask", func(e *Event) { _ = e.Ack(e.Raw[0]) })
	})
	d, _ := benchConn(b, srv, false)
	msg := []byte(`27["ask",` + payload64 + `]`)
	b.ReportAllocs()
	for b.Loop() {
		d.c.onMessage(msg, false)
	}
}

// BenchmarkServerAckRoundTrip: server EmitWithAckFunc, the client's ACK fed
// back, the callback run.
func BenchmarkServerAckRoundTrip(b *testing.B) {
	srv := newServer(Options{})
	defer srv.Close()
	d, s := benchConn(b, srv, true)
	var got int
	cb := func(a Args, err error) { got++ }
	arg := []byte(payload64)
	ack := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		id := s.nsp.ackID.Load()
		if err := s.EmitWithAckFunc("question", 0, cb, arg); err != nil {
			b.Fatal(err)
		}
		ack = append(ack[:0], '3')
		ack = strconv.AppendUint(ack, id, 10)
		ack = append(ack, `["yes"]`...)
		d.c.onMessage(ack, false)
	}
	if got != b.N {
		b.Fatalf("%d acks for %d emits", got, b.N)
	}
}

// BenchmarkBroadcastRoom1000: one broadcast to 1,000 sockets in a room;
// the packet is encoded once.
func BenchmarkBroadcastRoom1000(b *testing.B) {
	srv := newServer(Options{})
	defer srv.Close()
	var sessions []*discardSession
	for range 1000 {
		d, s := benchConn(b, srv, false)
		s.Join("room")
		sessions = append(sessions, d)
	}
	op := srv.To("room")
	arg := []byte(payload64)
	b.ReportAllocs()
	for b.Loop() {
		if err := op.Emit("news", arg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/delivery")
	if sessions[999].sent.Load() == 0 {
		b.Fatal("nothing delivered")
	}
}

// BenchmarkWebSocketEcho: a full round trip over loopback WebSocket (engine
// included) with a raw client.
func BenchmarkWebSocketEcho(b *testing.B) {
	srv := New(Options{})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("echo", func(e *Event) { _ = s.Emit("echo", e.Raw[0]) })
	})
	env := newBenchServer(b, srv)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+env[len("http"):]+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	read := func() []byte {
		_, m, err := conn.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	read() // open
	_ = conn.WriteMessage(websocket.TextMessage, []byte("40"))
	read() // connect reply
	msg := []byte(`42["echo",` + payload64 + `]`)
	b.ReportAllocs()
	for b.Loop() {
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		if m := read(); len(m) != len(msg) {
			b.Fatalf("got %q", m)
		}
	}
}

func newBenchServer(b *testing.B, srv *Server) string {
	b.Helper()
	ts := httptestServer(srv)
	b.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return ts.URL
}

// BenchmarkConnect: a new Engine.IO session joins "/" (CONNECT, reply,
// adapter join, connection handler), then closes. B/op bounds the Socket.IO
// layer's memory per idle socket from above (nearly all of it stays
// allocated while the socket lives; closing adds little).
func BenchmarkConnect(b *testing.B) {
	srv := newServer(Options{})
	defer srv.Close()
	srv.Of("/").OnConnection(func(s *Socket) { s.On("chat", func(*Event) {}) })
	b.ReportAllocs()
	for b.Loop() {
		d, _ := benchConn(b, srv, false)
		d.Close(protocol.ReasonTransportClose)
	}
}
