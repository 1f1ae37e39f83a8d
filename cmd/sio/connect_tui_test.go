package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/tui"
)

// answer is what the test server's question got back from the client.
type answer struct {
	args server.Args
	err  error
}

// startSessionServer runs a server for the session adapter: "chat" is
// acked with its own arguments, "ask-me" makes the server ask the client a
// "question" with an ack whose answer goes to the returned channel, and
// /admin refuses CONNECTs without auth {"token":"secret"}.
func startSessionServer(t *testing.T) (string, <-chan answer) {
	t.Helper()
	answers := make(chan answer, 8)
	srv := server.New(server.Options{})
	setup := func(s *server.Socket) {
		s.On("chat", func(e *server.Event) { _ = e.Ack(e.Args.Values()...) })
		s.On("ask-me", func(e *server.Event) {
			_ = s.EmitWithAckFunc("question", 5*time.Second, func(a server.Args, err error) {
				answers <- answer{a, err}
			}, "are you there?")
		})
	}
	srv.Of("/").OnConnection(setup)
	srv.Of("/admin").Use(func(s *server.Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return &server.ConnectError{Message: "unauthorized"}
		}
		return nil
	}).OnConnection(setup)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL, answers
}

// waitEvent reads the feed until match accepts an event, for at most 5s.
func waitEvent(t *testing.T, feed *tui.Feed, what string, match func(tui.Event) bool) tui.Event {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-feed.Events():
			if !ok {
				t.Fatalf("feed closed while waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("no %s within 5s", what)
		}
	}
}

func isConn(state tui.ConnState) func(tui.Event) bool {
	return func(ev tui.Event) bool {
		c, ok := ev.(tui.ConnEvent)
		return ok && c.State == state
	}
}

// noLeaks checks, after every cleanup, that the test left no goroutine.
func noLeaks(t *testing.T) {
	t.Helper()
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
}

// startSession connects a session adapter built from connect's flags.
func startSession(t *testing.T, url string, args ...string) (*clientSession, *tui.Feed) {
	t.Helper()
	opts := &connectOptions{}
	ios, _, _, _ := iostreams.Test()
	cmd := newConnectCmd(&app{io: ios, getenv: func(string) string { return "" }}, func(o *connectOptions) error { opts = o; return nil })
	cmd.SetArgs(append(args, url))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	feed := tui.NewFeed(0)
	s := newConnectSession(opts, feed, nil)
	s.opts.ReconnectDelay, s.opts.ReconnectDelayMax = 5*time.Millisecond, 20*time.Millisecond
	s.reqsOpts.Wait = 100 * time.Millisecond
	s.start(t.Context())
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, client.ErrClosed) {
			t.Errorf("close: %v", err)
		}
		feed.Close()
	})
	return s, feed
}

func raws(ss ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		out[i] = json.RawMessage(s)
	}
	return out
}

func joinRaw(args []json.RawMessage) string {
	return string(protocol.AppendArray(nil, args...))
}

func TestClientSession(t *testing.T) {
	noLeaks(t)
	url, answers := startSessionServer(t)
	s, feed := startSession(t, url, "--transport", "websocket")

	waitEvent(t, feed, "connected", isConn(tui.StateConnected))
	ns := waitEvent(t, feed, "namespace /", func(ev tui.Event) bool {
		n, ok := ev.(tui.NamespaceEvent)
		return ok && n.Namespace == "/" && n.Connected
	}).(tui.NamespaceEvent)
	if ns.SID == "" {
		t.Error("namespace event without a socket id")
	}
	ctx := t.Context()

	t.Run("emit with ack", func(t *testing.T) {
		ack, err := s.Emit(ctx, "/", "chat", raws(`"hi"`, `{"n":1}`), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := joinRaw(ack.Args); got != `["hi",{"n":1}]` {
			t.Errorf("ack %s", got)
		}
	})
	t.Run("binary", func(t *testing.T) {
		ack, err := s.Emit(ctx, "/", "chat", raws(`{"_placeholder":true,"num":0}`, `"x"`), [][]byte{{1, 2, 3}}, true)
		if err != nil {
			t.Fatal(err)
		}
		inline := string(protocol.InlineBinary(protocol.AppendArray(nil, ack.Args...), ack.Attachments))
		if inline != `[{"$binary":"AQID"},"x"]` {
			t.Errorf("binary ack %s", inline)
		}
		// Nested binary, key order kept.
		if _, err := s.Emit(ctx, "/", "nested", raws(`{"z":1,"f":{"_placeholder":true,"num":0}}`), [][]byte{{4}}, false); err != nil {
			t.Fatal(err)
		}
		out := waitEvent(t, feed, "the nested binary event", func(ev tui.Event) bool {
			te, ok := ev.(tui.TraceEvent)
			return ok && te.Trace.Dir == protocol.Out && te.Trace.Layer == protocol.LayerSocket && te.Trace.Packet.Type == protocol.PacketBinaryEvent &&
				bytes.Contains(te.Trace.Packet.Data, []byte("nested"))
		}).(tui.TraceEvent)
		if p := out.Trace.Packet; string(p.Data) != `["nested",{"z":1,"f":{"_placeholder":true,"num":0}}]` || len(p.Attachments) != 1 || p.Attachments[0][0] != 4 {
			t.Errorf("nested binary sent as %s %v", p.Data, p.Attachments)
		}
	})
	t.Run("no ack", func(t *testing.T) {
		if _, err := s.Emit(ctx, "/", "chat", raws(`1`), nil, false); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, feed, "the outgoing EVENT", func(ev tui.Event) bool {
			te, ok := ev.(tui.TraceEvent)
			return ok && te.Trace.Dir == protocol.Out && te.Trace.Layer == protocol.LayerSocket &&
				te.Trace.Packet.Type == protocol.PacketEvent && !te.Trace.Packet.HasID
		})
	})
	t.Run("answer the server's ack request", func(t *testing.T) {
		if _, err := s.Emit(ctx, "/", "ask-me", nil, nil, false); err != nil {
			t.Fatal(err)
		}
		q := waitEvent(t, feed, "the question", func(ev tui.Event) bool {
			te, ok := ev.(tui.TraceEvent)
			return ok && te.Trace.Dir == protocol.In && te.Trace.Layer == protocol.LayerSocket && te.Trace.Packet.IsEvent()
		}).(tui.TraceEvent)
		if !q.Trace.Packet.HasID {
			t.Fatal("the question asks for no ack")
		}
		select {
		case a := <-answers:
			t.Fatalf("answered before the user did: %v %v", a.args.Raw, a.err)
		default:
		}
		id := q.Trace.Packet.ID
		if err := s.AnswerAck(ctx, "/", id, raws(`"yes"`, `{"_placeholder":true,"num":0}`), [][]byte{{9}}); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-answers:
			if a.err != nil || joinRaw(a.args.Raw) != `["yes",{"_placeholder":true,"num":0}]` || !bytes.Equal(a.args.Attachments[0], []byte{9}) {
				t.Errorf("answer %s %v %v", joinRaw(a.args.Raw), a.args.Attachments, a.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the server got no answer")
		}
		if err := s.AnswerAck(ctx, "/", id, nil, nil); err == nil {
			t.Error("a second answer was accepted")
		}
	})
	t.Run("namespaces", func(t *testing.T) {
		if _, err := s.Emit(ctx, "/admin", "chat", nil, nil, false); err == nil || !strings.Contains(err.Error(), "not open") {
			t.Errorf("emit on a namespace not opened: %v", err)
		}
		var ce *client.ConnectError
		if err := s.OpenNamespace(ctx, "/admin", nil); !errors.As(err, &ce) || ce.Message != "unauthorized" {
			t.Errorf("open without auth: %v", err)
		}
		waitEvent(t, feed, "the refusal", func(ev tui.Event) bool {
			n, ok := ev.(tui.NamespaceEvent)
			return ok && n.Namespace == "/admin" && strings.Contains(n.Err, "unauthorized")
		})
		if err := s.OpenNamespace(ctx, "/admin", json.RawMessage(`{"token":"secret"}`)); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, feed, "/admin connected", func(ev tui.Event) bool {
			n, ok := ev.(tui.NamespaceEvent)
			return ok && n.Namespace == "/admin" && n.Connected && n.SID != ""
		})
		ack, err := s.Emit(ctx, "/admin", "chat", raws(`"on admin"`), nil, true)
		if err != nil || joinRaw(ack.Args) != `["on admin"]` {
			t.Errorf("emit on /admin: %s %v", joinRaw(ack.Args), err)
		}
		// Closing a namespace sends its DISCONNECT; the connection stays.
		if err := s.CloseNamespace(ctx, "/admin"); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, feed, "the DISCONNECT of /admin", func(ev tui.Event) bool {
			te, ok := ev.(tui.TraceEvent)
			return ok && te.Trace.Dir == protocol.Out && te.Trace.Packet.Type == protocol.PacketDisconnect && te.Trace.Packet.Namespace == "/admin"
		})
		if _, err := s.Emit(ctx, "/admin", "chat", nil, nil, false); err == nil || !strings.Contains(err.Error(), "not open") {
			t.Errorf("emit on a closed namespace: %v", err)
		}
		if ack, err := s.Emit(ctx, "/", "chat", raws(`"still here"`), nil, true); err != nil || joinRaw(ack.Args) != `["still here"]` {
			t.Errorf("emit on / after closing /admin: %s %v", joinRaw(ack.Args), err)
		}
	})

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Emit(ctx, "/", "chat", nil, nil, false); !errors.Is(err, client.ErrClosed) {
		t.Errorf("emit after close: %v", err)
	}
}

func TestClientSessionAckReply(t *testing.T) {
	url, answers := startSessionServer(t)
	s, feed := startSession(t, url, "--ack-reply", `["auto"]`)
	waitEvent(t, feed, "connected", isConn(tui.StateConnected))
	if _, err := s.Emit(t.Context(), "/", "ask-me", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answers:
		if joinRaw(a.args.Raw) != `["auto"]` {
			t.Errorf("answer %s", joinRaw(a.args.Raw))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("--ack-reply did not answer")
	}
}

func TestClientSessionRetriesTheFirstConnection(t *testing.T) {
	noLeaks(t)
	srv := server.New(server.Options{})
	var up atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	_, feed := startSession(t, hs.URL)
	// As socket.io-client: connect_error, then reconnect_attempt and
	// reconnect_error for each try.
	isLine := func(kind string) func(tui.Event) bool {
		return func(ev tui.Event) bool {
			l, ok := ev.(tui.SessionEvent)
			return ok && l.Kind == kind
		}
	}
	line := waitEvent(t, feed, "connect_error line", isLine("connect_error")).(tui.SessionEvent)
	ev := waitEvent(t, feed, "connecting", isConn(tui.StateConnecting)).(tui.ConnEvent)
	if !strings.Contains(ev.Reason, "HTTP 503") || strings.Contains(ev.Reason, hs.URL) || line.Reason != ev.Reason {
		t.Errorf("connecting event %+v, line %+v", ev, line)
	}
	ev = waitEvent(t, feed, "reconnecting", isConn(tui.StateReconnecting)).(tui.ConnEvent)
	if ev.Attempt != 1 {
		t.Errorf("reconnecting event %+v", ev)
	}
	line = waitEvent(t, feed, "reconnect_error line", isLine("reconnect_error")).(tui.SessionEvent)
	if !strings.Contains(line.Reason, "HTTP 503") || string(line.Data) != `{"attempt":1}` {
		t.Errorf("reconnect_error line %+v", line)
	}
	up.Store(true)
	waitEvent(t, feed, "connected", isConn(tui.StateConnected))
}

// Each state change of the connection is a session line of the log:
// connected, lost with its reason, reconnecting, reconnected.
func TestClientSessionLines(t *testing.T) {
	noLeaks(t)
	// The first server closes while the client is connected; the second
	// takes its place, as when a server restarts.
	first, second := server.New(server.Options{}), server.New(server.Options{})
	var cur atomic.Pointer[server.Server]
	cur.Store(first)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cur.Load().ServeHTTP(w, r) }))
	t.Cleanup(func() {
		first.Close()
		second.Close()
		hs.Close()
	})
	_, feed := startSession(t, hs.URL, "--transport", "websocket")
	isLine := func(kind string) func(tui.Event) bool {
		return func(ev tui.Event) bool {
			l, ok := ev.(tui.SessionEvent)
			return ok && l.Kind == kind
		}
	}
	open := waitEvent(t, feed, "open line", isLine("open")).(tui.SessionEvent)
	if open.Transport != "websocket" || string(open.Data) != `{"eio":4,"transport":"websocket"}` || open.Time.IsZero() {
		t.Errorf("open line %+v", open)
	}
	conn := waitEvent(t, feed, "connect line", isLine("connect")).(tui.SessionEvent)
	if conn.Nsp != "/" || conn.SID == "" {
		t.Errorf("connect line %+v", conn)
	}
	// The server goes away: the client loses the connection and reconnects.
	cur.Store(second)
	first.Close()
	waitEvent(t, feed, "disconnect line", func(ev tui.Event) bool {
		l, ok := ev.(tui.SessionEvent)
		return ok && l.Kind == "disconnect" && l.Nsp == "/" && strings.HasPrefix(l.Reason, "transport close")
	})
	closed := waitEvent(t, feed, "close line", isLine("close")).(tui.SessionEvent)
	if !strings.HasPrefix(closed.Reason, "transport close") {
		t.Errorf("close line %+v", closed)
	}
	att := waitEvent(t, feed, "reconnect_attempt line", isLine("reconnect_attempt")).(tui.SessionEvent)
	if string(att.Data) != `{"attempt":1}` {
		t.Errorf("reconnect_attempt line %+v", att)
	}
	waitEvent(t, feed, "reconnect line", isLine("reconnect"))
	waitEvent(t, feed, "connect line", isLine("connect"))
}

func TestClientSessionGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url, _ := startSessionServer(t)

	tests := []struct {
		name, url string
		args      []string
		reason    string
		nspErr    string
	}{
		{"refused, --no-reconnect", "http://" + addr, []string{"--no-reconnect"}, "connection refused (is the server running?)", ""},
		{"namespace refused", url + "/admin", nil, "CONNECT_ERROR: unauthorized", "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, feed := startSession(t, tt.url, tt.args...)
			if tt.nspErr != "" {
				waitEvent(t, feed, "namespace refusal", func(ev tui.Event) bool {
					n, ok := ev.(tui.NamespaceEvent)
					return ok && strings.Contains(n.Err, tt.nspErr)
				})
			}
			var last tui.ConnEvent
			deadline := time.After(5 * time.Second)
			for closed := false; !closed; {
				select {
				case ev, ok := <-feed.Events():
					if !ok {
						closed = true
					} else if c, isConn := ev.(tui.ConnEvent); isConn {
						last = c
					}
				case <-deadline:
					t.Fatal("the feed was not closed")
				}
			}
			if last.State != tui.StateDisconnected || !strings.Contains(last.Reason, tt.reason) {
				t.Errorf("last state %v %q, want disconnected %q", last.State, last.Reason, tt.reason)
			}
		})
	}
}

func TestClientSessionEIO3PingRTT(t *testing.T) {
	srv := server.New(server.Options{AllowEIO3: true, PingInterval: 20 * time.Millisecond, PingTimeout: time.Second})
	hs := httptest.NewServer(srv)
	defer func() {
		srv.Close()
		hs.Close()
	}()
	_, feed := startSession(t, hs.URL, "--eio", "3", "--transport", "websocket")
	ev := waitEvent(t, feed, "a ping round trip", func(ev tui.Event) bool {
		_, ok := ev.(tui.PingEvent)
		return ok
	}).(tui.PingEvent)
	if ev.RTT <= 0 || ev.RTT > 5*time.Second {
		t.Errorf("rtt %v", ev.RTT)
	}
}

func TestSaveLog(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	traces := []tui.Event{
		tui.TraceEvent{Trace: protocol.Trace{Time: now, Dir: protocol.Out, Layer: protocol.LayerSocket, Transport: "websocket", SID: "s1",
			Packet: protocol.Packet{Type: protocol.PacketEvent, Namespace: "/", Data: json.RawMessage(`["chat","hi"]`), ID: 3, HasID: true},
			Raw:    [][]byte{[]byte(`23["chat","hi"]`)}}},
		tui.TraceEvent{Trace: protocol.Trace{Time: now, Dir: protocol.In, Layer: protocol.LayerEngine, Transport: "websocket",
			Engine: protocol.EnginePacket{Type: protocol.EnginePing}, Raw: [][]byte{[]byte("2")}}},
		tui.SessionEvent{Time: now, SID: "s1", Nsp: "/", Transport: "websocket", Kind: "disconnect", Reason: "transport close",
			Data: json.RawMessage(`{"n":1}`)},
	}
	path := filepath.Join(t.TempDir(), "log.jsonl")
	if err := saveLog(path, traces); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []render.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r render.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	if r := recs[0]; r.Type != "EVENT" || r.Event != "chat" || string(r.Args) != `["hi"]` || r.ID == nil || *r.ID != 3 || r.Raw != `423["chat","hi"]` || r.Dir != "out" {
		t.Errorf("event record %+v", r)
	}
	if r := recs[1]; r.Layer != render.LayerEngine || r.Type != "ping" {
		t.Errorf("engine record %+v", r)
	}
	// The session line is the "session" record `sio serve` prints.
	want := lifecycle{Time: now, Kind: "disconnect", SID: "s1", Nsp: "/", Transport: "websocket", Reason: "transport close", Data: json.RawMessage(`{"n":1}`)}.record()
	if r := recs[2]; r.Layer != render.LayerSession || r.Type != want.Type || r.Reason != want.Reason || r.SID != want.SID ||
		r.Nsp != want.Nsp || r.Transport != want.Transport || r.Time != want.Time || string(r.Data) != `{"n":1}` || r.Dir != "" {
		t.Errorf("session record %+v, want %+v", r, want)
	}
	if err := saveLog(filepath.Join(t.TempDir(), "missing", "x.jsonl"), traces); err == nil {
		t.Error("saving into a missing directory worked")
	}
}

func TestStateDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got, want := stateDir(getenv), filepath.Join(home, ".local", "state", "sio"); got != want {
		t.Errorf("default %s, want %s", got, want)
	}
	env["XDG_STATE_HOME"] = "relative/ignored"
	if got, want := stateDir(getenv), filepath.Join(home, ".local", "state", "sio"); got != want {
		t.Errorf("relative XDG_STATE_HOME: %s, want %s", got, want)
	}
	env["XDG_STATE_HOME"] = "/x/state"
	if got := stateDir(getenv); got != "/x/state/sio" {
		t.Errorf("XDG_STATE_HOME: %s", got)
	}
	if historyPath("", "history") != "" {
		t.Error("history without a state dir")
	}

	dir := filepath.Join(t.TempDir(), "sio")
	logger, closeLog := openLogFile(dir, "t.log")
	logger.Warn("hello", "k", "v")
	closeLog()
	b, err := os.ReadFile(filepath.Join(dir, "t.log"))
	if err != nil || !strings.Contains(string(b), "msg=hello k=v") {
		t.Errorf("log file %q %v", b, err)
	}
}

func TestClientSessionBeforeConnecting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newClientSession("http://127.0.0.1:1", client.Options{}, tui.NewFeed(1), nil)
	if err := s.AnswerAck(ctx, "/", 1, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("answer with a done ctx: %v", err)
	}
	if _, err := s.Emit(context.Background(), "/", "x", nil, nil, false); !errors.Is(err, errNotConnected) {
		t.Errorf("emit before connecting: %v", err)
	}
	if err := s.SendRaw("2"); !errors.Is(err, errNotConnected) {
		t.Errorf("raw frame before connecting: %v", err)
	}
}

func TestBareEmitError(t *testing.T) {
	wrapped := &client.EmitError{Event: "x", Namespace: "/", Err: client.ErrNotConnected}
	if got := bareEmitError(wrapped); got != client.ErrNotConnected {
		t.Errorf("got %v", got)
	}
	other := fmt.Errorf("connect: %w", client.ErrClosed)
	if got := bareEmitError(other); got != other {
		t.Errorf("got %v", got)
	}
	if bareEmitError(nil) != nil {
		t.Error("nil became an error")
	}
}

// --server-ack-timeout reaches the registry of the server's ack requests,
// which then gives each a deadline.
func TestClientSessionServerAckTimeout(t *testing.T) {
	url, _ := startSessionServer(t)
	s, feed := startSession(t, url, "--server-ack-timeout", "3s")
	waitEvent(t, feed, "connected", isConn(tui.StateConnected))
	if _, err := s.Emit(t.Context(), "/", "ask-me", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	// The request is held after its packet reaches the feed, so a feed
	// event is no signal that it is there: check again every few ms too.
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.reqs.Len() == 0 {
		select {
		case <-feed.Events():
		case <-tick.C:
		case <-deadline:
			t.Fatal("the server's ack request was not held")
		}
	}
	p := s.reqs.Pending()[0]
	if got := p.Deadline.Sub(p.At); got != 3*time.Second {
		t.Errorf("deadline %v after the request, want 3s", got)
	}
}

// A raw frame from the composer goes through the real client to a real
// server, which reads it as the event it spells; the log (the feed) shows
// it as any EVENT sent, with the typed frame as its raw form.
func TestClientSessionSendRaw(t *testing.T) {
	noLeaks(t)
	type got struct {
		event string
		args  string
	}
	events := make(chan got, 8)
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("x", func(e *server.Event) { events <- got{e.Name, joinRaw(e.Args.Raw)} })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		_ = hs.Close()
		<-served
	})

	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			s, feed := startSession(t, "http://"+ln.Addr().String(), "--transport", transport)
			var rs tui.RawSender = s
			waitEvent(t, feed, "namespace /", func(ev tui.Event) bool {
				n, ok := ev.(tui.NamespaceEvent)
				return ok && n.Namespace == "/" && n.Connected
			})
			if err := rs.SendRaw(`42["x",1]`); err != nil {
				t.Fatal(err)
			}
			tr := waitEvent(t, feed, "the raw EVENT in the log", func(ev tui.Event) bool {
				te, ok := ev.(tui.TraceEvent)
				return ok && te.Trace.Dir == protocol.Out && te.Trace.Layer == protocol.LayerSocket && te.Trace.Packet.Type == protocol.PacketEvent
			}).(tui.TraceEvent).Trace
			if name, args, err := tr.Packet.Event(); err != nil || name != "x" || joinRaw(args) != "[1]" || tr.Packet.Namespace != "/" || tr.Packet.HasID ||
				len(tr.Raw) != 1 || string(tr.Raw[0]) != `2["x",1]` || tr.SID == "" || tr.Transport != transport {
				t.Errorf("traced %s %s %v %q sid %q transport %q (%v)", name, joinRaw(args), tr.Packet.Namespace, tr.Raw, tr.SID, tr.Transport, err)
			}
			select {
			case g := <-events:
				if g.event != "x" || g.args != "[1]" {
					t.Errorf("the server got %q %s, want x [1]", g.event, g.args)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the server got no event x")
			}
			if err := rs.SendRaw("9bogus"); err == nil || !strings.Contains(err.Error(), `raw frame "9bogus": invalid packet type '9' at offset 0`) {
				t.Errorf("SendRaw(9bogus): %v", err)
			}
		})
	}
}

// The same through the UI: e, ctrl+r, the frame and enter in the composer
// of a real session reach a real server as the event x with [1].
func TestConnectTUISendsRawFrame(t *testing.T) {
	noLeaks(t)
	events := make(chan string, 8)
	srv := server.New(server.Options{})
	connected := make(chan struct{}, 8)
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("x", func(e *server.Event) { events <- e.Name + " " + joinRaw(e.Args.Raw) })
		connected <- struct{}{}
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	s, feed := startSession(t, hs.URL, "--transport", "websocket")
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); w.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- tui.RunClient(ctx, tui.ClientOptions{
			Session: s, Feed: feed, URL: hs.URL,
			ProgramOptions: []tea.ProgramOption{tea.WithInput(in), tea.WithOutput(io.Discard), tea.WithWindowSize(80, 24), tea.WithoutSignals()},
		})
	}()
	select {
	case <-connected:
	case <-time.After(5 * time.Second):
		t.Fatal("the session did not connect")
	}
	// e opens the composer, ctrl+r (0x12) switches it to raw mode.
	if _, err := w.Write([]byte("e\x12" + `42["x",1]` + "\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-events:
		if got != "x [1]" {
			t.Errorf("the server got %s, want x [1]", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server got no event x")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunClient = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunClient ignored its context")
	}
}
