package cluster

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"
)

// patience bounds each wait for something a peer should do: generous,
// since the machine may be busy with the rest of the suite; nothing waits
// for it unless something is wrong.
const patience = 60 * time.Second

// nodeBinary returns node's path once testutil.RequireNode is satisfied
// and the cluster's packages are installed: missing ones skip the test,
// or fail it under CI.
func nodeBinary(t *testing.T) string {
	t.Helper()
	testutil.RequireNode(t)
	for _, pkg := range []string{"@socket.io/redis-adapter", "@socket.io/redis-emitter", "redis"} {
		if _, err := os.Stat(filepath.Join("..", "node_modules", pkg)); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("cluster interop needs %s (npm ci in test/interop): %v", pkg, err)
			}
			t.Skipf("cluster interop: %s missing (%v)", pkg, err)
		}
	}
	node, _ := exec.LookPath("node")
	return node
}

// line is one JSON line a Node peer wrote.
type line map[string]any

func (l line) str(k string) string {
	s, _ := l[k].(string)
	return s
}

// proc is a child process whose stdout is JSON lines, kept for the test
// to wait on.
type proc struct {
	name string

	mu    sync.Mutex
	cond  *sync.Cond
	lines []line
	eof   bool
}

// startProc starts cmd, reads its stdout, and at the end of the test
// closes its stdin (a peer's signal to exit) or signals it, then waits
// for it.
func startProc(t *testing.T, name string, cmd *exec.Cmd, stop func()) *proc {
	t.Helper()
	cmd.Stderr = logWriter{t, name + " stderr: "}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name}
	p.cond = sync.NewCond(&p.mu)
	go p.read(stdout)
	t.Cleanup(func() {
		stop()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(patience):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return p
}

// nodePeer is a peers/node.mjs process: a Node cluster node hosting Node
// clients.
type nodePeer struct {
	*proc
	stdin   io.WriteCloser
	stdinMu sync.Mutex
	port    int
	ids     atomic.Int64
}

func startNode(t *testing.T, name, redisURL string, sharded bool) *nodePeer {
	t.Helper()
	cmd := exec.Command(nodeBinary(t), filepath.Join("peers", "node.mjs"))
	cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL)
	if sharded {
		cmd.Env = append(cmd.Env, "SHARDED=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &nodePeer{stdin: stdin}
	p.proc = startProc(t, name, cmd, func() { stdin.Close() })
	l := p.await(t, "listening", func(l line) bool { return l.str("kind") == "listening" })
	p.port = int(l["port"].(float64))
	return p
}

func (p *nodePeer) url() string { return fmt.Sprintf("http://127.0.0.1:%d", p.port) }

func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			l = line{"kind": "unparsed", "text": sc.Text()}
		}
		p.mu.Lock()
		p.lines = append(p.lines, l)
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.eof = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// send writes a command and returns its id.
func (p *nodePeer) send(t *testing.T, cmd map[string]any) string {
	t.Helper()
	id := fmt.Sprint(p.ids.Add(1))
	cmd["id"] = id
	b, _ := json.Marshal(cmd)
	p.stdinMu.Lock()
	_, err := p.stdin.Write(append(b, '\n'))
	p.stdinMu.Unlock()
	if err != nil {
		t.Fatalf("%s stdin: %v", p.name, err)
	}
	return id
}

// call sends a command and waits for its result.
func (p *nodePeer) call(t *testing.T, cmd map[string]any) line {
	t.Helper()
	id := p.send(t, cmd)
	l := p.await(t, fmt.Sprintf("the answer to %v", cmd), func(l line) bool {
		return (l.str("kind") == "result" || l.str("kind") == "error") && l.str("id") == id
	})
	if l.str("kind") == "error" {
		t.Fatalf("%s: %v: %s", p.name, cmd, l.str("message"))
	}
	return l
}

// await returns the first line from the start that match accepts.
func (p *proc) await(t *testing.T, what string, match func(line) bool) line {
	t.Helper()
	l, ok := p.find(match, patience)
	if !ok {
		t.Fatalf("%s never reported %s; it said:\n%s", p.name, what, p.dump())
	}
	return l
}

// find waits up to d for a line that match accepts.
func (p *proc) find(match func(line) bool, d time.Duration) (line, bool) {
	timedOut := false
	timer := time.AfterFunc(d, func() {
		p.mu.Lock()
		timedOut = true
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for {
		for ; i < len(p.lines); i++ {
			if match(p.lines[i]) {
				return p.lines[i], true
			}
		}
		if p.eof || timedOut {
			return nil, false
		}
		p.cond.Wait()
	}
}

// events returns the events client name got, in order.
func (p *proc) events(name string) []line {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []line
	for _, l := range p.lines {
		if l.str("kind") == "event" && l.str("name") == name {
			out = append(out, l)
		}
	}
	return out
}

func (p *proc) dump() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.lines {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

type logWriter struct {
	t      *testing.T
	prefix string
}

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
