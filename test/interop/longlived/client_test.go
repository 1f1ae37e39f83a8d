package longlived

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// TestClientStaysConnected: `sio listen` and pkg/client, on each transport,
// stay a minute on socket.io 4.8, 3.1 and 2.5 servers that push all along
// (pkg/client emitting with acks too), with nothing lost.
func TestClientStaysConnected(t *testing.T) {
	t.Parallel()
	node := needNode(t)
	for _, v := range versions {
		t.Run(v.server, func(t *testing.T) {
			t.Parallel()
			s := newSession(*sessionDuration)
			// One Node server per version serves its six clients, each
			// socket with its own pushes and counts: 3 Node processes
			// rather than 18 on a 2-core machine.
			peer := start(t, v.server, node, filepath.Join("peers", "server.mjs"), v.arg, s.json())
			port, _ := peer.peerLine(t, "listening", patience, nil).num("port")
			url := fmt.Sprintf("http://127.0.0.1:%d/", port)
			for _, tr := range transports {
				t.Run("sio_listen/"+tr, func(t *testing.T) {
					t.Parallel()
					listenSession(t, peer, url, s, v, tr)
				})
				t.Run("pkg_client/"+tr, func(t *testing.T) {
					t.Parallel()
					clientSession(t, peer, url, s, v, tr)
				})
			}
		})
	}
}

// heartbeat is the Engine.IO packet a client receives at each heartbeat:
// the server's ping, or with socket.io 2 (Engine.IO 3, where the client
// pings) the server's pong.
func heartbeat(v version) protocol.EngineType {
	if v.arg == "2" {
		return protocol.EnginePong
	}
	return protocol.EnginePing
}

func isEvent(r record, name string) bool {
	return r.str("layer") == "" && r.str("dir") == "in" && r.str("type") == "EVENT" && r.str("event") == name
}

// serverCount returns how many pushes the Node server sent the socket id
// before its "end", and fails if the server saw that socket disconnect.
func serverCount(t *testing.T, peer *process, id string) int {
	t.Helper()
	pushed := peer.peerLine(t, "pushed", patience, func(r record) bool { return r.str("id") == id })
	for _, r := range peer.out.snapshot() {
		if r.str("event") == "disconnect" && r.str("id") == id {
			t.Errorf("the server saw the client disconnect: %v", r)
		}
	}
	n, _ := pushed.num("count")
	return n
}

// serverSaw waits for the server's line about the socket id's disconnect,
// after the client closed, and checks the "seq" it got from it.
func serverSaw(t *testing.T, peer *process, id string, sent int) {
	t.Helper()
	r := peer.peerLine(t, "disconnect", patience, func(r record) bool { return r.str("id") == id })
	received, _ := r.num("received")
	if problems, _ := r["problems"].([]any); received != sent || len(problems) > 0 {
		t.Errorf("the server got %d of %d seq; out of order: %v", received, sent, problems)
	}
}

// listenSession runs the built `sio listen -v -o json` for one session and
// reads its account of it.
func listenSession(t *testing.T, peer *process, url string, s session, v version, transport string) {
	p := start(t, "sio listen", sioBinary(t), "listen", "-u", url, "--transport", transport, "-o", "json", "-v")
	connect := p.out.wait(t, "sio listen's connect line", patience, func(r record) bool {
		return r.str("layer") == "session" && r.str("type") == "connect"
	})
	id := connect.str("sid")
	end := p.out.wait(t, `the "end" event`, s.duration()+s.grace(), func(r record) bool { return isEvent(r, "end") })
	count := serverCount(t, peer, id)

	var (
		pushes     []int
		heartbeats int
		upgrades   []string
		unexpected []string
		connected  bool
	)
	for _, r := range p.out.snapshot() {
		switch {
		case isEvent(r, "push"):
			n, _ := r.num("args")
			pushes = append(pushes, n)
		case r.str("layer") == "engine.io" && r.str("dir") == "in" && r.str("type") == heartbeat(v).String():
			heartbeats++
		case r.str("layer") != "session":
		case r.str("type") == "upgrade":
			// The upgrade may complete before the namespace's CONNECT.
			upgrades = append(upgrades, r.str("transport"))
		case !connected:
			// What comes before the first connect is the dial's (the
			// Engine.IO version detection may dial twice).
			connected = r.str("type") == "connect"
		default:
			unexpected = append(unexpected, r.String())
		}
	}
	checkSequence(t, "the pushes sio listen printed", pushes, count)
	if n, _ := end.num("args"); n != count || count < s.minSent(s.ServerQuiet) {
		t.Errorf(`"end" %d, the server pushed %d; want at least %d`, n, count, s.minSent(s.ServerQuiet))
	}
	if heartbeats < s.minHeartbeats() {
		t.Errorf("sio listen saw %d heartbeats, want at least %d", heartbeats, s.minHeartbeats())
	}
	if len(unexpected) > 0 {
		t.Errorf("after connecting, sio listen printed %q", unexpected)
	}
	checkUpgrades(t, transport, upgrades)
	if code := p.stop(t, syscall.SIGINT); code != 0 {
		t.Errorf("sio listen exited with status %d after SIGINT; stderr: %s", code, p.stderr.String())
	}
	serverSaw(t, peer, id, 0)
}

func checkUpgrades(t *testing.T, transport string, upgrades []string) {
	t.Helper()
	want := 0
	if transport == "auto" {
		want = 1
	}
	if len(upgrades) != want || (want == 1 && upgrades[0] != "websocket") {
		t.Errorf("upgrades %q on transport %s", upgrades, transport)
	}
}

// clientLog is what a pkg/client session saw, from its handlers.
type clientLog struct {
	mu         sync.Mutex
	connected  bool
	upgrades   []string
	unexpected []string // lifecycle events after the first connect, but upgrades
	pushes     []int
	ends       []int
	gotEnd     chan struct{} // closed at the first "end"
}

func (l *clientLog) onState(s client.State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case s.Kind == client.StateUpgrade:
		// The upgrade may complete before the namespace's CONNECT answer.
		l.upgrades = append(l.upgrades, s.Transport)
	case !l.connected:
		// The dial's own steps (Engine.IO version detection) come first.
		l.connected = s.Kind == client.StateConnect
	default:
		l.unexpected = append(l.unexpected, s.String())
	}
}

func (l *clientLog) onPush(e *client.Event) {
	var n int
	err := e.Unmarshal(0, &n)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.unexpected = append(l.unexpected, fmt.Sprintf("push %s: %v", e.Inline(), err))
	}
	l.pushes = append(l.pushes, n)
}

func (l *clientLog) onEnd(e *client.Event) {
	var n int
	_ = e.Unmarshal(0, &n)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ends = append(l.ends, n)
	if len(l.ends) == 1 {
		close(l.gotEnd)
	}
}

// clientSession runs pkg/client with default options but the transport for
// one session: it emits "seq" n with acks while it counts the pushes.
func clientSession(t *testing.T, peer *process, url string, s session, v version, transport string) {
	var heartbeats atomic.Int64
	c, err := client.New(url, client.Options{Transport: transport, Tap: func(tr protocol.Trace) {
		if tr.Layer == protocol.LayerEngine && tr.Dir == protocol.In && tr.Engine.Type == heartbeat(v) {
			heartbeats.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	log := &clientLog{gotEnd: make(chan struct{})}
	c.OnState(log.onState)
	c.On("push", log.onPush)
	c.On("end", log.onEnd)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	id := c.SID()

	// One goroutine waits for the acks in emit order; the emits go on
	// meanwhile, at their own pace.
	type inFlight struct {
		n   int
		ack *client.PendingAck
	}
	flights := make(chan inFlight, 4096)
	var (
		acked  int
		ackErr error
	)
	acksDone := make(chan struct{})
	go func() {
		defer close(acksDone)
		var errs []error
		for f := range flights {
			wctx, cancel := context.WithTimeout(t.Context(), s.grace())
			a, err := f.ack.Wait(wctx)
			cancel()
			var m int
			if err == nil {
				err = a.Unmarshal(0, &m)
			}
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("seq %d: %w", f.n, err))
			case m != f.n:
				errs = append(errs, fmt.Errorf("seq %d acked with %s", f.n, a.Inline()))
			default:
				acked++
			}
		}
		ackErr = errors.Join(errs...)
	}()
	sent, err := s.run(t.Context(), s.ClientQuiet, func(n int) error {
		p, err := c.Socket().EmitAck("seq", n)
		if err == nil {
			flights <- inFlight{n, p}
		}
		return err
	})
	close(flights)
	<-acksDone
	if err != nil {
		t.Errorf("emit seq %d: %v", sent, err)
	}
	if ackErr != nil || acked != sent || sent < s.minSent(s.ClientQuiet) {
		t.Errorf("%d of %d seq acked (want at least %d): %v", acked, sent, s.minSent(s.ClientQuiet), ackErr)
	}

	select {
	case <-log.gotEnd:
	case <-time.After(s.grace()):
		t.Errorf(`no "end" %s after the session`, s.grace())
	}
	count := serverCount(t, peer, id)
	log.mu.Lock()
	pushes, ends, upgrades, unexpected := log.pushes, log.ends, log.upgrades, log.unexpected
	log.mu.Unlock()
	checkSequence(t, "the client's pushes", pushes, count)
	if len(ends) != 1 || ends[0] != count || count < s.minSent(s.ServerQuiet) {
		t.Errorf(`"end" %v, the server pushed %d; want one, and at least %d pushes`, ends, count, s.minSent(s.ServerQuiet))
	}
	if n := int(heartbeats.Load()); n < s.minHeartbeats() {
		t.Errorf("the client saw %d heartbeats, want at least %d", n, s.minHeartbeats())
	}
	if len(unexpected) > 0 {
		t.Errorf("after connecting, the client saw %q", unexpected)
	}
	checkUpgrades(t, transport, upgrades)
	wantTransport := transport
	if transport == "auto" {
		wantTransport = "websocket"
	}
	if got := c.Transport(); got != wantTransport {
		t.Errorf("transport %q, want %q", got, wantTransport)
	}
	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	serverSaw(t, peer, id, sent)
}
