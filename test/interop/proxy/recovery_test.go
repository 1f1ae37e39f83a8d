package proxy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/proxy"
)

// TestKillAndRecover kills a socket.io-client 4.8 session's transport
// through the proxy while a socket.io 4.8 server with connection state
// recovery broadcasts: the client sees "transport close", reconnects
// through the proxy, is recovered, and has every broadcast exactly once.
func TestKillAndRecover(t *testing.T) {
	t.Parallel()
	testutil.RequireNode(t)
	srv := startServer(t, `{"version":4,"recovery":true}`)
	hs, px, _ := startProxy(t, srv.port, proxy.Options{})

	b, _ := json.Marshal(map[string]string{"url": hs.URL})
	cmd := exec.Command("node", filepath.Join("peers", "recover.mjs"), string(b))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type line struct {
		Event     string
		Recovered bool
		Engine    string
		Reason    string
		N         int
	}
	lines := make(chan line, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				lines <- l
			}
		}
	}()
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	seen := map[int]int{}
	first, last := -1, -1
	next := func(what string) line {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the client exited while waiting for %s", what)
				}
				if l.Event == "news" {
					seen[l.N]++
					if first < 0 {
						first = l.N
					}
					last = l.N
					if what != "news" {
						continue
					}
				}
				return l
			case <-time.After(30 * time.Second):
				t.Fatalf("no %s", what)
			}
		}
	}
	l := next("connected")
	if l.Event != "connected" || l.Recovered {
		t.Fatalf("first line %+v", l)
	}
	for last < first+5 {
		next("news")
	}
	if err := px.Kill(l.Engine); err != nil {
		t.Fatal(err)
	}
	if l = next("disconnected"); l.Event != "disconnected" || l.Reason != "transport close" {
		t.Fatalf("after the kill: %+v", l)
	}
	if l = next("connected"); l.Event != "connected" || !l.Recovered {
		t.Fatalf("after reconnecting: %+v", l)
	}
	until := last + 20
	for last < until {
		next("news")
	}
	for n := first; n <= last; n++ {
		if seen[n] != 1 {
			t.Fatalf("news %d received %d times (from %d to %d)", n, seen[n], first, last)
		}
	}
}
