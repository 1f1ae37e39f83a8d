package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/tui"
)

// TestServeDashboardCluster runs two `sio serve --redis` nodes with a
// client each and drives node A's dashboard control (what the TUI calls):
// it lists both sockets with their nodes, and its actions on node B's
// socket reach it through the adapter.
func TestServeDashboardCluster(t *testing.T) {
	checkLeaks(t)
	r := testutil.StartRedis(t)
	a := startServe(t, "-o", "json", "--redis", r.URL())
	b := startServe(t, "-o", "json", "--redis", r.URL())
	waitNodes(t, r, 2)
	ca, _ := a.mustDial(t, "/", client.Options{})
	cb, gotB := b.mustDial(t, "/", client.Options{})
	cb.On("question", func(e *client.Event) { _ = e.Ack("answer") })
	nodeB := b.info.cluster.cluster.UID()

	var ctl tui.ClusterControl = newClusterControl(newServerControl(a.info.srv), a.info.cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sync := func() {
		t.Helper()
		n, err := ctl.SyncCluster(ctx)
		if err != nil || n != 2 {
			t.Fatalf("SyncCluster: %d nodes, %v", n, err)
		}
	}
	byID := func() map[string]tui.SocketInfo {
		m := map[string]tui.SocketInfo{}
		for _, s := range ctl.Sockets() {
			m[s.ID] = s
		}
		return m
	}

	// Before any SyncCluster, node A's own socket only.
	if socks := ctl.Sockets(); len(socks) != 1 || socks[0].ID != ca.SID() {
		t.Fatalf("before SyncCluster: %+v", socks)
	}
	sync()
	socks := byID()
	sa, sb := socks[ca.SID()], socks[cb.SID()]
	if len(socks) != 2 || sa.Node != "" || sa.Transport == "" || sb.Node != nodeB || sb.Transport != "" || sb.EIO != 0 || sb.RemoteAddr == "" {
		t.Fatalf("sockets: %+v", socks)
	}

	// A join through node A on node B's socket: node B applies it, and
	// the rooms list has it once node A asks again.
	target := tui.Target{Namespace: "/", SID: cb.SID()}
	if err := ctl.Join(ctx, target, "lobby"); err != nil {
		t.Fatal(err)
	}
	waitCond(t, func() bool {
		sync()
		rooms := ctl.Rooms()
		return len(rooms) == 1 && rooms[0].Name == "lobby" && slices.Equal(rooms[0].Members, []string{cb.SID()}) &&
			slices.Equal(byID()[cb.SID()].Rooms, []string{"lobby"})
	})
	// Node B's log says so, as for a join its own client asked for.
	b.waitLine(t, `"type":"join"`, cb.SID(), `"room":"lobby"`)
	// A room with members on both nodes.
	if err := ctl.Join(ctx, tui.Target{Namespace: "/", SID: ca.SID()}, "lobby"); err != nil {
		t.Fatal(err)
	}
	rooms := ctl.Rooms()
	want := []string{ca.SID(), cb.SID()}
	slices.Sort(want)
	if len(rooms) != 1 || !slices.Equal(rooms[0].Members, want) {
		t.Fatalf("rooms: %+v, want lobby with %v", rooms, want)
	}

	// Emits to node B's socket, without and with an ack.
	if _, err := ctl.Emit(ctx, target, "hello", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	if e := recvEvent(t, gotB); e != "hello []" {
		t.Fatalf("node B's client got %s", e)
	}
	acks, err := ctl.Emit(ctx, target, "question", nil, nil, true)
	if err != nil || len(acks) != 1 || acks[0].SID != cb.SID() || len(acks[0].Args) != 1 || string(acks[0].Args[0]) != `"answer"` {
		t.Fatalf("emit with ack: %+v %v", acks, err)
	}

	// Leave, then a leave from a room it is not in fails as on one node.
	if err := ctl.Leave(ctx, target, "lobby"); err != nil {
		t.Fatal(err)
	}
	waitCond(t, func() bool { sync(); return len(byID()[cb.SID()].Rooms) == 0 })
	b.waitLine(t, `"type":"leave"`, cb.SID(), `"room":"lobby"`)
	if err := ctl.Leave(ctx, target, "lobby"); err == nil || !strings.Contains(err.Error(), "not in room") {
		t.Fatalf("leave a room it is not in: %v", err)
	}

	// Disconnect through node A.
	if err := ctl.Disconnect(ctx, target); err != nil {
		t.Fatal(err)
	}
	b.waitLine(t, `"type":"disconnect"`, cb.SID(), "server namespace disconnect")
	waitCond(t, func() bool { sync(); _, ok := byID()[cb.SID()]; return !ok })

	// A dead Redis: SyncCluster fails at once (the adapter knows Redis
	// is down) and the last list stays.
	cb2, _ := b.mustDial(t, "/", client.Options{})
	waitCond(t, func() bool { sync(); _, ok := byID()[cb2.SID()]; return ok })
	r.Stop()
	waitCond(t, func() bool { return a.info.cluster.cluster.Stats().Down })
	if _, err := ctl.SyncCluster(ctx); err == nil {
		t.Fatal("SyncCluster with Redis down: no error")
	}
	if socks := byID(); len(socks) != 2 || socks[cb2.SID()].Node != nodeB {
		t.Fatalf("after a failed SyncCluster: %+v", socks)
	}
}
