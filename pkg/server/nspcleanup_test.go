package server

import (
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// cleanupEnv is a server that accepts any namespace through OfFunc, with
// Options.CleanupEmptyChildNamespaces, plus "/static" declared with Of.
// Every socket that ends is reported on gone.
type cleanupEnv struct {
	*testEnv
	parent *Namespace
	gone   chan string // namespace of each socket that ended
}

func newCleanupEnv(t *testing.T, buffer int) *cleanupEnv {
	t.Helper()
	gone := make(chan string, buffer)
	e := &cleanupEnv{gone: gone}
	e.testEnv = newEnv(t, Options{
		CleanupEmptyChildNamespaces: true,
		OnDisconnect:                func(s *Socket, _ protocol.DisconnectReason) { gone <- s.Namespace().Name() },
	}, func(srv *Server) {
		srv.Of("/static")
		e.parent = srv.OfFunc(func(name string, _ json.RawMessage) bool { return name != "/refused" && name != "/static" })
		e.parent.Use(func(s *Socket) error {
			if s.Namespace().Name() == "/denied" {
				return errors.New("denied")
			}
			return nil
		})
	})
	return e
}

// waitGone waits for n sockets to end.
func (e *cleanupEnv) waitGone(n int) {
	e.t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-e.gone:
		case <-time.After(10 * time.Second):
			e.t.Fatalf("%d of %d sockets ended", i, n)
		}
	}
}

func (e *cleanupEnv) expectNamespaces(want ...string) {
	e.t.Helper()
	if got := e.srv.Namespaces(); !slices.Equal(got, want) {
		if len(got) > 10 {
			e.t.Fatalf("%d namespaces %v..., want %v", len(got), got[:10], want)
		}
		e.t.Fatalf("namespaces %v, want %v", got, want)
	}
	children := e.parent.targets()
	names := make([]string, len(children))
	for i, c := range children {
		names[i] = c.Name()
	}
	slices.Sort(names)
	var dynamic []string
	for _, w := range want {
		if w != "/" && w != "/static" {
			dynamic = append(dynamic, w)
		}
	}
	if !slices.Equal(names, dynamic) {
		e.t.Fatalf("parent's children %v, want %v", names, dynamic)
	}
}

// connectMany CONNECTs c to the namespaces /n<from>…/n<to-1>, in batches
// that stay below the send queue (the replies are read as they come).
func connectMany(c *wsClient, from, to int) {
	c.t.Helper()
	const batch = 256
	for lo := from; lo < to; lo += batch {
		hi := min(lo+batch, to)
		for i := lo; i < hi; i++ {
			c.write("40/n" + strconv.Itoa(i) + ",")
		}
		for i := lo; i < hi; i++ {
			c.expectPrefix("0/n" + strconv.Itoa(i) + `,{"sid":"`)
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalizers released
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestCleanupEmptyChildNamespacesFreesMemory creates thousands of dynamic
// namespaces from one client, leaves half of them with DISCONNECT and the
// rest by closing the connection, and checks that every one is gone from
// the server and that the heap they took is released; a namespace that
// still has a socket, and one declared with Of, stay.
func TestCleanupEmptyChildNamespacesFreesMemory(t *testing.T) {
	const n = 4000
	e := newCleanupEnv(t, n+8)
	keeper := e.dialWS("4")
	keeper.connect("/keep")
	keeper.connect("/static")
	e.expectNamespaces("/", "/keep", "/static")

	before := heapInUse()
	c := e.dialWS("4")
	connectMany(c, 0, n)
	if got := len(e.srv.Namespaces()); got != n+3 {
		t.Fatalf("%d namespaces after %d CONNECTs, want %d", got, n, n+3)
	}
	peak := heapInUse()

	for i := 0; i < n/2; i++ {
		c.write("41/n" + strconv.Itoa(i) + ",")
	}
	e.waitGone(n / 2)
	if got := len(e.srv.Namespaces()); got != n/2+3 {
		t.Fatalf("%d namespaces after %d DISCONNECTs, want %d", got, n/2, n/2+3)
	}
	_ = c.conn.Close()
	e.waitGone(n / 2)
	e.expectNamespaces("/", "/keep", "/static")
	after := heapInUse()

	grown := int64(peak) - int64(before)
	kept := int64(after) - int64(before)
	t.Logf("heap: %d B before, +%d B with %d namespaces (%d B each), %+d B after they emptied", before, grown, n, grown/n, kept)
	if grown < n*500 {
		t.Fatalf("the heap grew %d B for %d namespaces: the measure is not seeing them", grown, n)
	}
	if kept > grown/4 {
		t.Fatalf("%d B of the %d B the namespaces took are still held after they emptied", kept, grown)
	}

	// The survivors still work, and the parent reaches only what exists.
	if err := e.parent.Emit("ping"); err != nil {
		t.Fatal(err)
	}
	keeper.expect(`2/keep,["ping"]`)
}

// TestCleanupEmptyChildNamespaces checks when a dynamic namespace goes:
// once its last socket leaves, not before; after a refused CONNECT; never
// for one made with Of; and a later CONNECT makes it again, with the
// parent's middlewares and handlers.
func TestCleanupEmptyChildNamespaces(t *testing.T) {
	e := newCleanupEnv(t, 16)
	connected := make(chan string, 16)
	e.parent.OnConnection(func(s *Socket) { connected <- s.Namespace().Name() })

	a, b := e.dialWS("4"), e.dialWS("4")
	a.connect("/room")
	b.connect("/room")
	<-connected
	<-connected
	a.write("41/room,")
	e.waitGone(1)
	e.expectNamespaces("/", "/room", "/static") // b is still in it

	b.write("41/room,")
	e.waitGone(1)
	e.expectNamespaces("/", "/static")
	if n, ok := e.srv.Namespace("room"); ok || n != nil {
		t.Fatalf("Namespace(room) after its removal: %v %v", n, ok)
	}
	if n, ok := e.srv.Namespace("/static"); !ok || n.Name() != "/static" {
		t.Fatalf("Namespace(/static): %v %v", n, ok)
	}
	e.expectNamespaces("/", "/static") // and it did not create one

	// Made again on the next CONNECT, through the parent.
	a.connect("/room")
	if got := <-connected; got != "/room" {
		t.Fatalf("connection handler ran for %q", got)
	}
	e.expectNamespaces("/", "/room", "/static")
	a.write("41/room,")
	e.waitGone(1)
	e.expectNamespaces("/", "/static")

	// A CONNECT the parent's middleware refuses leaves nothing behind.
	a.write("40/denied,")
	a.expect(`4/denied,{"message":"denied"}`)
	// The reply is sent before the refused CONNECT's hold ends; the next
	// CONNECT is read on the same goroutine, after it.
	a.connect("/static")
	e.expectNamespaces("/", "/static")

	// A namespace declared with Of stays when empty.
	a.write("41/static,")
	e.waitGone(1)
	e.expectNamespaces("/", "/static")

	// So does one that OfFunc made when the option is off (Node's default).
	off := newEnv(t, Options{}, func(srv *Server) {
		srv.OfFunc(func(string, json.RawMessage) bool { return true })
	})
	c := off.dialWS("4")
	c.connect("/x")
	c.write("41/x,")
	c.connect("/y") // the server handled the DISCONNECT before this reply
	if got := off.srv.Namespaces(); !slices.Equal(got, []string{"/", "/x", "/y"}) {
		t.Fatalf("without the option: namespaces %v", got)
	}
}

// TestCleanupRacesConnect has clients join and leave the same few dynamic
// namespaces concurrently: a CONNECT that finds a namespace while its last
// socket leaves must end in a namespace that the server still lists (a
// socket in a removed namespace would be unreachable by broadcasts).
func TestCleanupRacesConnect(t *testing.T) {
	const clients, rounds = 8, 60
	e := newCleanupEnv(t, clients*rounds+8)
	done := make(chan error, clients)
	conns := make([]*wsClient, clients)
	for i := range conns {
		conns[i] = e.dialWS("4")
	}
	for i, c := range conns {
		go func() {
			for r := 0; r < rounds; r++ {
				nsp := "/race" + strconv.Itoa((i+r)%3)
				if err := c.conn.WriteMessage(1, []byte("40"+nsp+",")); err != nil {
					done <- err
					return
				}
				got, err := c.tryRead(10 * time.Second)
				if err != nil {
					done <- err
					return
				}
				prefix := "40" + nsp + ","
				var reply struct{ SID string }
				if !strings.HasPrefix(got, prefix) || json.Unmarshal([]byte(got[len(prefix):]), &reply) != nil || reply.SID == "" {
					done <- errors.New("CONNECT reply " + got)
					return
				}
				nspObj, listed := func() (*Namespace, bool) {
					e.srv.mu.RLock()
					defer e.srv.mu.RUnlock()
					n, ok := e.srv.nsps[nsp]
					return n, ok
				}()
				if !listed {
					done <- errors.New(nsp + " is not listed while a socket is connected to it")
					return
				}
				if _, ok := nspObj.Socket(reply.SID); !ok {
					done <- errors.New("socket " + reply.SID + " is not in the listed " + nsp)
					return
				}
				if err := c.conn.WriteMessage(1, []byte("41"+nsp+",")); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range conns {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	e.waitGone(clients * rounds)
	e.expectNamespaces("/", "/static")
}
