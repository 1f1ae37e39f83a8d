// Package client_test drives sio's Socket.IO client (pkg/client and the
// sio binary) against real Node servers: socket.io 4.8.x, 3.1.x and 2.x.
package client_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// requireNode skips without Node or the interop packages, and fails
// when CI is set.
func requireNode(t *testing.T) {
	t.Helper()
	miss := ""
	if _, err := exec.LookPath("node"); err != nil {
		miss = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join("..", "node_modules", "socket.io")); err != nil {
		miss = "test/interop/node_modules is missing (run npm ci in test/interop)"
	}
	if miss == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(miss)
	}
	t.Skip(miss)
}

// peerConfig is the JSON argument of peers/server.mjs.
type peerConfig struct {
	Version  int  `json:"version"`
	Recovery bool `json:"recovery,omitempty"`
	Port     int  `json:"port,omitempty"`
	// Bare leaves requests outside the Engine.IO path unanswered, as a
	// bare Node http server does (instead of a 404).
	Bare bool `json:"bare,omitempty"`
	// ConnectDelay (ms) delays the answer of the "/" middleware.
	ConnectDelay int `json:"connectDelay,omitempty"`
}

type peer struct {
	Port  int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	once  sync.Once
	done  chan struct{}
}

// startPeer starts a Node server and returns once it listens.
func startPeer(t *testing.T, cfg peerConfig) *peer {
	t.Helper()
	requireNode(t)
	b, _ := json.Marshal(cfg)
	cmd := exec.Command("node", filepath.Join("peers", "server.mjs"), string(b))
	cmd.Stderr = os.Stderr
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
	p := &peer{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	t.Cleanup(p.stop)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatal("node peer exited before listening")
		}
		var info struct{ Port int }
		if err := json.Unmarshal([]byte(line), &info); err != nil || info.Port == 0 {
			t.Fatalf("node peer said %q", line)
		}
		p.Port = info.Port
	case <-time.After(20 * time.Second):
		t.Fatal("node peer did not start")
	}
	return p
}

// stop ends the peer (closing its stdin makes it exit) and waits.
func (p *peer) stop() {
	p.once.Do(func() {
		p.stdin.Close()
		waited := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-waited
		}
		close(p.done)
	})
}

func (p *peer) url(nsp string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", p.Port, nsp)
}
