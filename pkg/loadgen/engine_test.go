package loadgen

import (
	"encoding/json"
	"net/http/httptest"
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
