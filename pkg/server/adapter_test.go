package server

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// The memory adapter's compact sets: a room with one member holds it
// inline and takes a map from the second member on (and back); a socket's
// rooms are a slice up to roomSetListMax and a map beyond. Every state
// answers the same queries.
func TestMemoryAdapterCompactSets(t *testing.T) {
	t.Parallel()
	a := NewMemoryAdapter(newFakeServer(t, Options{}).Of("/"))
	members := func(room string) []string {
		return a.Sockets(BroadcastOptions{Rooms: []string{room}})
	}
	a.AddAll("a", []string{"a", "r"})
	a.AddAll("a", []string{"r"}) // twice: no duplicate
	if got := members("r"); !slices.Equal(got, []string{"a"}) || a.rooms["r"].m != nil {
		t.Fatalf("one member: %v (map %v)", got, a.rooms["r"].m)
	}
	a.AddAll("b", []string{"b", "r"})
	if got := members("r"); len(got) != 2 || a.rooms["r"].m == nil {
		t.Fatalf("two members: %v", got)
	}
	a.Del("a", "r")
	if got := members("r"); !slices.Equal(got, []string{"b"}) || a.rooms["r"].m != nil {
		t.Fatalf("back to one: %v", got)
	}
	a.Del("b", "r")
	if _, ok := a.rooms["r"]; ok {
		t.Fatal("empty room kept")
	}

	var many []string
	for i := range roomSetListMax + 4 {
		many = append(many, fmt.Sprintf("room%02d", i))
	}
	a.AddAll("a", many)
	want := append([]string{"a"}, many...)
	sort.Strings(want)
	if got := a.SocketRooms("a"); !slices.Equal(got, want) || a.sids["a"].m == nil {
		t.Fatalf("rooms of a: %v", got)
	}
	a.Del("a", "room03")
	if got := a.SocketRooms("a"); len(got) != len(want)-1 || slices.Contains(got, "room03") {
		t.Fatalf("after leaving room03: %v", got)
	}
	if got := a.Sockets(BroadcastOptions{Rooms: []string{"room01", "room02"}, Except: []string{"b"}}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("union: %v", got)
	}
	a.DelAll("a")
	for _, r := range a.Rooms() {
		if slices.Contains(r.Members, "a") {
			t.Fatalf("a still in %s", r.Name)
		}
	}
	if got := a.Sockets(BroadcastOptions{}); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("all sockets: %v", got)
	}
}

// TestMemoryAdapterWatchRooms: the watchers hear each real change once,
// in both set forms (slice and, past roomSetListMax, map), and nothing
// for a join of a room the socket is in or a leave of one it is not in.
func TestMemoryAdapterWatchRooms(t *testing.T) {
	t.Parallel()
	a := NewMemoryAdapter(newFakeServer(t, Options{}).Of("/"))
	var got []string
	a.WatchRooms(func(c RoomChange) {
		sign := "-"
		if c.Joined {
			sign = "+"
		}
		got = append(got, sign+c.Socket+":"+c.Room)
	})
	var heard int
	a.WatchRooms(func(RoomChange) { heard++ })
	expect := func(want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("changes %q, want %q", got, want)
		}
		got = nil
	}
	a.AddAll("a", []string{"a", "r"})
	expect("+a:a", "+a:r")
	a.AddAll("a", []string{"r"})
	expect()
	a.Del("a", "nosuch")
	expect()
	a.Del("a", "r")
	expect("-a:r")
	var many []string
	for i := range roomSetListMax + 2 {
		many = append(many, fmt.Sprintf("room%02d", i))
	}
	a.AddAll("a", many)
	if len(got) != len(many) {
		t.Fatalf("%d joins reported for %d new rooms", len(got), len(many))
	}
	got = nil
	a.AddAll("a", many[:3]) // the map form: no change
	expect()
	a.DelAll("a")
	sort.Strings(got)
	want := []string{"-a:a"}
	for _, r := range many {
		want = append(want, "-a:"+r)
	}
	sort.Strings(want)
	expect(want...)
	if heard != 2+1+len(many)+1+len(many) {
		t.Errorf("the second watcher heard %d changes", heard)
	}
}

// TestOnRoomChange: Options.OnRoomChange hears a socket's rooms change
// through the namespace's adapter, with the namespace: its own room and
// a Join at connect, a Leave, and the leaves of its disconnection.
func TestOnRoomChange(t *testing.T) {
	changes := make(chan string, 16)
	srv := newFakeServer(t, Options{OnRoomChange: func(n *Namespace, c RoomChange) {
		sign := "-"
		if c.Joined {
			sign = "+"
		}
		room := c.Room
		if room == c.Socket {
			room = "(own)"
		}
		changes <- n.Name() + " " + sign + room
	}})
	srv.Of("/chat").OnConnection(func(s *Socket) {
		s.Join("lobby", "vip")
		s.On("leave", func(*Event) { s.Leave("vip") })
	})
	c := dialFake(t, srv, protocol.EIO4)
	c.connectV5("/chat")
	c.send(`2/chat,["leave"]`)
	next := func() string {
		t.Helper()
		select {
		case s := <-changes:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no room change reported")
			return ""
		}
	}
	var got []string
	for range 4 {
		got = append(got, next())
	}
	if want := "/chat +(own),/chat +lobby,/chat +vip,/chat -vip"; strings.Join(got, ",") != want {
		t.Fatalf("changes %v, want %s", got, want)
	}
	c.send(`1/chat,`)
	left := []string{next(), next()}
	sort.Strings(left)
	if want := "/chat -(own),/chat -lobby"; strings.Join(left, ",") != want {
		t.Fatalf("the disconnection's leaves %v, want %s", left, want)
	}
}
