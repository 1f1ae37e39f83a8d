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
	// Joined through node a: node a relays the join to node b, whose
	// adapter reports room_joined as Node's does; sio admin waits for
	// that report, so exit 0 means the cluster confirmed the change.
	if code, _, errOut = runSio(t, "admin", "join", "-u", a, "--", id, "vip"); code != 0 {
		t.Errorf("join through node a: exit %d: %s", code, errOut)
	}
	if code, out, _ = runSio(t, "admin", "rooms", "-o", "json", "-u", a); code != 0 || !strings.Contains(out, `"name":"vip"`) {
		t.Errorf("node a's list of the cluster's rooms lacks vip: exit %d\n%s", code, out)
	}
	if code, _, errOut = runSio(t, "admin", "emit", "-u", a, "--to", "vip", "hello-from-a"); code != 0 {
		t.Errorf("emit through node a: exit %d: %s", code, errOut)
	}
	c.waitFor("hello-from-a", func(r record) bool { return r.str("kind") == "client-event" && r.str("event") == "hello-from-a" })
	// Left and disconnected through node a too, each confirmed by node b.
	if code, _, errOut = runSio(t, "admin", "leave", "-u", a, "--", id, "vip"); code != 0 {
		t.Errorf("leave through node a: exit %d: %s", code, errOut)
	}
	if code, out, _ = runSio(t, "admin", "rooms", "-o", "json", "-u", b); code != 0 || strings.Contains(out, `"name":"vip"`) {
		t.Errorf("node b still lists vip after the leave: exit %d\n%s", code, out)
	}
	if code, _, errOut = runSio(t, "admin", "disconnect", "-u", a, "--", id); code != 0 {
		t.Errorf("disconnect through node a: exit %d: %s", code, errOut)
	}
	c.waitFor("the disconnect", func(r record) bool {
		return r.str("kind") == "client-disconnect" && r.str("reason") == "io server disconnect"
	})
}
