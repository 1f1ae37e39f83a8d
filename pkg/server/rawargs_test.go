package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// EmitArgs and AckArgs send the arguments exactly as they came: key order,
// number spelling, spacing inside a value, and binary where it was, with
// each placeholder still numbering its own attachment. Emit(ev.Values()...)
// sorted the keys of an object holding binary.
func TestEmitArgsByteForByte(t *testing.T) {
	srv := newFakeServer(t, Options{})
	sockets := make(chan *Socket, 2)
	handle := func(s *Socket) {
		sockets <- s
		s.OnAny(func(e *Event) {
			if err := s.EmitArgs(e.Name, e.Args); err != nil {
				t.Error(err)
			}
			if err := s.Broadcast().EmitArgs(e.Name, e.Args); err != nil {
				t.Error(err)
			}
			if e.WantsAck() {
				if err := e.AckArgs(e.Args); err != nil {
					t.Error(err)
				}
			}
		})
	}
	srv.Of("/").OnConnection(handle)
	srv.Of("/chat").OnConnection(handle)
	a := dialFake(t, srv, protocol.EIO4)
	a.connectV5("/")
	<-sockets
	b := dialFake(t, srv, protocol.EIO4)
	b.connectV5("/")
	<-sockets

	args := `{"z":1.0,"a":{"_placeholder":true,"num":1},"m":[1e3, -0,"\u00e9"]},{"_placeholder":true,"num":0},null`
	a.send(`52-7["ev",` + args + `]`)
	a.sendBinary([]byte{0xaa})
	a.sendBinary([]byte{0xbb, 0xcc})
	for _, c := range []*fakeClient{a, b} {
		c.expect(`52-["ev",` + args + `]`)
		c.expect(`<bin:aa>`)
		c.expect(`<bin:bbcc>`)
	}
	a.expect(`62-7[` + args + `]`)
	a.expect(`<bin:aa>`)
	a.expect(`<bin:bbcc>`)

	// Text only, in another namespace, with an empty argument list.
	a.send(`0/chat,`)
	a.expectPrefix(`0/chat,{"sid":"`)
	<-sockets
	a.send(`2/chat,3["t",{"b":2, "a":1},12.50]`)
	a.expect(`2/chat,["t",{"b":2, "a":1},12.50]`)
	a.expect(`3/chat,3[{"b":2, "a":1},12.50]`)
	a.send(`2/chat,4["empty"]`)
	a.expect(`2/chat,["empty"]`)
	a.expect(`3/chat,4[]`)
}

// With connection state recovery the offset follows the raw arguments.
func TestEmitArgsWithRecoveryOffset(t *testing.T) {
	srv := newFakeServer(t, Options{Recovery: time.Minute})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.OnAny(func(e *Event) { _ = s.EmitArgs(e.Name, e.Args) })
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.send("0")
	c.expectPrefix(`0{"sid":"`)
	c.send(`2["x",{"b":1,"a":2}]`)
	got := c.expectPrefix(`2["x",{"b":1,"a":2},"`)
	if !strings.HasSuffix(got, `"]`) {
		t.Fatalf("got %s", got)
	}
}

// Args built by hand are checked: a value that is not JSON, or a
// placeholder past the attachments, is an error and nothing is sent.
func TestEmitArgsRefusesBadArgs(t *testing.T) {
	srv := newFakeServer(t, Options{})
	sockets := make(chan *Socket, 1)
	srv.Of("/").OnConnection(func(s *Socket) { sockets <- s })
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	s := <-sockets
	for _, tt := range []struct {
		args Args
		want string
	}{
		{Args{Raw: []json.RawMessage{json.RawMessage(`{"a":`)}}, "argument 0 is not one JSON value"},
		{Args{Raw: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`1 2`)}}, "argument 1 is not one JSON value"},
		{Args{Raw: []json.RawMessage{json.RawMessage(`{"_placeholder":true,"num":1}`)}, Attachments: [][]byte{{1}}}, "illegal attachments"},
	} {
		err := s.EmitArgs("x", tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("EmitArgs(%s): %v, want %q", tt.args.Raw, err, tt.want)
		}
		if err := srv.EmitArgs("x", tt.args); err == nil {
			t.Errorf("Server.EmitArgs(%s) sent", tt.args.Raw)
		}
	}
	c.expectNothing()
	if err := s.EmitArgs("x", Args{}); err != nil {
		t.Fatal(err)
	}
	c.expect(`2["x"]`)
}

// The echo and ack of sio serve's handlers (internal/behaviour) per
// incoming event: as they were, through Values and Emit/Ack, and as they
// are, through EmitArgs/AckArgs.
func BenchmarkEchoAckValues(b *testing.B) {
	benchEchoAck(b, func(s *Socket, e *Event) {
		v := e.Values()
		_ = s.Emit(e.Name, v...)
		_ = e.Ack(v...)
	})
}

func BenchmarkEchoAckArgs(b *testing.B) {
	benchEchoAck(b, func(s *Socket, e *Event) {
		_ = s.EmitArgs(e.Name, e.Args)
		_ = e.AckArgs(e.Args)
	})
}

// The same with an object that holds binary, the case Values decoded.
func BenchmarkEchoAckBinaryValues(b *testing.B) {
	benchEchoAckBinary(b, func(s *Socket, e *Event) {
		v := e.Values()
		_ = s.Emit(e.Name, v...)
		_ = e.Ack(v...)
	})
}

func BenchmarkEchoAckBinaryArgs(b *testing.B) {
	benchEchoAckBinary(b, func(s *Socket, e *Event) {
		_ = s.EmitArgs(e.Name, e.Args)
		_ = e.AckArgs(e.Args)
	})
}

func benchEchoAckBinary(b *testing.B, handle func(*Socket, *Event)) {
	srv := newServer(Options{})
	defer srv.Close()
	srv.Of("/").OnConnection(func(s *Socket) {
		s.OnAny(func(e *Event) { handle(s, e) })
	})
	d, _ := benchConn(b, srv, false)
	header := []byte(`51-7["file",{"name":"a.png","size":64,"data":{"_placeholder":true,"num":0},"tags":["x","y"]}]`)
	att := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		d.c.onMessage(header, false)
		d.c.onMessage(att, true)
	}
	if d.sent.Load() == 0 {
		b.Fatal("nothing sent")
	}
}

func benchEchoAck(b *testing.B, handle func(*Socket, *Event)) {
	srv := newServer(Options{})
	defer srv.Close()
	srv.Of("/").OnConnection(func(s *Socket) {
		s.OnAny(func(e *Event) { handle(s, e) })
	})
	d, _ := benchConn(b, srv, false)
	msg := []byte(`27["echo",` + payload64 + `,{"seq":12345,"client":7}]`)
	b.ReportAllocs()
	for b.Loop() {
		d.c.onMessage(msg, false)
	}
	if d.sent.Load() == 0 {
		b.Fatal("nothing sent")
	}
}
