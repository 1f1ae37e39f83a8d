package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// serveMember is a `sio serve --redis` process: it joins rooms on "join"
// events (--rooms), answers server-side events with --ack-reply, and
// logs JSON lines, which the test reads.
type serveMember struct {
	*proc
	url string
}

func (s *serveMember) label() string   { return s.name }
func (s *serveMember) baseURL() string { return s.url }

var (
	buildOnce sync.Once
	sioBin    string
	buildErr  error
	binDir    string
)

// sioBinary builds cmd/sio once for the package's tests.
func sioBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "sio-cluster-test-")
		if buildErr != nil {
			return
		}
		sioBin = filepath.Join(binDir, "sio")
		cmd := exec.Command("go", "build", "-o", sioBin, "./cmd/sio")
		cmd.Dir = filepath.Join("..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sioBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./cmd/sio: " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func startServe(t *testing.T, name, redisURL string, sharded bool) *serveMember {
	t.Helper()
	args := []string{"serve", "--no-tui", "-p", "0", "-o", "json", "--rooms", "--ack-reply", `{"pong":"hey"}`, "--redis", redisURL}
	if sharded {
		args = append(args, "--redis-sharded")
	}
	cmd := exec.Command(sioBinary(t), args...)
	s := &serveMember{}
	s.proc = startProc(t, name, cmd, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	l := s.await(t, "listening", func(l line) bool { return l.str("type") == "listening" })
	s.url = l["data"].(map[string]any)["url"].(string)
	return s
}
