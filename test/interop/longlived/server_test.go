package longlived

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// version is one generation of the Node peers, by the argument they take.
type version struct{ arg, client, server string }

var versions = []version{
	{"4", "socket.io-client@4.8", "socket.io@4.8"},
	{"3", "socket.io-client@3.1", "socket.io@3.1"},
	{"2", "socket.io-client@2.5", "socket.io@2.5"},
}

// transports are the client's modes: "auto" is the default, long-polling
// then the upgrade to WebSocket.
var transports = []string{"polling", "websocket", "auto"}

// serverUnderTest is the Socket.IO server long-lived clients talk to.
type serverUnderTest interface {
	url() string
	// emit sends event with the one argument n to the socket id.
	emit(id, event string, n int) error
	// seqs returns the "seq" numbers the server got from the socket id, in
	// arrival order, once it has want of them (or after a wait).
	seqs(id string, want int) []int
	// disconnects returns the disconnect reasons of the socket id so far.
	disconnects(id string) []string
	// report describes the server's side of the session for a failure.
	report() string
}

// TestServerKeepsDefaultClients: a default socket.io-client of each
// generation, on each transport, stays a minute on `sio serve` and on
// pkg/server, both sides sending all along, with nothing lost.
func TestServerKeepsDefaultClients(t *testing.T) {
	t.Parallel()
	node := needNode(t)
	servers := []struct {
		name  string
		start func(*testing.T, session) serverUnderTest
	}{
		{"sio_serve", startSioServe},
		{"pkg_server", startPkgServer},
	}
	for _, srv := range servers {
		for _, v := range versions {
			t.Run(srv.name+"/"+v.client, func(t *testing.T) {
				t.Parallel()
				s := newSession(*sessionDuration)
				// One server and one Node process (a client per transport,
				// each with its own Manager and connection) per version:
				// 6 Node processes and 3 sio serve rather than 18 and 9.
				target := srv.start(t, s)
				peer := start(t, v.client, node, filepath.Join("peers", "client.mjs"), target.url(), v.arg,
					strings.Join(transports, ","), s.json())
				for _, tr := range transports {
					t.Run(tr, func(t *testing.T) {
						t.Parallel()
						keepClient(t, peer, target, s, tr)
					})
				}
			})
		}
	}
}

// keepClient follows the session of the client of peers/client.mjs on the
// transport and checks both sides' accounts of it.
func keepClient(t *testing.T, peer *process, srv serverUnderTest, s session, transport string) {
	mine := func(event string) func(record) bool {
		return func(r record) bool {
			return r.str("client") == transport && (r.str("event") == event || r.str("event") == "error")
		}
	}
	id := peer.peerLine(t, "connected", patience, mine("connected")).str("id")

	// The server pushes on its own pace, from its side of the connection
	// (not in answer to the client), then says how many it sent.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var (
		pushed  int
		pushErr error
	)
	pushDone := make(chan struct{})
	go func() {
		defer close(pushDone)
		pushed, pushErr = s.run(ctx, s.ServerQuiet, func(n int) error { return srv.emit(id, "push", n) })
		if pushErr == nil {
			pushErr = srv.emit(id, "end", pushed)
		}
		if pushErr != nil {
			// The client will not see its "end": have it report now.
			_ = peer.send("stop " + transport)
		}
	}()
	summary, err := peer.out.await(s.duration()+s.grace()+patience, mine("summary"))
	cancel()
	<-pushDone
	if err != nil || summary.str("event") == "error" {
		t.Fatalf("no summary from the client (%v): %v\nclient stderr: %s\nserver: %s", err, peer.out.snapshot(), peer.stderr.String(), srv.report())
	}
	if pushErr != nil && !errors.Is(pushErr, context.Canceled) {
		t.Errorf("the server's push %d: %v", pushed+1, pushErr)
	}
	checkClientSummary(t, summary, s, transport, pushed)
	if d := srv.disconnects(id); len(d) > 0 {
		t.Errorf("the server saw the client disconnect: %q", d)
	}
	sent, _ := summary.num("sent")
	checkSequence(t, "the server's seq from the client", srv.seqs(id, sent), sent)
	if t.Failed() {
		t.Logf("server: %s", srv.report())
	}
}

// checkClientSummary checks what peers/client.mjs reports of its session.
func checkClientSummary(t *testing.T, summary record, s session, transport string, pushed int) {
	t.Helper()
	if stopped := summary.str("stopped"); stopped != "" {
		t.Errorf("the client's session did not complete (%s): %v", stopped, summary)
	}
	for _, k := range []string{"problems", "disconnects", "connectErrors"} {
		if l, _ := summary[k].([]any); len(l) > 0 {
			t.Errorf("client %s: %v", k, l)
		}
	}
	if n, _ := summary.num("reconnectAttempts"); n != 0 {
		t.Errorf("the client tried to reconnect %d times", n)
	}
	sent, _ := summary.num("sent")
	acked, _ := summary.num("acked")
	echoed, _ := summary.num("echoed")
	if sent < s.minSent(s.ClientQuiet) || acked != sent || echoed != sent {
		t.Errorf("the client sent %d seq, got %d acks and %d echoes; want all of at least %d", sent, acked, echoed, s.minSent(s.ClientQuiet))
	}
	got, _ := summary.num("pushed")
	end, _ := summary.num("end")
	if pushed < s.minSent(s.ServerQuiet) || got != pushed || end != pushed {
		t.Errorf("the server pushed %d, the client got %d and end %d; want all of at least %d", pushed, got, end, s.minSent(s.ServerQuiet))
	}
	if n, _ := summary.num("pings"); n < s.minHeartbeats() {
		t.Errorf("the client saw %d heartbeats, want at least %d", n, s.minHeartbeats())
	}
	upgrades, _ := summary["upgrades"].([]any)
	want, wantUpgrades := transport, 0
	if transport == "auto" {
		want, wantUpgrades = "websocket", 1
	}
	if summary.str("transport") != want || len(upgrades) != wantUpgrades {
		t.Errorf("the client ended on %q after upgrades %v, want %q after %d", summary.str("transport"), upgrades, want, wantUpgrades)
	}
}

// sioServe is the built `sio serve`, pushed to through its control API.
type sioServe struct {
	proc  *process
	base  string // with a trailing slash
	token string
	http  *http.Client
}

func startSioServe(t *testing.T, s session) serverUnderTest {
	t.Helper()
	const token = "longlived"
	p := start(t, "sio serve", sioBinary(t), "serve", "--port", "0", "-o", "json", "--echo",
		"--ping-interval", s.pingInterval().String(), "--ping-timeout", s.pingTimeout().String(),
		"--control-token", token)
	l := p.out.wait(t, "sio serve's listening line", patience, func(r record) bool { return r.str("type") == "listening" })
	data, _ := l["data"].(map[string]any)
	u, _ := data["url"].(string)
	if u == "" {
		t.Fatalf("listening line without a url: %v", l)
	}
	srv := &sioServe{proc: p, base: u + "/", token: token,
		http: &http.Client{Timeout: patience, Transport: &http.Transport{}}}
	t.Cleanup(func() {
		srv.http.CloseIdleConnections()
		if code := p.stop(t, syscall.SIGTERM); code != 0 {
			t.Errorf("sio serve exited with status %d after SIGTERM; stderr: %s", code, p.stderr.String())
		}
	})
	return srv
}

func (s *sioServe) url() string { return s.base }

func (s *sioServe) emit(id, event string, n int) error {
	body, _ := json.Marshal(map[string]any{"socket": id, "event": event, "args": []int{n}})
	req, err := http.NewRequest("POST", s.base+"_sio/emit", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var r struct{ Sent int }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(answer, &r) != nil || r.Sent != 1 {
		return fmt.Errorf("control API: %s %s", resp.Status, answer)
	}
	return nil
}

func (s *sioServe) seqs(id string, want int) []int {
	isSeq := func(r record) bool {
		return r.str("dir") == "in" && r.str("type") == "EVENT" && r.str("event") == "seq" && r.str("sid") == id
	}
	// The log is written after the fact: wait for the last one.
	if want > 0 {
		seen := 0
		_, _ = s.proc.out.await(patience, func(r record) bool {
			if isSeq(r) {
				seen++
			}
			return seen >= want
		})
	}
	var got []int
	for _, r := range s.proc.out.snapshot() {
		if isSeq(r) {
			n, _ := r.num("args")
			got = append(got, n)
		}
	}
	return got
}

func (s *sioServe) disconnects(id string) []string {
	var reasons []string
	for _, r := range s.proc.out.snapshot() {
		if r.str("layer") == "session" && r.str("type") == "disconnect" && r.str("sid") == id {
			reasons = append(reasons, r.str("reason"))
		}
	}
	return reasons
}

func (s *sioServe) report() string {
	var b strings.Builder
	for _, r := range s.proc.out.snapshot() {
		if r.str("layer") == "session" {
			fmt.Fprintln(&b, r)
		}
	}
	fmt.Fprintf(&b, "stderr: %s", s.proc.stderr.String())
	return b.String()
}

// pkgServer is pkg/server in this process, doing what `sio serve --echo`
// does with "seq": the event back, then the ack.
type pkgServer struct {
	base string
	srv  *server.Server

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when a socket connects
	sockets map[string]*server.Socket
	since   map[string]time.Time // when each socket connected
	seq     map[string][]int
	gone    map[string][]string // disconnect reasons, with the socket's age
	errs    []string
}

func startPkgServer(t *testing.T, s session) serverUnderTest {
	t.Helper()
	ps := &pkgServer{changed: make(chan struct{}), sockets: map[string]*server.Socket{},
		since: map[string]time.Time{}, seq: map[string][]int{}, gone: map[string][]string{}}
	ps.srv = server.New(server.Options{
		PingInterval: s.pingInterval(),
		PingTimeout:  s.pingTimeout(),
		AllowEIO3:    true,
		OnConnect: func(sock *server.Socket) {
			ps.mu.Lock()
			defer ps.mu.Unlock()
			ps.sockets[sock.ID()] = sock
			ps.since[sock.ID()] = time.Now()
			close(ps.changed)
			ps.changed = make(chan struct{})
		},
		OnDisconnect: func(sock *server.Socket, reason protocol.DisconnectReason) {
			ps.mu.Lock()
			defer ps.mu.Unlock()
			age := time.Since(ps.since[sock.ID()]).Round(time.Millisecond)
			ps.gone[sock.ID()] = append(ps.gone[sock.ID()], fmt.Sprintf("%s after %s", reason, age))
		},
	})
	ps.srv.Of("/").OnConnection(func(sock *server.Socket) {
		sock.On("seq", func(e *server.Event) {
			var n int
			err := e.Decode(0, &n)
			ps.mu.Lock()
			ps.seq[sock.ID()] = append(ps.seq[sock.ID()], n)
			ps.mu.Unlock()
			if err == nil {
				err = sock.Emit("seq", n)
			}
			if err == nil {
				err = e.Ack(n)
			}
			if err != nil {
				ps.mu.Lock()
				ps.errs = append(ps.errs, fmt.Sprintf("seq %d: %v", n, err))
				ps.mu.Unlock()
			}
		})
	})
	ps.base = listen(t, ps.srv)
	return ps
}

// listen serves srv on a free loopback port until the test ends.
func listen(t *testing.T, srv *server.Server) string {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		// Shutdown ends the long-polls that Close would wait for.
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("socket.io shutdown: %v", err)
		}
		hs.Close()
	})
	return hs.URL + "/"
}

func (ps *pkgServer) url() string { return ps.base }

func (ps *pkgServer) emit(id, event string, n int) error {
	// OnConnect runs just after the CONNECT reply the client printed its
	// id on: wait for it a little.
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		ps.mu.Lock()
		sock, ch := ps.sockets[id], ps.changed
		ps.mu.Unlock()
		if sock != nil {
			return sock.Emit(event, n)
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("no socket %s on the server", id)
		}
	}
}

// seqs needs no wait: the handler notes each seq before it acks it.
func (ps *pkgServer) seqs(id string, _ int) []int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]int(nil), ps.seq[id]...)
}

func (ps *pkgServer) disconnects(id string) []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]string(nil), ps.gone[id]...)
}

func (ps *pkgServer) report() string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return fmt.Sprintf("%d connections, disconnects %q, handler errors %q", len(ps.sockets), ps.gone, ps.errs)
}
