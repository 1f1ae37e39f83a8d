package adminui

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/adminui"
	"github.com/sio-dev/sio/pkg/client"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// updates records what an admin client sees, for tests to wait on.
type updates struct {
	mu   sync.Mutex
	cond *sync.Cond
	list []adminui.Update
}

func newUpdates() *updates {
	u := &updates{}
	u.cond = sync.NewCond(&u.mu)
	return u
}

func (u *updates) add(up adminui.Update) {
	u.mu.Lock()
	u.list = append(u.list, up)
	u.cond.Broadcast()
	u.mu.Unlock()
}

func (u *updates) waitFor(t *testing.T, what string, match func(adminui.Update) bool) adminui.Update {
	t.Helper()
	timedOut := false
	timer := time.AfterFunc(patience, func() {
		u.mu.Lock()
		timedOut = true
		u.cond.Broadcast()
		u.mu.Unlock()
	})
	defer timer.Stop()
	u.mu.Lock()
	defer u.mu.Unlock()
	i := 0
	for {
		for ; i < len(u.list); i++ {
			if match(u.list[i]) {
				return u.list[i]
			}
		}
		if timedOut {
			var names []string
			for _, x := range u.list {
				names = append(names, x.Event)
			}
			t.Fatalf("the admin client never saw %s; it saw %v", what, names)
		}
		u.cond.Wait()
	}
}

func dial(t *testing.T, p *peer, user, pass string) (*adminui.Client, *updates) {
	t.Helper()
	ups := newUpdates()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	a, err := adminui.Dial(ctx, p.URL(), adminui.Options{
		Username: user, Password: pass,
		Client:   client.Options{NoReconnect: true},
		OnUpdate: ups.add,
		OnError:  func(err error) { t.Errorf("admin event: %v", err) },
	})
	if err != nil {
		t.Fatalf("dial the admin namespace: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a, ups
}

func findSocket(s adminui.Snapshot, nsp, id string) (adminui.SocketInfo, bool) {
	for _, so := range s.Sockets {
		if so.Nsp == nsp && so.ID == id {
			return so, true
		}
	}
	return adminui.SocketInfo{}, false
}

func isEvent(name, nsp, id string) func(adminui.Update) bool {
	return func(u adminui.Update) bool { return u.Event == name && u.Nsp == nsp && u.ID == id }
}

// TestDevelopmentWithAuth: a development-mode server with basic auth and
// commands allowed. The client logs in, sees the sockets (with their
// handshake), rooms and events of real Node clients, and each command it
// sends takes effect on the Node side.
func TestDevelopmentWithAuth(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{Auth: "admin:s3cret", ServerID: "node-a"})
	c1 := p.connect("c1", "/", map[string]string{"role": "ops"})
	c2 := p.connect("c2", "/chat", nil)
	a, ups := dial(t, p, "admin", "s3cret")

	cfg := a.Config()
	for _, f := range []adminui.Feature{adminui.FeatureEmit, adminui.FeatureJoin, adminui.FeatureLeave, adminui.FeatureDisconnect, adminui.FeatureMJoin, adminui.FeatureAllEvents} {
		if !cfg.Has(f) {
			t.Errorf("config %v lacks %s", cfg.SupportedFeatures, f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.WaitSockets(ctx); err != nil {
		t.Fatal(err)
	}
	snap := a.Snapshot()
	so, ok := findSocket(snap, "/", c1)
	if !ok {
		t.Fatalf("all_sockets lacks c1 %s: %+v", c1, snap.Sockets)
	}
	if so.Handshake.Query["role"] != "ops" || so.Handshake.Address != "127.0.0.1" || so.Handshake.Headers["host"] == nil {
		t.Errorf("c1's handshake: %+v", so.Handshake)
	}
	if !slices.Contains(so.Rooms, c1) {
		t.Errorf("c1's rooms %v lack its own room", so.Rooms)
	}
	if _, ok := findSocket(snap, "/chat", c2); !ok {
		t.Errorf("all_sockets lacks c2 %s on /chat", c2)
	}

	// Live: a socket that connects later, a room it joins, an event.
	c3 := p.connect("c3", "/", nil)
	ups.waitFor(t, "c3's socket_connected", isEvent(adminui.EventSocketConnected, "/", c3))
	p.send(map[string]any{"op": "serverJoin", "name": "c3", "room": "lobby"})
	ups.waitFor(t, "c3 joining lobby", func(u adminui.Update) bool {
		return u.Event == adminui.EventRoomJoined && u.ID == c3 && u.Room == "lobby"
	})
	p.send(map[string]any{"op": "emit", "name": "c3", "event": "hello", "args": []any{map[string]any{"a": 1}}})
	got := ups.waitFor(t, "c3's hello", isEvent(adminui.EventReceived, "/", c3))
	if len(got.Args) != 2 || string(got.Args[0]) != `"hello"` || string(got.Args[1]) != `{"a":1}` {
		t.Errorf("event_received args %s", got.Args)
	}
	if got.At == nil {
		t.Error("event_received without the server's timestamp")
	}
	if rooms := a.Snapshot().Rooms; !slices.ContainsFunc(rooms, func(r adminui.Room) bool {
		return r.Nsp == "/" && r.Name == "lobby" && slices.Equal(r.Members, []string{c3})
	}) {
		t.Errorf("rooms %+v lack lobby with c3", rooms)
	}

	// Commands, checked where they act: on the Node server and clients.
	if err := a.Join("/", "vip", c1); err != nil {
		t.Fatal(err)
	}
	p.waitFor("c1 joining vip", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "vip" && r.str("id") == c1
	})
	ups.waitFor(t, "room_joined vip", func(u adminui.Update) bool {
		return u.Event == adminui.EventRoomJoined && u.Room == "vip" && u.ID == c1
	})

	if err := a.Emit("/", "vip", "notice", map[string]any{"text": "hi"}); err != nil {
		t.Fatal(err)
	}
	r := p.waitFor("c1 receiving notice", func(r record) bool {
		return r.str("kind") == "client-event" && r.str("name") == "c1" && r.str("event") == "notice"
	})
	if b, _ := json.Marshal(r["args"]); string(b) != `[{"text":"hi"}]` {
		t.Errorf("notice args %s", b)
	}
	ups.waitFor(t, "event_sent notice", func(u adminui.Update) bool {
		return u.Event == adminui.EventSent && u.ID == c1 && len(u.Args) > 0 && string(u.Args[0]) == `"notice"`
	})

	if err := a.Leave("/", "vip", c1); err != nil {
		t.Fatal(err)
	}
	p.waitFor("c1 leaving vip", func(r record) bool {
		return r.str("kind") == "leave-room" && r.str("room") == "vip" && r.str("id") == c1
	})

	// Without a filter: every socket of the namespace.
	if err := a.Emit("/chat", "", "all-hands", 7); err != nil {
		t.Fatal(err)
	}
	p.waitFor("c2 receiving all-hands", func(r record) bool {
		return r.str("kind") == "client-event" && r.str("name") == "c2" && r.str("event") == "all-hands"
	})
	if err := a.Join("/chat", "everyone", ""); err != nil {
		t.Fatal(err)
	}
	p.waitFor("c2 joining everyone", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "everyone" && r.str("id") == c2
	})

	if err := a.Disconnect("/", false, c1); err != nil {
		t.Fatal(err)
	}
	r = p.waitFor("c1 disconnected", func(r record) bool { return r.str("kind") == "client-disconnect" && r.str("name") == "c1" })
	if r.str("reason") != "io server disconnect" {
		t.Errorf("c1 disconnected for %q", r.str("reason"))
	}
	d := ups.waitFor(t, "c1's socket_disconnected", isEvent(adminui.EventSocketDisconnected, "/", c1))
	if d.Reason != "server namespace disconnect" {
		t.Errorf("socket_disconnected reason %q", d.Reason)
	}
	if _, ok := findSocket(a.Snapshot(), "/", c1); ok {
		t.Error("c1 still listed after its disconnection")
	}

	if err := a.WaitStats(ctx); err != nil {
		t.Fatal(err)
	}
	servers := a.Snapshot().Servers
	if len(servers) != 1 || servers[0].ServerID != "node-a" || servers[0].PID == 0 || servers[0].Hostname == "" {
		t.Errorf("servers %+v", servers)
	}
}

// TestLoginRefused: a wrong password and a missing one are refused with
// the server's message and a hint.
func TestLoginRefused(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{Auth: "admin:s3cret"})
	for _, tc := range []struct{ user, pass, hint string }{
		{"admin", "wrong", "wrong user name or password"},
		{"", "", "--auth user:pass"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		a, err := adminui.Dial(ctx, p.URL(), adminui.Options{Username: tc.user, Password: tc.pass, Client: client.Options{NoReconnect: true}})
		cancel()
		if err == nil {
			a.Close()
			t.Fatalf("login %q/%q accepted", tc.user, tc.pass)
		}
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "invalid credentials" {
			t.Errorf("login %q/%q: %v, want the server's invalid credentials", tc.user, tc.pass, err)
		}
		if !strings.Contains(err.Error(), tc.hint) {
			t.Errorf("login %q/%q: %q lacks the hint %q", tc.user, tc.pass, err, tc.hint)
		}
	}
}

// TestReadonly: a readonly server without auth lists everything but
// accepts no command, which the client refuses before sending.
func TestReadonly(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{Readonly: true})
	c1 := p.connect("c1", "/", nil)
	a, _ := dial(t, p, "", "")
	if !a.Config().Readonly() || !a.Config().Development() {
		t.Fatalf("config %v: want readonly, development", a.Config().SupportedFeatures)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.WaitSockets(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := findSocket(a.Snapshot(), "/", c1); !ok {
		t.Errorf("c1 not listed")
	}
	for name, err := range map[string]error{
		"join":       a.Join("/", "r", c1),
		"leave":      a.Leave("/", "r", c1),
		"disconnect": a.Disconnect("/", false, c1),
		"emit":       a.Emit("/", c1, "x"),
	} {
		if !errors.Is(err, adminui.ErrReadonly) {
			t.Errorf("%s on a readonly server: %v", name, err)
		}
	}
}

// TestProduction: a production-mode server streams only server_stats;
// commands still work.
func TestProduction(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{Production: true, ServerID: "prod-1"})
	a, ups := dial(t, p, "", "")
	if a.Config().Development() {
		t.Fatalf("config %v: development in production mode", a.Config().SupportedFeatures)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.WaitSockets(ctx); !errors.Is(err, adminui.ErrProductionMode) {
		t.Errorf("WaitSockets in production mode: %v", err)
	}
	c1 := p.connect("c1", "/chat", nil)
	// Stats come every 2s: wait for one that counts c1.
	st := ups.waitFor(t, "stats counting c1", func(u adminui.Update) bool {
		if u.Stats == nil {
			return false
		}
		for _, n := range u.Stats.Namespaces {
			if n.Name == "/chat" && n.SocketsCount == 1 {
				return true
			}
		}
		return false
	})
	if st.Stats.ServerID != "prod-1" || st.Stats.ClientsCount < 2 {
		t.Errorf("stats %+v", st.Stats)
	}
	if err := a.Join("/chat", "night-shift", c1); err != nil {
		t.Fatal(err)
	}
	p.waitFor("c1 joining night-shift", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "night-shift" && r.str("id") == c1
	})
	if err := a.Disconnect("/chat", true, c1); err != nil {
		t.Fatal(err)
	}
	r := p.waitFor("c1 disconnected", func(r record) bool { return r.str("kind") == "client-disconnect" && r.str("name") == "c1" })
	// close: true still sends the DISCONNECT before closing the connection.
	if r.str("reason") != "io server disconnect" {
		t.Errorf("c1 closed for %q", r.str("reason"))
	}
}

// TestSocketIO3: on a socket.io 3.1 server the admin UI has no M features:
// commands need a socket id, which the client says before sending, and
// with one they work.
func TestSocketIO3(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{SocketIO3: true})
	c1 := p.connect("c1", "/", nil)
	a, _ := dial(t, p, "", "")
	cfg := a.Config()
	if cfg.Has(adminui.FeatureMJoin) || !cfg.Has(adminui.FeatureJoin) || !cfg.Development() {
		t.Fatalf("config %v", cfg.SupportedFeatures)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.WaitSockets(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := findSocket(a.Snapshot(), "/", c1); !ok {
		t.Errorf("c1 not listed")
	}
	if err := a.Join("/", "all", ""); err == nil || !strings.Contains(err.Error(), "MJOIN") {
		t.Errorf("join without a filter on socket.io 3: %v", err)
	}
	if err := a.Join("/", "v3room", c1); err != nil {
		t.Fatal(err)
	}
	p.waitFor("c1 joining v3room", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "v3room" && r.str("id") == c1
	})
}
