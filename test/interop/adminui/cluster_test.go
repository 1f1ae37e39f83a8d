package adminui

import (
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/testutil"
)

// TestCluster: two instrumented socket.io 4.8 servers on one Redis
// adapter. `sio admin`, connected to one of them, lists both servers and
// the sockets of both, and its commands reach a socket of the other
// server, as the admin UI's do.
func TestCluster(t *testing.T) {
	t.Parallel()
	redis := testutil.StartRedis(t)
	a := startPeer(t, peerConfig{ServerID: "node-a", RedisURL: redis.URL()})
	b := startPeer(t, peerConfig{ServerID: "node-b", RedisURL: redis.URL()})
	ca := a.connect("ca", "/", nil)
	cb := b.connect("cb", "/chat", nil)

	code, out, errOut := runSio(t, "admin", "servers", "-o", "json", "--gather", "3s", "-u", a.URL())
	servers := map[string]bool{}
	for _, r := range jsonLines(t, out) {
		servers[r.str("serverId")] = true
	}
	if code != 0 || !servers["node-a"] || !servers["node-b"] {
		t.Errorf("servers: exit %d: %s\n%s", code, errOut, out)
	}

	code, out, errOut = runSio(t, "admin", "sockets", "-o", "json", "-u", a.URL())
	if code != 0 || !strings.Contains(out, `"id":"`+ca+`"`) || !strings.Contains(out, `"id":"`+cb+`"`) {
		t.Errorf("sockets of both servers: exit %d: %s\n%s", code, errOut, out)
	}

	// cb lives on node-b; the command goes to node-a, which relays it.
	code, _, errOut = runSio(t, "admin", "join", "-u", a.URL(), "--", cb, "cross")
	if code != 0 || !strings.Contains(errOut, "done (1 socket)") {
		t.Errorf("join across the cluster: exit %d: %s", code, errOut)
	}
	b.waitFor("cb joining cross", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "cross" && r.str("id") == cb
	})
	if code, _, errOut = runSio(t, "admin", "emit", "-u", a.URL(), "--to", "cross", "hello-b"); code != 0 {
		t.Errorf("emit across the cluster: exit %d: %s", code, errOut)
	}
	b.waitFor("cb receiving hello-b", func(r record) bool {
		return r.str("kind") == "client-event" && r.str("name") == "cb" && r.str("event") == "hello-b"
	})
}
