package testutil

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// nodeStartTimeout bounds how long a Node peer may take to listen: it
// takes a fraction of a second, but a busy CI machine may be slow.
const nodeStartTimeout = 30 * time.Second

// RequireNode skips the test when node or test/interop/node_modules is
// missing, and fails it under CI=true, where every peer must be present.
func RequireNode(t testing.TB) {
	t.Helper()
	miss := ""
	if _, err := exec.LookPath("node"); err != nil {
		miss = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(moduleRoot(t), "test", "interop", "node_modules", "socket.io")); err != nil {
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

// StartNodePeer runs `node script arg`, a peer that prints {"port":N} on
// its first stdout line once it listens and exits when its stdin closes,
// and returns N. The peer is stopped (killed after 5s) when the test ends.
func StartNodePeer(t testing.TB, script, arg string) int {
	t.Helper()
	RequireNode(t)
	return StartPeer(t, "node", script, arg)
}

// StartPeer runs the program name with args, a peer that, like the Node
// peers, prints {"port":N} on its first stdout line once it listens and
// exits when its stdin closes, and returns N. The peer is stopped (killed
// after 5s) when the test ends.
func StartPeer(t testing.TB, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
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
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			stdin.Close()
			waited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(waited) }()
			select {
			case <-waited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-waited
			}
		})
	})
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
		var info struct{ Port int }
		if !ok || json.Unmarshal([]byte(line), &info) != nil || info.Port == 0 {
			t.Fatalf("peer %s %v said %q", name, args, line)
		}
		return info.Port
	case <-time.After(nodeStartTimeout):
		t.Fatalf("peer %s %v did not listen within %s", name, args, nodeStartTimeout)
	}
	return 0
}
