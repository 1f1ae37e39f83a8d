// Package cluster tests sio's Redis adapter in one cluster with Node
// socket.io 4.8 servers using @socket.io/redis-adapter 8.3: every
// operation of the adapter, from a Node node and from a sio node, reaching
// real Node clients on every node.
package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/pkg/server/redisadapter"
)

// sioNode is a pkg/server server in the cluster, in this process.
type sioNode struct {
	name    string
	srv     *server.Server
	cluster *redisadapter.Cluster
	url     string

	mu   sync.Mutex
	cond *sync.Cond
	sse  []sseSeen // the serverSideEmit events received
}

type sseSeen struct {
	nsp, event string
	args       []json.RawMessage
}

func startSio(t *testing.T, name, addr string, sharded bool) *sioNode {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	n := &sioNode{name: name}
	n.cond = sync.NewCond(&n.mu)
	n.cluster = redisadapter.New(rc, redisadapter.Options{
		Sharded: sharded,
		Logger:  slog.New(slog.DiscardHandler),
		OnServerSideEmit: func(nsp string, e *redisadapter.ServerEvent) {
			if e.WantsAck() {
				_ = e.Ack(map[string]string{"pong": e.Name})
			}
			n.mu.Lock()
			n.sse = append(n.sse, sseSeen{nsp, e.Name, e.Args})
			n.cond.Broadcast()
			n.mu.Unlock()
		},
	})
	n.srv = server.New(server.Options{Adapter: n.cluster.Adapter})
	onConn := func(s *server.Socket) {
		if rooms := s.Handshake().Query.Get("room"); rooms != "" {
			s.Join(strings.Split(rooms, ",")...)
		}
	}
	n.srv.Of("/").OnConnection(onConn)
	n.srv.OfFunc(func(string, json.RawMessage) bool { return true }).OnConnection(onConn)
	hs := httptest.NewServer(n.srv)
	n.url = hs.URL
	t.Cleanup(func() {
		hs.Close()
		n.srv.Close()
		_ = n.cluster.Close()
		_ = rc.Close()
	})
	return n
}

// member is a node of the test cluster.
type member interface {
	label() string
	baseURL() string
}

// sender is a member the test drives, Node or sio, the same way.
type sender interface {
	member
	broadcast(t *testing.T, b bcast)
	fetch(t *testing.T, nsp string) map[string][]string // id → rooms
	socketsJoin(t *testing.T, nsp string, in []string, rooms ...string)
	disconnect(t *testing.T, nsp string, in []string)
	serverSideEmit(t *testing.T, nsp, event string, args ...any)
	serverSideEmitWithAck(t *testing.T, nsp, event string) []string
	emitWithAck(t *testing.T, nsp, event string) []string
}

// bcast is one broadcast of the tests.
type bcast struct {
	nsp              string
	rooms, except    []string
	volatile, local  bool
	event            string
	args             []any // []byte is a Buffer
	wantOn           []string
	wantOnSenderOnly bool // local: the sender's clients only
}

type nodeMember struct{ *nodePeer }

func (n nodeMember) label() string   { return n.name }
func (n nodeMember) baseURL() string { return n.url() }

// wireArgs writes args for node.mjs: a []byte as {"$bin": hex}.
func wireArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if b, ok := a.([]byte); ok {
			out[i] = map[string]string{"$bin": fmt.Sprintf("%x", b)}
		} else {
			out[i] = a
		}
	}
	return out
}

func (n nodeMember) broadcast(t *testing.T, b bcast) {
	n.call(t, map[string]any{"op": "broadcast", "nsp": b.nsp, "rooms": b.rooms, "except": b.except,
		"volatile": b.volatile, "local": b.local, "event": b.event, "args": wireArgs(b.args)})
}

func (n nodeMember) fetch(t *testing.T, nsp string) map[string][]string {
	l := n.call(t, map[string]any{"op": "fetch", "nsp": nsp})
	out := map[string][]string{}
	for _, s := range l["sockets"].([]any) {
		m := s.(map[string]any)
		var rooms []string
		for _, r := range m["rooms"].([]any) {
			rooms = append(rooms, r.(string))
		}
		sort.Strings(rooms)
		out[m["id"].(string)] = rooms
	}
	return out
}

func (n nodeMember) socketsJoin(t *testing.T, nsp string, in []string, rooms ...string) {
	n.call(t, map[string]any{"op": "join", "nsp": nsp, "rooms": in, "target": rooms})
}

func (n nodeMember) disconnect(t *testing.T, nsp string, in []string) {
	n.call(t, map[string]any{"op": "disconnect", "nsp": nsp, "rooms": in})
}

func (n nodeMember) serverSideEmit(t *testing.T, nsp, event string, args ...any) {
	n.call(t, map[string]any{"op": "sse", "nsp": nsp, "event": event, "args": args})
}

func (n nodeMember) serverSideEmitWithAck(t *testing.T, nsp, event string) []string {
	l := n.call(t, map[string]any{"op": "sse", "nsp": nsp, "event": event, "ack": true})
	return jsonStrings(l["answers"])
}

func (n nodeMember) emitWithAck(t *testing.T, nsp, event string) []string {
	l := n.call(t, map[string]any{"op": "emitWithAck", "nsp": nsp, "event": event, "timeout": 20000})
	return jsonStrings(l["answers"])
}

func jsonStrings(v any) []string {
	var out []string
	for _, a := range v.([]any) {
		b, _ := json.Marshal(a)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

type sioMember struct{ *sioNode }

func (n sioMember) label() string   { return n.name }
func (n sioMember) baseURL() string { return n.url }

func (n sioMember) op(nsp string, rooms, except []string) server.BroadcastOperator {
	return n.srv.Of(nsp).To(rooms...).Except(except...)
}

func (n sioMember) broadcast(t *testing.T, b bcast) {
	op := n.op(b.nsp, b.rooms, b.except)
	if b.volatile {
		op = op.Volatile()
	}
	if b.local {
		op = op.Local()
	}
	if err := op.Emit(b.event, b.args...); err != nil {
		t.Fatal(err)
	}
}

func (n sioMember) fetch(t *testing.T, nsp string) map[string][]string {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	socks, err := n.srv.Of(nsp).FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, s := range socks {
		rooms := slices.Clone(s.Rooms)
		sort.Strings(rooms)
		out[s.ID] = rooms
	}
	return out
}

func (n sioMember) socketsJoin(t *testing.T, nsp string, in []string, rooms ...string) {
	if err := n.op(nsp, in, nil).SocketsJoin(rooms...); err != nil {
		t.Fatal(err)
	}
}

func (n sioMember) disconnect(t *testing.T, nsp string, in []string) {
	if err := n.op(nsp, in, nil).DisconnectSockets(true); err != nil {
		t.Fatal(err)
	}
}

func (n sioMember) serverSideEmit(t *testing.T, nsp, event string, args ...any) {
	if err := n.cluster.Namespace(nsp).ServerSideEmit(event, args...); err != nil {
		t.Fatal(err)
	}
}

func (n sioMember) serverSideEmitWithAck(t *testing.T, nsp, event string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	answers, err := n.cluster.Namespace(nsp).ServerSideEmitWithAck(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range answers {
		out = append(out, string(a))
	}
	sort.Strings(out)
	return out
}

func (n sioMember) emitWithAck(t *testing.T, nsp, event string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	acks, err := n.srv.Of(nsp).EmitWithAck(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range acks {
		out = append(out, string(a.Raw[0]))
	}
	sort.Strings(out)
	return out
}

// testCluster is two Node nodes and two sio nodes on one Redis, and the
// Node process (the first Node node) that hosts every client.
type testCluster struct {
	sharded bool
	redis   *testutil.RedisServer
	members []member
	clients *nodePeer
	rc      *redis.Client
}

func startCluster(t *testing.T, sharded bool) *testCluster {
	t.Helper()
	nodeBinary(t)
	r := testutil.StartRedis(t)
	c := &testCluster{redis: r, sharded: sharded}
	n1 := startNode(t, "N1", r.URL(), sharded)
	n2 := startNode(t, "N2", r.URL(), sharded)
	c.members = []member{nodeMember{n1}, nodeMember{n2}, sioMember{startSio(t, "S1", r.Addr(), sharded)}, startServe(t, "S2", r.URL(), sharded)}
	c.clients = n1
	c.rc = redis.NewClient(&redis.Options{Addr: r.Addr()})
	t.Cleanup(func() { _ = c.rc.Close() })
	return c
}

// clientName is the name of the test's client on member m in nsp.
func clientName(nsp string, m member) string { return nsp + "@" + m.label() }

// connectAll connects a Node client to each member in nsp, those on the
// second of each kind (N2, S2) in room r1, and waits until every member's
// adapter of nsp listens. It returns the clients' socket ids by member.
func (c *testCluster) connectAll(t *testing.T, nsp string) map[string]string {
	t.Helper()
	for i, m := range c.members {
		cmd := map[string]any{"op": "connect", "name": clientName(nsp, m), "url": m.baseURL(), "nsp": nsp}
		if i%2 == 1 {
			cmd["rooms"] = "r1"
		}
		if _, ok := m.(*serveMember); ok {
			cmd["joinEvents"] = true
		}
		c.clients.send(t, cmd)
	}
	ids := map[string]string{}
	for _, m := range c.members {
		name := clientName(nsp, m)
		l := c.clients.await(t, name+" connected", func(l line) bool { return l.str("kind") == "connected" && l.str("name") == name })
		ids[m.label()] = l.str("id")
	}
	c.waitSubscribers(t, nsp, "", len(c.members))
	if c.sharded {
		// The nodes of r1's sockets subscribe to its channel.
		c.waitSubscribers(t, nsp, "r1", 2)
	}
	return ids
}

// waitSubscribers waits until want nodes listen to nsp: on its request
// channel (classic) or its shard channel (sharded), or with a room on
// that room's shard channel.
func (c *testCluster) waitSubscribers(t *testing.T, nsp, room string, want int) {
	t.Helper()
	count := c.rc.PubSubNumSub
	channel := "socket.io-request#" + nsp + "#"
	if c.sharded {
		count = c.rc.PubSubShardNumSub
		channel = "socket.io#" + nsp + "#"
		if room != "" {
			channel += room + "#"
		}
	}
	deadline := time.Now().Add(patience)
	for {
		n, err := count(context.Background(), channel).Result()
		if err == nil && n[channel] == int64(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v subscribers (%v), want %d", channel, n, err, want)
		}
		time.Sleep(10 * time.Millisecond) // Redis has no event for a subscription
	}
}

// eventNames returns the names of the events the client got, with args
// for the binary check.
func (c *testCluster) eventNames(nsp string, m member) []string {
	var out []string
	for _, l := range c.clients.events(clientName(nsp, m)) {
		out = append(out, l.str("event"))
	}
	return out
}

// waitEvent waits until the client on m got event.
func (c *testCluster) waitEvent(t *testing.T, nsp string, m member, event string) line {
	t.Helper()
	name := clientName(nsp, m)
	return c.clients.await(t, name+" got "+event, func(l line) bool {
		return l.str("kind") == "event" && l.str("name") == name && l.str("event") == event
	})
}

// TestCluster runs every operation in a cluster of the classic adapter
// (createAdapter) and in one of the sharded adapter
// (createShardedAdapter), each with its own redis-server.
func TestCluster(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		name := "classic"
		if sharded {
			name = "sharded"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, sharded)
			for _, sender := range []sender{c.members[0].(sender), c.members[2].(sender)} {
				t.Run("from "+sender.label(), func(t *testing.T) {
					t.Parallel()
					testOperations(t, c, sender)
				})
			}
			if sharded {
				return // the emitters PUBLISH: only classic nodes hear them
			}
			t.Run("redis-emitter", func(t *testing.T) {
				t.Parallel()
				testEmitter(t, c, "/redis-emitter", nodeEmitter(c))
			})
			t.Run("sio emit --redis", func(t *testing.T) {
				t.Parallel()
				testEmitter(t, c, "/sio-emit", sioEmitter(c))
			})
		})
	}
}

// testOperations runs every adapter operation from sender, checked on the
// Node clients of all four nodes.
func testOperations(t *testing.T, c *testCluster, sender sender) {
	nsp := "/from-" + sender.label()
	ids := c.connectAll(t, nsp)
	all := []string{"N1", "N2", "S1", "S2"}
	inR1 := []string{"N2", "S2"}
	notR1 := []string{"N1", "S1"}
	steps := []bcast{
		{event: "all", args: []any{1, "two", map[string]any{"three": []int{3}}, []byte{1, 2, 3}}, wantOn: all},
		{event: "toR1", rooms: []string{"r1"}, wantOn: inR1},
		{event: "exceptR1", except: []string{"r1"}, wantOn: notR1},
		{event: "toR1ExceptR1", rooms: []string{"r1"}, except: []string{"r1"}},
		{event: "local", local: true, wantOnSenderOnly: true},
		{event: "end", wantOn: all},
	}
	for _, s := range steps {
		s.nsp = nsp
		sender.broadcast(t, s)
	}
	for _, m := range c.members {
		c.waitEvent(t, nsp, m, "end")
	}
	for _, m := range c.members {
		var want []string
		for _, s := range steps {
			if slices.Contains(s.wantOn, m.label()) || (s.wantOnSenderOnly && m.label() == sender.label()) {
				want = append(want, s.event)
			}
		}
		got := c.eventNames(nsp, m)
		if c.sharded && m.label() == sender.label() && strings.HasPrefix(sender.label(), "N") {
			// Node's sharded adapter (socket.io-adapter's ClusterAdapter)
			// delivers a broadcast to its own sockets once Redis has
			// answered the publish, and a local-only one at once: "local"
			// may overtake the broadcasts sent before it. The others keep
			// their order.
			isLocal := func(e string) bool { return e == "local" }
			if n := len(got) - len(slices.DeleteFunc(slices.Clone(got), isLocal)); n != 1 {
				t.Errorf("the client on %s got \"local\" %d times: %v", m.label(), n, got)
			}
			got, want = slices.DeleteFunc(got, isLocal), slices.DeleteFunc(want, isLocal)
		}
		if !slices.Equal(got, want) {
			t.Errorf("the client on %s got %v, want %v", m.label(), got, want)
		}
		first := c.waitEvent(t, nsp, m, "all")
		if b, _ := json.Marshal(first["args"]); string(b) != `[1,"two",{"three":[3]},{"$bin":"010203"}]` {
			t.Errorf("the client on %s got all%s", m.label(), b)
		}
	}

	// fetchSockets: the four sockets and their rooms.
	socks := sender.fetch(t, nsp)
	if len(socks) != len(c.members) {
		t.Fatalf("fetchSockets: %v", socks)
	}
	for i, m := range c.members {
		want := []string{ids[m.label()]}
		if i%2 == 1 {
			want = append(want, "r1")
		}
		sort.Strings(want)
		if got := socks[ids[m.label()]]; !slices.Equal(got, want) {
			t.Errorf("fetchSockets: the socket on %s is in %v, want %v", m.label(), got, want)
		}
	}

	// Volatile: the flag crosses the cluster and every node delivers the
	// packet to a socket whose transport is idle, as they are now that
	// everything sent has arrived; it drops it when one is busy, so it
	// is not sent in the burst above.
	c.checkVolatile(t, nsp, func(event string) { sender.broadcast(t, bcast{nsp: nsp, volatile: true, event: event}) },
		func(event string) { sender.broadcast(t, bcast{nsp: nsp, event: event}) })

	// socketsJoin, then a broadcast to the new room.
	sender.socketsJoin(t, nsp, []string{"r1"}, "r2")
	waitRooms(t, sender, nsp, func(s map[string][]string) bool {
		return slices.Contains(s[ids["N2"]], "r2") && slices.Contains(s[ids["S2"]], "r2")
	})
	if c.sharded {
		c.waitSubscribers(t, nsp, "r2", 2)
	}
	sender.broadcast(t, bcast{nsp: nsp, rooms: []string{"r2"}, event: "toR2"})
	c.waitEvent(t, nsp, c.members[1], "toR2")
	c.waitEvent(t, nsp, c.members[3], "toR2")

	// serverSideEmit to the three other nodes, then with acks.
	sender.serverSideEmit(t, nsp, "hi", 1, "a")
	for _, m := range c.members {
		if m.label() == sender.label() {
			continue
		}
		waitSSE(t, c, m, nsp, "hi", `[1,"a"]`)
	}
	if got := sender.serverSideEmitWithAck(t, nsp, "hey"); !slices.Equal(got, []string{`{"pong":"hey"}`, `{"pong":"hey"}`, `{"pong":"hey"}`}) {
		t.Errorf("serverSideEmitWithAck: %v", got)
	}

	// A broadcast with acks: one answer from each node's client.
	var want []string
	for _, m := range c.members {
		want = append(want, fmt.Sprintf(`{"from":%q,"got":"ask"}`, ids[m.label()]))
	}
	sort.Strings(want)
	if got := sender.emitWithAck(t, nsp, "ask"); !slices.Equal(got, want) {
		t.Errorf("emitWithAck:\n got %v\nwant %v", got, want)
	}

	// disconnectSockets of r2: the clients on N2 and S2.
	sender.disconnect(t, nsp, []string{"r2"})
	for _, i := range []int{1, 3} {
		name := clientName(nsp, c.members[i])
		c.clients.await(t, name+" disconnected", func(l line) bool { return l.str("kind") == "disconnected" && l.str("name") == name })
	}
}

// waitSSE waits until member m saw the serverSideEmit event in nsp.
func waitSSE(t *testing.T, c *testCluster, m member, nsp, event, args string) {
	t.Helper()
	switch m := m.(type) {
	case nodeMember:
		l := m.await(t, m.name+" serverSideEmit "+event, func(l line) bool {
			return l.str("kind") == "sse" && l.str("nsp") == nsp && l.str("event") == event
		})
		if b, _ := json.Marshal(l["args"]); string(b) != args {
			t.Errorf("%s: serverSideEmit %s%s, want %s", m.name, event, b, args)
		}
	case *serveMember:
		l := m.await(t, m.name+" serverSideEmit "+event, func(l line) bool {
			d, _ := l["data"].(map[string]any)
			return l.str("type") == "cluster-event" && l.str("nsp") == nsp && d["event"] == event
		})
		if b, _ := json.Marshal(l["data"].(map[string]any)["args"]); string(b) != args {
			t.Errorf("%s: serverSideEmit %s%s, want %s", m.name, event, b, args)
		}
	case sioMember:
		e, ok := m.awaitSSE(nsp, event)
		if !ok {
			t.Fatalf("%s: no serverSideEmit %s in %s", m.name, event, nsp)
		}
		if b, _ := json.Marshal(e.args); string(b) != args {
			t.Errorf("%s: serverSideEmit %s%s, want %s", m.name, event, b, args)
		}
	}
}

// awaitSSE waits up to patience for the serverSideEmit event in nsp.
func (n *sioNode) awaitSSE(nsp, event string) (sseSeen, bool) {
	timedOut := false
	timer := time.AfterFunc(patience, func() {
		n.mu.Lock()
		timedOut = true
		n.cond.Broadcast()
		n.mu.Unlock()
	})
	defer timer.Stop()
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		for _, e := range n.sse {
			if e.nsp == nsp && e.event == event {
				return e, true
			}
		}
		if timedOut {
			return sseSeen{}, false
		}
		n.cond.Wait()
	}
}

// waitRooms polls fetchSockets until cond holds: socketsJoin is applied
// by each node when its request arrives, with no answer to wait for.
func waitRooms(t *testing.T, m sender, nsp string, cond func(map[string][]string) bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond(m.fetch(t, nsp)) {
		if time.Now().After(deadline) {
			t.Fatal("the rooms never changed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// emitFunc publishes one emitter broadcast to nsp.
type emitFunc func(t *testing.T, nsp string, rooms, except []string, volatile bool, event string, args ...any)

// nodeEmitter publishes with @socket.io/redis-emitter in the Node peer.
func nodeEmitter(c *testCluster) emitFunc {
	return func(t *testing.T, nsp string, rooms, except []string, volatile bool, event string, args ...any) {
		c.clients.call(t, map[string]any{"op": "emitter", "nsp": nsp, "rooms": rooms, "except": except, "volatile": volatile, "event": event, "args": wireArgs(args)})
	}
}

// sioEmitter publishes with `sio emit --redis`.
func sioEmitter(c *testCluster) emitFunc {
	return func(t *testing.T, nsp string, rooms, except []string, volatile bool, event string, args ...any) {
		cmdArgs := []string{"emit", "--redis", c.redis.URL(), "--namespace", nsp}
		for _, r := range rooms {
			cmdArgs = append(cmdArgs, "--room", r)
		}
		for _, r := range except {
			cmdArgs = append(cmdArgs, "--except", r)
		}
		if volatile {
			cmdArgs = append(cmdArgs, "--volatile")
		}
		cmdArgs = append(cmdArgs, event)
		for _, a := range args {
			if b, ok := a.([]byte); ok {
				a = map[string]string{"$binary": base64.StdEncoding.EncodeToString(b)}
			}
			j, _ := json.Marshal(a)
			cmdArgs = append(cmdArgs, string(j))
		}
		out, err := exec.Command(sioBinary(t), cmdArgs...).CombinedOutput()
		if err != nil {
			t.Fatalf("sio %v: %v\n%s", cmdArgs, err, out)
		}
	}
}

// testEmitter: an emitter (the redis-emitter or sio emit --redis)
// reaches the clients of every node.
func testEmitter(t *testing.T, c *testCluster, nsp string, emit emitFunc) {
	c.connectAll(t, nsp)
	emit(t, nsp, []string{"r1"}, nil, false, "fromEmitter", "x", []byte("hi"))
	emit(t, nsp, nil, []string{"r1"}, false, "notR1")
	emit(t, nsp, nil, nil, false, "end")
	for i, m := range c.members {
		c.waitEvent(t, nsp, m, "end")
		want := []string{"notR1", "end"}
		if i%2 == 1 {
			want = []string{"fromEmitter", "end"}
			l := c.waitEvent(t, nsp, m, "fromEmitter")
			if b, _ := json.Marshal(l["args"]); string(b) != `["x",{"$bin":"6869"}]` {
				t.Errorf("%s: fromEmitter%s", m.label(), b)
			}
		}
		if got := c.eventNames(nsp, m); !slices.Equal(got, want) {
			t.Errorf("the client on %s got %v, want %v", m.label(), got, want)
		}
	}
	// Volatile once everything has arrived (see testOperations).
	c.checkVolatile(t, nsp, func(event string) { emit(t, nsp, nil, nil, true, event) },
		func(event string) { emit(t, nsp, nil, nil, false, event) })
}

// checkVolatile sends a volatile event, then a plain marker, until every
// client got one of the volatile events: a server rightly drops one for
// a client whose transport is busy at that instant (a ping being written,
// say), so a single try would make the test depend on timing. The
// markers bound each try; a volatile event that never reaches a client
// in volatileTries tries fails the test.
func (c *testCluster) checkVolatile(t *testing.T, nsp string, volatile, marker func(event string)) {
	t.Helper()
	const volatileTries = 5
	missing := slices.Clone(c.members)
	for try := 0; try < volatileTries && len(missing) > 0; try++ {
		ev, mark := fmt.Sprintf("volatile-%d", try), fmt.Sprintf("after-volatile-%d", try)
		volatile(ev)
		marker(mark)
		var still []member
		for _, m := range missing {
			c.waitEvent(t, nsp, m, mark)
			if !slices.Contains(c.eventNames(nsp, m), ev) {
				still = append(still, m)
			}
		}
		missing = still
	}
	for _, m := range missing {
		t.Errorf("the client on %s got none of %d volatile events", m.label(), volatileTries)
	}
}

// TestClusterRedisRestart restarts redis-server under a running cluster:
// every node, Node and sio, reconnects and subscribes again by itself,
// and broadcasts cross the cluster in both directions afterwards.
func TestClusterRedisRestart(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		name := "classic"
		if sharded {
			name = "sharded"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRedisRestart(t, sharded)
		})
	}
}

func testRedisRestart(t *testing.T, sharded bool) {
	c := startCluster(t, sharded)
	nsp := "/restart"
	c.connectAll(t, nsp)
	n1, s1 := c.members[0].(sender), c.members[2].(sender)
	n1.broadcast(t, bcast{nsp: nsp, event: "before"})
	for _, m := range c.members {
		c.waitEvent(t, nsp, m, "before")
	}
	c.redis.Restart()
	// Every node's adapter of nsp listens again.
	c.waitSubscribers(t, nsp, "", len(c.members))
	for _, s := range []sender{n1, s1} {
		ev := "after-" + s.label()
		s.broadcast(t, bcast{nsp: nsp, event: ev})
		for _, m := range c.members {
			c.waitEvent(t, nsp, m, ev)
		}
	}
}
