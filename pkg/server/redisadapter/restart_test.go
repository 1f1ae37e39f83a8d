package redisadapter

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sio-dev/sio/internal/testutil"
)

// syncBuffer is a log written by the adapter's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisRestart restarts redis-server in the middle of a session: the
// nodes report the loss in one line each, keep serving their own sockets,
// fail publishing with a one-line error, and once Redis is back they are
// subscribed again and broadcasts cross the cluster as before. No
// goroutine is left behind (TestMain's goleak).
func TestRedisRestart(t *testing.T) {
	r := testutil.StartRedis(t)
	var logA syncBuffer
	a := newNode(t, r, Options{Logger: slog.New(slog.NewTextHandler(&logA, nil))})
	b := newNode(t, r, Options{})
	pa := newPeer(t, a.url)
	pb := newPeer(t, b.url)
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	waitNodes(t, rc, false, 1)
	if err := a.srv.Of("/").Emit("before"); err != nil {
		t.Fatal(err)
	}
	pa.expect(t, "before")
	pb.expect(t, "before")

	r.Stop()
	waitFor(t, func() bool { return a.cluster.Stats().Down })
	// A's own sockets still get its broadcasts; the error says the others
	// did not, in one line.
	err := a.srv.Of("/").Emit("during")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "publish to socket.io#/#") {
		t.Fatalf("broadcast with Redis down: %v", err)
	}
	pa.expect(t, "during")
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if socks, err := a.srv.Of("/").FetchSockets(ctx); err == nil || len(socks) != 1 {
		t.Fatalf("fetchSockets with Redis down: %v %v", socks, err)
	}

	r.Restart()
	// Both nodes subscribe again on their own.
	waitNumSub(t, rc, "socket.io-request#/#", 1)
	waitFor(t, func() bool { return !a.cluster.Stats().Down && !b.cluster.Stats().Down })
	if err := a.srv.Of("/").Emit("after"); err != nil {
		t.Fatal(err)
	}
	pa.expect(t, "after")
	pb.expect(t, "after") // and not "during": it was lost, and said so
	st := a.cluster.Stats()
	if st.Outages != 1 || st.DownFor <= 0 || st.PublishErrs == 0 {
		t.Fatalf("stats after the restart: %+v", st)
	}
	log := logA.String()
	if strings.Count(log, "lost the connection to Redis") != 1 || strings.Count(log, "reconnected to Redis") != 1 || !strings.Contains(log, "was lost") {
		t.Fatalf("A's log:\n%s", log)
	}
}
