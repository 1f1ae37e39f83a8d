package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestConnectV5(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, _, _ := dialFake(t, f, "http://example.test:3000", testOptions(f))
	if got := c.SID(); got != "S1" {
		t.Errorf("SID = %q, want S1", got)
	}
	if c.EIO() != protocol.EIO4 || c.EngineSID() != "eioA" || c.Transport() != "websocket" {
		t.Errorf("EIO %v engine sid %q transport %q", c.EIO(), c.EngineSID(), c.Transport())
	}
}

func TestConnectAuthAndNamespaceFromURL(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.Auth = json.RawMessage(`{"token":"123"}`)
	c, _, _ := dialFake(t, f, "ws://example.test/admin?x=1", opts)
	if c.Socket().Namespace() != "/admin" {
		t.Errorf("namespace %q", c.Socket().Namespace())
	}
	if got := f.lastCfg.Query.Get("x"); got != "1" {
		t.Errorf("URL query not passed to the engine: %v", f.lastCfg.Query)
	}
}

func TestConnectError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		eio     protocol.EIO
		nsp     string
		reply   string
		message string
		data    string
	}{
		{"v5 with data", protocol.EIO4, "/", `4{"message":"not authorized","data":{"reason":"bad token"}}`, "not authorized", `{"reason":"bad token"}`},
		{"v5 unknown namespace", protocol.EIO4, "/nope", `4/nope,{"message":"Invalid namespace"}`, "Invalid namespace", ""},
		{"v4 string", protocol.EIO3, "/admin", `4/admin,"Not authorized"`, "Not authorized", ""},
		{"v4 object", protocol.EIO3, "/admin", `4/admin,{"reason":"bad"}`, "refused", `{"reason":"bad"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEngine(t, tt.eio)
			c, err := New("http://example.test"+tt.nsp, testOptions(f))
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- c.Connect(t.Context()) }()
			fc := f.next(t)
			if tt.eio == protocol.EIO4 || tt.nsp != "/" {
				<-fc.sent // the CONNECT
			}
			fc.deliver(tt.reply)
			err = <-errc
			var ce *ConnectError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConnectError", err)
			}
			if ce.Message != tt.message || string(ce.Data) != tt.data || ce.Namespace != tt.nsp {
				t.Errorf("got %+v (data %s)", ce, ce.Data)
			}
			if !strings.HasPrefix(err.Error(), "connect http://example.test"+tt.nsp+": CONNECT_ERROR: ") {
				t.Errorf("error text %q", err)
			}
			fc.waitClosed(t)
			<-c.Done()
		})
	}
}

func TestConnectV4Namespaces(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO3)
	opts := testOptions(f)
	c, fc, _ := dialFake(t, f, "http://example.test", opts)
	if c.SID() != "eioA" {
		t.Errorf("v4 sid of / = %q, want the engine sid", c.SID())
	}
	admin := c.Of("admin")
	admin.SetAuth(json.RawMessage(`{"token":"abc"}`))
	errc := make(chan error, 1)
	go func() { errc <- admin.Connect(t.Context()) }()
	fc.expect(t, "0/admin?token=abc,")
	fc.deliver("0/admin,")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if admin.ID() != "/admin#eioA" {
		t.Errorf("admin id %q", admin.ID())
	}
}

func TestEIO3AuthGoesInHandshakeQuery(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO3)
	opts := testOptions(f)
	opts.EIO = protocol.EIO3
	opts.Auth = json.RawMessage(`{"token":"x","n":1}`)
	dialFake(t, f, "http://example.test", opts)
	if q := f.lastCfg.Query; q.Get("token") != "x" || q.Get("n") != "1" {
		t.Errorf("query %v", q)
	}
}

func TestEarlyMessagesBeforeDialReturns(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO3)
	f.early = []string{"0"} // socket.io 2 piggybacks 40 on the handshake
	c, err := Dial(t.Context(), "http://example.test", testOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-f.conns
	if !c.Socket().Connected() {
		t.Error("not connected")
	}
}

func TestEventsAndBufferingBeforeConnect(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, err := New("http://example.test", testOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 10)
	c.OnAny(func(e *Event) { got <- "any:" + e.Name + string(e.Inline()) })
	c.On("news", func(e *Event) {
		var s string
		if err := e.Unmarshal(0, &s); err != nil {
			t.Error(err)
		}
		got <- "news:" + s
	})
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	fc := f.next(t)
	fc.expect(t, "0")
	fc.deliver(`2["news","early"]`, `0{"sid":"S1"}`, `2["other",1,{"a":[2]}]`)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	want := []string{`any:news["early"]`, "news:early", `any:other[1,{"a":[2]}]`}
	for _, w := range want {
		select {
		case g := <-got:
			if g != w {
				t.Errorf("got %q, want %q", g, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("missing %q", w)
		}
	}
}

func TestAcks(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	type res struct {
		a   *Ack
		err error
	}
	r0 := make(chan res, 1)
	go func() { a, err := c.EmitWithAck(t.Context(), "q", 1); r0 <- res{a, err} }()
	fc.expect(t, `20["q",1]`)
	r1 := make(chan res, 1)
	go func() { a, err := c.EmitWithAck(t.Context(), "q", "two"); r1 <- res{a, err} }()
	fc.expect(t, `21["q","two"]`)
	fc.deliver(`37[]`, `31["b"]`, `30["a",{"x":1}]`) // unknown id 7 is ignored
	a := <-r0
	if a.err != nil || string(a.a.Inline()) != `["a",{"x":1}]` {
		t.Errorf("ack 0: %v %v", a.a, a.err)
	}
	b := <-r1
	if b.err != nil || len(b.a.Args) != 1 || string(b.a.Args[0]) != `"b"` {
		t.Errorf("ack 1: %v %v", b.a, b.err)
	}

	// A timeout drops the id; the late ACK is ignored.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := c.EmitWithAck(ctx, "slow")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	fc.expect(t, `22["slow"]`)
	fc.deliver(`32[]`)
	if err := c.Emit("after"); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `2["after"]`)
}

func TestAnswerServerAcks(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.AckReply = func(e *Event) []any {
		if e.Name == "configured" {
			return []any{"ok", 1}
		}
		return nil
	}
	c, fc, _ := dialFake(t, f, "http://example.test", opts)
	later := make(chan func(...any) error, 1)
	c.On("explicit", func(e *Event) {
		if !e.WantsAck() {
			t.Error("WantsAck false")
		}
		_ = e.Ack([]byte{9})
		_ = e.Ack("twice is ignored")
	})
	c.On("deferred", func(e *Event) { later <- e.TakeAck() })
	fc.deliver(`20["question","q?"]`)
	fc.expect(t, `30[]`)
	fc.deliver(`25["configured"]`)
	fc.expect(t, `35["ok",1]`)
	fc.deliver(`26["explicit"]`)
	fc.expect(t, `61-6[{"_placeholder":true,"num":0}]`)
	fc.expectBinary(t, []byte{9})
	fc.deliver(`27["deferred"]`)
	fc.expectNothing(t)
	ack := <-later
	if err := ack("late"); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `37["late"]`)
	fc.deliver(`2["noack"]`)
	if err := c.Emit("ping2"); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `2["ping2"]`) // no ack sent for an event without id
}

func TestBinary(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	if err := c.Emit("up", []byte{1, 2}, Notation(`{"n":{"$binary":"AwQ="}}`), map[string]any{"k": []byte{5}}); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `53-["up",{"_placeholder":true,"num":0},{"n":{"_placeholder":true,"num":1}},{"k":{"_placeholder":true,"num":2}}]`)
	fc.expectBinary(t, []byte{1, 2})
	fc.expectBinary(t, []byte{3, 4})
	fc.expectBinary(t, []byte{5})

	got := make(chan *Event, 1)
	c.On("down", func(e *Event) { got <- e })
	fc.deliver(`52-["down",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`)
	fc.deliverBinary([]byte{7})
	fc.deliverBinary([]byte{8, 9})
	e := <-got
	if len(e.Attachments) != 2 || string(e.Inline()) != `[{"$binary":"Bw=="},{"x":{"$binary":"CAk="}}]` {
		t.Errorf("event %s %v", e.Inline(), e.Attachments)
	}
}

func TestReservedAndVolatile(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	if err := c.Emit("disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved emit: %v", err)
	}
	if err := c.EmitVolatile("v", 1); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `2["v",1]`)
	admin := c.Of("/admin") // not connected: volatile is dropped, plain emit refused
	if err := admin.EmitVolatile("v"); err != nil {
		t.Errorf("volatile on a disconnected socket: %v", err)
	}
	if err := admin.Emit("x"); !errors.Is(err, ErrNotConnected) {
		t.Errorf("emit on an inactive socket: %v", err)
	}
	fc.expectNothing(t)

	f2 := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f2)
	opts.AllowReservedEvents = true
	c2, fc2, _ := dialFake(t, f2, "http://example.test", opts)
	if err := c2.Emit("connect", 1); err != nil {
		t.Fatal(err)
	}
	fc2.expect(t, `2["connect",1]`)
}

func TestMultiplexedNamespaces(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, st := dialFake(t, f, "http://example.test", testOptions(f))
	admin := c.Of("/admin")
	gotAdmin := make(chan string, 4)
	gotRoot := make(chan string, 4)
	admin.On("e", func(e *Event) { gotAdmin <- string(e.Inline()) })
	c.On("e", func(e *Event) { gotRoot <- string(e.Inline()) })
	errc := make(chan error, 1)
	go func() { errc <- admin.Connect(t.Context()) }()
	fc.expect(t, "0/admin,")
	fc.deliver(`0/admin,{"sid":"A1"}`)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	fc.deliver(`2/admin,["e","a"]`, `2["e","r"]`, `2/other,["e","x"]`)
	if g := <-gotAdmin; g != `["a"]` {
		t.Errorf("admin got %s", g)
	}
	if g := <-gotRoot; g != `["r"]` {
		t.Errorf("root got %s", g)
	}
	if err := admin.Emit("hi"); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `2/admin,["hi"]`)
	if err := admin.Disconnect(); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, "1/admin,")
	if s := st.waitFor(t, StateDisconnect); s.Namespace != "/admin" || s.Reason != protocol.ReasonIOClientDisconnect {
		t.Errorf("state %v", s)
	}
	if !c.Socket().Connected() {
		t.Error("/ disconnected with /admin")
	}
}

func TestServerDisconnectFailsAcks(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, st := dialFake(t, f, "http://example.test", testOptions(f))
	errc := make(chan error, 1)
	go func() { _, err := c.EmitWithAck(t.Context(), "q"); errc <- err }()
	fc.expect(t, `20["q"]`)
	fc.deliver("1")
	var de *DisconnectError
	if err := <-errc; !errors.As(err, &de) || de.Reason != "io server disconnect" || !errors.Is(err, ErrNotConnected) {
		t.Errorf("ack err = %v", err)
	}
	if s := st.waitFor(t, StateDisconnect); s.Reason != protocol.ReasonIOServerDisconnect {
		t.Errorf("state %v", s)
	}
	if c.Socket().Connected() {
		t.Error("still connected")
	}
}

func TestCloseSendsDisconnect(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, "1")
	if r := fc.waitClosed(t); r != protocol.ReasonIOClientDisconnect {
		t.Errorf("reason %q", r)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err = %v", c.Err())
	}
	if err := c.Emit("x"); !errors.Is(err, ErrNotConnected) {
		t.Errorf("emit after close: %v", err)
	}
	c.Close() // idempotent
}

func TestReconnectWithRecovery(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.Auth = json.RawMessage(`{"token":"t"}`)
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := watchStates(c)
	events := make(chan string, 16)
	c.OnAny(func(e *Event) { events <- string(e.Inline()) })
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	fc := f.next(t)
	fc.expect(t, `0{"token":"t"}`)
	fc.deliver(`0{"sid":"S1","pid":"P1"}`)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if s := st.waitFor(t, StateConnect); s.Recovered {
		t.Error("first connection recovered")
	}
	fc.deliver(`2["news","a","off1"]`, `2["n",1]`, `2["news","b","off2"]`)
	for range 3 {
		<-events
	}
	fc.end(protocol.ReasonTransportClose, nil)
	if s := st.waitFor(t, StateDisconnect); s.Reason != protocol.ReasonTransportClose {
		t.Errorf("disconnect %v", s)
	}
	if err := c.Emit("buffered", 1); err != nil { // sent after the reconnection
		t.Fatal(err)
	}
	if s := st.waitFor(t, StateReconnectAttempt); s.Attempt != 1 {
		t.Errorf("attempt %d", s.Attempt)
	}
	fc2 := f.next(t)
	st.waitFor(t, StateReconnect)
	fc2.expect(t, `0{"offset":"off2","pid":"P1","token":"t"}`)
	fc2.deliver(`2["news","c","off3"]`, `0{"sid":"S1","pid":"P1"}`)
	if s := st.waitFor(t, StateConnect); !s.Recovered {
		t.Error("not recovered")
	}
	if !c.Socket().Recovered() {
		t.Error("Recovered() false")
	}
	if g := <-events; g != `["c","off3"]` {
		t.Errorf("replayed %s", g)
	}
	fc2.expect(t, `2["buffered",1]`)
}

func TestReconnectGivesUp(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.ReconnectAttempts = 2
	f.failAt = func(n int) error {
		if n > 1 {
			return errors.New("connection refused")
		}
		return nil
	}
	c, fc, st := dialFake(t, f, "http://example.test", opts)
	fc.end(protocol.ReasonPingTimeout, nil)
	for i := 1; i <= 2; i++ {
		if s := st.waitFor(t, StateReconnectError); s.Attempt != i {
			t.Errorf("attempt %d, want %d", s.Attempt, i)
		}
	}
	st.waitFor(t, StateReconnectFailed)
	<-c.Done()
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "after 2 attempts") {
		t.Errorf("Err = %v", err)
	}
}

func TestNoReconnect(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.NoReconnect = true
	c, fc, _ := dialFake(t, f, "http://example.test", opts)
	fc.end(protocol.ReasonPingTimeout, errors.New("no ping"))
	<-c.Done()
	if err := c.Err(); !errors.Is(err, protocol.ReasonPingTimeout) {
		t.Errorf("Err = %v", err)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    float64
		n    int
		want time.Duration
	}{
		{0, 0, time.Second}, // no deviation
		{0.05, 0, 975 * time.Millisecond},
		{0.15, 0, 1075 * time.Millisecond}, // floor(1.5) odd: added
		{0, 1, 2 * time.Second},
		{0, 2, 4 * time.Second},
		{0, 3, 5 * time.Second}, // capped
		{0.99, 10, 5 * time.Second},
		{0, 1000, 5 * time.Second},
	}
	for _, tt := range tests {
		b := backoff{min: time.Second, max: 5 * time.Second, factor: 0.5, rand: func() float64 { return tt.r }}
		if got := b.duration(tt.n); got != tt.want {
			t.Errorf("duration(r=%v, n=%d) = %v, want %v", tt.r, tt.n, got, tt.want)
		}
	}
}

func TestTap(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	traces := make(chan protocol.Trace, 16)
	opts := testOptions(f)
	opts.Tap = func(tr protocol.Trace) { traces <- tr }
	c, fc, _ := dialFake(t, f, "http://example.test", opts)
	if err := c.Emit("x", []byte{1}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		dir protocol.Direction
		raw string
	}{{protocol.Out, "0"}, {protocol.In, `0{"sid":"S1"}`}, {protocol.Out, `51-["x",{"_placeholder":true,"num":0}]`}}
	for _, w := range want {
		tr := <-traces
		if tr.Dir != w.dir || tr.Layer != protocol.LayerSocket || string(tr.Raw[0]) != w.raw {
			t.Errorf("trace %v %s, want %v %s", tr.Dir, tr.Raw[0], w.dir, w.raw)
		}
	}
	_ = fc
}

func TestHostilePackets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send func(fc *fakeConn)
	}{
		{"bad JSON", func(fc *fakeConn) { fc.deliver(`2["x",`) }},
		{"unknown packet type", func(fc *fakeConn) { fc.deliver(`9`) }},
		{"non-digit type", func(fc *fakeConn) { fc.deliver(`x["a"]`) }},
		{"empty message", func(fc *fakeConn) { fc.deliver(``) }},
		{"placeholder with no attachment", func(fc *fakeConn) {
			fc.deliver(`51-["x",{"_placeholder":true,"num":0}]`, `2["next"]`)
		}},
		{"placeholder out of range", func(fc *fakeConn) {
			fc.deliver(`51-["x",{"_placeholder":true,"num":7}]`)
			fc.deliverBinary([]byte{1})
		}},
		{"a million attachments", func(fc *fakeConn) { fc.deliver(`51000000-["x"]`) }},
		{"binary without a header", func(fc *fakeConn) { fc.deliverBinary([]byte{1, 2}) }},
		{"reserved event", func(fc *fakeConn) { fc.deliver(`2["disconnect"]`) }},
		{"event that is not an array", func(fc *fakeConn) { fc.deliver(`2{"a":1}`) }},
		{"ack without id", func(fc *fakeConn) { fc.deliver(`3["a"]`) }},
		{"huge ack id", func(fc *fakeConn) { fc.deliver(`399999999999999999999[]`) }},
		{"CONNECT reply not an object", func(fc *fakeConn) { fc.deliver(`0"x"`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEngine(t, protocol.EIO4)
			c, fc, st := dialFake(t, f, "http://example.test", testOptions(f))
			tt.send(fc)
			if r := fc.waitClosed(t); r != protocol.ReasonIOClientDisconnect {
				t.Errorf("engine closed with %q", r)
			}
			s := st.waitFor(t, StateClose)
			var pe *ProtocolError
			if s.Reason != protocol.ReasonParseError || !errors.As(s.Err, &pe) {
				t.Errorf("close state %v", s)
			}
			// It reconnects (Options default) and works again.
			fc2 := f.next(t)
			fc2.expect(t, "0")
			fc2.deliver(`0{"sid":"S2"}`)
			st.waitFor(t, StateConnect)
			if c.SID() != "S2" {
				t.Errorf("sid %q after reconnect", c.SID())
			}
		})
	}
}

func TestFloodBeforeConnectReply(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.MaxBuffer = 4
	opts.NoReconnect = true
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	fc := f.next(t)
	fc.expect(t, "0")
	for range 10 {
		fc.deliver(`2["flood"]`)
	}
	fc.waitClosed(t)
	if err := <-errc; err == nil {
		t.Error("Connect succeeded")
	}
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, err := New("http://example.test", testOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(ctx) }()
	fc := f.next(t)
	if err := <-errc; !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNoConnectReply) {
		t.Errorf("err = %v, want deadline exceeded and ErrNoConnectReply", err)
	}
	fc.waitClosed(t)
}

// A v5 CONNECT answered without a sid comes from a socket.io 2.x server
// (EIO forced to 4): ErrServerV4, not a CONNECT_ERROR from the server.
func TestConnectReplyWithoutSID(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, err := New("http://example.test", testOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	st := watchStates(c)
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	fc := f.next(t)
	fc.expect(t, "0")
	fc.deliver("0")
	err = <-errc
	var ce *ConnectError
	if !errors.Is(err, ErrServerV4) || errors.As(err, &ce) {
		t.Errorf("err = %v, want ErrServerV4 and no *ConnectError", err)
	}
	if s := st.waitFor(t, StateConnectError); !errors.Is(s.Err, ErrServerV4) {
		t.Errorf("state %v", s)
	}
}

func TestHandlerPanicIsRecovered(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	after := make(chan struct{}, 1)
	c.On("boom", func(*Event) { panic("handler bug") })
	c.On("ok", func(*Event) { after <- struct{}{} })
	fc.deliver(`2["boom"]`, `2["ok"]`)
	select {
	case <-after:
	case <-time.After(5 * time.Second):
		t.Fatal("reader died after a handler panic")
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"ftp://x", "localhost:3000", "http://", "%zz"} {
		if _, err := New(u, Options{}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

// With EIO auto, a v2 server is only known after the handshake, which went
// out without the auth: the client dials again with EIO3 and the auth in
// the handshake query (socket.io 2 middlewares of "/" read it there), and
// keeps EIO3 for reconnections.
func TestAutoEIO3RedialsWithAuthInQuery(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO3)
	opts := testOptions(f)
	opts.Auth = json.RawMessage(`{"token":"x"}`)
	opts.Query = url.Values{"q": {"1"}}
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	first := f.next(t)
	if first.cfg.EIO != 0 || first.cfg.Query.Has("token") {
		t.Errorf("first dial: EIO %d query %v", first.cfg.EIO, first.cfg.Query)
	}
	first.waitClosed(t)
	second := f.next(t)
	if second.cfg.EIO != protocol.EIO3 || second.cfg.Query.Get("token") != "x" || second.cfg.Query.Get("q") != "1" {
		t.Errorf("second dial: EIO %d query %v", second.cfg.EIO, second.cfg.Query)
	}
	second.deliver("0")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	second.end(protocol.ReasonTransportClose, nil)
	third := f.next(t)
	if third.cfg.EIO != protocol.EIO3 || third.cfg.Query.Get("token") != "x" {
		t.Errorf("reconnection: EIO %d query %v", third.cfg.EIO, third.cfg.Query)
	}
	if opts.Query.Has("token") {
		t.Error("the caller's Query was modified")
	}
}

func TestAutoEIO3WithoutAuthDialsOnce(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO3)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	if c.EIO() != protocol.EIO3 || fc.cfg.EIO != 0 {
		t.Errorf("EIO %d, dialled with %d", c.EIO(), fc.cfg.EIO)
	}
	f.mu.Lock()
	dials := f.dials
	f.mu.Unlock()
	if dials != 1 {
		t.Errorf("%d dials, want 1", dials)
	}
}

// EmitAck queues at once, so acks emitted one after the other keep their
// order even when they are waited for on other goroutines.
func TestEmitAckKeepsOrder(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	var pending []*PendingAck
	for _, ev := range []string{"a", "b", "c"} {
		p, err := c.Socket().EmitAck(ev)
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, p)
	}
	fc.expect(t, `20["a"]`)
	fc.expect(t, `21["b"]`)
	fc.expect(t, `22["c"]`)
	fc.deliver(`32["C"]`, `30["A"]`)
	for i, want := range []string{`["A"]`, "", `["C"]`} {
		if want == "" {
			continue
		}
		a, err := pending[i].Wait(t.Context())
		if err != nil || string(a.Inline()) != want {
			t.Errorf("ack %d: %v %v, want %s", i, a, err, want)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := pending[1].Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unanswered ack: %v", err)
	}
}

// The Tap shows outgoing binary packets with their wire type, and each
// packet with the socket id of its own namespace.
func TestTapBinaryTypeAndNamespaceSID(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	traces := make(chan protocol.Trace, 64)
	opts := testOptions(f)
	opts.Tap = func(tr protocol.Trace) {
		if tr.Layer == protocol.LayerSocket {
			traces <- tr
		}
	}
	c, fc, _ := dialFake(t, f, "http://example.test", opts)
	admin := c.Of("/admin")
	errc := make(chan error, 1)
	go func() { errc <- admin.Connect(t.Context()) }()
	fc.expect(t, "0/admin,")
	fc.deliver(`0/admin,{"sid":"A1"}`)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := admin.Emit("up", []byte{1}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *Event, 1)
	admin.On("q", func(e *Event) {
		if err := e.Ack([]byte{2}); err != nil {
			t.Error(err)
		}
		got <- e
	})
	fc.deliver(`2/admin,7["q"]`)
	<-got
	if err := c.Emit("root"); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		dir  protocol.Direction
		typ  protocol.PacketType
		nsp  string
		sid  string
		note string
	}{
		{protocol.Out, protocol.PacketConnect, "/", "", "CONNECT of /"},
		{protocol.In, protocol.PacketConnect, "/", "", "its reply"},
		{protocol.Out, protocol.PacketConnect, "/admin", "", "CONNECT of /admin"},
		{protocol.In, protocol.PacketConnect, "/admin", "", "its reply"},
		{protocol.Out, protocol.PacketBinaryEvent, "/admin", "A1", "binary emit"},
		{protocol.In, protocol.PacketEvent, "/admin", "A1", "event"},
		{protocol.Out, protocol.PacketBinaryAck, "/admin", "A1", "binary ack"},
		{protocol.Out, protocol.PacketEvent, "/", "S1", "emit on /"},
	}
	for _, w := range want {
		select {
		case tr := <-traces:
			if tr.Dir != w.dir || tr.Packet.Type != w.typ || tr.Packet.Namespace != w.nsp || tr.SID != w.sid {
				t.Errorf("%s: trace %v %v %s sid %q, want %v %v %s sid %q", w.note, tr.Dir, tr.Packet.Type, tr.Packet.Namespace, tr.SID, w.dir, w.typ, w.nsp, w.sid)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no trace", w.note)
		}
	}
	fc.expect(t, `51-/admin,["up",{"_placeholder":true,"num":0}]`)
	fc.expectBinary(t, []byte{1})
	fc.expect(t, `61-/admin,7[{"_placeholder":true,"num":0}]`)
}

// socket.io 2 connects "/" by itself only when the connection opens;
// connecting "/" again after a disconnect needs an explicit CONNECT.
func TestEIO3ReconnectRootNamespace(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO3)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	if err := c.Socket().Disconnect(); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, "1")
	errc := make(chan error, 1)
	go func() { errc <- c.Socket().Connect(t.Context()) }()
	fc.expect(t, "0")
	fc.deliver("0")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !c.Socket().Connected() || c.SID() != "eioA" {
		t.Errorf("connected %v sid %q", c.Socket().Connected(), c.SID())
	}
}

// With EIO auto over WebSocket, a socket.io 2.x server whose "/"
// middleware is slower than the engine's detection window is taken for
// EIO4 (engine.Conn.EIOGuessed). Its sid-less CONNECT reply gives it away:
// the client drops that session, dials again with EIO3 and the auth in the
// handshake query, connects without reporting an error, and keeps EIO3 for
// reconnections.
func TestGuessedEIO4RedialsWithEIO3(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		reply string // the v2 server's answer on the guessed link
	}{
		{"connect without sid", "0"},
		{"middleware error string", `4"Not authorized"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEngine(t, protocol.EIO3)
			f.guess = true
			opts := testOptions(f)
			opts.Auth = json.RawMessage(`{"token":"x"}`)
			c, err := New("http://example.test", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := watchStates(c)
			errc := make(chan error, 1)
			go func() { errc <- c.Connect(t.Context()) }()
			first := f.next(t)
			if first.cfg.EIO != 0 || first.cfg.Query.Has("token") {
				t.Errorf("first dial: EIO %d query %v", first.cfg.EIO, first.cfg.Query)
			}
			first.expect(t, `0{"token":"x"}`) // the v5 CONNECT a v4 server expects
			first.deliver(tt.reply)
			if r := first.waitClosed(t); r != protocol.ReasonIOClientDisconnect {
				t.Errorf("guessed link closed with %q", r)
			}
			second := f.next(t)
			if second.cfg.EIO != protocol.EIO3 || second.cfg.Query.Get("token") != "x" {
				t.Errorf("second dial: EIO %d query %v", second.cfg.EIO, second.cfg.Query)
			}
			second.deliver("0")
			if err := <-errc; err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if c.EIO() != protocol.EIO3 || c.SID() != "eioB" {
				t.Errorf("EIO %d sid %q", c.EIO(), c.SID())
			}
			for len(st) > 0 {
				if s := <-st; s.Kind == StateConnectError || s.Kind == StateClose || s.Kind == StateDisconnect {
					t.Errorf("unexpected state %s", s)
				}
			}
			ack := make(chan error, 1)
			go func() {
				_, err := c.EmitWithAck(t.Context(), "hi")
				ack <- err
			}()
			second.expect(t, `20["hi"]`)
			second.deliver(`30[]`)
			if err := <-ack; err != nil {
				t.Fatal(err)
			}
			second.end(protocol.ReasonTransportClose, nil)
			third := f.next(t)
			if third.cfg.EIO != protocol.EIO3 || third.cfg.Query.Get("token") != "x" {
				t.Errorf("reconnection: EIO %d query %v", third.cfg.EIO, third.cfg.Query)
			}
		})
	}
}

// Only a guess is corrected: a connection whose EIO4 was detected (or
// forced) still reports a sid-less CONNECT reply as ErrServerV4, without
// dialling again.
func TestDetectedEIO4SidlessConnectFails(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	opts := testOptions(f)
	opts.NoReconnect = true
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() { errc <- c.Connect(t.Context()) }()
	fc := f.next(t)
	fc.expect(t, "0")
	fc.deliver("0")
	if err := <-errc; !errors.Is(err, ErrServerV4) {
		t.Fatalf("Connect: %v, want ErrServerV4", err)
	}
	f.mu.Lock()
	dials := f.dials
	f.mu.Unlock()
	if dials != 1 {
		t.Errorf("%d dials, want 1", dials)
	}
}

// SendRaw's Socket.IO packet reaches the Tap like any other outgoing
// packet, with the typed data as its frame; an Engine.IO packet that is not
// a message, or a message that is no Socket.IO packet, is the transport's
// to trace.
func TestTapSendRaw(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	traces := make(chan protocol.Trace, 64)
	opts := testOptions(f)
	opts.Tap = func(tr protocol.Trace) {
		if tr.Layer == protocol.LayerSocket && tr.Dir == protocol.Out && tr.Packet.Type != protocol.PacketConnect {
			traces <- tr
		}
	}
	c, fc, _ := dialFake(t, f, "http://example.test", opts)
	for _, frame := range []string{`42["x",1]`, `2`, `4not a packet`, `42/admin,7["connect"]`, `451-["b",{"_placeholder":true,"num":0}]`} {
		if err := c.SendRaw(frame); err != nil {
			t.Fatalf("SendRaw(%q): %v", frame, err)
		}
	}
	want := []struct {
		typ      protocol.PacketType
		nsp, raw string
		sid      string
	}{
		{protocol.PacketEvent, "/", `2["x",1]`, "S1"},
		{protocol.PacketEvent, "/admin", `2/admin,7["connect"]`, ""},
		{protocol.PacketBinaryEvent, "/", `51-["b",{"_placeholder":true,"num":0}]`, "S1"},
	}
	for _, w := range want {
		select {
		case tr := <-traces:
			if tr.Packet.Type != w.typ || tr.Packet.Namespace != w.nsp || len(tr.Raw) != 1 || string(tr.Raw[0]) != w.raw || tr.SID != w.sid || tr.EIO != protocol.EIO4 {
				t.Errorf("trace %v %s %q sid %q, want %v %s %q sid %q", tr.Packet.Type, tr.Packet.Namespace, tr.Raw, tr.SID, w.typ, w.nsp, w.raw, w.sid)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no trace of %s", w.raw)
		}
	}
	select {
	case tr := <-traces:
		t.Errorf("extra trace %v %q", tr.Packet.Type, tr.Raw)
	default:
	}
	fc.expect(t, `2["x",1]`)
	if err := c.SendRaw("9bogus"); err == nil {
		t.Error("SendRaw(9bogus) accepted")
	}
}
