package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/pkg/server/redisadapter"
)

// roomNode is a cluster node whose clients join the rooms named in their
// query, and which records serverSideEmit events.
type roomNode struct {
	srv *server.Server
	url string
	sse chan string
}

func startRoomNode(t *testing.T, r *testutil.RedisServer) *roomNode {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	n := &roomNode{sse: make(chan string, 8)}
	cl := redisadapter.New(rc, redisadapter.Options{OnServerSideEmit: func(nsp string, e *redisadapter.ServerEvent) {
		b, _ := json.Marshal(e.Args)
		n.sse <- nsp + " " + e.Name + " " + string(b) + " from " + e.From
	}})
	n.srv = server.New(server.Options{Adapter: cl.Adapter})
	n.srv.Of("/").OnConnection(func(s *server.Socket) { s.Join(s.Handshake().Query["room"]...) })
	hs := httptest.NewServer(n.srv)
	n.url = hs.URL
	t.Cleanup(func() {
		hs.Close()
		n.srv.Close()
		_ = cl.Close()
		_ = rc.Close()
	})
	waitNodes(t, r, 1)
	return n
}

// dialRoom connects a Go client in room (none when "") and returns its
// events as "name inline-args".
func (n *roomNode) dialRoom(t *testing.T, room string) (*client.Client, <-chan string) {
	t.Helper()
	u := n.url + "/"
	if room != "" {
		u += "?room=" + room
	}
	c, err := client.New(u, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 16)
	c.OnAny(func(e *client.Event) { got <- e.Name + " " + string(e.Inline()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, got
}

func TestEmitRedis(t *testing.T) {
	checkLeaks(t)
	r := testutil.StartRedis(t)
	n := startRoomNode(t, r)
	in, inGot := n.dialRoom(t, "r1")
	_, outGot := n.dialRoom(t, "")

	out, errOut, code := runSio(t, "", false, "emit", "--redis", r.URL(), "--room", "r1", "news", "1", `{"$binary":"AQ=="}`)
	if code != 0 || out != "emit news → socket.io#/#r1# (1 subscribers)\n" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if e := recvEvent(t, inGot); e != `news [1,{"$binary":"AQ=="}]` {
		t.Fatalf("the client in r1 got %s", e)
	}
	// --except, --volatile, JSON output; the client outside r1 gets it
	// and, in order, did not get news.
	out, _, code = runSio(t, "", false, "emit", "--redis", r.URL(), "--except", "r1", "--volatile", "-o", "json", "other")
	if code != 0 || out != `{"op":"emit","event":"other","channel":"socket.io#/#","receivers":1}`+"\n" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if e := recvEvent(t, outGot); e != "other []" {
		t.Fatalf("the client outside r1 got %s", e)
	}

	// serverSideEmit reaches the node's server.
	if _, _, code := runSio(t, "", false, "emit", "--redis", r.URL(), "--server-side", "hi", `{"a":1}`); code != 0 {
		t.Fatalf("exit %d", code)
	}
	select {
	case e := <-n.sse:
		if e != `/ hi [{"a":1}] from emitter` {
			t.Fatalf("serverSideEmit: %s", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no serverSideEmit")
	}

	// socketsJoin, then disconnectSockets of the new room.
	if _, errOut, code := runSio(t, "", false, "emit", "--redis", r.URL(), "--room", "r1", "--sockets-join", "r2"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	waitCond(t, func() bool {
		s, ok := n.srv.Of("/").Socket(in.SID())
		return ok && strings.Contains(strings.Join(s.Rooms(), ","), "r2")
	})
	if _, _, code := runSio(t, "", false, "emit", "--redis", r.URL(), "--room", "r2", "--disconnect-sockets"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	waitCond(t, func() bool { _, ok := n.srv.Of("/").Socket(in.SID()); return !ok })

	// Nobody listening on a namespace: said on stderr.
	_, errOut, code = runSio(t, "", false, "emit", "--redis", r.URL(), "--namespace", "/none", "x")
	if code != 0 || !strings.Contains(errOut, "no node of the cluster listens on socket.io#/none#") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestEmitRedisUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"emit", "--room", "r1", "x"}, "--room goes with --redis"},
		{[]string{"emit", "--redis", "redis://127.0.0.1:1", "--sockets-join", "a", "x"}, "--sockets-join takes no EVENT"},
		{[]string{"emit", "--redis", "redis://127.0.0.1:1"}, "missing arguments"},
		{[]string{"emit", "--redis", "redis://127.0.0.1:1", "--ack", "x"}, "--ack needs a Socket.IO connection"},
		{[]string{"emit", "--redis", "redis://127.0.0.1:1", "--sockets-join", "a", "--disconnect-sockets"}, "one operation each"},
		{[]string{"emit", "--redis", "redis://127.0.0.1:1", "connect"}, "reserved event name"},
		{[]string{"emit", "--redis", "tcp://x", "x"}, `--redis "tcp://x"`},
		{[]string{"listen", "--redis", "redis://127.0.0.1:1", "-u", "http://x"}, "--url needs a Socket.IO connection"},
	} {
		_, errOut, code := runSio(t, "", false, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tt.args, code, errOut, tt.msg)
		}
	}
}

// waitCond polls cond: a change made through Redis has no event here.
func waitCond(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestListenRedis(t *testing.T) {
	checkLeaks(t)
	r := testutil.StartRedis(t)
	n := startRoomNode(t, r)
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	base, err := rc.PubSubNumPat(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := runSio(t, "", false, "listen", "--redis", r.URL(), "-o", "json", "--count", "3", "--timeout", "60s")
		done <- result{out, errOut, code}
	}()
	waitCond(t, func() bool {
		p, err := rc.PubSubNumPat(context.Background()).Result()
		return err == nil && p >= base+3
	})

	if err := n.srv.Of("/").To("r1").Except("r2").Volatile().Emit("news", []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := n.srv.Of("/").In("r1").SocketsJoin("r3"); err != nil {
		t.Fatal(err)
	}
	if _, _, code := runSio(t, "", false, "emit", "--redis", r.URL(), "--server-side", "hi", "1"); code != 0 {
		t.Fatalf("emit exit %d", code)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("sio listen did not end")
	}
	lines := strings.Split(strings.TrimSpace(res.out), "\n")
	if res.code != 0 || len(lines) != 3 {
		t.Fatalf("exit %d, stdout %s, stderr %s", res.code, res.out, res.errOut)
	}
	want := []map[string]any{
		{"kind": "broadcast", "nsp": "/", "rooms": []any{"r1"}, "except": []any{"r2"}, "flags": map[string]any{"volatile": true}, "data": []any{"news", map[string]any{"$binary": "AQ=="}}},
		{"kind": "request", "type": "REMOTE_JOIN", "nsp": "/", "rooms": []any{"r1"}, "detail": map[string]any{"rooms": []any{"r3"}}},
		{"kind": "request", "type": "SERVER_SIDE_EMIT", "nsp": "/", "node": "emitter", "detail": map[string]any{"data": []any{"hi", float64(1)}}},
	}
	for i, l := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		for k, v := range want[i] {
			gb, _ := json.Marshal(got[k])
			wb, _ := json.Marshal(v)
			if string(gb) != string(wb) {
				t.Errorf("line %d: %s = %s, want %s (%s)", i, k, gb, wb, l)
			}
		}
		if i < 2 && (got["node"] == "" || got["node"] == nil) {
			t.Errorf("line %d has no origin node: %s", i, l)
		}
	}
}

func TestListenRedisSharded(t *testing.T) {
	checkLeaks(t)
	r := testutil.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	cl := redisadapter.New(rc, redisadapter.Options{Sharded: true})
	defer cl.Close()
	srv := server.New(server.Options{Adapter: cl.Adapter})
	defer srv.Close()
	nsp := srv.Of("/")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := client.New(hs.URL+"/", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nsp.OnConnection(func(s *server.Socket) { s.Join("r1") })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := runSio(t, "", false, "listen", "--redis", r.URL(), "--redis-sharded", "--namespace-channels", "-o", "json", "--count", "2", "--timeout", "60s")
		done <- result{out, errOut, code}
	}()
	// The listener finds the namespace's and the room's shard channels.
	for _, ch := range []string{"socket.io#/#", "socket.io#/#r1#"} {
		waitCond(t, func() bool {
			n, err := rc.PubSubShardNumSub(context.Background(), ch).Result()
			return err == nil && n[ch] >= 2
		})
	}
	if err := nsp.To("r1").Emit("news", 1); err != nil {
		t.Fatal(err)
	}
	if err := nsp.In("r1").SocketsJoin("r2"); err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("sio listen did not end")
	}
	lines := strings.Split(strings.TrimSpace(res.out), "\n")
	if res.code != 0 || len(lines) != 2 ||
		!strings.Contains(lines[0], `"kind":"sharded"`) || !strings.Contains(lines[0], `"type":"BROADCAST"`) || !strings.Contains(lines[0], `"data":["news",1]`) || !strings.Contains(lines[0], `"node":"`+cl.UID()+`"`) ||
		!strings.Contains(lines[1], `"type":"SOCKETS_JOIN"`) || !strings.Contains(lines[1], `"detail":{"rooms":["r2"]}`) {
		t.Fatalf("exit %d, stdout\n%s\nstderr %s", res.code, res.out, res.errOut)
	}

	// Without --namespace-channels the listener stays off the channel the
	// nodes count: a room's broadcast is seen, and fetchSockets does not
	// wait for the listener.
	go func() {
		out, errOut, code := runSio(t, "", false, "listen", "--redis", r.URL(), "--redis-sharded", "-o", "json", "--count", "1", "--timeout", "60s")
		done <- result{out, errOut, code}
	}()
	waitCond(t, func() bool {
		n, err := rc.PubSubShardNumSub(context.Background(), "socket.io#/#r1#").Result()
		return err == nil && n["socket.io#/#r1#"] >= 2
	})
	if n, err := rc.PubSubShardNumSub(context.Background(), "socket.io#/#").Result(); err != nil || n["socket.io#/#"] != 1 {
		t.Fatalf("the namespace's channel has %v subscribers (%v), want the node alone", n, err)
	}
	if err := nsp.To("r1").Emit("more"); err != nil {
		t.Fatal(err)
	}
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("sio listen did not end")
	}
	if res.code != 0 || !strings.Contains(res.out, `"data":["more"]`) {
		t.Fatalf("exit %d, stdout %s, stderr %s", res.code, res.out, res.errOut)
	}
}
