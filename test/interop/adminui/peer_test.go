package adminui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"
)

// patience bounds each wait for something the peers or sio do: generous,
// since the machine may be busy with the rest of the suite. Nothing waits
// for it unless something is wrong.
const patience = 60 * time.Second

// needNode returns node's path; testutil.RequireNode skips without Node
// or the interop packages, and fails under CI.
func needNode(t *testing.T) string {
	t.Helper()
	testutil.RequireNode(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	return node
}

// record is one JSON line of the peer.
type record map[string]any

func (r record) str(k string) string {
	s, _ := r[k].(string)
	return s
}

// peer is the Node server of peers/server.mjs, with its clients.
type peer struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	port  int

	mu    sync.Mutex
	lines []record
	cond  *sync.Cond
	done  bool
}

// peerConfig is how the Node server is instrumented.
type peerConfig struct {
	Auth       string // "user:pass", or "" for auth: false
	Production bool
	Readonly   bool
	ServerID   string
	RedisURL   string // a cluster node on this Redis
	SocketIO3  bool   // socket.io 3.1 instead of 4.8
}

func startPeer(t *testing.T, cfg peerConfig) *peer {
	t.Helper()
	node := needNode(t)
	cmd := exec.Command(node, filepath.Join("peers", "server.mjs"))
	cmd.Env = append(os.Environ(), "ADMIN_AUTH="+cfg.Auth, "SERVER_ID="+cfg.ServerID, "REDIS_URL="+cfg.RedisURL)
	if cfg.Production {
		cmd.Env = append(cmd.Env, "ADMIN_MODE=production")
	} else {
		cmd.Env = append(cmd.Env, "ADMIN_MODE=development")
	}
	if cfg.Readonly {
		cmd.Env = append(cmd.Env, "ADMIN_READONLY=1")
	}
	if cfg.SocketIO3 {
		cmd.Env = append(cmd.Env, "SOCKETIO=3")
	}
	p := startProcess(t, cmd, "node: ")
	r := p.waitFor("listening", func(r record) bool { return r.str("kind") == "listening" })
	p.port = int(r["port"].(float64))
	return p
}

// startNodeClient starts peers/client.mjs against url.
func startNodeClient(t *testing.T, url string) *peer {
	t.Helper()
	return startProcess(t, exec.Command(needNode(t), filepath.Join("peers", "client.mjs"), url), "node client: ")
}

// startProcess starts cmd, reads its stdout as JSON lines, logs its
// stderr, and ends it at the end of the test by closing its stdin (or
// with SIGINT when closeSignal says so), killing it only if it hangs.
func startProcess(t *testing.T, cmd *exec.Cmd, prefix string) *peer {
	t.Helper()
	cmd.Stderr = &testWriter{t: t, prefix: prefix}
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
	p := &peer{t: t, cmd: cmd, stdin: stdin}
	p.cond = sync.NewCond(&p.mu)
	go p.read(stdout)
	t.Cleanup(func() {
		stdin.Close() // the peers exit at the end of their input
		_ = cmd.Process.Signal(os.Interrupt)
		waited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(patience):
			_ = cmd.Process.Kill()
			<-waited
		}
	})
	return p
}

func (p *peer) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			rec = record{"kind": "unparsed", "line": sc.Text()}
		}
		p.mu.Lock()
		p.lines = append(p.lines, rec)
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.done = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// URL is the server's base URL.
func (p *peer) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.port) }

// send writes one command to the peer.
func (p *peer) send(cmd map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("peer stdin: %v", err)
	}
}

// waitFor returns the first line (from the start) that match accepts,
// waiting for it up to patience.
func (p *peer) waitFor(what string, match func(record) bool) record {
	p.t.Helper()
	deadline := time.AfterFunc(patience, func() {
		p.mu.Lock()
		p.done = true
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer deadline.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for {
		for ; i < len(p.lines); i++ {
			if match(p.lines[i]) {
				return p.lines[i]
			}
		}
		if p.done {
			p.t.Fatalf("the Node peer never reported %s; it said:\n%s", what, p.dump())
		}
		p.cond.Wait()
	}
}

func (p *peer) dump() string {
	var b strings.Builder
	for _, l := range p.lines {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// connect connects a Node client and returns its socket id.
func (p *peer) connect(name, nsp string, query map[string]string) string {
	p.t.Helper()
	p.send(map[string]any{"op": "connect", "name": name, "nsp": nsp, "query": query})
	r := p.waitFor(name+" connected", func(r record) bool { return r.str("kind") == "connected" && r.str("name") == name })
	return r.str("id")
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
