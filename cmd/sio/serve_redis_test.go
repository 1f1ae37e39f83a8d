package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/pkg/server/redisadapter"
)

// clusterPeer is a pkg/server node of the cluster in the test process.
func clusterPeer(t *testing.T, r *testutil.RedisServer) (*server.Server, *redisadapter.Cluster, string) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	cl := redisadapter.New(rc, redisadapter.Options{Logger: slog.New(slog.DiscardHandler)})
	srv := server.New(server.Options{Adapter: cl.Adapter})
	srv.Of("/")
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		_ = cl.Close()
		_ = rc.Close()
	})
	return srv, cl, hs.URL
}

// waitNodes waits until n nodes listen on the request channel of "/".
func waitNodes(t *testing.T, r *testutil.RedisServer, n int64) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	const ch = "socket.io-request#/#"
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := rc.PubSubNumSub(context.Background(), ch).Result()
		if err == nil && m[ch] >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d nodes on %s (%v), want %d", m[ch], ch, err, n)
		}
		time.Sleep(10 * time.Millisecond) // Redis has no event for a new subscriber
	}
}

func TestServeRedisCluster(t *testing.T) {
	checkLeaks(t)
	r := testutil.StartRedis(t)
	peer, peerCluster, peerURL := clusterPeer(t, r)
	s := startServe(t, "-o", "json", "--broadcast", "--ack-reply", `"pong"`, "--control-token", "tok", "--redis", r.URL())
	if !strings.Contains(s.stderr.String(), "joined the Socket.IO cluster on redis "+r.Addr()) {
		t.Fatalf("stderr: %s", s.stderr)
	}
	waitNodes(t, r, 2)
	c, got := s.mustDial(t, "/", client.Options{})

	// A broadcast of the other node reaches sio serve's client, and the
	// log names the node it came from.
	if err := peer.Of("/").Emit("news", 1, []byte{7}); err != nil {
		t.Fatal(err)
	}
	if e := recvEvent(t, got); e != `news [1,{"$binary":"Bw=="}]` {
		t.Fatalf("got %s", e)
	}
	line := s.waitLine(t, `"cluster-broadcast"`)
	var rec struct {
		Data struct {
			Node string          `json:"node"`
			Data json.RawMessage `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Data.Node != peerCluster.UID() || string(rec.Data.Data) != `["news",1,{"$binary":"Bw=="}]` {
		t.Fatalf("log line %s (%v)", line, err)
	}

	// --broadcast relays a client's event to the whole cluster: a client
	// of the other node gets it.
	pc, err := client.New(peerURL+"/", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	relayed := make(chan string, 4)
	pc.OnAny(func(e *client.Event) { relayed <- e.Name + " " + string(e.Inline()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pc.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := c.Emit("chat", "hi"); err != nil {
		t.Fatal(err)
	}
	if e := recvEvent(t, relayed); e != `chat ["hi"]` {
		t.Fatalf("the other node's client got %s", e)
	}

	// serverSideEmit with an ack: sio serve logs it and answers with
	// --ack-reply.
	answers, err := peerCluster.Namespace("/").ServerSideEmitWithAck(ctx, "ping", "x")
	if err != nil || len(answers) != 1 || string(answers[0]) != `"pong"` {
		t.Fatalf("serverSideEmitWithAck: %s %v", answers, err)
	}
	s.waitLine(t, `"cluster-event"`, `"event":"ping"`, `"node":"`+peerCluster.UID()+`"`)

	// fetchSockets from the other node lists sio serve's socket, marked
	// with its node.
	socks, err := peer.Of("/").FetchSockets(ctx)
	if err != nil || len(socks) != 2 {
		t.Fatalf("fetchSockets: %v %v", socks, err)
	}
	found := false
	for _, rs := range socks {
		if rs.ID == c.SID() {
			found = rs.Node != "" && rs.Node != "remote"
		}
	}
	if !found {
		t.Fatalf("fetchSockets: sio serve's socket %s not marked with its node in %+v", c.SID(), socks)
	}

	// The control API lists the cluster's sockets and rooms with
	// ?cluster=1, the other node's marked with its uid.
	if err := peer.Of("/").In(pc.SID()).SocketsJoin("lobby"); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Sockets []struct {
			ID    string   `json:"id"`
			Node  string   `json:"node"`
			Rooms []string `json:"rooms"`
		} `json:"sockets"`
	}
	waitCond(t, func() bool {
		controlGet(t, s, "/_sio/sockets?cluster=1", &list)
		return len(list.Sockets) == 2 && len(list.Sockets[1].Rooms) == 1
	})
	if list.Sockets[0].ID != c.SID() || list.Sockets[0].Node != "" || list.Sockets[1].ID != pc.SID() || list.Sockets[1].Node != peerCluster.UID() || list.Sockets[1].Rooms[0] != "lobby" {
		t.Fatalf("cluster sockets: %+v", list.Sockets)
	}
	var rooms struct {
		Rooms []struct {
			Name    string   `json:"name"`
			Members []string `json:"members"`
		} `json:"rooms"`
	}
	controlGet(t, s, "/_sio/rooms?cluster=1", &rooms)
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != "lobby" || len(rooms.Rooms[0].Members) != 1 || rooms.Rooms[0].Members[0] != pc.SID() {
		t.Fatalf("cluster rooms: %+v", rooms.Rooms)
	}
	controlGet(t, s, "/_sio/sockets", &list)
	if len(list.Sockets) != 1 {
		t.Fatalf("without ?cluster=1 only this server's sockets: %+v", list.Sockets)
	}

	// An emit of the control API to a room is a broadcast: it reaches the
	// room's sockets on the other node.
	req, _ := http.NewRequest(http.MethodPost, s.info.URL+"/_sio/emit", strings.NewReader(`{"room":"lobby","event":"fromControl","args":[1]}`))
	req.Header.Set("Authorization", "Bearer "+s.info.Token)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_sio/emit: %s", resp.Status)
	}
	if e := recvEvent(t, relayed); e != `fromControl [1]` {
		t.Fatalf("the other node's client got %s", e)
	}
}

// controlGet GETs a control API path and decodes its JSON into v.
func controlGet(t *testing.T, s *running, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.info.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.info.Token)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestServeRedisErrors(t *testing.T) {
	if _, err := parseServe(t, false, "--redis", "http://x"); err != nil {
		t.Fatal(err) // checked when it connects, as every URL
	}
	for _, args := range [][]string{{"--redis-sharded"}, {"--redis", "redis://127.0.0.1:1", "--recovery", "1m"}} {
		ios, _, _, _ := iostreams.Test()
		opts, _ := parseServe(t, false, append([]string{"--port", "0"}, args...)...)
		var ue *usageError
		if err := runServe(context.Background(), &app{io: ios, getenv: func(string) string { return "" }}, opts); !errors.As(err, &ue) {
			t.Fatalf("%v: %v, want a usage error", args, err)
		}
	}
	// A URL that is not redis:// is a usage error.
	ios, _, _, _ := iostreams.Test()
	opts, _ := parseServe(t, false, "--port", "0", "--redis", "http://x")
	err := runServe(context.Background(), &app{io: ios, getenv: func(string) string { return "" }}, opts)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `--redis "http://x"`) {
		t.Fatalf("bad URL: %v", err)
	}
	// A Redis nobody listens on: one line naming the address.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	opts, _ = parseServe(t, false, "--port", "0", "--redis", "redis://"+addr)
	err = runServe(context.Background(), &app{io: ios, getenv: func(string) string { return "" }}, opts)
	if err == nil || !strings.Contains(err.Error(), "--redis "+addr) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unreachable Redis: %v", err)
	}
}
