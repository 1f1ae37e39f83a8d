package adminui

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sio-dev/sio/internal/testutil"
)

// startServeNode runs a `sio serve --redis --admin-ui` node and returns
// its URL.
func startServeNode(t *testing.T, redisURL string) string {
	t.Helper()
	srv := startProcess(t, exec.Command(sioBinary(t), "serve", "--no-tui", "-p", "0", "-o", "json", "--quiet", "--rooms",
		"--redis", redisURL, "--admin-ui"), "sio serve: ")
	r := srv.waitFor("listening", func(r record) bool { return r.str("type") == "listening" })
	data, _ := r["data"].(map[string]any)
	url, _ := data["url"].(string)
	if url == "" {
		t.Fatalf("no URL in %v", r)
	}
	return url
}

// TestServeCluster: two `sio serve --redis --admin-ui` nodes. sio admin on
// one lists a socket of the other, with its rooms, and emits to it.
func TestServeCluster(t *testing.T) {
	t.Parallel()
	redis := testutil.StartRedis(t)
	a := startServeNode(t, redis.URL())
	b := startServeNode(t, redis.URL())
	// On "/": a namespace made on demand (sio serve accepts any) exists
	// only on the nodes a client connected it on, and a node lists the
	// cluster's sockets of its own namespaces, as Node's instrument() does.
	c := startNodeClient(t, b)
	id := c.waitFor("connected", func(r record) bool { return r.str("kind") == "connected" }).str("id")

	code, out, errOut := runSio(t, "admin", "sockets", "-o", "json", "--nsp", "/", "-u", a)
	if code != 0 || !strings.Contains(out, `"id":"`+id+`"`) {
		t.Fatalf("node a's list lacks node b's socket: exit %d: %s\n%s", code, errOut, out)
	}
	// Joined through its own node: a join relayed from node a takes effect
	// too, but pkg/server's adapters apply a relayed join without going
	// through the adapter that reports room_joined, so sio admin, which
	// waits for that report, would wait until its --timeout.
	if code, _, errOut = runSio(t, "admin", "join", "-u", b, "--", id, "vip"); code != 0 {
		t.Errorf("join through node b: exit %d: %s", code, errOut)
	}
	if code, out, _ = runSio(t, "admin", "rooms", "-o", "json", "-u", a); code != 0 || !strings.Contains(out, `"name":"vip"`) {
		t.Errorf("node a's list of the cluster's rooms lacks vip: exit %d\n%s", code, out)
	}
	if code, _, errOut = runSio(t, "admin", "emit", "-u", a, "--to", "vip", "hello-from-a"); code != 0 {
		t.Errorf("emit through node a: exit %d: %s", code, errOut)
	}
	c.waitFor("hello-from-a", func(r record) bool { return r.str("kind") == "client-event" && r.str("event") == "hello-from-a" })
}
