package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sio-dev/sio/pkg/protocol"
)

// fakeCluster is a ClusterControl: the fakeServer's sockets, plus those of
// other nodes once SyncCluster succeeded.
type fakeCluster struct {
	*fakeServer
	remote      []SocketInfo
	remoteRooms []RoomInfo // the rooms with the remote members added
	nodes       int
	err         error // SyncCluster's
	synced      bool
	syncs       int
}

func (f *fakeCluster) SyncCluster(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	if f.err != nil {
		return 0, f.err
	}
	f.synced = true
	return f.nodes, nil
}

func (f *fakeCluster) Sockets() []SocketInfo {
	out := f.fakeServer.Sockets()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.synced {
		out = append(out, f.remote...)
	}
	return out
}

func (f *fakeCluster) Rooms() []RoomInfo {
	f.mu.Lock()
	synced := f.synced
	f.mu.Unlock()
	if synced {
		return append([]RoomInfo(nil), f.remoteRooms...)
	}
	return f.fakeServer.Rooms()
}

func testClusterFake() *fakeCluster {
	return &fakeCluster{
		fakeServer: testServerFake(),
		remote: []SocketInfo{
			{ID: "sockC-333333333333", Namespace: "/", RemoteAddr: "10.0.0.7:41000", Rooms: []string{"lobby"}, Since: t0.Add(3 * time.Second), Node: "n8Xq2z"},
			{ID: "sockD-444444444444", Namespace: "/chat", RemoteAddr: "10.0.0.9:41002", Since: t0.Add(4 * time.Second), Node: "Kp3wVb"},
		},
		remoteRooms: []RoomInfo{
			{Namespace: "/", Name: "lobby", Members: []string{"sockA-111111111111", "sockC-333333333333"}},
		},
		nodes: 3,
	}
}

// newTestCluster is the dashboard of a cluster node after its first
// SyncCluster.
func newTestCluster(t *testing.T, f *fakeCluster) *serverModel {
	t.Helper()
	m := newServerModel(t.Context(), NewCommon(false, 80, 24),
		ServerOptions{Control: f, Addr: "http://127.0.0.1:3000/socket.io/", Now: func() time.Time { return t0 }, Location: time.UTC}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	runCmd(t, m, m.fetch())
	runCmd(t, m, m.syncCluster())
	m.Update(traces(
		socketTrace(protocol.Out, "sockA-111111111111", protocol.Packet{Type: protocol.PacketConnect, Data: []byte(`{"sid":"sockA-111111111111"}`)}, 0),
		event(protocol.In, "sockA-111111111111", "/", `["chat","hi all"]`, 3, true, time.Second),
		ack(protocol.Out, "sockA-111111111111", "/", `["hi all"]`, 3, time.Second+300*time.Microsecond),
	))
	return m
}

func TestGoldenServerCluster(t *testing.T) {
	t.Parallel()
	newModel := func() tea.Model { return newTestCluster(t, testClusterFake()) }
	goldenSteps(t, newModel, []goldenStep{
		{"cluster_sockets", nil},
		{"cluster_remote_socket", []string{"j"}},
		{"cluster_rooms", []string{"2"}},
	})
}

func TestServerClusterLists(t *testing.T) {
	t.Parallel()
	f := testClusterFake()
	m := newTestCluster(t, f)
	if len(m.sockets) != 4 || m.nodes != 3 || f.syncs != 1 {
		t.Fatalf("sockets %d, nodes %d, syncs %d", len(m.sockets), m.nodes, f.syncs)
	}
	scr := screen(m)
	for _, want := range []string{"NODE", "cluster 3 nodes", "Sockets 4 · 2 on other nodes"} {
		if !strings.Contains(scr, want) {
			t.Fatalf("no %q in\n%s", want, scr)
		}
	}
	// This node's sockets say self and count traffic; the others' do not.
	for _, l := range strings.Split(scr, "\n") {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "sockA-1111"):
			if f[1] != "self" || f[len(f)-2] != "1" || f[len(f)-1] != "2" {
				t.Fatalf("this node's row %q", l)
			}
		case strings.HasPrefix(l, "sockC-3333"):
			if f[1] != "n8Xq2z" || f[3] != "-" || f[4] != "-" || f[len(f)-2] != "-" || f[len(f)-1] != "-" {
				t.Fatalf("a remote row %q", l)
			}
		}
	}
	// The handshake of a remote socket is its node's.
	press(t, m, "j")
	press(t, m, "H")
	runCmd(t, m, m.syncHandshake())
	if scr := screen(m); !strings.Contains(scr, "no handshake: the socket is on node n8Xq2z") {
		t.Fatalf("remote handshake:\n%s", scr)
	}
}

func TestServerClusterActions(t *testing.T) {
	t.Parallel()
	f := testClusterFake()
	m := newTestCluster(t, f)
	press(t, m, "j") // sockC, on node n8Xq2z
	if tg := m.target(); tg != (Target{Namespace: "/", SID: "sockC-333333333333"}) {
		t.Fatalf("target %+v", tg)
	}
	press(t, m, "J")
	typeText(t, m, "vip")
	msgs := runCmd(t, m, m.update(keyMsg("enter")))
	if len(f.actions) != 1 || f.actions[0] != "join vip" || f.targets[0].SID != "sockC-333333333333" {
		t.Fatalf("actions %v targets %+v", f.actions, f.targets)
	}
	if !strings.Contains(m.status, `joined "vip" (through the cluster adapter, node n8Xq2z)`) {
		t.Fatalf("status %q", m.status)
	}
	// The action asked the other nodes again.
	synced := false
	for _, msg := range msgs {
		_, ok := msg.(clusterDoneMsg)
		synced = synced || ok
	}
	if !synced || f.syncs != 2 {
		t.Fatalf("no SyncCluster after the action: %d (%v)", f.syncs, msgs)
	}
	// A room with members on this node and another: the status says so.
	press(t, m, "2")
	runCmd(t, m, m.emitCmd(m.target(), "news", nil, nil, false))
	if !strings.Contains(m.status, `emitted "news" to room lobby on / (through the cluster adapter, node n8Xq2z)`) {
		t.Fatalf("status %q", m.status)
	}
	// This node's socket: no mention of the adapter.
	press(t, m, "1")
	press(t, m, "k")
	runCmd(t, m, m.emitCmd(m.target(), "news", nil, nil, false))
	if strings.Contains(m.status, "cluster") {
		t.Fatalf("status %q", m.status)
	}
}

func TestServerClusterStale(t *testing.T) {
	t.Parallel()
	f := testClusterFake()
	m := newTestCluster(t, f)
	f.mu.Lock()
	f.err = errors.New("redis adapter: PUBSUB NUMSUB: dial tcp 127.0.0.1:6379: connection refused\nsecond line")
	f.mu.Unlock()
	// Ticks ask again only every ClusterRefresh, and never twice at once.
	m.synced = t0
	if m.clusterDue(t0.Add(time.Second)) {
		t.Fatal("due after 1s")
	}
	if !m.clusterDue(t0.Add(DefaultClusterRefresh)) {
		t.Fatal("not due after ClusterRefresh")
	}
	cmd := m.syncCluster()
	if m.syncCluster() != nil || !m.syncAgain || m.clusterDue(t0.Add(time.Hour)) {
		t.Fatal("a second SyncCluster while one runs")
	}
	m.syncAgain = false
	runCmd(t, m, cmd)
	// The last list stays, the header says it is stale and the status
	// line why, in one line.
	if len(m.sockets) != 4 || !m.statusErr || strings.Contains(m.status, "second line") ||
		m.status != "cluster: redis adapter: PUBSUB NUMSUB: dial tcp 127.0.0.1:6379: connection refused; other nodes' sockets as of 10:00:00" {
		t.Fatalf("sockets %d, status %q", len(m.sockets), m.status)
	}
	if scr := screen(m); !strings.Contains(scr, "cluster 3 nodes (stale)") {
		t.Fatalf("header:\n%s", scr)
	}
	// Failing again says nothing new; answering again clears the mark.
	m.setStatus("other", false)
	runCmd(t, m, m.syncCluster())
	if m.status != "other" {
		t.Fatalf("status %q", m.status)
	}
	f.mu.Lock()
	f.err, f.nodes = nil, 2
	f.mu.Unlock()
	runCmd(t, m, m.syncCluster())
	if scr := screen(m); strings.Contains(scr, "stale") || !strings.Contains(scr, "cluster 2 nodes") || m.status != "cluster: the other nodes answer again" {
		t.Fatalf("status %q\n%s", m.status, scr)
	}
}

// Without a ClusterControl nothing asks the cluster and nothing shows it.
func TestServerNoCluster(t *testing.T) {
	t.Parallel()
	m := newTestServer(t, testServerFake())
	if m.syncCluster() != nil || m.clusterDue(t0.Add(time.Hour)) {
		t.Fatal("asks the cluster")
	}
	if scr := screen(m); strings.Contains(scr, "NODE") || strings.Contains(scr, "cluster") {
		t.Fatalf("shows a cluster:\n%s", scr)
	}
}
