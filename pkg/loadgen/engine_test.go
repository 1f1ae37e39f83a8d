package loadgen

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// newLibServer is pkg/server with the handlers of `sio serve --echo
// --rooms --broadcast` (acks carry the arguments), over both transports:
// newBehaviourServer with JSON and no recovery.
func newLibServer(t *testing.T, echo, broadcast bool) string {
	t.Helper()
	return newBehaviourServer(t, nil, echo, broadcast, 0)
}

// newBehaviourServer is pkg/server (with codec, nil for JSON, and
// recovery) with the handlers of `sio serve --echo --rooms --broadcast`,
// on "/" and "/admin".
func newBehaviourServer(t *testing.T, codec protocol.Codec, echo, broadcast bool, recovery time.Duration) string {
	t.Helper()
	srv := server.New(server.Options{AllowEIO3: true, Codec: codec, Recovery: recovery})
	handler := func(s *server.Socket) {
		s.OnAny(func(ev *server.Event) {
			if ev.Name == "join" {
				room, _ := ev.String(0)
				s.Join(room)
				ev.Ack()
				return
			}
			args := make([]any, len(ev.Raw))
			for i, r := range ev.Raw {
				args[i] = json.RawMessage(r)
			}
			if ev.WantsAck() {
				ev.Ack(args...)
			}
			if echo {
				s.Emit(ev.Name, args...)
			}
			if broadcast {
				s.To("bench").Emit(ev.Name, args...)
			}
		})
	}
	srv.Of("/").OnConnection(handler)
	srv.Of("/admin").OnConnection(handler)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

func TestEngineTransports(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"polling", "auto"} {
		for _, eio := range []protocol.EIO{0, protocol.EIO3} {
			tests := []struct {
				scenario string
				clients  int
				want     func(r *Result) bool
			}{
				{ScenarioAck, 3, func(r *Result) bool { return r.AcksMatched == 60 }},
				{ScenarioEcho, 3, func(r *Result) bool { return r.RepliesMatched == 60 }},
				{ScenarioFanout, 4, func(r *Result) bool { return r.Deliveries == 60 }},
				{ScenarioConnect, 5, func(r *Result) bool { return r.Opened == 5 }},
			}
			for _, tt := range tests {
				t.Run(transport+"/"+eio.String()+"/"+tt.scenario, func(t *testing.T) {
					t.Parallel()
					url := newLibServer(t, tt.scenario == ScenarioEcho, tt.scenario == ScenarioFanout)
					cfg := Config{URL: url, Transport: transport, EIO: eio, Scenario: tt.scenario, Clients: tt.clients, Messages: 20, Inflight: 2}
					if tt.scenario == ScenarioConnect {
						cfg.Messages, cfg.Duration = 0, 50e6
					}
					res := runT(t, cfg)
					checkClean(t, res)
					if !tt.want(res) {
						t.Fatalf("result %+v", res)
					}
					if eio == 0 && res.EIO != 4 {
						t.Fatalf("EIO %d, want 4", res.EIO)
					}
				})
			}
		}
	}
}

// TestAutoUpgradeAndSourceAddrs checks that transport auto counts the
// connections upgraded to WebSocket and that its polling requests and its
// WebSockets both come from Config.SourceAddrs.
func TestAutoUpgradeAndSourceAddrs(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("source addresses other than 127.0.0.1 need Linux's 127/8 loopback")
	}
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.OnAny(func(ev *server.Event) {
			// Ack only once the server has the upgrade: the ack then comes
			// over the WebSocket, which the client reads only after it
			// switched, so every connection counts as upgraded at the end
			// without waiting for a time.
			go func() {
				for s.Transport() != "websocket" && s.Connected() {
					time.Sleep(time.Millisecond)
				}
				ev.AckArgs(ev.Args)
			}()
		})
	})
	var mu sync.Mutex
	from := map[string]map[string]bool{} // transport → source IPs
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		tr := r.URL.Query().Get("transport")
		mu.Lock()
		if from[tr] == nil {
			from[tr] = map[string]bool{}
		}
		from[tr][host] = true
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	src := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
	res := runT(t, Config{URL: hs.URL, Transport: "auto", EIO: protocol.EIO4, Scenario: ScenarioAck, Clients: 4,
		Messages: 3, ReplyTimeout: time.Minute, SourceAddrs: src})
	checkClean(t, res)
	if res.Upgraded != 4 || res.Opened != 4 || res.Transport != "auto" {
		t.Fatalf("upgraded %d of %d opened, transport %q", res.Upgraded, res.Opened, res.Transport)
	}
	var b bytes.Buffer
	res.WriteTable(&b)
	if !strings.Contains(b.String(), "4 of 4 opened on WebSocket") {
		t.Fatalf("no upgraded line:\n%s", b.String())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, tr := range []string{"polling", "websocket"} {
		if len(from[tr]) == 0 {
			t.Fatalf("no %s request: %v", tr, from)
		}
		for ip := range from[tr] {
			if ip != "127.0.0.2" && ip != "127.0.0.3" {
				t.Fatalf("%s request from %s, want one of the source addresses", tr, ip)
			}
		}
	}
}
