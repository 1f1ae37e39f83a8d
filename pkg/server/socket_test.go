package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

func newFakeServer(t *testing.T, opts Options) *Server {
	t.Helper()
	srv := newServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

func TestConnectReplyBeforeHandlerEmits(t *testing.T) {
	srv := newFakeServer(t, Options{})
	srv.Of("/").OnConnection(func(s *Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.send(`0{"token":"123"}`)
	c.expectPrefix(`0{"sid":"`)
	c.expect(`2["auth",{"token":"123"}]`)
}

func TestConnectNoAuthGivesEmptyObject(t *testing.T) {
	srv := newFakeServer(t, Options{})
	srv.Of("/").OnConnection(func(s *Socket) { _ = s.Emit("auth", s.Handshake().Auth) })
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	c.expect(`2["auth",{}]`)
}

func TestMiddlewareRefusal(t *testing.T) {
	srv := newFakeServer(t, Options{AllowEIO3: true})
	srv.Of("/admin").Use(func(s *Socket) error {
		return &ConnectError{Message: "not authorized", Data: map[string]any{"reason": "bad token"}}
	})
	srv.Of("/plain").Use(func(s *Socket) error { return errors.New("nope") })
	c := dialFake(t, srv, protocol.EIO4)
	c.send(`0/admin,{"token":"x"}`)
	c.expect(`4/admin,{"message":"not authorized","data":{"reason":"bad token"}}`)
	c.send(`0/plain,`)
	c.expect(`4/plain,{"message":"nope"}`)
	if c.isClosed() {
		t.Fatal("CONNECT_ERROR must keep the connection open")
	}
	// the connection still works
	c.connectV5("/")

	v3 := dialFake(t, srv, protocol.EIO3)
	v3.expect(`0`)
	v3.send(`0/admin?token=x,`)
	v3.expect(`4/admin,{"reason":"bad token"}`)
	v3.send(`0/plain,`)
	v3.expect(`4/plain,"nope"`)
	v3.send(`0/nope,`)
	v3.expect(`4/nope,{"message":"Invalid namespace"}`)
}

func TestUnknownNamespace(t *testing.T) {
	srv := newFakeServer(t, Options{})
	c := dialFake(t, srv, protocol.EIO4)
	c.send(`0/random,`)
	c.expect(`4/random,{"message":"Invalid namespace"}`)
	c.connectV5("/")
}

func TestDynamicNamespace(t *testing.T) {
	srv := newFakeServer(t, Options{})
	parent := srv.OfFunc(func(name string, auth json.RawMessage) bool { return strings.HasPrefix(name, "/dyn-") })
	var mw int
	parent.Use(func(s *Socket) error { mw++; return nil })
	parent.OnConnection(func(s *Socket) { _ = s.Emit("hi", s.Namespace().Name()) })
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/dyn-1")
	c.expect(`2/dyn-1,["hi","/dyn-1"]`)
	c.send(`0/other,`)
	c.expect(`4/other,{"message":"Invalid namespace"}`)
	if err := parent.Emit("all", 1); err != nil {
		t.Fatal(err)
	}
	c.expect(`2/dyn-1,["all",1]`)
	if mw != 1 {
		t.Fatalf("parent middleware ran %d times", mw)
	}
	if got := srv.Namespaces(); len(got) != 2 || got[1] != "/dyn-1" {
		t.Fatalf("namespaces %v", got)
	}
}

func TestEIO3ConnectsMainByItself(t *testing.T) {
	srv := newFakeServer(t, Options{AllowEIO3: true})
	got := make(chan Handshake, 2)
	srv.Of("/").OnConnection(func(s *Socket) { got <- s.Handshake() })
	srv.Of("/admin").OnConnection(func(s *Socket) {
		got <- s.Handshake()
		_ = s.Emit("id", s.ID())
	})
	c := dialFake(t, srv, protocol.EIO3)
	c.expect(`0`)
	c.send(`0/admin?token=abc,`)
	c.expect(`0/admin,`)
	c.expect(`2/admin,["id","/admin#` + c.sess.id + `"]`)
	<-got
	if h := <-got; string(h.Auth) != `{"token":"abc"}` {
		t.Fatalf("auth %s", h.Auth)
	}
}

func TestProtocolViolationsClose(t *testing.T) {
	tests := []struct {
		name string
		msgs []string
	}{
		{"second CONNECT", []string{"0", "0"}},
		{"event for a namespace not connected", []string{`2/admin,["x"]`}},
		{"client CONNECT_ERROR", []string{`4{"message":"x"}`}},
		{"decode error", []string{`9`}},
		{"reserved event", []string{`2["disconnect"]`}},
		{"CONNECT payload not an object", []string{`0"x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, Options{})
			srv.Of("/admin")
			c := dialFake(t, srv, protocol.EIO4)
			for _, m := range tt.msgs {
				c.send(m)
			}
			c.expectClosed(protocol.ReasonForcedClose)
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	srv := newFakeServer(t, Options{ConnectTimeout: 30 * time.Millisecond})
	c := dialFake(t, srv, protocol.EIO4)
	c.expectClosed(protocol.ReasonForcedClose)

	ok := dialFake(t, srv, protocol.EIO4)
	ok.connectV5("/")
	ok.expectNothing()
	if ok.isClosed() {
		t.Fatal("a connected client must not time out")
	}
}

func TestEventsAndAcks(t *testing.T) {
	srv := newFakeServer(t, Options{})
	var anyNames []string
	srv.Of("/").OnConnection(func(s *Socket) {
		s.OnAny(func(e *Event) { anyNames = append(anyNames, e.Name) })
		s.On("echo", func(e *Event) {
			if err := e.Ack(e.Values()...); err != nil {
				t.Error(err)
			}
			if err := e.Ack("again"); !errors.Is(err, ErrNoAck) {
				t.Errorf("second ack: %v", err)
			}
		})
		s.On("plain", func(e *Event) {
			if e.WantsAck() {
				t.Error("no ack was asked")
			}
			var n int
			if err := e.Decode(0, &n); err != nil || n != 7 {
				t.Errorf("decode: %v %d", err, n)
			}
			_ = s.Emit("plain-back", n+1)
		})
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	c.send(`212["echo",1,"2",{"3":[false]}]`)
	c.expect(`312[1,"2",{"3":[false]}]`)
	c.send(`2["plain",7]`)
	c.expect(`2["plain-back",8]`)
	c.send(`2[1,"numeric name"]`)
	c.send(`2["plain",7]`)
	c.expect(`2["plain-back",8]`)
	if strings.Join(anyNames, ",") != "echo,plain,1,plain" {
		t.Fatalf("any saw %v", anyNames)
	}
}

func TestBinaryEventAndAck(t *testing.T) {
	srv := newFakeServer(t, Options{})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("bin", func(e *Event) {
			b, err := e.Bytes(0)
			if err != nil {
				t.Error(err)
			}
			_ = e.Ack("ok", append([]byte{9}, b...))
		})
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	c.send(`51-15["bin",{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{1, 2})
	c.expect(`61-15["ok",{"_placeholder":true,"num":0}]`)
	c.expect(`<bin:090102>`)
}

// An event whose binary sits inside an object, echoed with
// e.Ack(e.Values()...), must come back as a well-formed BINARY_ACK: each
// placeholder numbered for the outgoing packet's attachments.
func TestAckValuesNestedBinary(t *testing.T) {
	srv := newFakeServer(t, Options{})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("bin", func(e *Event) {
			if err := e.Ack(e.Values()...); err != nil {
				t.Error(err)
			}
		})
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	c.send(`52-16["bin",{"x":{"_placeholder":true,"num":1},"n":1},{"_placeholder":true,"num":0},[{"y":"z"}]]`)
	c.sendBinary([]byte{0xaa})
	c.sendBinary([]byte{0xbb, 0xcc})
	c.expect(`62-16[{"n":1,"x":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1},[{"y":"z"}]]`)
	c.expect(`<bin:bbcc>`)
	c.expect(`<bin:aa>`)
}

func TestServerEmitWithAck(t *testing.T) {
	srv := newFakeServer(t, Options{})
	sockets := make(chan *Socket, 1)
	srv.Of("/").OnConnection(func(s *Socket) { sockets <- s })
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	s := <-sockets

	res := make(chan error, 1)
	var got Args
	go func() {
		var err error
		got, err = s.EmitWithAck(context.Background(), "question", "q?")
		res <- err
	}()
	c.expect(`20["question","q?"]`)
	c.send(`31["wrong id"]`) // ignored
	c.send(`30["yes"]`)
	c.send(`30["twice"]`) // ignored
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if s, _ := got.String(0); s != "yes" {
		t.Fatalf("ack %v", got.Raw)
	}

	// ids count up per namespace; a timeout drops the id
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "q2"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	c.expect(`21["q2"]`)
	c.send(`31["late"]`)

	done := make(chan error, 1)
	if err := s.EmitWithAckFunc("q3", time.Hour, func(a Args, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	c.expect(`22["q3"]`)
	c.send(`1`) // client leaves: the pending ack fails
	err := <-done
	var de *DisconnectedError
	if !errors.As(err, &de) || de.Reason != protocol.ReasonClientNamespaceDisconnect || !errors.Is(err, ErrDisconnected) {
		t.Fatalf("err %v", err)
	}
}

func TestReservedEmitRefused(t *testing.T) {
	srv := newFakeServer(t, Options{})
	if err := srv.Emit("disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("err %v", err)
	}
}

func TestDisconnectReasons(t *testing.T) {
	srv := newFakeServer(t, Options{})
	reasons := make(chan protocol.DisconnectReason, 4)
	sockets := make(chan *Socket, 4)
	srv.Of("/").OnConnection(func(s *Socket) {
		sockets <- s
		s.OnDisconnect(func(r protocol.DisconnectReason) { reasons <- r })
	})
	srv.Of("/admin").OnConnection(func(s *Socket) {
		sockets <- s
		s.OnDisconnect(func(r protocol.DisconnectReason) { reasons <- r })
	})

	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	<-sockets
	c.send("1")
	if r := <-reasons; r != protocol.ReasonClientNamespaceDisconnect {
		t.Fatal(r)
	}
	// may connect again on the same connection
	c.connectV5("/")
	s := <-sockets
	s.Disconnect(false)
	c.expect("1")
	if r := <-reasons; r != protocol.ReasonServerNamespaceDisconnect {
		t.Fatal(r)
	}
	if c.isClosed() {
		t.Fatal("disconnect(false) keeps the connection")
	}
	c.connectV5("/")
	<-sockets
	c.connectV5("/admin")
	s2 := <-sockets
	s2.Disconnect(true)
	got := []string{c.next(), c.next()}
	if !(got[0] == "1" && got[1] == "1/admin,") && !(got[1] == "1" && got[0] == "1/admin,") {
		t.Fatalf("got %v", got)
	}
	c.expectClosed(protocol.ReasonForcedClose)
	for range 2 {
		if r := <-reasons; r != protocol.ReasonServerNamespaceDisconnect {
			t.Fatal(r)
		}
	}

	c2 := dialFake(t, srv, protocol.EIO4)
	c2.connectV5("/")
	<-sockets
	c2.sess.Close(protocol.ReasonTransportClose)
	if r := <-reasons; r != protocol.ReasonTransportClose {
		t.Fatal(r)
	}
}

func TestHandlerPanicClosesOnlyThatSocket(t *testing.T) {
	srv := newFakeServer(t, Options{})
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("boom", func(*Event) { panic("boom") })
		s.On("ping", func(e *Event) { _ = e.Ack("pong") })
	})
	a := dialFake(t, srv, protocol.EIO4)
	b := dialFake(t, srv, protocol.EIO4)
	a.connectV5("/")
	b.connectV5("/")
	a.send(`2["boom"]`)
	a.expect("1")
	b.send(`21["ping"]`)
	b.expect(`31["pong"]`)
}

func TestRoomsAndBroadcast(t *testing.T) {
	srv := newFakeServer(t, Options{})
	sockets := make(chan *Socket, 3)
	srv.Of("/").OnConnection(func(s *Socket) {
		s.On("join", func(e *Event) {
			r, _ := e.String(0)
			s.Join(r)
			_ = e.Ack()
		})
		s.On("shout", func(e *Event) { _ = s.Broadcast().Emit("shout", e.Values()...) })
		s.On("to", func(e *Event) {
			r, _ := e.String(0)
			_ = s.To(r).Emit("room", r)
		})
		sockets <- s
	})
	var cs [3]*fakeClient
	var ss [3]*Socket
	for i := range cs {
		cs[i] = dialFake(t, srv, protocol.EIO4)
		cs[i].connectV5("/")
		ss[i] = <-sockets
	}
	cs[0].send(`20["join","r"]`)
	cs[0].expect(`30[]`)
	cs[1].send(`20["join","r"]`)
	cs[1].expect(`30[]`)

	cs[2].send(`2["shout","hi"]`)
	cs[0].expect(`2["shout","hi"]`)
	cs[1].expect(`2["shout","hi"]`)
	cs[2].expectNothing()

	cs[0].send(`2["to","r"]`)
	cs[1].expect(`2["room","r"]`)
	cs[0].expectNothing()

	if err := srv.To("r").Except(ss[1].ID()).Emit("x"); err != nil {
		t.Fatal(err)
	}
	cs[0].expect(`2["x"]`)
	cs[1].expectNothing()

	if err := srv.To(ss[2].ID(), "r").Emit("y"); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		c.expect(`2["y"]`)
	}

	srv.In("r").SocketsJoin("s")
	if got := ss[1].Rooms(); strings.Join(got, ",") != "r,s,"+ss[1].ID() && len(got) != 3 {
		t.Fatalf("rooms %v", got)
	}
	rs, err := srv.In("s").FetchSockets(context.Background())
	if err != nil || len(rs) != 2 {
		t.Fatalf("fetch %v %v", rs, err)
	}
	srv.SocketsLeave("s")
	if rs, _ := srv.In("s").FetchSockets(context.Background()); len(rs) != 0 {
		t.Fatalf("after leave %v", rs)
	}
	rooms := srv.Of("/").Rooms()
	if len(rooms) != 4 { // r + three private rooms
		t.Fatalf("rooms %v", rooms)
	}

	acks := make(chan []Args, 1)
	go func() {
		got, err := srv.To("r").EmitWithAck(context.Background(), "poll")
		if err != nil {
			t.Error(err)
		}
		acks <- got
	}()
	cs[0].expect(`20["poll"]`)
	cs[1].expect(`20["poll"]`)
	cs[0].send(`30["a"]`)
	cs[1].send(`30["b"]`)
	if got := <-acks; len(got) != 2 {
		t.Fatalf("acks %v", got)
	}

	srv.In("r").DisconnectSockets(false)
	cs[0].expect("1")
	cs[1].expect("1")
	if n := srv.Of("/").SocketCount(); n != 1 {
		t.Fatalf("%d sockets left", n)
	}
}

func TestVolatileDropped(t *testing.T) {
	srv := newFakeServer(t, Options{})
	srv.Of("/")
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	c.sess.volatileOK = false
	_ = srv.Of("/").Volatile().Emit("v", 1)
	c.expectNothing()
	c.sess.volatileOK = true
	_ = srv.Of("/").Volatile().Emit("v", 2)
	c.expect(`2["v",2]`)
}

func TestSlowClientDisconnected(t *testing.T) {
	srv := newFakeServer(t, Options{})
	slow := dialFake(t, srv, protocol.EIO4)
	fast := dialFake(t, srv, protocol.EIO4)
	slow.connectV5("/")
	fast.connectV5("/")
	for i := range 100 {
		_ = srv.Emit("n", i)
		if i < 50 {
			fast.next()
		}
	}
	slow.expectClosed(protocol.ReasonTransportError)
	for len(fast.sess.out) > 0 {
		fast.next()
	}
	_ = srv.Emit("after")
	fast.expect(`2["after"]`)
}

func TestRecovery(t *testing.T) {
	srv := newFakeServer(t, Options{Recovery: time.Minute})
	sockets := make(chan *Socket, 2)
	srv.Of("/").OnConnection(func(s *Socket) { sockets <- s })
	c := dialFake(t, srv, protocol.EIO4)
	c.send("0")
	reply := c.expectPrefix(`0{"sid":"`)
	var r struct{ SID, PID string }
	if err := json.Unmarshal([]byte(reply[1:]), &r); err != nil || r.PID == "" {
		t.Fatalf("reply %s", reply)
	}
	s := <-sockets
	s.Join("room1")
	s.Set("user", "ann")
	_ = s.Emit("direct", 1)
	first := c.expectPrefix(`2["direct",1,"`)
	var args []any
	_ = json.Unmarshal([]byte(first[1:]), &args)
	offset := args[2].(string)
	c.sess.Close(protocol.ReasonTransportClose)

	_ = srv.Emit("news", "a")
	_ = srv.To("room1").Emit("room", "b")
	_ = srv.To("other").Emit("hidden")
	_ = srv.Volatile().Emit("vol")
	_ = srv.Emit("bin", []byte{7})

	c2 := dialFake(t, srv, protocol.EIO4)
	c2.send(`0{"pid":"` + r.PID + `","offset":"` + offset + `"}`)
	c2.expectPrefix(`2["news","a","`)
	c2.expectPrefix(`2["room","b","`)
	c2.expectPrefix(`51-["bin",{"_placeholder":true,"num":0},"`)
	c2.expect(`<bin:07>`)
	c2.expect(`0{"sid":"` + r.SID + `","pid":"` + r.PID + `"}`)
	s2 := <-sockets
	if !s2.Recovered() || s2.ID() != r.SID {
		t.Fatal("not recovered")
	}
	if v, _ := s2.Get("user"); v != "ann" {
		t.Fatalf("data %v", v)
	}
	if rooms := strings.Join(s2.Rooms(), ","); !strings.Contains(rooms, "room1") {
		t.Fatalf("rooms %s", rooms)
	}

	// an explicit disconnect is not saved
	c2.send("1")
	c3 := dialFake(t, srv, protocol.EIO4)
	c3.send(`0{"pid":"` + r.PID + `","offset":"` + offset + `"}`)
	reply3 := c3.expectPrefix(`0{"sid":"`)
	if strings.Contains(reply3, r.SID) {
		t.Fatal("recovered after an explicit disconnect")
	}
}

func TestShutdown(t *testing.T) {
	srv := newServer(Options{})
	reasons := make(chan protocol.DisconnectReason, 1)
	srv.Of("/").OnConnection(func(s *Socket) {
		s.OnDisconnect(func(r protocol.DisconnectReason) { reasons <- r })
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/")
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := <-reasons; r != protocol.ReasonServerShuttingDown {
		t.Fatal(r)
	}
	c.expectClosed(protocol.ReasonServerShuttingDown)
}

func TestTapSeesSocketPackets(t *testing.T) {
	var mu sync.Mutex
	var traces []protocol.Trace
	srv := newFakeServer(t, Options{Tap: func(tr protocol.Trace) {
		mu.Lock()
		traces = append(traces, tr)
		mu.Unlock()
	}})
	srv.Of("/").OnConnection(func(s *Socket) { s.On("x", func(e *Event) { _ = e.Ack([]byte{1}) }) })
	c := dialFake(t, srv, protocol.EIO4)
	id := c.connectV5("/")
	c.send(`23["x"]`)
	c.expect(`61-3[{"_placeholder":true,"num":0}]`)
	c.expect(`<bin:01>`)
	mu.Lock()
	defer mu.Unlock()
	if len(traces) != 4 {
		t.Fatalf("%d traces", len(traces))
	}
	last := traces[3]
	if last.Layer != protocol.LayerSocket || last.Dir != protocol.Out || last.SID != id || len(last.Raw) != 2 || string(last.Raw[0]) != `61-3[{"_placeholder":true,"num":0}]` {
		t.Fatalf("trace %+v", last)
	}
	if traces[2].Dir != protocol.In || traces[2].Packet.Type != protocol.PacketEvent {
		t.Fatalf("trace %+v", traces[2])
	}
}
