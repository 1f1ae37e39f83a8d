package server

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// hookAdapter is the memory adapter with hooks into AddAll and Broadcast,
// to put a broadcast exactly between the steps of a recovery.
type hookAdapter struct {
	*MemoryAdapter
	mu          sync.Mutex
	onAddAll    func(id string)
	onBroadcast func(out *Outgoing)
}

func (a *hookAdapter) AddAll(id string, rooms []string) {
	a.mu.Lock()
	h := a.onAddAll
	a.mu.Unlock()
	if h != nil {
		h(id)
	}
	a.MemoryAdapter.AddAll(id, rooms)
}

func (a *hookAdapter) Broadcast(out *Outgoing, opts BroadcastOptions) error {
	a.mu.Lock()
	h := a.onBroadcast
	a.mu.Unlock()
	if h != nil {
		h(out)
	}
	return a.MemoryAdapter.Broadcast(out, opts)
}

// recoverable connects a socket in room1, notes its pid and an offset, and
// drops its transport.
func recoverable(t *testing.T, srv *Server, sockets chan *Socket) (sid, pid, offset string) {
	t.Helper()
	c := dialFake(t, srv, protocol.EIO4)
	c.send("0")
	reply := c.expectPrefix(`0{"sid":"`)
	var r struct{ SID, PID string }
	if err := json.Unmarshal([]byte(reply[1:]), &r); err != nil || r.PID == "" {
		t.Fatalf("reply %s", reply)
	}
	s := <-sockets
	s.Join("room1")
	_ = s.Emit("direct", 1)
	var args []any
	_ = json.Unmarshal([]byte(c.expectPrefix(`2["direct",1,"`)[1:]), &args)
	c.sess.Close(protocol.ReasonTransportClose)
	return r.SID, r.PID, args[2].(string)
}

// A broadcast made after the saved session is taken back but before the
// socket is in its rooms again is replayed, not lost.
func TestRecoveryBroadcastBeforeJoin(t *testing.T) {
	var hook *hookAdapter
	srv := newFakeServer(t, Options{Recovery: time.Minute, Adapter: func(n *Namespace) Adapter {
		hook = &hookAdapter{MemoryAdapter: NewMemoryAdapter(n)}
		return hook
	}})
	sockets := make(chan *Socket, 2)
	srv.Of("/").OnConnection(func(s *Socket) { sockets <- s })
	sid, pid, offset := recoverable(t, srv, sockets)

	var once sync.Once
	hook.mu.Lock()
	hook.onAddAll = func(id string) {
		if id == sid {
			once.Do(func() { _ = srv.To("room1").Emit("between", 2) })
		}
	}
	hook.mu.Unlock()
	c2 := dialFake(t, srv, protocol.EIO4)
	c2.send(`0{"pid":"` + pid + `","offset":"` + offset + `"}`)
	c2.expectPrefix(`2["between",2,"`)
	c2.expect(`0{"sid":"` + sid + `","pid":"` + pid + `"}`)
	<-sockets
	c2.expectNothing()
}

// A broadcast stored before the replay is read but delivered through the
// adapter after the socket joined is received once, not twice.
func TestRecoveryNoDuplicate(t *testing.T) {
	var hook *hookAdapter
	srv := newFakeServer(t, Options{Recovery: time.Minute, Adapter: func(n *Namespace) Adapter {
		hook = &hookAdapter{MemoryAdapter: NewMemoryAdapter(n)}
		return hook
	}})
	sockets := make(chan *Socket, 2)
	srv.Of("/").OnConnection(func(s *Socket) { sockets <- s })
	sid, pid, offset := recoverable(t, srv, sockets)

	stored := make(chan struct{})
	release := make(chan struct{})
	hook.mu.Lock()
	hook.onBroadcast = func(out *Outgoing) {
		if bytes.Contains(out.Packet.Data, []byte(`"late"`)) {
			close(stored)
			<-release
		}
	}
	hook.mu.Unlock()
	emitted := make(chan error, 1)
	go func() { emitted <- srv.To("room1").Emit("late", 3) }()
	select {
	case <-stored:
	case <-time.After(5 * time.Second):
		t.Fatal("broadcast not stored")
	}
	c2 := dialFake(t, srv, protocol.EIO4)
	c2.send(`0{"pid":"` + pid + `","offset":"` + offset + `"}`)
	c2.expectPrefix(`2["late",3,"`)
	c2.expect(`0{"sid":"` + sid + `","pid":"` + pid + `"}`)
	<-sockets
	close(release)
	if err := <-emitted; err != nil {
		t.Fatal(err)
	}
	_ = srv.To("room1").Emit("after", 4)
	c2.expectPrefix(`2["after",4,"`)
	c2.expectNothing()
}

// The store keeps the last RecoveryBuffer packets, in order, however many
// pass through it.
func TestRecoveryStoreBound(t *testing.T) {
	now := time.Now()
	r := newRecoveryStore(time.Minute, 4, func() time.Time { return now })
	for i := range 1000 {
		if _, err := r.storeEvent(protocol.JSONCodec{}, "/", "e", []any{i}, BroadcastOptions{}); err != nil {
			t.Fatal(err)
		}
		if live := len(r.packets) - r.start; live > 4 {
			t.Fatalf("%d packets kept", live)
		}
	}
	r.persist(savedSession{sid: "s", pid: "p"})
	if _, _, ok := r.restore("p", formatOffset(996)); ok {
		t.Fatal("restored from a dropped offset")
	}
	_, seq, ok := r.restore("p", formatOffset(997))
	if !ok {
		t.Fatal("not restored from a kept offset")
	}
	missed, upTo := r.since(seq, nil)
	if len(missed) != 3 || upTo != 1000 || missed[0].seq != 998 || missed[2].seq != 1000 {
		t.Fatalf("%d missed, up to %d", len(missed), upTo)
	}
}
