package loadgen

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runT(t *testing.T, cfg Config) *Result {
	t.Helper()
	if cfg.ReplyTimeout == 0 {
		cfg.ReplyTimeout = 2 * time.Second
	}
	if cfg.Duration == 0 && cfg.Messages == 0 {
		cfg.Duration = 200 * time.Millisecond
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func checkClean(t *testing.T, res *Result) {
	t.Helper()
	if res.Errors != 0 {
		var b bytes.Buffer
		res.WriteTable(&b)
		t.Fatalf("errors %d:\n%s", res.Errors, b.String())
	}
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	for _, eio := range []protocol.EIO{protocol.EIO4, protocol.EIO3} {
		tests := []struct {
			name  string
			cfg   Config
			check func(t *testing.T, r *Result)
		}{
			{"ack closed loop", Config{Scenario: ScenarioAck, Clients: 3, Messages: 100, Inflight: 4}, func(t *testing.T, r *Result) {
				if r.AcksMatched != 300 || r.Sent != 300 || r.Latency.Count != 300 {
					t.Errorf("acks %d sent %d latencies %d, want 300", r.AcksMatched, r.Sent, r.Latency.Count)
				}
			}},
			{"ack paced", Config{Scenario: ScenarioAck, Clients: 2, Messages: 20, Rate: 500}, func(t *testing.T, r *Result) {
				if r.AcksMatched != 40 {
					t.Errorf("acks %d, want 40", r.AcksMatched)
				}
			}},
			{"echo", Config{Scenario: ScenarioEcho, Clients: 3, Messages: 100, Inflight: 2, Event: "ping-pong", ReplyEvent: "ping-pong"}, func(t *testing.T, r *Result) {
				if r.RepliesMatched != 300 || r.Received != 300 {
					t.Errorf("replies %d received %d, want 300", r.RepliesMatched, r.Received)
				}
			}},
			{"emit", Config{Scenario: ScenarioEmit, Clients: 2, Messages: 150}, func(t *testing.T, r *Result) {
				if r.Sent != 300 {
					t.Errorf("sent %d, want 300", r.Sent)
				}
			}},
			{"connect", Config{Scenario: ScenarioConnect, Clients: 20, Rate: 1000, Duration: 50 * time.Millisecond}, func(t *testing.T, r *Result) {
				if r.Opened != 20 || r.ConnectLatency.Count != 20 || r.ConnectRate <= 0 {
					t.Errorf("opened %d latencies %d rate %f", r.Opened, r.ConnectLatency.Count, r.ConnectRate)
				}
			}},
			{"fanout", Config{Scenario: ScenarioFanout, Clients: 5, Messages: 50, Inflight: 3}, func(t *testing.T, r *Result) {
				if r.Deliveries != 200 || r.Sent != 50 {
					t.Errorf("deliveries %d sent %d, want 200/50", r.Deliveries, r.Sent)
				}
			}},
		}
		for _, tt := range tests {
			t.Run(eio.String()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ts := newTestServer(t, func(s *testServer) {
					s.echo = tt.cfg.Scenario == ScenarioEcho
					s.broadcast = tt.cfg.Scenario == ScenarioFanout
				})
				cfg := tt.cfg
				cfg.URL, cfg.EIO = ts.url(), eio
				res := runT(t, cfg)
				checkClean(t, res)
				if res.EIO != int(eio) {
					t.Errorf("EIO %d, want %d", res.EIO, eio)
				}
				tt.check(t, res)
			})
		}
	}
}

func TestValidationCountsBadReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario string
		fault    func(*testServer)
		check    func(v ValidationErrors) bool
	}{
		{"ack lost", ScenarioAck, func(s *testServer) { s.dropNth = 10 }, func(v ValidationErrors) bool { return v.Lost == 10 }},
		{"ack duplicated", ScenarioAck, func(s *testServer) { s.dupNth = 10 }, func(v ValidationErrors) bool { return v.Duplicate == 10 }},
		{"ack wrong", ScenarioAck, func(s *testServer) { s.corruptNth = 10 }, func(v ValidationErrors) bool { return v.Wrong == 10 }},
		{"echo lost", ScenarioEcho, func(s *testServer) { s.dropNth = 10 }, func(v ValidationErrors) bool { return v.Lost == 10 }},
		{"echo duplicated", ScenarioEcho, func(s *testServer) { s.dupNth = 10 }, func(v ValidationErrors) bool { return v.Duplicate == 10 }},
		{"echo wrong", ScenarioEcho, func(s *testServer) { s.corruptNth = 10 }, func(v ValidationErrors) bool { return v.Wrong == 10 }},
		{"fanout lost", ScenarioFanout, func(s *testServer) { s.dropNth = 10 }, func(v ValidationErrors) bool { return v.Lost == 10 }},
		{"fanout duplicated", ScenarioFanout, func(s *testServer) { s.dupNth = 10 }, func(v ValidationErrors) bool { return v.Duplicate == 10 }},
	}
	for _, tt := range tests {
		for _, io := range []string{IONetpoll, ""} {
			t.Run(tt.name+"/io="+io, func(t *testing.T) {
				t.Parallel()
				ts := newTestServer(t, func(s *testServer) {
					s.echo = tt.scenario == ScenarioEcho
					s.broadcast = tt.scenario == ScenarioFanout
					tt.fault(s)
				})
				// 100 requests (fanout: 50 broadcasts to 2 receivers), each
				// client with its requests pipelined so a skipped reply is
				// noticed by the next one. The closed loop runs on both I/O
				// paths (the default is epoll on Linux).
				cfg := Config{URL: ts.url(), Scenario: tt.scenario, Clients: 1, Messages: 100, Inflight: 8, EIO: protocol.EIO4, ReplyTimeout: 300 * time.Millisecond, IO: io}
				if tt.scenario == ScenarioFanout {
					cfg.Clients, cfg.Messages = 3, 50
				}
				res := runT(t, cfg)
				if !tt.check(res.Validation) {
					t.Fatalf("validation %+v", res.Validation)
				}
				if res.Errors != res.Validation.total() || len(res.ErrorSamples) == 0 {
					t.Fatalf("errors %d, samples %q", res.Errors, res.ErrorSamples)
				}
				matched := res.AcksMatched + res.RepliesMatched + res.Deliveries
				if matched+res.Validation.Lost+res.Validation.Wrong != 100 {
					t.Fatalf("matched %d + lost + wrong should be 100: %+v", matched, res.Validation)
				}
			})
		}
	}
}

// TestClosedLoopIOPaths runs the closed loop on both I/O paths, with
// enough clients to share the event loops, and a server that ends the
// connections mid-load: both are counted the same way and nothing hangs.
func TestClosedLoopIOPaths(t *testing.T) {
	t.Parallel()
	for _, sc := range []string{ScenarioAck, ScenarioEcho} {
		for _, io := range []string{IONetpoll, IOEpoll} {
			t.Run(sc+"/"+io, func(t *testing.T) {
				t.Parallel()
				ts := newTestServer(t, func(s *testServer) { s.echo = sc == ScenarioEcho })
				res := runT(t, Config{URL: ts.url(), Scenario: sc, Clients: 20, Messages: 200, Inflight: 3, EIO: protocol.EIO4, IO: io})
				checkClean(t, res)
				if got := res.AcksMatched + res.RepliesMatched; got != 4000 {
					t.Fatalf("matched %d, want 4000", got)
				}
			})
			t.Run(sc+"/"+io+"/disconnect", func(t *testing.T) {
				t.Parallel()
				ts := newTestServer(t, func(s *testServer) { s.echo = sc == ScenarioEcho })
				cfg := Config{URL: ts.url(), Scenario: sc, Clients: 4, Duration: 5 * time.Second, EIO: protocol.EIO4, IO: io,
					ProgressInterval: 20 * time.Millisecond, ReplyTimeout: 300 * time.Millisecond}
				var closed bool
				cfg.Progress = func(p Progress) {
					if p.Phase == "load" && p.Matched > 0 && !closed {
						closed = true
						ts.mu.Lock()
						for c := range ts.conns {
							c.Close()
						}
						ts.mu.Unlock()
					}
				}
				t0 := time.Now()
				res := runT(t, cfg)
				if res.Disconnects[string(protocol.ReasonTransportClose)] != 4 || time.Since(t0) > 4*time.Second {
					t.Fatalf("disconnects %v after %s", res.Disconnects, time.Since(t0))
				}
			})
		}
	}
}

func TestExpectAndTemplate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	p, err := ParsePayload(`{"user": "bench", "n": "{{seq}}", "c": {{client}}}`)
	if err != nil {
		t.Fatal(err)
	}
	res := runT(t, Config{URL: ts.url(), Scenario: ScenarioAck, Clients: 2, Messages: 10, Payload: p})
	checkClean(t, res)
	// The server acks with the args; expecting something else is an error each time.
	res = runT(t, Config{URL: ts.url(), Scenario: ScenarioAck, Clients: 1, Messages: 5, Expect: json.RawMessage(`["ok"]`)})
	if res.Validation.Wrong != 5 || res.AcksMatched != 0 {
		t.Fatalf("expect mismatch: %+v, matched %d", res.Validation, res.AcksMatched)
	}
}

func TestDetectEIO3(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testServer) { s.allowV4 = false })
	res := runT(t, Config{URL: ts.url(), Scenario: ScenarioAck, Clients: 2, Messages: 10})
	checkClean(t, res)
	if res.EIO != 3 {
		t.Fatalf("EIO %d, want 3", res.EIO)
	}
}

func TestSourceAddrsAndFailures(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	res := runT(t, Config{URL: ts.url(), Scenario: ScenarioAck, Clients: 2, Messages: 5,
		SourceAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	checkClean(t, res)

	// A port nobody listens on: every connection fails, by reason. The
	// protocol is given, so no probe connection is needed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	res = runT(t, Config{URL: "http://" + addr, EIO: protocol.EIO4, Scenario: ScenarioConnect, Clients: 3, Duration: time.Millisecond})
	if res.Failed != 3 || res.FailedBy["connection refused"] != 3 || res.Errors != 3 {
		t.Fatalf("failed %d by %v errors %d", res.Failed, res.FailedBy, res.Errors)
	}
	// Auto-detection against nothing is an error of Run itself.
	if _, err := Run(t.Context(), Config{URL: "http://" + addr, Clients: 1}); err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("Run against a closed port: %v", err)
	}
}

func TestDisconnectDuringLoad(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	done := make(chan struct{})
	cfg := Config{URL: ts.url(), EIO: protocol.EIO4, Scenario: ScenarioConnect, Clients: 2, Duration: 5 * time.Second,
		ProgressInterval: 5 * time.Millisecond}
	var closed bool
	cfg.Progress = func(p Progress) {
		if p.Phase == "load" && !closed {
			closed = true
			ts.mu.Lock()
			for c := range ts.conns {
				c.Close()
			}
			ts.mu.Unlock()
			close(done)
		}
	}
	ctx := t.Context()
	resCh := make(chan *Result, 1)
	go func() {
		r, _ := Run(ctx, cfg)
		resCh <- r
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("load phase never reported")
	}
	// Wait for both disconnects to be seen, through the progress totals.
	res := <-resCh
	if res.Disconnects[string(protocol.ReasonTransportClose)] != 2 || res.Errors != 2 {
		t.Fatalf("disconnects %v errors %d", res.Disconnects, res.Errors)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Scenario: "nope"},
		{Scenario: ScenarioFanout, Clients: 1},
		{Rate: -1},
		{Event: "disconnect"},
		{Expect: json.RawMessage(`{"a":1}`)},
		{EIO: 5},
	} {
		cfg.URL = "http://127.0.0.1:1"
		if _, err := Run(t.Context(), cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestSeveralServers(t *testing.T) {
	t.Parallel()
	a, b := newTestServer(t, nil), newTestServer(t, nil)
	res := runT(t, Config{URL: a.url(), MoreURLs: []string{b.url()}, EIO: protocol.EIO4, Scenario: ScenarioAck, Clients: 4, Messages: 10})
	checkClean(t, res)
	if a.accepted.Load() != 2 || b.accepted.Load() != 2 || res.AcksMatched != 40 {
		t.Fatalf("connections %d + %d, acks %d", a.accepted.Load(), b.accepted.Load(), res.AcksMatched)
	}
	if _, err := Run(t.Context(), Config{URL: a.url(), MoreURLs: []string{b.url() + "/admin"}}); err == nil {
		t.Fatal("URLs with different namespaces accepted")
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testServer) { s.tls = true })
	res := runT(t, Config{URL: ts.url(), EIO: protocol.EIO4, Scenario: ScenarioAck, Clients: 2, Messages: 10,
		TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	checkClean(t, res)
	if res.AcksMatched != 20 {
		t.Fatalf("acks %d", res.AcksMatched)
	}
	// Without trusting the test certificate every connection fails.
	res = runT(t, Config{URL: ts.url(), EIO: protocol.EIO4, Scenario: ScenarioConnect, Clients: 1, Duration: time.Millisecond})
	if res.Failed != 1 || res.FailedBy["tls certificate (use --insecure?)"] != 1 {
		t.Fatalf("untrusted certificate: failed %d by %v", res.Failed, res.FailedBy)
	}
}

// Names are written as JSON.stringify writes them: a control character in
// the room must be a JSON escape (Go's quoting wrote "\x01", which no JSON
// parser accepts), and <, > and & stay as they are so that a reply event
// name echoed by Node matches.
func TestNamesAreJSONStrings(t *testing.T) {
	t.Parallel()
	if got, want := string(eventHead("a<b&\x01")), `["a<b&\u0001",`; got != want {
		t.Errorf("eventHead = %s, want %s", got, want)
	}
	ts := newTestServer(t, func(s *testServer) { s.broadcast = true })
	res := runT(t, Config{URL: ts.url(), Scenario: ScenarioFanout, Clients: 3, Messages: 10, EIO: protocol.EIO4, Room: "r\x01\"é"})
	checkClean(t, res)
	if res.Deliveries != 20 {
		t.Errorf("deliveries %d, want 20", res.Deliveries)
	}
}
