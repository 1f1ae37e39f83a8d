package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// parseServe parses args with `sio serve`'s flags and returns the options
// the command would run with.
func parseServe(t *testing.T, tty bool, args ...string) (*serveOptions, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	ios.SetStdinTTY(tty)
	ios.SetStdoutTTY(tty)
	var got *serveOptions
	cmd := newServeCmd(&app{io: ios, getenv: func(string) string { return "" }}, func(o *serveOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	return got, err
}

func TestServeFlagDefaults(t *testing.T) {
	got, err := parseServe(t, false)
	if err != nil {
		t.Fatal(err)
	}
	want := &serveOptions{
		Port: 3000, Host: "127.0.0.1", Path: "/socket.io/", CORSOrigins: []string{"*"},
		EIO3: true, Parser: "json", Transports: []string{"polling", "websocket"},
		PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1000000,
		Recovery: 0, Output: "pretty", IOUring: "auto",
		Redis: serveRedis{Key: "socket.io", RequestsTimeout: 5 * time.Second}, // serve_redis.go's flags
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestServeFlags(t *testing.T) {
	got, err := parseServe(t, false,
		"-p", "0", "--host", "::1", "--path", "ws", "--cors-origin", "http://a.test", "--cors-origin", "http://b.test",
		"--namespace", "admin", "--namespace", "/chat", "--namespace", "/admin",
		"--auth", `{"token":"abc","n":1}`, "--echo", "--broadcast", "--rooms", "--ack-reply", "ok",
		"--eio3=false", "--parser", "msgpack", "--transports", "websocket", "--ping-interval", "2s", "--ping-timeout", "1s",
		"--max-payload", "500", "--recovery", "0", "--tls-cert", "c.pem", "--tls-key", "k.pem",
		"--control-token", "T", "--no-tui", "-o", "json", "-v", "--raw", "--io-uring", "off")
	if err != nil {
		t.Fatal(err)
	}
	want := &serveOptions{
		Port: 0, Host: "::1", Path: "/ws/", CORSOrigins: []string{"http://a.test", "http://b.test"},
		Namespaces: []string{"/", "/admin", "/chat"},
		Auth:       map[string]any{"token": "abc", "n": 1.0},
		Echo:       true, Broadcast: true, Rooms: true, AckReply: json.RawMessage(`"ok"`),
		EIO3: false, Parser: "msgpack", Transports: []string{"websocket"}, PingInterval: 2 * time.Second, PingTimeout: time.Second,
		MaxPayload: 500, Recovery: 0, TLSCert: "c.pem", TLSKey: "k.pem",
		Control: true, ControlToken: "T", Output: "json", Verbose: true, Raw: true, IOUring: "off",
		Redis: serveRedis{Key: "socket.io", RequestsTimeout: 5 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flags:\n got %+v\nwant %+v", got, want)
	}
}

func TestServeFlagVariants(t *testing.T) {
	tests := []struct {
		name  string
		tty   bool
		args  []string
		check func(*serveOptions) bool
	}{
		{"ack-reply JSON", false, []string{"--ack-reply", `{"ok":true}`}, func(o *serveOptions) bool { return string(o.AckReply) == `{"ok":true}` }},
		{"ack-reply empty string", false, []string{"--ack-reply", ""}, func(o *serveOptions) bool { return string(o.AckReply) == `""` }},
		{"transports comma list", false, []string{"--transports", "polling,websocket"}, func(o *serveOptions) bool { return len(o.Transports) == 2 }},
		{"control alone", false, []string{"--control"}, func(o *serveOptions) bool { return o.Control && o.ControlToken == "" }},
		{"terminal means TUI", true, nil, func(o *serveOptions) bool { return o.TUI }},
		{"--no-tui on a terminal", true, []string{"--no-tui"}, func(o *serveOptions) bool { return !o.TUI }},
		{"--tui off a terminal", false, []string{"--tui"}, func(o *serveOptions) bool { return o.TUI }},
		{"path root", false, []string{"--path", "/"}, func(o *serveOptions) bool { return o.Path == "/" }},
		{"path trailing slash added", false, []string{"--path", "/io"}, func(o *serveOptions) bool { return o.Path == "/io/" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServe(t, tt.tty, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("options %+v", got)
			}
		})
	}
}

func TestServeUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"--port", "70000"}, "--port 70000 out of range"},
		{[]string{"--port", "x"}, "invalid argument"},
		{[]string{"--auth", "[1]"}, "--auth must be a JSON object"},
		{[]string{"--auth", "token"}, "--auth must be a JSON object"},
		{[]string{"--transports", "sse"}, `unknown transport "sse"`},
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"-o", "yaml"}, "--output must be pretty or json"},
		{[]string{"--ping-interval", "0"}, "must be positive"},
		{[]string{"--max-payload", "0"}, "--max-payload must be positive"},
		{[]string{"--recovery", "-1s"}, "--recovery must not be negative"},
		{[]string{"--parser", "protobuf"}, `--parser must be json or msgpack, not "protobuf"`},
		{[]string{"--io-uring", "on"}, `--io-uring must be auto or off, not "on"`},
		{[]string{"--tui", "--no-tui"}, "contradict"},
		{[]string{"--quiet", "-v"}, "--quiet logs no packets"},
		{[]string{"--quiet", "--raw"}, "--quiet logs no packets"},
		{[]string{"--path", "/_sio/x"}, "overlaps the control API"},
		{[]string{"--namespace", "/a?b"}, "not a namespace name"},
		{[]string{"--ack-reply", `{"$binary":"!"}`}, "--ack-reply"},
		{[]string{"--cors-origin", ""}, ""}, // empty origin is accepted as given
		{[]string{"extra"}, "unknown command"},
		{[]string{"--bogus"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if tt.msg == "" {
				if _, err := parseServe(t, false, tt.args...); err != nil {
					t.Fatal(err)
				}
				return
			}
			ios, _, stdout, stderr := iostreams.Test()
			code := run(append([]string{"serve"}, tt.args...), ios)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "sio: ") || !strings.Contains(lines[0], tt.msg) {
				t.Errorf("stderr %q, want one line containing %q", stderr, tt.msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a `sio serve` started in-process.
type running struct {
	info   serveInfo
	stdout *syncBuffer
	stderr *syncBuffer
	stop   func() error // cancels and returns runServe's error
	http   *http.Client
}

// checkLeaks fails t if goroutines started during the test outlive it and
// its cleanups (servers and clients stopped).
func checkLeaks(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
}

// startServe runs `sio serve args...` in-process on a free loopback port.
func startServe(t *testing.T, args ...string) *running {
	t.Helper()
	opts, err := parseServe(t, false, append([]string{"--port", "0"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ios.Out, ios.ErrOut = r.stdout, r.stderr
	listening := make(chan serveInfo, 1)
	opts.onListen = func(i serveInfo) { listening <- i }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &app{io: ios, getenv: func(string) string { return "" }}, opts) }()
	select {
	case r.info = <-listening:
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before listening: %v; stderr %s", err, r.stderr)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not listen")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	r.http = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var once sync.Once
	var stopErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				stopErr = errors.New("serve did not stop")
			}
			tr.CloseIdleConnections()
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return r
}

// dial connects a Go client; its events go to the returned channel as
// "name args" with args inlined.
func (r *running) dial(t *testing.T, nsp string, opts client.Options) (*client.Client, <-chan string, error) {
	t.Helper()
	opts.NoReconnect = true
	if opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	c, err := client.New(r.info.URL+nsp, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 32)
	c.OnAny(func(e *client.Event) {
		select {
		case got <- e.Name + " " + string(e.Inline()):
		default:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Connect(ctx)
	t.Cleanup(func() { _ = c.Close() })
	return c, got, err
}

func (r *running) mustDial(t *testing.T, nsp string, opts client.Options) (*client.Client, <-chan string) {
	t.Helper()
	c, got, err := r.dial(t, nsp, opts)
	if err != nil {
		t.Fatalf("connect %s: %v", nsp, err)
	}
	return c, got
}

// waitLine waits until stdout has a line containing every one of subs.
func (r *running) waitLine(t *testing.T, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range strings.Split(r.stdout.String(), "\n") {
			ok := true
			for _, s := range subs {
				if !strings.Contains(l, s) {
					ok = false
					break
				}
			}
			if ok {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stdout line with %q in:\n%s", subs, r.stdout)
		}
		time.Sleep(10 * time.Millisecond) // polling a log that another goroutine writes
	}
}

func recvEvent(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an event")
		return ""
	}
}

func emitAck(t *testing.T, c *client.Client, event string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("emit %s: %v", event, err)
	}
	return string(ack.Inline())
}

func TestServeEchoAndJSONLog(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--echo", "-o", "json", "--recovery", "0")
	c, got := r.mustDial(t, "/", client.Options{})
	if ack := emitAck(t, c, "chat", "hi", map[string]any{"n": 1}, []byte{1, 2}); ack != `["hi",{"n":1},{"$binary":"AQI="}]` {
		t.Errorf("default ack = %s, want the event's own arguments", ack)
	}
	if ev := recvEvent(t, got); ev != `chat ["hi",{"n":1},{"$binary":"AQI="}]` {
		t.Errorf("echo = %q", ev)
	}
	in := r.waitLine(t, `"dir":"in"`, `"event":"chat"`)
	var rec map[string]any
	if err := json.Unmarshal([]byte(in), &rec); err != nil {
		t.Fatalf("not JSON: %q", in)
	}
	for _, k := range []string{"time", "sid", "transport", "nsp", "type", "args", "id"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("line lacks %q: %s", k, in)
		}
	}
	r.waitLine(t, `"dir":"out"`, `"type":"BINARY_ACK"`)
	r.waitLine(t, `"layer":"session"`, `"type":"connect"`, `"nsp":"/"`)
	r.waitLine(t, `"type":"listening"`, r.info.URL)
	// Engine.IO lines only with -v.
	if strings.Contains(r.stdout.String(), `"layer":"engine.io"`) {
		t.Error("engine.io lines without -v")
	}
	sid := c.SID()
	_ = c.Close()
	r.waitLine(t, `"type":"disconnect"`, sid, `"reason":"client namespace disconnect"`)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("stdout line is not JSON: %q", l)
		}
	}
	if !strings.Contains(r.stderr.String(), "sio serve listening on "+r.info.URL+"/socket.io/") {
		t.Errorf("banner: %q", r.stderr)
	}
}

// --quiet serves as usual but logs sessions only, no packet.
func TestServeQuiet(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--echo", "--quiet", "-o", "json", "--recovery", "0")
	c, got := r.mustDial(t, "/", client.Options{})
	if ack := emitAck(t, c, "chat", "hi"); ack != `["hi"]` {
		t.Errorf("ack = %s", ack)
	}
	if ev := recvEvent(t, got); ev != `chat ["hi"]` {
		t.Errorf("echo = %q", ev)
	}
	r.waitLine(t, `"layer":"session"`, `"type":"connect"`)
	sid := c.SID()
	_ = c.Close()
	r.waitLine(t, `"type":"disconnect"`, sid)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout.String()), "\n") {
		if !strings.Contains(l, `"layer":"session"`) {
			t.Errorf("--quiet logged a packet: %s", l)
		}
	}
}

func TestServePrettyVerboseRaw(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "-v", "--raw")
	c, _ := r.mustDial(t, "/", client.Options{Transport: "websocket"})
	emitAck(t, c, "hello", "x")
	r.waitLine(t, "←", "EVENT", "hello", `["x"]`, "id=0", `raw="`)
	r.waitLine(t, "engine.io", "open")
	r.waitLine(t, "•", "connect")
}

func TestServeAckReply(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--ack-reply", `{"ok":true,"file":{"$binary":"AQ=="}}`)
	c, got := r.mustDial(t, "/", client.Options{})
	if ack := emitAck(t, c, "save", 1, 2); ack != `[{"ok":true,"file":{"$binary":"AQ=="}}]` { // the keys in the order given
		t.Errorf("ack = %s", ack)
	}
	// Neither echo nor broadcast by default.
	c2, got2 := r.mustDial(t, "/", client.Options{})
	emitAck(t, c2, "ping")
	emitAck(t, c, "ping")
	select {
	case ev := <-got:
		t.Errorf("unexpected event %q", ev)
	case ev := <-got2:
		t.Errorf("unexpected event %q", ev)
	default:
	}
}

func TestServeAuth(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--auth", `{"token":"abc","level":2}`, "--namespace", "/admin")
	if _, _, err := r.dial(t, "/", client.Options{Auth: json.RawMessage(`{"token":"abc","level":2,"extra":true}`)}); err != nil {
		t.Fatalf("right auth refused: %v", err)
	}
	if _, _, err := r.dial(t, "/admin", client.Options{Auth: json.RawMessage(`{"token":"abc","level":2}`)}); err != nil {
		t.Fatalf("right auth on /admin refused: %v", err)
	}
	for _, auth := range []string{`{"token":"abd","level":2}`, `{"token":"abc"}`, `{"token":"abc","level":"2"}`, ``} {
		_, _, err := r.dial(t, "/admin", client.Options{Auth: json.RawMessage(auth)})
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "unauthorized" {
			t.Errorf("auth %s: err %v, want CONNECT_ERROR unauthorized", auth, err)
		}
	}
	r.waitLine(t, "CONNECT_ERROR", `"message":"unauthorized"`)

	// socket.io 2 clients: the handshake query.
	v2 := client.Options{EIO: protocol.EIO3, Query: map[string][]string{"token": {"abc"}, "level": {"2"}}}
	if _, _, err := r.dial(t, "/", v2); err != nil {
		t.Fatalf("v2 right query refused: %v", err)
	}
	v2.Query = map[string][]string{"token": {"nope"}, "level": {"2"}}
	_, _, err := r.dial(t, "/", v2)
	var ce *client.ConnectError
	if !errors.As(err, &ce) || ce.Message != "unauthorized" {
		t.Errorf("v2 wrong query: err %v, want unauthorized", err)
	}
}

func TestServeRoomsBroadcast(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--rooms", "--broadcast", "--recovery", "0")
	a, gotA := r.mustDial(t, "/", client.Options{})
	b, gotB := r.mustDial(t, "/", client.Options{})
	c, gotC := r.mustDial(t, "/", client.Options{})
	if ack := emitAck(t, a, "join", "r1"); ack != `[["r1"]]` {
		t.Errorf("join ack = %s", ack)
	}
	emitAck(t, b, "join", "r1")
	emitAck(t, a, "join", "r2")
	r.waitLine(t, "•", "join", `{"room":"r1"}`)

	// a is in rooms: the relay reaches the other members only.
	emitAck(t, a, "msg", "from a")
	if ev := recvEvent(t, gotB); ev != `msg ["from a"]` {
		t.Errorf("b got %q", ev)
	}
	// c is in no room: the relay reaches the whole namespace.
	emitAck(t, c, "msg", "from c")
	if ev := recvEvent(t, gotA); ev != `msg ["from c"]` {
		t.Errorf("a got %q", ev)
	}
	if ev := recvEvent(t, gotB); ev != `msg ["from c"]` {
		t.Errorf("b got %q", ev)
	}
	// Nothing reached c (from a), and join/leave were never relayed.
	select {
	case ev := <-gotC:
		t.Errorf("c got %q", ev)
	default:
	}
	if ack := emitAck(t, a, "leave", "r1"); ack != `[["r2"]]` {
		t.Errorf("leave ack = %s", ack)
	}
	if ack := emitAck(t, a, "join"); !strings.Contains(ack, "needs a room name") {
		t.Errorf("join without a room: ack %s", ack)
	}
}

func TestServeBroadcastWithoutRooms(t *testing.T) {
	checkLeaks(t)
	// Without --rooms, "join" is an ordinary event and is relayed.
	r := startServe(t, "--broadcast", "--recovery", "0")
	a, _ := r.mustDial(t, "/", client.Options{})
	_, gotB := r.mustDial(t, "/", client.Options{})
	_, gotAdm := r.mustDial(t, "/admin", client.Options{})
	emitAck(t, a, "join", "r1")
	if ev := recvEvent(t, gotB); ev != `join ["r1"]` {
		t.Errorf("b got %q", ev)
	}
	select {
	case ev := <-gotAdm:
		t.Errorf("another namespace got %q", ev)
	default:
	}
}

func TestServeNamespaceAllowList(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--namespace", "/admin")
	r.mustDial(t, "/", client.Options{})
	r.mustDial(t, "/admin", client.Options{})
	_, _, err := r.dial(t, "/other", client.Options{})
	var ce *client.ConnectError
	if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
		t.Errorf("/other: %v, want Invalid namespace", err)
	}
	// Without the flag any namespace is accepted.
	r2 := startServe(t)
	r2.mustDial(t, "/anything", client.Options{})
}

func TestServeTransportsAndEIO3(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--transports", "websocket", "--eio3=false")
	if _, _, err := r.dial(t, "/", client.Options{Transport: "polling"}); err == nil {
		t.Error("polling accepted on a websocket-only server")
	}
	c, _ := r.mustDial(t, "/", client.Options{Transport: "websocket"})
	if tr := c.Transport(); tr != "websocket" {
		t.Errorf("transport %q", tr)
	}
	if _, _, err := r.dial(t, "/", client.Options{EIO: protocol.EIO3, Transport: "websocket"}); err == nil {
		t.Error("EIO3 client accepted with --eio3=false")
	}
	if !strings.Contains(r.stderr.String(), `transports: ["websocket"]`) || !strings.Contains(r.stderr.String(), "--transport websocket") {
		t.Errorf("banner does not say how to connect: %q", r.stderr)
	}
}

func TestServeMaxPayload(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--max-payload", "200", "--transports", "websocket")
	c, _ := r.mustDial(t, "/", client.Options{Transport: "websocket"})
	states := make(chan client.State, 16)
	c.OnState(func(s client.State) {
		select {
		case states <- s:
		default:
		}
	})
	_ = c.Emit("big", strings.Repeat("x", 500))
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s := <-states:
			if s.Kind == client.StateClose {
				return
			}
		case <-deadline:
			t.Fatal("a message over --max-payload did not close the connection")
		}
	}
}

func TestServeControlAPI(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--control-token", "tok")
	if r.info.ControlURL != r.info.URL+"/_sio/" || r.info.Token != "tok" {
		t.Fatalf("info %+v", r.info)
	}
	c, got := r.mustDial(t, "/", client.Options{})
	post := func(token, path, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, r.info.ControlURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := r.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post("bad", "join", `{"socket":"`+c.SID()+`","room":"r1"}`); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
	if code, body := post("tok", "join", `{"socket":"`+c.SID()+`","room":"r1"}`); code != 200 {
		t.Fatalf("join: %d %s", code, body)
	}
	code, body := post("tok", "emit", `{"room":"r1","event":"posts","args":[{"action":"create"}]}`)
	if code != 200 || body != "{\"sent\":1}\n" {
		t.Fatalf("emit: %d %s", code, body)
	}
	// Recovery is off by default, as in Node: no offset is appended.
	if ev := recvEvent(t, got); ev != `posts [{"action":"create"}]` {
		t.Errorf("client got %q", ev)
	}
	// Without --control the API does not exist.
	r2 := startServe(t)
	resp, err := r2.http.Get(r2.info.URL + "/_sio/sockets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || r2.info.ControlURL != "" {
		t.Errorf("control API without --control: %d", resp.StatusCode)
	}
}

func TestServeControlRandomToken(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--control")
	if len(r.info.Token) != 32 {
		t.Fatalf("token %q", r.info.Token)
	}
	if !strings.Contains(r.stderr.String(), "token "+r.info.Token) {
		t.Errorf("token not printed: %q", r.stderr)
	}
	req, _ := http.NewRequest(http.MethodGet, r.info.ControlURL+"sockets", nil)
	req.Header.Set("Authorization", "Bearer "+r.info.Token)
	resp, err := r.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestServeTLS(t *testing.T) {
	checkLeaks(t)
	cert, key := testutil.WriteSelfSignedCert(t)
	r := startServe(t, "--tls-cert", cert, "--tls-key", key, "--echo", "--recovery", "0")
	if !strings.HasPrefix(r.info.URL, "https://127.0.0.1:") {
		t.Fatalf("url %s", r.info.URL)
	}
	for _, tr := range []string{"polling", "websocket"} {
		c, got := r.mustDial(t, "/", client.Options{Transport: tr})
		_ = c.Emit("tls", tr)
		if ev := recvEvent(t, got); ev != `tls ["`+tr+`"]` {
			t.Errorf("%s: got %q", tr, ev)
		}
	}
	if !strings.Contains(r.stderr.String(), "--insecure") {
		t.Errorf("banner: %q", r.stderr)
	}
}

func TestServeBadTLSFiles(t *testing.T) {
	ios, _, _, stderr := iostreams.Test()
	dir := t.TempDir()
	code := run([]string{"serve", "--port", "0", "--tls-cert", filepath.Join(dir, "no.pem"), "--tls-key", filepath.Join(dir, "no.key")}, ios)
	if code != exitFailure || !strings.HasPrefix(stderr.String(), "sio: load TLS key pair: ") {
		t.Errorf("status %d, stderr %q", code, stderr)
	}
}

func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ios, _, stdout, stderr := iostreams.Test()
	code := run([]string{"serve", "--port", port}, ios)
	want := "sio: listen tcp 127.0.0.1:" + port + ": bind: address already in use"
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if code != exitFailure || len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("status %d, stderr %q, want one line starting %q", code, stderr, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q", stdout)
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	checkLeaks(t)
	r := startServe(t)
	c, _ := r.mustDial(t, "/", client.Options{})
	closed := make(chan client.State, 4)
	c.OnState(func(s client.State) {
		if s.Kind == client.StateClose || s.Kind == client.StateDisconnect {
			select {
			case closed <- s:
			default:
			}
		}
	})
	if err := r.stop(); err != nil {
		t.Fatalf("runServe after cancel: %v, want nil (exit 0)", err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not see the server close")
	}
	if !strings.Contains(r.stderr.String(), "shutting down (sockets connected: 1)") {
		t.Errorf("stderr %q", r.stderr)
	}
	if !strings.Contains(r.stdout.String(), "server shutting down") {
		t.Errorf("no disconnect line with the reason in %q", r.stdout)
	}
}

func TestServeRootPage(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--path", "/io/")
	resp, err := r.http.Get(r.info.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "/io/") {
		t.Errorf("root page: %d %q", resp.StatusCode, body)
	}
	r.mustDial(t, "/", client.Options{Path: "/io/"})
	if !strings.Contains(r.stderr.String(), `path: "/io/"`) {
		t.Errorf("banner: %q", r.stderr)
	}
}

func TestLogObserverDropsInsteadOfBlocking(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pr, pw := io.Pipe() // nobody reads: every write blocks
	p, err := render.New(pw, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := newLogObserver(p, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The printer batches up to 64 KiB of lines (these are at least
		// 16 bytes) before it writes, then stalls: more than the queue
		// and a batch hold.
		for i := 0; i < logQueue+64<<10/16+100; i++ {
			o.Lifecycle(lifecycle{Time: time.Now(), Kind: "connect", SID: "s"})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Lifecycle blocked on a stalled output")
	}
	// Once the printer is stuck in its write the queue stays full.
	for deadline := time.Now().Add(5 * time.Second); ; {
		for len(o.queue) < cap(o.queue) {
			o.Lifecycle(lifecycle{Time: time.Now(), Kind: "connect", SID: "s"})
		}
		time.Sleep(20 * time.Millisecond)
		if len(o.queue) == cap(o.queue) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the printer keeps taking lines from the queue")
		}
	}
	// The queue is full and its printer stalled: traces are counted, not queued.
	before := o.dropped.Load()
	for range 10 {
		o.Trace(protocol.Trace{Layer: protocol.LayerSocket, Packet: protocol.Packet{Type: protocol.PacketEvent, Data: []byte(`["x"]`)}})
	}
	if got := o.dropped.Load() - before; got != 10 {
		t.Errorf("traces on a full queue: %d counted as dropped, want 10", got)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if dropped := o.Close(); dropped == 0 {
		t.Error("nothing counted as dropped")
	}
	o.Lifecycle(lifecycle{Kind: "after close"}) // a no-op, no panic
	pw.Close()
}

func TestServeBanner(t *testing.T) {
	tests := []struct {
		name   string
		addr   *net.TCPAddr
		args   []string
		secure bool
		want   []string
	}{
		{"defaults", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}, nil, false, []string{
			"sio serve listening on http://127.0.0.1:3000/socket.io/ · connect: sio connect http://127.0.0.1:3000 · JavaScript: io(\"http://127.0.0.1:3000\")\n",
		}},
		{"all interfaces", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, []string{"--host", "0.0.0.0"}, false, []string{
			"listening on http://127.0.0.1:8080/socket.io/",
			"sio serve: listening on 0.0.0.0:8080, reachable from other machines\n",
		}},
		{"IPv6 any", &net.TCPAddr{IP: net.IPv6zero, Port: 1}, []string{"--host", "::"}, false, []string{"http://[::1]:1/"}},
		{"msgpack", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}, []string{"--parser", "msgpack"}, false, []string{
			`connect: sio connect --parser msgpack http://127.0.0.1:3000 · JavaScript: io("http://127.0.0.1:3000", { parser: require("socket.io-msgpack-parser") })`,
		}},
		{"recovery", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}, []string{"--recovery", "2m"}, false, []string{
			"connection state recovery on (2m0s): events sent carry their offset as a last argument\n",
		}},
		{"TLS, path, websocket, control", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4}, []string{"--path", "/io", "--transports", "websocket", "--control-token", "T"}, true, []string{
			`connect: sio connect --path /io/ --transport websocket --insecure https://127.0.0.1:4 · JavaScript: io("https://127.0.0.1:4", { path: "/io/", transports: ["websocket"] })`,
			"control API on https://127.0.0.1:4/_sio/ · token T · try: curl -H 'Authorization: Bearer T' https://127.0.0.1:4/_sio/sockets\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := parseServe(t, false, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			printBanner(&b, listenInfo(tt.addr, tt.secure, opts, opts.ControlToken), opts)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("banner %q lacks %q", b.String(), w)
				}
			}
			if tt.name == "defaults" && (strings.Count(b.String(), "\n") != 1 || strings.Contains(b.String(), "recovery")) {
				t.Errorf("banner is not one line: %q", b.String())
			}
		})
	}
}

// Browsers refuse "Access-Control-Allow-Origin: *" for a front end that
// uses withCredentials: the origin is echoed, with credentials allowed.
func TestServeCORSWithCredentials(t *testing.T) {
	checkLeaks(t)
	r := startServe(t)
	for _, method := range []string{http.MethodOptions, http.MethodGet} {
		req, err := http.NewRequest(method, r.info.URL+"/socket.io/?EIO=4&transport=polling", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "http://localhost:5173")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := r.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
			t.Errorf("%s: Access-Control-Allow-Origin %q", method, got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("%s: Access-Control-Allow-Credentials %q", method, got)
		}
	}
}

// A polling client that went away between two polls is waited for until
// the shutdown timeout: Ctrl-C must not hang on it for long.
func TestServeShutdownWithVanishedPollingClient(t *testing.T) {
	checkLeaks(t)
	r := startServe(t)
	resp, err := r.http.Get(r.info.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > defaultShutdownTimeout+time.Second || defaultShutdownTimeout > 2*time.Second {
		t.Errorf("shutdown took %v (timeout %v)", d, defaultShutdownTimeout)
	}
}

// --parser msgpack speaks socket.io-msgpack-parser: a client with the same
// parser gets its echo and its ack, binary included; the log shows the
// packets as JSON as with the default parser.
func TestServeMsgpack(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--parser", "msgpack", "--echo", "-o", "json")
	c, got := r.mustDial(t, "/", client.Options{Codec: protocol.MsgpackCodec{}})
	if ack := emitAck(t, c, "chat", "hi", map[string]any{"b": []byte{1, 2}}); ack != `["hi",{"b":{"$binary":"AQI="}}]` {
		t.Errorf("ack = %s", ack)
	}
	if ev := recvEvent(t, got); ev != `chat ["hi",{"b":{"$binary":"AQI="}}]` {
		t.Errorf("echo = %s", ev)
	}
	r.waitLine(t, `"dir":"in"`, `"type":"BINARY_EVENT"`, `"args":["hi",{"b":{"$binary":"AQI="}}]`)
	// A client with the default parser cannot connect: the server cannot
	// decode its CONNECT.
	if _, _, err := r.dial(t, "/", client.Options{}); err == nil {
		t.Error("a JSON-parser client connected to --parser msgpack")
	}
}
