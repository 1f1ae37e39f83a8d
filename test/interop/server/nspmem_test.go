package serverinterop

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/server"
)

// nspChurn is a raw Engine.IO v4 WebSocket client that joins many
// namespaces over one connection: the cheapest way for a client to make a
// server create namespaces, and the same bytes for both servers.
type nspChurn struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialChurn(t *testing.T, base string) *nspChurn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &nspChurn{t: t, conn: conn}
	if open := c.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q", open)
	}
	return c
}

// read returns the next message, answering pings.
func (c *nspChurn) read() string {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if string(b) != "2" {
			return string(b)
		}
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte("3")); err != nil {
			c.t.Fatalf("pong: %v", err)
		}
	}
}

// join CONNECTs to /n0…/n<n-1>, in batches that stay below either
// server's send queue, reading each reply.
func (c *nspChurn) join(n int) {
	c.t.Helper()
	const batch = 256
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		for i := lo; i < hi; i++ {
			if err := c.conn.WriteMessage(websocket.TextMessage, []byte("40/n"+strconv.Itoa(i)+",")); err != nil {
				c.t.Fatalf("write: %v", err)
			}
		}
		for i := lo; i < hi; i++ {
			if got, want := c.read(), "40/n"+strconv.Itoa(i)+`,{"sid":"`; !strings.HasPrefix(got, want) {
				c.t.Fatalf("CONNECT reply %q, want prefix %q", got, want)
			}
		}
	}
}

// nodeNspServer is peers/nspserver.mjs: socket.io 4.8 accepting any
// namespace, measuring its heap on demand.
type nodeNspServer struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan line
	url   string
}

func startNodeNspServer(t *testing.T, node, cleanup string) *nodeNspServer {
	t.Helper()
	cmd := exec.Command(node, "--expose-gc", filepath.Join("peers", "nspserver.mjs"), cleanup)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &nodeNspServer{t: t, stdin: stdin, lines: make(chan line, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				s.lines <- l
			}
		}
		close(s.lines)
	}()
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		for range s.lines {
		}
		<-done
		_ = cmd.Wait()
	})
	l := s.next("listening")
	port, _ := l["port"].(float64)
	s.url = "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	return s
}

func (s *nodeNspServer) next(event string) line {
	s.t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			s.t.Fatalf("the Node server ended before %q", event)
		}
		if l.str("event") != event {
			s.t.Fatalf("Node server: %v, want %q", l, event)
		}
		return l
	case <-time.After(30 * time.Second):
		s.t.Fatalf("no %q from the Node server", event)
	}
	return nil
}

// measure returns Node's heapUsed after a full GC and its namespace count.
func (s *nodeNspServer) measure() (heap uint64, nsps int) {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, "measure\n"); err != nil {
		s.t.Fatal(err)
	}
	l := s.next("heap")
	h, _ := l["heap"].(float64)
	n, _ := l["nsps"].(float64)
	return uint64(h), int(n)
}

func goHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// waitFor polls cond, which checks state another process or goroutine
// changes, until it holds or a bound far above the expected time passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("20 s without %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNamespaceMemoryAgainstNode makes a socket.io 4.8 server and
// pkg/server, both accepting any namespace with cleanupEmptyChildNamespaces
// on, create thousands of namespaces for one client, which then leaves:
// both must empty their namespace table and give the memory back. The
// figures are logged side by side.
func TestNamespaceMemoryAgainstNode(t *testing.T) {
	node := needNode(t)
	const n = 5000

	nodeSrv := startNodeNspServer(t, node, "on")
	nodeBefore, nsps := nodeSrv.measure()
	if nsps != 1 {
		t.Fatalf("Node starts with %d namespaces", nsps)
	}
	c := dialChurn(t, nodeSrv.url)
	c.join(n)
	nodePeak, nsps := nodeSrv.measure()
	if nsps != n+1 {
		t.Fatalf("Node has %d namespaces after %d CONNECTs", nsps, n)
	}
	c.conn.Close()
	var nodeAfter uint64
	waitFor(t, "Node removing its empty namespaces", func() bool {
		nodeAfter, nsps = nodeSrv.measure()
		return nsps == 1
	})

	srv := server.New(server.Options{CleanupEmptyChildNamespaces: true})
	srv.OfFunc(func(string, json.RawMessage) bool { return true })
	url := serve(t, srv)
	goBefore := goHeap()
	c = dialChurn(t, url)
	c.join(n)
	goPeak := goHeap()
	if got := len(srv.Namespaces()); got != n+1 {
		t.Fatalf("sio has %d namespaces after %d CONNECTs", got, n)
	}
	c.conn.Close()
	waitFor(t, "sio removing its empty namespaces", func() bool { return len(srv.Namespaces()) == 1 })
	goAfter := goHeap()

	delta := func(a, b uint64) int64 { return int64(a) - int64(b) }
	t.Logf("%d namespaces, heap growth with them (per namespace) and after they emptied:", n)
	t.Logf("  socket.io 4.8: %+d B (%d B), %+d B", delta(nodePeak, nodeBefore), delta(nodePeak, nodeBefore)/n, delta(nodeAfter, nodeBefore))
	t.Logf("  sio:           %+d B (%d B), %+d B", delta(goPeak, goBefore), delta(goPeak, goBefore)/n, delta(goAfter, goBefore))
	if grown, kept := delta(goPeak, goBefore), delta(goAfter, goBefore); kept > grown/4 {
		t.Errorf("sio keeps %d of the %d B its namespaces took", kept, grown)
	}
}
