package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisServer is a redis-server process of one test: on a loopback port,
// with no persistence (nothing is written to disk), stopped when the test
// ends.
type RedisServer struct {
	Port int

	t    testing.TB
	bin  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// redisStartTimeout bounds how long a redis-server may take to say it is
// ready: it takes milliseconds, but a machine shared by many builds may be
// slow, and waiting longer only delays a failure.
const redisStartTimeout = 60 * time.Second

// StartRedis starts Debian's redis-server (scripts/ci-deps.sh installs
// it) on a free 127.0.0.1 port and stops it at the end of the test. When
// it is missing the test is skipped, or fails under CI=true, where every
// peer must be present.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed (scripts/ci-deps.sh installs it): %v", err)
		}
		t.Skipf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	r := &RedisServer{t: t, bin: bin}
	// The port is free when picked but another process may take it before
	// redis-server binds it: try a few.
	for attempt := 0; ; attempt++ {
		r.Port = freePort(t)
		err := r.start()
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("redis-server: %v", err)
		}
	}
	t.Cleanup(r.Stop)
	return r
}

// Addr is host:port.
func (r *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// URL is redis://host:port.
func (r *RedisServer) URL() string { return "redis://" + r.Addr() }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// start runs redis-server on r.Port and waits for its "Ready to accept
// connections" line.
func (r *RedisServer) start() error {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.t.TempDir(), "--loglevel", "notice")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	var lines []string
	var linesMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			linesMu.Lock()
			if len(lines) < 50 {
				lines = append(lines, line)
			}
			linesMu.Unlock()
			if !signalled && strings.Contains(line, "Ready to accept connections") {
				close(ready)
				signalled = true
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-ready:
	case <-done:
		linesMu.Lock()
		defer linesMu.Unlock()
		return fmt.Errorf("exited before it was ready on port %d:\n%s", r.Port, strings.Join(lines, "\n"))
	case <-time.After(redisStartTimeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("not ready on port %d after %v", r.Port, redisStartTimeout)
	}
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
	return nil
}

// Stop kills the server and waits for it to exit. It may be called more
// than once.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart stops the server and starts a new one on the same port, empty
// (no persistence): what clients see when Redis restarts.
func (r *RedisServer) Restart() {
	r.t.Helper()
	r.Stop()
	// The port was ours a moment ago; a few tries cover a slow release.
	var err error
	for range 5 {
		if err = r.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("redis-server restart: %v", err)
}
