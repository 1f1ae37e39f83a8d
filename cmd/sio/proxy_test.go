package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/pkg/server"
)

func parseProxy(t *testing.T, args ...string) (*proxyOptions, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	var got *proxyOptions
	cmd := newProxyCmd(&app{io: ios, getenv: func(string) string { return "" }}, func(o *proxyOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return got, cmd.Execute()
}

func TestProxyFlags(t *testing.T) {
	o, err := parseProxy(t, "--target", "http://localhost:3000", "--delay", "20ms", "--drop-rate", "0.5", "--control-token", "t")
	if err != nil {
		t.Fatal(err)
	}
	if o.Listen != "127.0.0.1:4000" || o.Path != "/socket.io/" || o.Faults.Delay != 20*time.Millisecond || o.Faults.DropRate != 0.5 || !o.Control || o.Parser != "json" {
		t.Errorf("options %+v", o)
	}
}

func TestProxyUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{nil, "--target is required"},
		{[]string{"--target", "localhost:3000"}, "want a URL"},
		{[]string{"--target", "ftp://x"}, "scheme must be"},
		{[]string{"--target", "http://x", "--listen", "4000"}, "want HOST:PORT"},
		{[]string{"--target", "http://x", "--parser", "cbor"}, "want json or msgpack"},
		{[]string{"--target", "http://x", "--drop-rate", "2"}, "from 0 to 1"},
		{[]string{"--target", "http://x", "--delay", "-1s"}, "negative"},
		{[]string{"--target", "http://x", "--quiet", "-v"}, "--quiet"},
		{[]string{"--target", "http://x", "--tls-key", "k"}, "go together"},
	} {
		ios, _, _, stderr := iostreams.Test()
		if code := run(append([]string{"proxy"}, tt.args...), ios); code != exitUsage || !strings.Contains(stderr.String(), tt.msg) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", tt.args, code, stderr, exitUsage, tt.msg)
		}
	}
}

// TestProxyLogAndRecord runs sio proxy -o json --record in front of a
// server, sends an acked event through it and reads both outputs.
func TestProxyLogAndRecord(t *testing.T) {
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("echo", func(e *server.Event) { _ = e.Ack(e.Args.Values()...) })
	})
	tgt := httptest.NewServer(srv)
	defer tgt.Close()
	defer srv.Close()

	recFile := filepath.Join(t.TempDir(), "rec.jsonl")
	ios, _, stdout, stderr := iostreams.Test()
	urls := make(chan string, 1)
	var px *proxy.Proxy
	opts := &proxyOptions{Target: tgt.URL, Listen: "127.0.0.1:0", Path: "/socket.io/", Parser: "json", Output: "json", Record: recFile, MaxMessage: proxy.DefaultMaxMessage,
		onListen: func(u string, p *proxy.Proxy) { px = p; urls <- u }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runProxy(ctx, &app{io: ios}, opts) }()
	var u string
	select {
	case u = <-urls:
	case err := <-done:
		t.Fatal(err)
	}
	dctx, dcancel := context.WithTimeout(t.Context(), 15*time.Second)
	c, err := client.Dial(dctx, u, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := c.EmitWithAck(dctx, "echo", "hi")
	dcancel()
	if err != nil || string(ack.Inline()) != `["hi"]` {
		t.Fatalf("ack %v %v", ack, err)
	}
	c.Close()
	// The disconnect is reported once the proxy sees the server's answer
	// to the close: wait for it before stopping, so the log is complete.
	deadline := time.Now().Add(10 * time.Second)
	for len(px.Sessions()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	for _, want := range []string{
		`"dir":"in"`, `"type":"EVENT","nsp":"/","event":"echo","args":["hi"],"id":0`,
		`"dir":"out"`, `"type":"ACK","nsp":"/","args":["hi"],"id":0,"reason":"answer to \"echo\" after `,
		`"layer":"session","type":"open","data":{"eio":4,"transport":"polling","address":"127.0.0.1:`, `"layer":"session","type":"close","reason":"client: `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"layer":"engine.io"`) || strings.Contains(out, `"raw"`) {
		t.Errorf("engine lines or raw frames without -v/--raw:\n%s", out)
	}
	rec, err := os.ReadFile(recFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(rec)), "\n")
	raws := 0
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("record line %q: %v", l, err)
		}
		if m["raw"] != nil {
			raws++
		}
	}
	if raws == 0 || !strings.Contains(string(rec), `"layer":"engine.io"`) || !strings.Contains(string(rec), `"event":"echo"`) {
		t.Errorf("recording lacks raw frames, engine lines or the event:\n%s", rec)
	}
	if !strings.Contains(stderr.String(), "point your client at "+u) {
		t.Errorf("banner %q", stderr)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"f.jsonl"}, "--target is required"},
		{[]string{"f.jsonl", "--target", "http://x", "--speed", "0"}, "--speed must be positive"},
		{[]string{"--target", "http://x"}, "usage: sio replay FILE --target URL"},
	} {
		ios, _, _, stderr := iostreams.Test()
		if code := run(append([]string{"replay"}, tt.args...), ios); code != exitUsage || !strings.Contains(stderr.String(), tt.msg) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", tt.args, code, stderr, exitUsage, tt.msg)
		}
	}
}

// TestReplayExitStatus replays a recording against a server that answers
// differently: the difference is printed and the status is 1; against the
// same behaviour, 0.
func TestReplayExitStatus(t *testing.T) {
	serve := func(suffix string) string {
		srv := server.New(server.Options{})
		srv.Of("/").OnConnection(func(s *server.Socket) {
			s.On("echo", func(e *server.Event) { _ = e.Ack(append(e.Args.Values(), suffix)...) })
		})
		hs := httptest.NewServer(srv)
		t.Cleanup(func() {
			srv.Close()
			hs.Close()
		})
		return hs.URL
	}
	rec := `{"time":"2026-12-05T10:00:00.000000Z","dir":"out","sid":"S1","transport":"websocket","layer":"session","type":"open"}
{"time":"2026-12-05T10:00:00.001000Z","dir":"in","sid":"S1","transport":"websocket","type":"CONNECT","nsp":"/"}
{"time":"2026-12-05T10:00:00.002000Z","dir":"out","sid":"S1","transport":"websocket","type":"CONNECT","nsp":"/","data":{"sid":"x"}}
{"time":"2026-12-05T10:00:00.010000Z","dir":"in","sid":"S1","transport":"websocket","type":"EVENT","nsp":"/","event":"echo","args":["hi"],"id":0}
{"time":"2026-12-05T10:00:00.011000Z","dir":"out","sid":"S1","transport":"websocket","type":"ACK","nsp":"/","args":["hi","v1"],"id":0}
`
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	if err := os.WriteFile(file, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		suffix string
		code   int
		out    string
	}{
		{"v1", exitOK, "the server sent 1 of the 1 recorded"},
		{"v2", exitFailure, `missing:    ACK / of echo ["hi","v1"]`},
	} {
		ios, _, stdout, stderr := iostreams.Test()
		code := run([]string{"replay", file, "--target", serve(tc.suffix), "--settle", "100ms"}, ios)
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) {
			t.Errorf("%s: status %d, stdout %q, stderr %q", tc.suffix, code, stdout, stderr)
		}
	}
}
