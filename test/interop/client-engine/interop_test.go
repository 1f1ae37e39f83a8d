// Package clientengine drives sio's Engine.IO client (pkg/client/eioclient)
// against real Node servers: engine.io 6.6 (socket.io 4.8.4) and engine.io
// 3.6 (socket.io 2.5.1), over polling, WebSocket and the upgrade, in both
// protocol revisions.
package clientengine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/client/eioclient"
	"github.com/sio-dev/sio/pkg/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// peerEvent is one JSON line printed by peer.mjs.
type peerEvent struct {
	Event     string `json:"event"`
	Port      int    `json:"port"`
	SID       string `json:"sid"`
	Transport string `json:"transport"`
	Binary    bool   `json:"binary"`
	Data      string `json:"data"`
	Reason    string `json:"reason"`
}

type peer struct {
	url    *url.URL
	events chan peerEvent
}

// startPeer runs peer.mjs in mode and returns its URL. It skips without
// Node or node_modules, and fails when CI is set.
func startPeer(t *testing.T, mode string) *peer {
	t.Helper()
	node, err := exec.LookPath("node")
	modules := filepath.Join("..", "node_modules")
	if err == nil {
		_, err = os.Stat(filepath.Join(modules, "engine.io"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("interop needs node and test/interop/node_modules (run npm ci in test/interop): %v", err)
		}
		t.Skipf("skipping interop: node or test/interop/node_modules missing (%v)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "peer.mjs", mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peer{events: make(chan peerEvent, 256)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev peerEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				select {
				case p.events <- ev:
				default: // a test that stopped reading must not block the peer
				}
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		cancel()
		wg.Wait()
	})
	ev := p.next(t, "listening")
	p.url = &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ev.Port)}
	return p
}

// next returns the next event named name, skipping others.
func (p *peer) next(t *testing.T, name string) peerEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				t.Fatalf("peer exited while waiting for %q", name)
			}
			if ev.Event == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out waiting for peer event %q", name)
		}
	}
}

type received struct {
	data   []byte
	binary bool
}

type client struct {
	conn     *eioclient.Conn
	msgs     chan received
	upgraded chan string
	closed   chan protocol.DisconnectReason
}

func dial(t *testing.T, p *peer, opts eioclient.Options) *client {
	t.Helper()
	c := &client{
		msgs:     make(chan received, 64),
		upgraded: make(chan string, 1),
		closed:   make(chan protocol.DisconnectReason, 1),
	}
	opts.OnMessage = func(data []byte, binary bool) {
		c.msgs <- received{bytes.Clone(data), binary}
	}
	opts.OnUpgrade = func(tr string) { c.upgraded <- tr }
	opts.OnClose = func(r protocol.DisconnectReason, err error) { c.closed <- r }
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := eioclient.Dial(ctx, p.url, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.conn = conn
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *client) recv(t *testing.T) received {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a message")
		return received{}
	}
}

func TestEngineEcho(t *testing.T) {
	modes := []struct {
		mode string
		path string
		eio  protocol.EIO
	}{
		{"engine4", "/engine.io/", protocol.EIO4},
		{"engine3", "/engine.io/", protocol.EIO3},
	}
	for _, m := range modes {
		for _, transport := range []string{"polling", "websocket", "auto"} {
			for _, eio := range []protocol.EIO{0, m.eio} {
				if m.mode == "engine3" && transport == "websocket" && eio == 0 {
					// A bare engine.io 3 server sends nothing after open, so
					// EIO auto over WebSocket only cannot see it is v3: see
					// TestEIOAutoSocketIO for the socket.io 2 case.
					continue
				}
				name := m.mode + "/" + transport + "/eio" + strconv.Itoa(int(eio))
				t.Run(name, func(t *testing.T) {
					p := startPeer(t, m.mode)
					c := dial(t, p, eioclient.Options{Path: m.path, Transport: transport, EIO: eio})
					if got := c.conn.EIO(); got != m.eio {
						t.Fatalf("EIO() = %v, want %v", got, m.eio)
					}
					conn := p.next(t, "connection")
					if conn.SID != c.conn.SID() {
						t.Fatalf("server sid %q, client sid %q", conn.SID, c.conn.SID())
					}
					if transport == "auto" {
						select {
						case tr := <-c.upgraded:
							if tr != "websocket" {
								t.Fatalf("upgraded to %q", tr)
							}
						case <-time.After(10 * time.Second):
							t.Fatal("no upgrade")
						}
						if ev := p.next(t, "upgrade"); ev.Transport != "websocket" {
							t.Fatalf("server upgrade event %+v", ev)
						}
					}
					if err := c.conn.Send(
						protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("hello €")},
						protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte{1, 2, 3, 4}, Binary: true},
					); err != nil {
						t.Fatal(err)
					}
					if err := c.conn.Flush(t.Context()); err != nil {
						t.Fatal(err)
					}
					if ev := p.next(t, "message"); ev.Binary || ev.Data != "hello €" {
						t.Fatalf("server got %+v", ev)
					}
					if ev := p.next(t, "message"); !ev.Binary || ev.Data != hex.EncodeToString([]byte{1, 2, 3, 4}) {
						t.Fatalf("server got %+v", ev)
					}
					if m := c.recv(t); m.binary || string(m.data) != "hello €" {
						t.Fatalf("echo %+v", m)
					}
					if m := c.recv(t); !m.binary || !bytes.Equal(m.data, []byte{1, 2, 3, 4}) {
						t.Fatalf("echo %+v", m)
					}
					c.conn.Close()
					if r := <-c.closed; r != protocol.ReasonIOClientDisconnect {
						t.Fatalf("reason %q", r)
					}
					if ev := p.next(t, "close"); ev.SID != c.conn.SID() {
						t.Fatalf("close event %+v", ev)
					}
				})
			}
		}
	}
}

// TestEngine4AllowEIO3 speaks v3 to engine.io 6 with allowEIO3 (its
// bundled v3 parser), binary included.
func TestEngine4AllowEIO3(t *testing.T) {
	for _, transport := range []string{"polling", "websocket", "auto"} {
		t.Run(transport, func(t *testing.T) {
			p := startPeer(t, "engine4-eio3")
			c := dial(t, p, eioclient.Options{Path: "/engine.io/", Transport: transport, EIO: protocol.EIO3})
			if transport == "auto" {
				waitUpgrade(t, c)
			}
			if err := c.conn.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte{0xff, 0, 0x1e}, Binary: true}); err != nil {
				t.Fatal(err)
			}
			if ev := p.next(t, "message"); !ev.Binary || ev.Data != "ff001e" {
				t.Fatalf("server got %+v", ev)
			}
			if m := c.recv(t); !m.binary || !bytes.Equal(m.data, []byte{0xff, 0, 0x1e}) {
				t.Fatalf("echo %+v", m)
			}
		})
	}
}

func waitUpgrade(t *testing.T, c *client) {
	t.Helper()
	select {
	case tr := <-c.upgraded:
		if tr != "websocket" {
			t.Fatalf("upgraded to %q", tr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no upgrade")
	}
}

// TestEIOAutoSocketIO checks that EIO auto picks 3 against socket.io 2.5.1
// and 4 against socket.io 4.8.4, on every transport, and that the
// Socket.IO layer above then works: socket.io 2 connects "/" by itself
// ("40"), socket.io 4 answers our CONNECT with its sid.
func TestEIOAutoSocketIO(t *testing.T) {
	for _, mode := range []string{"sio2", "sio4"} {
		for _, transport := range []string{"polling", "websocket", "auto"} {
			t.Run(mode+"/"+transport, func(t *testing.T) {
				p := startPeer(t, mode)
				c := dial(t, p, eioclient.Options{Transport: transport})
				want := protocol.EIO4
				if mode == "sio2" {
					want = protocol.EIO3
				}
				if got := c.conn.EIO(); got != want {
					t.Fatalf("EIO() = %v, want %v", got, want)
				}
				if mode == "sio4" {
					if err := c.conn.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("0")}); err != nil {
						t.Fatal(err)
					}
				}
				m := c.recv(t)
				if mode == "sio2" && string(m.data) != "0" {
					t.Fatalf("socket.io 2 first message %q, want 0 (CONNECT /)", m.data)
				}
				if mode == "sio4" && !bytes.HasPrefix(m.data, []byte(`0{"sid":`)) {
					t.Fatalf("socket.io 4 CONNECT reply %q", m.data)
				}
				p.next(t, "sio-connection")
				if transport == "auto" {
					waitUpgrade(t, c)
				}
			})
		}
	}
}

// TestServerCloses: Node closing the socket gives "forced close" over
// polling (a close packet in the GET) and "transport close" over WebSocket.
func TestServerCloses(t *testing.T) {
	for _, mode := range []string{"engine4", "engine3"} {
		for _, transport := range []string{"polling", "websocket"} {
			t.Run(mode+"/"+transport, func(t *testing.T) {
				p := startPeer(t, mode)
				eio := protocol.EIO4
				if mode == "engine3" {
					eio = protocol.EIO3
				}
				c := dial(t, p, eioclient.Options{Path: "/engine.io/", Transport: transport, EIO: eio})
				if err := c.conn.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("close-me")}); err != nil {
					t.Fatal(err)
				}
				want := protocol.ReasonForcedClose
				if transport == "websocket" {
					want = protocol.ReasonTransportClose
				}
				select {
				case r := <-c.closed:
					if r != want {
						t.Fatalf("reason %q, want %q", r, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no close")
				}
			})
		}
	}
}

// TestHeartbeatWithNode keeps connections through several heartbeats
// (pingInterval 300 ms): v4 answers Node's pings, v3 pings Node.
func TestHeartbeatWithNode(t *testing.T) {
	for _, mode := range []string{"engine4", "engine3"} {
		for _, transport := range []string{"polling", "websocket", "auto"} {
			t.Run(mode+"/"+transport, func(t *testing.T) {
				p := startPeer(t, mode)
				beats := make(chan struct{}, 16)
				eio := protocol.EIO4
				if mode == "engine3" {
					eio = protocol.EIO3
				}
				opts := eioclient.Options{Path: "/engine.io/", Transport: transport, EIO: eio}
				opts.Tap = func(tr protocol.Trace) {
					// A completed heartbeat: v4 our pong out, v3 Node's pong in.
					if (eio == protocol.EIO4 && tr.Dir == protocol.Out && tr.Engine.Type == protocol.EnginePong) ||
						(eio == protocol.EIO3 && tr.Dir == protocol.In && tr.Engine.Type == protocol.EnginePong && len(tr.Engine.Data) == 0) {
						select {
						case beats <- struct{}{}:
						default:
						}
					}
				}
				c := dial(t, p, opts)
				for range 4 {
					select {
					case <-beats:
					case r := <-c.closed:
						t.Fatalf("closed during heartbeats: %q", r)
					case <-time.After(10 * time.Second):
						t.Fatal("no heartbeat")
					}
				}
				if err := c.conn.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte("alive")}); err != nil {
					t.Fatal(err)
				}
				if m := c.recv(t); string(m.data) != "alive" {
					t.Fatalf("echo %q", m.data)
				}
			})
		}
	}
}

// TestUpgradeFramesWithNode checks the probe frames the client sent and
// received against Node, in order.
func TestUpgradeFramesWithNode(t *testing.T) {
	for _, mode := range []string{"engine4", "engine3"} {
		t.Run(mode, func(t *testing.T) {
			p := startPeer(t, mode)
			var mu sync.Mutex
			var frames []string
			opts := eioclient.Options{Path: "/engine.io/"}
			opts.Tap = func(tr protocol.Trace) {
				if tr.Transport == "websocket" {
					mu.Lock()
					frames = append(frames, tr.Dir.String()+" "+string(tr.Raw[0]))
					mu.Unlock()
				}
			}
			c := dial(t, p, opts)
			waitUpgrade(t, c)
			mu.Lock()
			got := append([]string(nil), frames...)
			mu.Unlock()
			want := []string{"out 2probe", "in 3probe", "out 5"}
			if len(got) < 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Fatalf("websocket frames %q, want prefix %q", got, want)
			}
		})
	}
}
