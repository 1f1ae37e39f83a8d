// Package serverinterop drives sio's Socket.IO server (pkg/server) with
// real Node clients: socket.io-client 4.8.4, 3.1.3 and 2.5.0.
// Each scenario is a script in peers/ that prints JSON lines of what it
// saw; the Go test asserts on them and on what the server saw.
package serverinterop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// line is one JSON line printed by a peer.
type line map[string]any

func (l line) str(k string) string {
	s, _ := l[k].(string)
	return s
}

func (l line) json(k string) string {
	b, _ := json.Marshal(l[k])
	return string(b)
}

// needNode skips without Node or node_modules, and fails when CI is set.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "node_modules", "socket.io-client"))
	}
	if err == nil {
		_, err = os.Stat(filepath.Join("..", "node_modules", "socket.io-client-v2"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("interop needs node and test/interop/node_modules (run npm ci in test/interop): %v", err)
		}
		t.Skipf("skipping interop: node or test/interop/node_modules missing (%v)", err)
	}
	return node
}

// serve starts srv on a free loopback port and returns its base URL.
func serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("socket.io shutdown: %v", err)
		}
		_ = hs.Shutdown(ctx)
		<-done
	})
	return "http://" + ln.Addr().String() + "/"
}

// runPeer runs a peer script to completion and returns its lines.
func runPeer(t *testing.T, node, script string, args ...string) []line {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("peers", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(stdout.Bytes()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l line
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			t.Fatalf("%s printed a non-JSON line: %q", script, sc.Text())
		}
		lines = append(lines, l)
	}
	for _, l := range lines {
		if l.str("event") == "error" {
			t.Fatalf("%s: %s\nstdout: %s\nstderr: %s", script, l.str("message"), stdout.String(), stderr.String())
		}
	}
	if err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
	if len(lines) == 0 || lines[len(lines)-1].str("event") != "done" {
		t.Fatalf("%s did not finish: %s\nstderr: %s", script, stdout.String(), stderr.String())
	}
	return lines
}

func find(lines []line, event string, match func(line) bool) (line, bool) {
	for _, l := range lines {
		if l.str("event") == event && (match == nil || match(l)) {
			return l, true
		}
	}
	return nil, false
}

func mustFind(t *testing.T, lines []line, event string, match func(line) bool) line {
	t.Helper()
	l, ok := find(lines, event, match)
	if !ok {
		t.Fatalf("no %q line in %v", event, lines)
	}
	return l
}

// appServer is the server the scenarios talk to.
func appServer(opts server.Options) *server.Server {
	srv := server.New(opts)
	main := srv.Of("/")
	main.OnConnection(func(s *server.Socket) {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token == "main" {
			_ = s.Emit("welcome", s.Handshake().Auth)
		}
		s.On("echo", func(e *server.Event) {
			if e.WantsAck() {
				_ = e.Ack(e.Values()...)
				return
			}
			_ = s.Emit("echo", e.Values()...)
		})
		s.On("ask", func(e *server.Event) {
			_ = s.EmitWithAckFunc("question", 5*time.Second, func(a server.Args, err error) {
				if err != nil {
					_ = s.Emit("answer", "error: "+err.Error())
					return
				}
				_ = s.Emit("answer", a.Values()...)
			}, "q?")
		})
		s.On("bin", func(e *server.Event) {
			b, err := e.Bytes(0)
			if err != nil {
				_ = e.Ack(err.Error())
				return
			}
			rev := slices.Clone(b)
			slices.Reverse(rev)
			_ = e.Ack(rev)
		})
		s.On("give-bin", func(*server.Event) {
			_ = s.Emit("binout", "label", map[string]any{"nested": []byte{1, 2, 3, 4}})
		})
		s.On("kick-me", func(*server.Event) { s.Disconnect(false) })
		s.On("join", func(e *server.Event) {
			room, _ := e.String(0)
			s.Join(room)
			_ = e.Ack()
		})
		s.On("shout", func(e *server.Event) {
			room, _ := e.String(0)
			_ = s.To(room).Emit("shout", s.ID(), room)
			_ = e.Ack()
		})
		s.On("everyone-but", func(e *server.Event) {
			room, _ := e.String(0)
			_ = srv.Except(room).Emit("everyone", 1)
			_ = e.Ack()
		})
		s.On("sync", func(e *server.Event) { _ = e.Ack() })
		s.On("broadcast-news", func(*server.Event) { _ = srv.Emit("news", "hello") })
	})
	admin := srv.Of("/admin")
	admin.Use(func(s *server.Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return &server.ConnectError{Message: "not authorized", Data: map[string]any{"reason": "bad token"}}
		}
		return nil
	})
	admin.OnConnection(func(s *server.Socket) {
		s.On("whoami", func(e *server.Event) { _ = e.Ack(s.Namespace().Name()) })
	})
	return srv
}

func TestClientV4(t *testing.T) {
	node := needNode(t)
	for _, mode := range []string{"polling", "websocket", "upgrade", "msgpack"} {
		t.Run(mode, func(t *testing.T) {
			upgrades := make(chan string, 4)
			opts := server.Options{OnUpgrade: func(s *server.Socket, tr string) {
				select {
				case upgrades <- tr:
				default:
				}
			}}
			if mode == "msgpack" {
				opts.Codec = protocol.MsgpackCodec{}
			}
			srv := appServer(opts)
			url := serve(t, srv)
			lines := runPeer(t, node, "client.mjs", url, mode)

			checkClientRun(t, lines, mode, upgrades)
		})
	}
}

// checkClientRun asserts what a socket.io-client 3.x or 4.x peer run
// (client.mjs, v3.mjs) saw against appServer on transport mode; upgrades
// receives the server's OnUpgrade transports.
func checkClientRun(t *testing.T, lines []line, mode string, upgrades <-chan string) {
	t.Helper()
	if got := mustFind(t, lines, "welcome", nil).json("auth"); got != `{"token":"main"}` {
		t.Errorf("auth seen by the connection handler: %s", got)
	}
	if got := mustFind(t, lines, "ack", nil).json("args"); got != `[1,"2",{"3":[true]}]` {
		t.Errorf("client→server ack: %s", got)
	}
	if got := mustFind(t, lines, "answer", nil).str("answer"); got != "yes:q?" {
		t.Errorf("server→client ack: %q", got)
	}
	if got := mustFind(t, lines, "binack", nil).str("hex"); got != "030201" {
		t.Errorf("binary ack: %q", got)
	}
	bo := mustFind(t, lines, "binout", nil)
	if bo.str("hex") != "01020304" || bo["isBuffer"] != true || bo.str("label") != "label" {
		t.Errorf("server binary emit: %v", bo)
	}
	ce := mustFind(t, lines, "connect_error", nil)
	if ce.str("message") != "not authorized" || ce.json("data") != `{"reason":"bad token"}` {
		t.Errorf("refused auth: %v", ce)
	}
	if got := mustFind(t, lines, "whoami", nil).str("nsp"); got != "/admin" {
		t.Errorf("custom namespace: %q", got)
	}
	ids := map[string]string{}
	for _, l := range lines {
		if l.str("event") == "connect" {
			ids[l.str("nsp")] = l.str("id")
		}
	}
	if ids["/"] == "" || ids["/admin"] == "" || ids["/"] == ids["/admin"] {
		t.Errorf("socket ids %v", ids)
	}
	want := "websocket" // websocket, upgrade, msgpack (over websocket)
	if mode == "polling" {
		want = "polling"
	}
	if got := mustFind(t, lines, "transport", nil).str("name"); got != want {
		t.Errorf("transport %q, want %q", got, want)
	}
	if mode == "upgrade" {
		select {
		case tr := <-upgrades:
			if tr != "websocket" {
				t.Errorf("OnUpgrade %q", tr)
			}
		default:
			t.Error("OnUpgrade was not called")
		}
	}
	if got := mustFind(t, lines, "disconnect", nil).str("reason"); got != "io server disconnect" {
		t.Errorf("client disconnect reason %q", got)
	}
}

// receivers returns the sorted client numbers of the lines for event.
func receivers(lines []line, event string) []int {
	var out []int
	for _, l := range lines {
		if l.str("event") == event {
			out = append(out, int(l["client"].(float64)))
		}
	}
	sort.Ints(out)
	return out
}

func TestClientV2(t *testing.T) {
	node := needNode(t)
	srv := appServer(server.Options{AllowEIO3: true})
	url := serve(t, srv)
	lines := runPeer(t, node, "v2.mjs", url)
	if got := mustFind(t, lines, "ack", nil).json("args"); got != `[1,"2",{"3":[true]}]` {
		t.Errorf("ack: %s", got)
	}
	if got := mustFind(t, lines, "answer", nil).str("answer"); got != "yes:q?" {
		t.Errorf("server→client ack: %q", got)
	}
	if got := mustFind(t, lines, "binack", nil).str("hex"); got != "030201" {
		t.Errorf("binary ack: %q", got)
	}
	who := mustFind(t, lines, "whoami", nil)
	if who.str("nsp") != "/admin" {
		t.Errorf("whoami %v", who)
	}
	if got := mustFind(t, lines, "error_event", nil).json("err"); got != `{"reason":"bad token"}` {
		t.Errorf("v2 middleware error: %s", got)
	}
}

func TestRoomsAndBroadcast(t *testing.T) {
	node := needNode(t)
	srv := appServer(server.Options{})
	url := serve(t, srv)
	const n = 5
	lines := runPeer(t, node, "rooms.mjs", url, strconv.Itoa(n))
	if s := receivers(lines, "shout"); !slices.Equal(s, []int{1, 2, 3}) {
		t.Errorf("shout receivers %v, want [1 2 3]", s)
	}
	if s := receivers(lines, "everyone"); !slices.Equal(s, []int{0, 2, 4}) {
		t.Errorf("everyone-but-odd receivers %v, want [0 2 4]", s)
	}
}

func TestRecovery(t *testing.T) {
	node := needNode(t)
	var srv *server.Server
	srv = server.New(server.Options{
		Recovery: 2 * time.Minute,
		OnDisconnect: func(s *server.Socket, reason protocol.DisconnectReason) {
			if reason == protocol.ReasonTransportClose {
				// emitted while the client is away
				_ = srv.To("news").Emit("missed", "room")
				_ = srv.Emit("missed", "all")
				_ = srv.To("elsewhere").Emit("not-for-you")
			}
		},
	})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("join", func(e *server.Event) {
			room, _ := e.String(0)
			s.Join(room)
			_ = s.Emit("joined")
		})
		s.On("sync", func(e *server.Event) { _ = e.Ack() })
		if !s.Recovered() {
			_ = s.Emit("ready")
		}
	})
	url := serve(t, srv)
	lines := runPeer(t, node, "recovery.mjs", url)

	var connects []line
	var missed []string
	secondConnect := -1
	for i, l := range lines {
		switch l.str("event") {
		case "connect":
			connects = append(connects, l)
			if len(connects) == 2 {
				secondConnect = i
			}
		case "event":
			if l.str("name") == "missed" {
				args := l["args"].([]any)
				missed = append(missed, args[0].(string))
				if secondConnect >= 0 {
					t.Errorf("missed packet after the CONNECT reply: %v", l)
				}
			}
			if l.str("name") == "not-for-you" {
				t.Errorf("replayed a packet for another room")
			}
		}
	}
	if len(connects) != 2 {
		t.Fatalf("connects %v", connects)
	}
	if connects[1]["recovered"] != true || connects[1].str("id") != connects[0].str("id") {
		t.Errorf("not recovered: %v then %v", connects[0], connects[1])
	}
	if !slices.Equal(missed, []string{"room", "all"}) {
		t.Errorf("missed packets %v, want [room all]", missed)
	}
}

func TestOverLimitPayload(t *testing.T) {
	node := needNode(t)
	for _, tr := range []string{"websocket", "polling"} {
		t.Run(tr, func(t *testing.T) {
			srv := appServer(server.Options{MaxPayload: 10_000})
			url := serve(t, srv)
			lines := runPeer(t, node, "overlimit.mjs", url, tr, "20000")
			reason := mustFind(t, lines, "bad_disconnect", nil).str("reason")
			if !strings.HasPrefix(reason, "transport ") {
				t.Errorf("over-limit client reason %q", reason)
			}
			good := mustFind(t, lines, "good_news", nil)
			if good.str("news") != "hello" || good["connected"] != true {
				t.Errorf("other client: %v", good)
			}
		})
	}
}
