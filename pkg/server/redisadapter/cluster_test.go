package redisadapter

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// quietLog drops go-redis's own log lines (its dial failures while a
// test has Redis down).
type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLog{})
	goleak.VerifyTestMain(m)
}

// testWait bounds a wait for an event that should come: generous, since
// the machine is shared; an event that comes returns at once.
const testWait = 30 * time.Second

// node is one pkg/server server in the cluster.
type node struct {
	srv     *server.Server
	cluster *Cluster
	url     string
	sse     chan *ServerEvent
}

func newNode(t *testing.T, r *testutil.RedisServer, opts Options) *node {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	n := &node{sse: make(chan *ServerEvent, 16)}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.OnServerSideEmit = func(nsp string, e *ServerEvent) {
		if e.WantsAck() {
			_ = e.Ack(map[string]any{"pong": e.Name})
		}
		n.sse <- e
	}
	n.cluster = New(rc, opts)
	n.srv = server.New(server.Options{Adapter: n.cluster.Adapter})
	n.srv.Of("/").OnConnection(func(s *server.Socket) {
		// The client names its rooms in the handshake query.
		for _, r := range s.Handshake().Query["room"] {
			s.Join(r)
		}
		s.On("ping", func(e *server.Event) { _ = e.Ack("pong") })
	})
	hs := httptest.NewServer(n.srv)
	n.url = hs.URL
	t.Cleanup(func() {
		hs.Close()
		n.srv.Close()
		_ = n.cluster.Close()
		_ = rc.Close()
	})
	// The adapter of "/" subscribes when the namespace is made; wait
	// until Redis counts this node.
	waitNodes(t, rc, opts.Sharded, 0)
	return n
}

// waitNodes waits until more than atLeast nodes listen on the channel
// that counts the nodes of "/" (the request channel; the namespace's
// shard channel when sharded).
func waitNodes(t *testing.T, rc *redis.Client, sharded bool, atLeast int) {
	t.Helper()
	if sharded {
		waitCount(t, func() (map[string]int64, error) {
			return rc.PubSubShardNumSub(context.Background(), "socket.io#/#").Result()
		}, "socket.io#/#", atLeast)
		return
	}
	waitNumSub(t, rc, "socket.io-request#/#", atLeast)
}

// waitNumSub waits until at least min+1 nodes listen on channel.
func waitNumSub(t *testing.T, rc *redis.Client, channel string, atLeast int) {
	t.Helper()
	waitCount(t, func() (map[string]int64, error) { return rc.PubSubNumSub(context.Background(), channel).Result() }, channel, atLeast)
}

func waitCount(t *testing.T, count func() (map[string]int64, error), channel string, atLeast int) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		m, err := count()
		if err == nil && int(m[channel]) > atLeast {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d subscribers (%v), want > %d", channel, m[channel], err, atLeast)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// peer is a client of one node that records the events it gets.
type peer struct {
	c      *client.Client
	events chan *client.Event
}

func newPeer(t *testing.T, url string, rooms ...string) *peer {
	t.Helper()
	q := ""
	for i, r := range rooms {
		if i == 0 {
			q = "?"
		} else {
			q += "&"
		}
		q += "room=" + r
	}
	c, err := client.New(url+"/"+q, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{c: c, events: make(chan *client.Event, 64)}
	c.OnAny(func(e *client.Event) {
		if e.WantsAck() {
			_ = e.Ack(map[string]any{"from": c.SID(), "got": e.Name})
		}
		p.events <- e
	})
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p
}

// next returns the next event the peer gets.
func (p *peer) next(t *testing.T) *client.Event {
	t.Helper()
	select {
	case e := <-p.events:
		return e
	case <-time.After(testWait):
		t.Fatalf("no event after %v", testWait)
		return nil
	}
}

// expect checks that the next event is name with these JSON args.
func (p *peer) expect(t *testing.T, name string, args ...string) {
	t.Helper()
	e := p.next(t)
	got := make([]string, len(e.Args))
	for i, a := range e.Args {
		got[i] = string(a)
	}
	if e.Name != name || !slices.Equal(got, args) {
		t.Fatalf("got %s%v, want %s%v", e.Name, got, name, args)
	}
}

// mark sends a marker through node n to every socket and checks that each
// peer's next event is it: what a peer got before it, it got before.
func mark(t *testing.T, n *node, i int, peers ...*peer) {
	t.Helper()
	if err := n.srv.Of("/").Emit("mark", i); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		p.expect(t, "mark", fmt.Sprint(i))
	}
}

// modes runs a test with the classic adapter and with the sharded one.
func modes(t *testing.T, test func(t *testing.T, opts Options)) {
	for _, sharded := range []bool{false, true} {
		name := "classic"
		if sharded {
			name = "sharded"
		}
		t.Run(name, func(t *testing.T) { test(t, Options{Sharded: sharded}) })
	}
}

func TestBroadcastBetweenNodes(t *testing.T) { modes(t, testBroadcastBetweenNodes) }

func testBroadcastBetweenNodes(t *testing.T, opts Options) {
	r := testutil.StartRedis(t)
	a, b := newNode(t, r, opts), newNode(t, r, opts)
	pa := newPeer(t, a.url)
	pb1 := newPeer(t, b.url, "r1")
	pb2 := newPeer(t, b.url, "r2")
	all := []*peer{pa, pb1, pb2}
	if opts.Sharded {
		// B subscribes to its rooms' channels as its sockets join them.
		rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
		defer rc.Close()
		for _, ch := range []string{"socket.io#/#r1#", "socket.io#/#r2#"} {
			waitCount(t, func() (map[string]int64, error) { return rc.PubSubShardNumSub(context.Background(), ch).Result() }, ch, 0)
		}
	}
	nspA := a.srv.Of("/")

	// To all, with binary.
	if err := nspA.Emit("hello", 1, "two", map[string]any{"three": []int{3}}, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		e := p.next(t)
		if e.Name != "hello" || len(e.Args) != 4 || len(e.Attachments) != 1 || string(e.Attachments[0]) != "\x01\x02\x03" {
			t.Fatalf("got %s %s %q", e.Name, e.Args, e.Attachments)
		}
	}
	// To a room: one channel per room, only its members.
	if err := nspA.To("r1").Emit("room", "r1"); err != nil {
		t.Fatal(err)
	}
	pb1.expect(t, "room", `"r1"`)
	mark(t, a, 1, all...)
	// Except a room, across rooms.
	if err := nspA.To("r1", "r2").Except("r2").Emit("except"); err != nil {
		t.Fatal(err)
	}
	pb1.expect(t, "except")
	mark(t, a, 2, all...)
	// Local: this node only.
	if err := nspA.Local().Emit("local"); err != nil {
		t.Fatal(err)
	}
	pa.expect(t, "local")
	mark(t, a, 3, all...)
	// Volatile is carried as a flag and delivered to ready sockets.
	if err := nspA.Volatile().Emit("vol"); err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		p.expect(t, "vol")
	}
	// From B to A: the other direction and the sending node's own.
	if err := b.srv.Of("/").Except("r1").Emit("fromB"); err != nil {
		t.Fatal(err)
	}
	pa.expect(t, "fromB")
	pb2.expect(t, "fromB")
	mark(t, b, 4, all...)
}

func TestRequestsBetweenNodes(t *testing.T) { modes(t, testRequestsBetweenNodes) }

func testRequestsBetweenNodes(t *testing.T, opts Options) {
	r := testutil.StartRedis(t)
	a, b := newNode(t, r, opts), newNode(t, r, opts)
	pa := newPeer(t, a.url)
	pb := newPeer(t, b.url, "r1")
	nspA := a.srv.Of("/")
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()

	socks, err := nspA.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]server.RemoteSocket{}
	for _, s := range socks {
		got[s.ID] = s
	}
	sa, sb := got[pa.c.SID()], got[pb.c.SID()]
	if len(socks) != 2 || sa.ID == "" || sb.ID == "" {
		t.Fatalf("fetchSockets: %+v", socks)
	}
	if n, err := a.cluster.Namespace("/").ServerCount(ctx); n != 2 || err != nil {
		t.Fatalf("serverCount: %d %v", n, err)
	}
	if sa.Node != "" || sb.Node != b.cluster.UID() || !slices.Contains(sb.Rooms, "r1") || sb.Handshake.Query.Get("room") != "r1" {
		t.Fatalf("fetchSockets: a %+v, b %+v", sa, sb)
	}

	// socketsJoin across the cluster, then a broadcast to the new room.
	if err := nspA.In("r1").SocketsJoin("joined"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return slices.Contains(roomsOf(b, pb.c.SID()), "joined") })
	if opts.Sharded {
		// B subscribes to the new room's channel once the room exists.
		rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
		defer rc.Close()
		waitCount(t, func() (map[string]int64, error) {
			return rc.PubSubShardNumSub(context.Background(), "socket.io#/#joined#").Result()
		}, "socket.io#/#joined#", 0)
	}
	if err := nspA.To("joined").Emit("inJoined"); err != nil {
		t.Fatal(err)
	}
	pb.expect(t, "inJoined")
	if err := nspA.SocketsLeave("r1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !slices.Contains(roomsOf(b, pb.c.SID()), "r1") })

	// allRooms.
	rooms, err := a.cluster.Namespace("/").AllRooms(ctx)
	if err != nil || !slices.Contains(rooms, "joined") || !slices.Contains(rooms, pa.c.SID()) {
		t.Fatalf("allRooms: %v %v", rooms, err)
	}

	// Acknowledged broadcast: one answer from each node's socket.
	acks, err := nspA.EmitWithAck(ctx, "ask", 7)
	if err != nil || len(acks) != 2 {
		t.Fatalf("emitWithAck: %d answers, %v", len(acks), err)
	}
	froms := []string{}
	for _, ack := range acks {
		var v struct{ From string }
		if err := ack.Decode(0, &v); err != nil {
			t.Fatal(err)
		}
		froms = append(froms, v.From)
	}
	sort.Strings(froms)
	want := []string{pa.c.SID(), pb.c.SID()}
	sort.Strings(want)
	if !slices.Equal(froms, want) {
		t.Fatalf("answers from %v, want %v", froms, want)
	}
	pa.expect(t, "ask", "7")
	pb.expect(t, "ask", "7")

	// serverSideEmit, without and with ack.
	if err := a.cluster.Namespace("/").ServerSideEmit("hi", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-b.sse:
		if e.Name != "hi" || len(e.Args) != 1 || string(e.Args[0]) != "1" || e.From != a.cluster.UID() || e.WantsAck() {
			t.Fatalf("serverSideEmit: %+v", e)
		}
	case <-time.After(testWait):
		t.Fatal("no serverSideEmit")
	}
	answers, err := a.cluster.Namespace("/").ServerSideEmitWithAck(ctx, "hey")
	if err != nil || len(answers) != 1 || string(answers[0]) != `{"pong":"hey"}` {
		t.Fatalf("serverSideEmitWithAck: %s %v", answers, err)
	}
	<-b.sse
	select {
	case e := <-a.sse:
		t.Fatalf("the sender got its own serverSideEmit %q", e.Name)
	default:
	}

	// disconnectSockets across the cluster.
	if err := nspA.In("joined").DisconnectSockets(true); err != nil {
		t.Fatal(err)
	}
	// The client reconnects (a socket.io client does after "transport
	// close"): the old socket is gone from B.
	old := pb.c.SID()
	waitFor(t, func() bool { _, ok := b.srv.Of("/").Socket(old); return !ok })
}

func roomsOf(n *node, id string) []string {
	s, ok := n.srv.Of("/").Socket(id)
	if !ok {
		return nil
	}
	return s.Rooms()
}

// waitFor polls cond: a room change through Redis has no event to wait on.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFetchSocketsTimeout: a node that never answers (a bare subscriber
// of the request channel, counted by NUMSUB) makes fetchSockets fail
// after RequestsTimeout with what the others sent, as Node rejects.
func TestFetchSocketsTimeout(t *testing.T) {
	r := testutil.StartRedis(t)
	a := newNode(t, r, Options{RequestsTimeout: 300 * time.Millisecond})
	pa := newPeer(t, a.url)
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	mute := rc.Subscribe(context.Background(), "socket.io-request#/#")
	defer mute.Close()
	waitNumSub(t, rc, "socket.io-request#/#", 1)
	socks, err := a.srv.Of("/").FetchSockets(context.Background())
	if err == nil || len(socks) != 1 || socks[0].ID != pa.c.SID() {
		t.Fatalf("fetchSockets with a mute node: %v, %v", socks, err)
	}
}

// TestDecodeShardedCapture: every message two Node servers with
// createShardedAdapter exchanged decodes, and sio writes those of its
// own kinds byte for byte.
func TestDecodeShardedCapture(t *testing.T) {
	msgs := readMonitor(t, "testdata/node-sharded-monitor.txt")
	if len(msgs) < 13 {
		t.Fatalf("%d messages in the capture", len(msgs))
	}
	for _, m := range msgs {
		if m.channel == "socket.io#/#r1#" && m.payload[0] == 0x93 {
			continue // the redis-emitter's (classic) message
		}
		sm, err := DecodeSharded(m.payload)
		if err != nil {
			t.Fatalf("%s %q: %v", m.channel, m.payload, err)
		}
		var again []byte
		switch sm.Type {
		case MsgBroadcast:
			data := []byte(`{"packet":`)
			data = append(data, packetJSON(sm.Packet)...)
			if sm.RequestID != "" {
				data = append(append(data, `,"requestId":`...), protocol.AppendString(nil, sm.RequestID)...)
			}
			flags := Flags{}
			if sm.Opts.Flags != nil {
				flags = *sm.Opts.Flags
			}
			data = append(append(data, `,"opts":`...), optsJSON(sm.Opts.Rooms, sm.Opts.Except, flags)...)
			data = append(data, '}')
			again, err = encodeSharded(sm.Type, data, sm.Packet.Attachments, sm.UID, sm.Nsp)
		case MsgSocketsJoin, MsgSocketsLeave:
			r, _ := marshalJS(sm.Rooms)
			data := append(append(append([]byte(`{"opts":`), optsJSON(sm.Opts.Rooms, sm.Opts.Except, Flags{})...), `,"rooms":`...), r...)
			again, err = encodeSharded(sm.Type, append(data, '}'), nil, sm.UID, sm.Nsp)
		case MsgBroadcastAck:
			if string(sm.Value) != `{"ok":7}` {
				t.Fatalf("BROADCAST_ACK %s", sm.Value)
			}
			continue
		default:
			continue
		}
		if err != nil || string(again) != string(m.payload) {
			t.Fatalf("%s re-encoded\n%q, Node wrote\n%q (%v)", sm.Type, again, m.payload, err)
		}
	}
}

func TestDecodeNodeCapture(t *testing.T) {
	msgs := readMonitor(t, "testdata/node-monitor.txt")
	if len(msgs) < 15 {
		t.Fatalf("%d messages in the capture", len(msgs))
	}
	for _, m := range msgs {
		switch {
		case len(m.channel) > 10 && m.channel[:10] == "socket.io#":
			b, err := DecodeBroadcast(m.payload)
			if err != nil {
				t.Fatalf("%s %q: %v", m.channel, m.payload, err)
			}
			if b.UID == EmitterUID {
				// What the redis-emitter published, sio emit writes byte
				// for byte.
				again, err := AppendEmitterBroadcast(nil, &b.Packet, Target{Rooms: b.Rooms, Except: b.Except, Volatile: b.Flags.Volatile, Compress: b.Flags.Compress})
				if err != nil || string(again) != string(m.payload) {
					t.Fatalf("%s: re-encoded\n%q, the emitter wrote\n%q (%v)", m.channel, again, m.payload, err)
				}
				continue
			}
			// What Node's adapter published, sio writes byte for byte.
			again, err := AppendBroadcast(nil, b)
			if err != nil || string(again) != string(m.payload) {
				t.Fatalf("%s: re-encoded\n%q, Node wrote\n%q (%v)", m.channel, again, m.payload, err)
			}
		default:
			r, err := DecodeRequest(m.payload)
			if err != nil {
				t.Fatalf("%s %q: %v", m.channel, m.payload, err)
			}
			if r.Type == ReqBroadcast {
				if r.Packet == nil || r.Opts == nil || r.Opts.Flags == nil || r.Opts.Flags.Timeout == nil || *r.Opts.Flags.Timeout != 2000 {
					t.Fatalf("BROADCAST request: %+v", r)
				}
				again, err := appendBroadcastRequest(r.UID, r.RequestID, r.Packet, r.Packet.Namespace, *r.Opts)
				if err != nil || string(again) != string(m.payload) {
					t.Fatalf("BROADCAST re-encoded\n%q, Node wrote\n%q (%v)", again, m.payload, err)
				}
			}
			if r.Type == ReqBroadcastAck && string(r.Ack) != `{"ok":7}` {
				t.Fatalf("BROADCAST_ACK packet %s", r.Ack)
			}
		}
	}
}
