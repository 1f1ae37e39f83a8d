package adminui

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// patience bounds waits for what must happen; nothing waits for it unless
// something is wrong.
const patience = 30 * time.Second

// instrumented is a pkg/server.Server with an Instrument, on a loopback
// httptest server.
type instrumented struct {
	srv *server.Server
	in  *Instrument
	url string
}

func startInstrumented(t *testing.T, opts ServerOptions) *instrumented {
	t.Helper()
	in, err := NewInstrument(opts)
	if err != nil {
		t.Fatal(err)
	}
	so := server.Options{}
	in.Wrap(&so)
	srv := server.New(so)
	in.Attach(srv)
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("hello", func(e *server.Event) { _ = s.Emit("world", e.Args.Inline(0)) })
	})
	srv.Of("/chat")
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
		in.Close()
	})
	return &instrumented{srv: srv, in: in, url: ts.URL}
}

// recorder keeps an admin client's updates for tests to wait on.
type recorder struct {
	mu   sync.Mutex
	cond *sync.Cond
	list []Update
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) add(u Update) {
	r.mu.Lock()
	r.list = append(r.list, u)
	r.cond.Broadcast()
	r.mu.Unlock()
}

func (r *recorder) waitFor(t *testing.T, what string, match func(Update) bool) Update {
	t.Helper()
	timedOut := false
	timer := time.AfterFunc(patience, func() {
		r.mu.Lock()
		timedOut = true
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; ; {
		for ; i < len(r.list); i++ {
			if match(r.list[i]) {
				return r.list[i]
			}
		}
		if timedOut {
			t.Fatalf("never saw %s", what)
		}
		r.cond.Wait()
	}
}

func dialAdmin(t *testing.T, url, user, pass string) (*Client, *recorder, error) {
	t.Helper()
	rec := newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	a, err := Dial(ctx, url, Options{Username: user, Password: pass, Client: client.Options{NoReconnect: true}, OnUpdate: rec.add,
		OnError: func(err error) { t.Errorf("admin event: %v", err) }})
	if err == nil {
		t.Cleanup(func() { a.Close() })
	}
	return a, rec, err
}

func dialUser(t *testing.T, url string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestInstrumentDevelopment: sio's admin client against sio's own server
// side: the listing, the live stream and every command.
func TestInstrumentDevelopment(t *testing.T) {
	hash, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	is := startInstrumented(t, ServerOptions{Auth: &BasicAuth{Username: "admin", PasswordHash: hash}, ServerID: "sio-1", StatsInterval: 200 * time.Millisecond})
	if _, _, err := dialAdmin(t, is.url, "admin", "nope"); err == nil || !strings.Contains(err.Error(), "invalid credentials") {
		t.Fatalf("a wrong password: %v", err)
	}
	u1 := dialUser(t, is.url+"/?role=ops")
	a, rec, err := dialAdmin(t, is.url, "admin", "pw")
	if err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "session", func(u Update) bool { return u.Event == EventSession })
	cfg := a.Config()
	if !cfg.Development() || cfg.Readonly() || !cfg.Has(FeatureMJoin) {
		t.Errorf("config %v", cfg.SupportedFeatures)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := a.WaitSockets(ctx); err != nil {
		t.Fatal(err)
	}
	id1 := u1.Socket().ID()
	so, ok := a.Snapshot(), false
	var s1 SocketInfo
	for _, s := range so.Sockets {
		if s.ID == id1 {
			s1, ok = s, true
		}
	}
	if !ok || s1.Nsp != "/" || s1.Handshake.Query["role"] != "ops" || s1.Handshake.Address != "127.0.0.1" || len(s1.ClientID) != 12 || !slices.Contains(s1.Rooms, id1) {
		t.Fatalf("u1 in all_sockets: %v %+v", ok, s1)
	}

	u2 := dialUser(t, is.url+"/chat")
	id2 := u2.Socket().ID()
	rec.waitFor(t, "u2 connected", func(u Update) bool { return u.Event == EventSocketConnected && u.ID == id2 && u.Nsp == "/chat" })
	rec.waitFor(t, "u2 in its own room", func(u Update) bool { return u.Event == EventRoomJoined && u.ID == id2 && u.Room == id2 })

	if err := u1.Emit("hello", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	got := rec.waitFor(t, "hello received", func(u Update) bool { return u.Event == EventReceived && u.ID == id1 })
	if len(got.Args) != 2 || string(got.Args[0]) != `"hello"` || string(got.Args[1]) != `{"a":1}` {
		t.Errorf("event_received %s", got.Args)
	}
	rec.waitFor(t, "world sent", func(u Update) bool {
		return u.Event == EventSent && u.ID == id1 && len(u.Args) > 0 && string(u.Args[0]) == `"world"`
	})

	// Commands, each checked on the socket it acts on.
	_, err = a.Await(ctx, func() error { return a.Join("/", "vip", id1) }, func(u Update) bool {
		return u.Event == EventRoomJoined && u.ID == id1 && u.Room == "vip"
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := is.srv.Of("/").Socket(id1); !slices.Contains(s.Rooms(), "vip") {
		t.Errorf("u1's rooms %v lack vip", s.Rooms())
	}
	notice := make(chan string, 1)
	u1.On("notice", func(e *client.Event) { notice <- string(e.Args[0]) })
	if err := a.Emit("/", "vip", "notice", map[string]string{"t": "hi"}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-notice:
		if got != `{"t":"hi"}` {
			t.Errorf("notice %s", got)
		}
	case <-ctx.Done():
		t.Fatal("u1 never got the notice")
	}
	_, err = a.Await(ctx, func() error { return a.Leave("/", "vip", "") }, func(u Update) bool {
		return u.Event == EventRoomLeft && u.ID == id1 && u.Room == "vip"
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Await(ctx, func() error { return a.Disconnect("/chat", false, id2) }, func(u Update) bool {
		return u.Event == EventSocketDisconnected && u.ID == id2
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := is.srv.Of("/chat").Socket(id2); ok {
		t.Error("u2 still connected on the server")
	}
	st := rec.waitFor(t, "stats", func(u Update) bool { return u.Stats != nil && u.Stats.ClientsCount >= 2 })
	if st.Stats.ServerID != "sio-1" || st.Stats.PID == 0 || len(st.Stats.Namespaces) < 3 {
		t.Errorf("stats %+v", st.Stats)
	}
	rec.waitFor(t, "aggregated traffic", func(u Update) bool {
		return u.Stats != nil && slices.ContainsFunc(u.Stats.AggregatedEvents, func(e AggregatedEvent) bool { return e.Type == "bytesOut" && e.Count > 0 })
	})
}

// TestInstrumentReadonlyProduction: no commands, no stream but stats; a
// command sent anyway (past the client's check) does nothing.
func TestInstrumentReadonlyProduction(t *testing.T) {
	is := startInstrumented(t, ServerOptions{Readonly: true, Production: true, StatsInterval: 100 * time.Millisecond})
	u1 := dialUser(t, is.url)
	a, rec, err := dialAdmin(t, is.url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := a.Config()
	if !cfg.Readonly() || cfg.Development() || !slices.Equal(cfg.SupportedFeatures, []Feature{FeatureAggregatedEvents}) {
		t.Errorf("config %v", cfg.SupportedFeatures)
	}
	if err := a.Join("/", "r", u1.Socket().ID()); !errors.Is(err, ErrReadonly) {
		t.Errorf("join: %v", err)
	}
	if err := a.c.Emit(CommandJoin, "/", "r", u1.Socket().ID()); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "two stats", func(u Update) bool {
		return u.Stats != nil && slices.Contains(u.Stats.Namespaces, NamespaceDetails{Name: "/", SocketsCount: 1})
	})
	if s, _ := is.srv.Of("/").Socket(u1.Socket().ID()); slices.Contains(s.Rooms(), "r") {
		t.Error("a readonly server obeyed join")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, u := range rec.list {
		if u.Event != EventConfig && u.Event != EventServerStats {
			t.Errorf("production mode sent %s", u.Event)
		}
	}
}

func TestNewInstrumentChecks(t *testing.T) {
	for _, o := range []ServerOptions{
		{Namespace: "admin"},
		{Auth: &BasicAuth{Username: "a", PasswordHash: "plaintext"}},
		{Auth: &BasicAuth{PasswordHash: "$2a$04$abcdefghijklmnopqrstuu5ZFQ6PGFB6rSUXzEsSbOdlWWDaYhFbm"}},
	} {
		if _, err := NewInstrument(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// clusterAdapter stands for a multi-node adapter: the server looks for
// its ClusterAcker method.
type clusterAdapter struct{ *server.MemoryAdapter }

func (clusterAdapter) BroadcastWithAckCluster(context.Context, protocol.Packet, server.BroadcastOptions, func(int), func(server.Args)) (int, error) {
	return 0, nil
}

// TestWrapKeepsClusterAcker: Wrap leaves the adapter as it is (room
// changes come through Options.OnRoomChange), so what a multi-node
// adapter adds (acks from the whole cluster) stays visible.
func TestWrapKeepsClusterAcker(t *testing.T) {
	in, err := NewInstrument(ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	so := server.Options{Adapter: func(n *server.Namespace) server.Adapter {
		return clusterAdapter{server.NewMemoryAdapter(n)}
	}}
	in.Wrap(&so)
	srv := server.New(so)
	in.Attach(srv)
	defer in.Close()
	defer srv.Close()
	a := srv.Of("/chat").Adapter()
	if _, ok := a.(server.ClusterAcker); !ok {
		t.Errorf("the wrapped adapter %T lost ClusterAcker", a)
	}
	if _, ok := a.(server.RoomWatcher); !ok {
		t.Errorf("the adapter %T does not report rooms", a)
	}
}
