package serveinterop

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestEmptyNamespacesAreRemoved: sio serve accepts any namespace, so any
// client can make it create them; each must go once its last socket has
// left (Node's cleanupEmptyChildNamespaces), or they add up until exit.
// A real socket.io-client 4.8 with default options joins many namespaces
// over one connection and leaves all but one; the control API's stats
// must fall back to "/" and the one still joined, in bounded time.
func TestEmptyNamespacesAreRemoved(t *testing.T) {
	node := needNode(t)
	const count = 500
	s := startSio(t, "--quiet", "--control-token", "tok")
	p := startPeer(t, node, "nspchurn.mjs", s.url, strconv.Itoa(count))
	p.wait(t, "joined", nil)
	stats := func() (nsps, sockets int) {
		t.Helper()
		code, r := control(t, s, "tok", "GET", "stats", "")
		if code != 200 {
			t.Fatalf("GET stats: %d %v", code, r)
		}
		n, _ := r["namespaces"].(float64)
		k, _ := r["sockets"].(float64)
		return int(n), int(k)
	}
	if n, k := stats(); n != count+2 || k != count+1 {
		t.Fatalf("after joining: %d namespaces, %d sockets; want %d and %d", n, k, count+2, count+1)
	}

	if err := p.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if left := p.wait(t, "left", nil); left["keep"] != true {
		t.Fatalf("/keep disconnected: %v", left)
	}
	// The DISCONNECTs are in flight: poll the stats, within a bound far
	// above what the removal takes on a loaded machine.
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, k := stats()
		if n == 2 && k == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the sockets left: %d namespaces, %d sockets; want 2 (\"/\" and /keep) and 1", n, k)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
