// Package serveinterop runs the built `sio serve` binary against real Node
// clients (socket.io-client 4.8.4 and socket.io-client 2.5.0 from
// test/interop/node_modules): one test per behaviour of CLI.md's `sio serve`
// table, the control API, and shutdown on SIGTERM. Each peer in peers/
// prints JSON lines of what it saw; the tests assert on them and on sio's
// own JSON-lines log.
package serveinterop

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
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"

	"go.uber.org/goleak"
)

var (
	binDir   string
	buildMu  sync.Mutex
	builtBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sio-serve-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// sioBinary builds cmd/sio once per test run.
func sioBinary(t *testing.T) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin != "" {
		return builtBin
	}
	bin := filepath.Join(binDir, "sio")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/sio")
	cmd.Dir = filepath.Join("..", "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sio: %v\n%s", err, out)
	}
	builtBin = bin
	return bin
}

// needNode skips without Node or node_modules, and fails when CI is set.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, pkg := range []string{"socket.io-client", "socket.io-client-v2"} {
		if err == nil {
			_, err = os.Stat(filepath.Join("..", "node_modules", pkg))
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("interop needs node and test/interop/node_modules (run npm ci in test/interop): %v", err)
		}
		t.Skipf("skipping interop: node or test/interop/node_modules missing (%v)", err)
	}
	return node
}

// record is one JSON line, from sio's log or from a peer.
type record map[string]any

func (r record) str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r record) json(k string) string {
	b, _ := json.Marshal(r[k])
	return string(b)
}

// lineLog collects JSON lines from a process's stdout.
type lineLog struct {
	mu      sync.Mutex
	lines   []record
	bad     []string
	changed chan struct{} // closed and replaced at each new line
	eof     bool
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var rec record
		l.mu.Lock()
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			l.bad = append(l.bad, sc.Text())
		} else {
			l.lines = append(l.lines, rec)
		}
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.eof = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *lineLog) snapshot() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.lines...)
}

// wait returns the first line (from index from) that match accepts.
func (l *lineLog) wait(t *testing.T, what string, match func(record) bool) record {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		l.mu.Lock()
		for _, r := range l.lines {
			if match(r) {
				l.mu.Unlock()
				return r
			}
		}
		eof, ch := l.eof, l.changed
		l.mu.Unlock()
		if eof {
			t.Fatalf("output ended without %s: %v", what, l.snapshot())
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s in %v", what, l.snapshot())
		}
	}
}

// sio is a running `sio serve`.
type sio struct {
	cmd    *exec.Cmd
	url    string // base URL with a trailing slash
	out    *lineLog
	stderr *bytes.Buffer
	errMu  *sync.Mutex
	done   chan struct{}
	err    error // cmd.Wait's, after done
}

// lockedWriter guards a buffer written by exec's copier and read by tests.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// startSio runs `sio serve --port 0 -o json args...` and waits until it
// listens; the real address comes from its "listening" line.
func startSio(t *testing.T, args ...string) *sio {
	t.Helper()
	bin := sioBinary(t)
	s := &sio{out: newLineLog(), stderr: &bytes.Buffer{}, errMu: &sync.Mutex{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"serve", "--port", "0", "-o", "json"}, args...)...)
	s.cmd.Stderr = lockedWriter{s.errMu, s.stderr}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.out.read(stdout)
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
				t.Error("sio serve ignored SIGTERM")
			}
		}
		s.out.mu.Lock()
		bad := s.out.bad
		s.out.mu.Unlock()
		if len(bad) > 0 {
			t.Errorf("sio printed non-JSON lines on stdout with -o json: %q", bad)
		}
	})
	l := s.out.wait(t, "the listening line", func(r record) bool { return r.str("type") == "listening" })
	data, _ := l["data"].(map[string]any)
	u, _ := data["url"].(string)
	if u == "" {
		t.Fatalf("listening line without a url: %v", l)
	}
	s.url = u + "/"
	return s
}

func (s *sio) stderrText() string {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.stderr.String()
}

// waitStderr reports whether want shows up on stderr within a few seconds:
// the banner on stderr and the listening line on stdout are written
// independently, so one may come before the other.
func (s *sio) waitStderr(want string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.stderrText(), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond) // polling a pipe's output, bounded by the deadline
	}
	return true
}

// terminate sends SIGTERM and returns the exit status.
func (s *sio) terminate(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Fatal("sio serve did not exit after SIGTERM")
	}
	var exit *exec.ExitError
	if errors.As(s.err, &exit) {
		return exit.ExitCode()
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return 0
}

// runPeer runs a peer script to completion and returns its lines.
func runPeer(t *testing.T, node, script string, args ...string) []record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("peers", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	log := newLineLog()
	log.read(&stdout)
	lines := log.snapshot()
	for _, l := range lines {
		if l.str("event") == "error" {
			t.Fatalf("%s: %s\nstderr: %s", script, l.str("message"), stderr.String())
		}
	}
	if err != nil || len(lines) == 0 || lines[len(lines)-1].str("event") != "done" {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
	return lines
}

// peer is a peer script running in the background.
type peer struct {
	cmd  *exec.Cmd
	out  *lineLog
	done chan struct{}
}

func startPeer(t *testing.T, node, script string, args ...string) *peer {
	t.Helper()
	p := &peer{out: newLineLog(), done: make(chan struct{})}
	p.cmd = exec.Command(node, append([]string{filepath.Join("peers", script)}, args...)...)
	p.cmd.Stderr = os.Stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.out.read(stdout)
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *peer) wait(t *testing.T, event string, match func(record) bool) record {
	t.Helper()
	return p.out.wait(t, event, func(r record) bool {
		if r.str("event") == "error" {
			t.Fatalf("peer: %s", r.str("message"))
		}
		return r.str("event") == event && (match == nil || match(r))
	})
}

func find(lines []record, event string, match func(record) bool) record {
	for _, l := range lines {
		if (event == "" || l.str("event") == event) && (match == nil || match(l)) {
			return l
		}
	}
	return nil
}

func mustFind(t *testing.T, lines []record, event string, match func(record) bool) record {
	t.Helper()
	l := find(lines, event, match)
	if l == nil {
		t.Fatalf("no %q line in %v", event, lines)
	}
	return l
}

func jsonEq(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	g, _ := json.Marshal(got)
	var gv any
	_ = json.Unmarshal(g, &gv)
	if !reflect.DeepEqual(gv, w) {
		t.Errorf("%s = %s, want %s", what, g, want)
	}
}

func TestEcho(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--echo", "-v", "--raw")
	lines := runPeer(t, node, "echo.mjs", s.url, "auto", "yes")
	jsonEq(t, "ack", mustFind(t, lines, "ack", nil)["args"], `["hi",{"n":1},{"$binary":"AQID"}]`)
	// Recovery is off by default, as in Node: the echo is the arguments
	// alone, with no offset appended.
	jsonEq(t, "echo", mustFind(t, lines, "echo", nil)["args"], `["hi",{"n":1},{"$binary":"AQID"}]`)
	if tr := mustFind(t, lines, "transport", nil).str("name"); tr != "websocket" {
		t.Errorf("transport %q, want the upgrade to websocket", tr)
	}
	in := s.out.wait(t, "the incoming BINARY_EVENT", func(r record) bool {
		return r.str("dir") == "in" && r.str("type") == "BINARY_EVENT" && r.str("event") == "chat"
	})
	jsonEq(t, "logged args", in["args"], `["hi",{"n":1},{"$binary":"AQID"}]`)
	if in.str("raw") == "" || in.str("sid") == "" || in["id"] == nil {
		t.Errorf("incoming event line lacks raw, sid or id: %v", in)
	}
	s.out.wait(t, "the outgoing ACK", func(r record) bool { return r.str("dir") == "out" && r.str("type") == "BINARY_ACK" })
	s.out.wait(t, "an engine.io open line (-v)", func(r record) bool { return r.str("layer") == "engine.io" && r.str("type") == "open" })
	s.out.wait(t, "an engine.io upgrade line (-v)", func(r record) bool { return r.str("layer") == "engine.io" && r.str("type") == "upgrade" })
	s.out.wait(t, "the upgrade lifecycle line", func(r record) bool {
		return r.str("layer") == "session" && r.str("type") == "upgrade" && r.str("transport") == "websocket"
	})
	s.out.wait(t, "the disconnect line", func(r record) bool {
		return r.str("type") == "disconnect" && r.str("reason") == "client namespace disconnect"
	})
}

func TestAckReplyAndHeartbeat(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--ack-reply", `{"ok":true}`, "-v", "--ping-interval", "300ms", "--ping-timeout", "200ms", "--max-payload", "5000")
	lines := runPeer(t, node, "echo.mjs", s.url, "polling", "no")
	jsonEq(t, "ack", mustFind(t, lines, "ack", nil)["args"], `[{"ok":true}]`)
	open := s.out.wait(t, "the open packet", func(r record) bool { return r.str("type") == "open" })
	jsonEq(t, "open limits", map[string]any{
		"pingInterval": open["data"].(map[string]any)["pingInterval"],
		"pingTimeout":  open["data"].(map[string]any)["pingTimeout"],
		"maxPayload":   open["data"].(map[string]any)["maxPayload"],
	}, `{"pingInterval":300,"pingTimeout":200,"maxPayload":5000}`)
	if find(s.out.snapshot(), "", func(r record) bool { return r.str("type") == "EVENT" && r.str("dir") == "out" }) != nil {
		t.Error("an event was sent back without --echo")
	}
}

func TestRoomsAndBroadcast(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--rooms", "--broadcast", "--recovery", "0")
	lines := runPeer(t, node, "rooms.mjs", s.url)
	jsonEq(t, "join acks", mustFind(t, lines, "join", nil), `{"event":"join","a":[["r1"]],"b":[["r1"]]}`)
	// a is in r1: only b, the other member, hears a.
	jsonEq(t, "after a", mustFind(t, lines, "after_a", nil)["got"], `{"a":[],"b":[["msg","from a"]],"c":[]}`)
	// c is in no room: the whole namespace but c hears it.
	jsonEq(t, "after c", mustFind(t, lines, "after_c", nil)["got"], `{"a":[["msg","from c"]],"b":[["msg","from c"]],"c":[]}`)
	jsonEq(t, "leave ack", mustFind(t, lines, "leave", nil)["a"], `[[]]`)
	s.out.wait(t, "a join line", func(r record) bool { return r.str("layer") == "session" && r.str("type") == "join" })
}

func TestBroadcastWithoutRooms(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--broadcast", "--recovery", "0")
	lines := runPeer(t, node, "rooms.mjs", s.url)
	// "join" is an ordinary event now: relayed, and acked with its own args.
	jsonEq(t, "join acks", mustFind(t, lines, "join", nil), `{"event":"join","a":["r1"],"b":["r1"]}`)
	jsonEq(t, "after a", mustFind(t, lines, "after_a", nil)["got"],
		`{"a":[["join","r1"]],"b":[["join","r1"],["msg","from a"]],"c":[["join","r1"],["join","r1"],["msg","from a"]]}`)
}

func TestAuth(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--auth", `{"token":"abc"}`)
	lines := runPeer(t, node, "auth.mjs", s.url)
	want := map[string]string{
		"v4 good": "", "v4 good admin": "", "v4 bad": "unauthorized", "v4 none": "unauthorized",
		"v2 good": "", "v2 bad": "unauthorized",
	}
	for label, msg := range want {
		l := mustFind(t, lines, "attempt", func(r record) bool { return r.str("label") == label })
		if ok, _ := l["ok"].(bool); ok != (msg == "") || l.str("err") != msg {
			t.Errorf("%s: %v, want error %q", label, l, msg)
		}
	}
	s.out.wait(t, "the CONNECT_ERROR", func(r record) bool {
		return r.str("type") == "CONNECT_ERROR" && r.json("data") == `{"message":"unauthorized"}`
	})
}

func TestNamespaceAllowList(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--namespace", "/admin")
	lines := runPeer(t, node, "nsp.mjs", s.url, "/", "/admin", "/other")
	for nsp, msg := range map[string]string{"/": "", "/admin": "", "/other": "Invalid namespace"} {
		l := mustFind(t, lines, "attempt", func(r record) bool { return r.str("nsp") == nsp })
		if ok, _ := l["ok"].(bool); ok != (msg == "") || l.str("err") != msg {
			t.Errorf("%s: %v, want error %q", nsp, l, msg)
		}
	}
	// Without --namespace every namespace is accepted.
	s2 := startSio(t)
	lines = runPeer(t, node, "nsp.mjs", s2.url, "/other", "/a/b")
	for _, l := range lines[:2] {
		if ok, _ := l["ok"].(bool); !ok {
			t.Errorf("refused: %v", l)
		}
	}
}

func TestTransports(t *testing.T) {
	node := needNode(t)
	ws := startSio(t, "--transports", "websocket")
	lines := runPeer(t, node, "transport.mjs", ws.url, "websocket", "polling")
	if l := mustFind(t, lines, "attempt", func(r record) bool { return r.str("transports") == "websocket" }); l["ok"] != true || l.str("name") != "websocket" {
		t.Errorf("websocket client on a websocket-only server: %v", l)
	}
	if l := mustFind(t, lines, "attempt", func(r record) bool { return r.str("transports") == "polling" }); l["ok"] != false {
		t.Errorf("polling client on a websocket-only server: %v", l)
	}

	poll := startSio(t, "--transports", "polling")
	lines = runPeer(t, node, "transport.mjs", poll.url, "polling,websocket")
	if l := mustFind(t, lines, "attempt", nil); l["ok"] != true || l.str("name") != "polling" {
		t.Errorf("default client on a polling-only server: %v", l)
	}
	if find(poll.out.snapshot(), "", func(r record) bool { return r.str("type") == "upgrade" }) != nil {
		t.Error("upgraded on a polling-only server")
	}
}

func TestRecovery(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--rooms", "--echo", "--recovery", "30s")
	lines := runPeer(t, node, "recovery.mjs", s.url)
	jsonEq(t, "recovery", mustFind(t, lines, "recovered", nil),
		`{"event":"recovered","recovered":true,"sameId":true,"reason":"forced close","rooms":["r1","r2"]}`)
	s.out.wait(t, "the server-side reason", func(r record) bool {
		return r.str("type") == "disconnect" && r.str("reason") == "transport close"
	})
	s.out.wait(t, "a recovered connect line", func(r record) bool {
		return r.str("layer") == "session" && r.str("type") == "connect" && strings.Contains(r.json("data"), `"recovered":true`)
	})

	// --recovery 0: a new session, the rooms are gone.
	s0 := startSio(t, "--rooms", "--echo", "--recovery", "0")
	lines = runPeer(t, node, "recovery.mjs", s0.url)
	jsonEq(t, "no recovery", mustFind(t, lines, "recovered", nil),
		`{"event":"recovered","recovered":false,"sameId":false,"reason":"forced close","rooms":["r2"]}`)
}

func TestTLS(t *testing.T) {
	node := needNode(t)
	cert, key := testutil.WriteSelfSignedCert(t)
	s := startSio(t, "--tls-cert", cert, "--tls-key", key, "--echo")
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("url %s", s.url)
	}
	for _, tr := range []string{"auto", "polling", "websocket"} {
		lines := runPeer(t, node, "echo.mjs", s.url, tr, "yes", "insecure")
		jsonEq(t, tr+" ack", mustFind(t, lines, "ack", nil)["args"], `["hi",{"n":1},{"$binary":"AQID"}]`)
		want := tr
		if tr == "auto" {
			want = "websocket" // upgraded to WSS
		}
		if got := mustFind(t, lines, "transport", nil).str("name"); got != want {
			t.Errorf("%s: transport %q", tr, got)
		}
	}
}

// control calls the control API.
func control(t *testing.T, s *sio, token, method, path, body string) (int, record) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+"_sio/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r record
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, data)
	}
	return resp.StatusCode, r
}

func TestControlAPIAndShutdown(t *testing.T) {
	node := needNode(t)
	s := startSio(t, "--control-token", "tok", "--recovery", "0")
	if !s.waitStderr("control API on " + s.url + "_sio/") {
		t.Errorf("no control line on stderr: %q", s.stderrText())
	}
	p := startPeer(t, node, "listener.mjs", s.url, "a=/", "b=/", "adm=/admin", "v2=/")
	ready := p.wait(t, "ready", nil)
	ids := map[string]string{}
	for k, v := range ready["ids"].(map[string]any) {
		ids[k] = v.(string)
	}
	got := func(who, ev string) record {
		return p.wait(t, "got", func(r record) bool { return r.str("who") == who && r.str("ev") == ev })
	}

	for _, tok := range []string{"", "nope"} {
		if code, r := control(t, s, tok, "GET", "sockets", ""); code != 401 || r.str("error") == "" {
			t.Errorf("token %q: %d %v", tok, code, r)
		}
	}
	code, r := control(t, s, "tok", "GET", "sockets", "")
	socks, _ := r["sockets"].([]any)
	if code != 200 || len(socks) != 4 {
		t.Fatalf("sockets: %d %v", code, r)
	}
	for _, x := range socks {
		sock := x.(map[string]any)
		if sock["id"] == ids["v2"] && sock["eio"] != 3.0 {
			t.Errorf("v2 socket: %v", sock)
		}
		for _, k := range []string{"namespace", "rooms", "transport", "address", "connectedAt"} {
			if sock[k] == nil {
				t.Errorf("socket without %s: %v", k, sock)
			}
		}
	}

	if code, r := control(t, s, "tok", "POST", "join", `{"socket":"`+ids["a"]+`","room":"r1"}`); code != 200 || r.json("rooms") != `["r1"]` {
		t.Fatalf("join: %d %v", code, r)
	}
	code, r = control(t, s, "tok", "GET", "rooms", "")
	if code != 200 {
		t.Errorf("rooms: %d %v", code, r)
	}
	jsonEq(t, "rooms", r["rooms"], `[{"namespace":"/","name":"r1","members":["`+ids["a"]+`"]}]`)
	// The seed's pattern: inform every client in a room from a controller.
	if code, r := control(t, s, "tok", "POST", "emit", `{"room":"r1","event":"posts","args":[{"action":"create"}]}`); code != 200 || r.json("sent") != "1" {
		t.Fatalf("emit to room: %d %v", code, r)
	}
	jsonEq(t, "a got posts", got("a", "posts")["args"], `[{"action":"create"}]`)
	// Everyone, every namespace, both client generations, with binary.
	if code, r := control(t, s, "tok", "POST", "emit", `{"event":"hello","args":["all",{"$binary":"AQID"}]}`); code != 200 || r.json("sent") != "4" {
		t.Fatalf("emit to all: %d %v", code, r)
	}
	for _, who := range []string{"a", "b", "adm", "v2"} {
		jsonEq(t, who+" got hello", got(who, "hello")["args"], `["all",{"$binary":"AQID"}]`)
	}
	// b's "hello" came after the room emit: b never got "posts".
	if find(p.out.snapshot(), "got", func(r record) bool { return r.str("who") != "a" && r.str("ev") == "posts" }) != nil {
		t.Error("a room emit reached a socket outside the room")
	}
	// One namespace.
	control(t, s, "tok", "POST", "emit", `{"namespace":"/admin","event":"adm-only"}`)
	got("adm", "adm-only")
	// One socket, waiting for its ack.
	code, r = control(t, s, "tok", "POST", "emit", `{"socket":"`+ids["adm"]+`","namespace":"/admin","event":"question","args":[7],"ack":"3s"}`)
	if code != 200 {
		t.Fatalf("emit with ack: %d %v", code, r)
	}
	jsonEq(t, "ack", r["acks"], `[{"socket":"`+ids["adm"]+`","args":["ack from adm",7]}]`)
	// A namespace, waiting for every answer (v4 and v2 clients).
	code, r = control(t, s, "tok", "POST", "emit", `{"namespace":"/","event":"question","args":["q"],"ack":5000}`)
	acks, _ := r["acks"].([]any)
	if code != 200 || len(acks) != 3 {
		t.Fatalf("emit to / with acks: %d %v", code, r)
	}
	for _, x := range acks {
		a := x.(map[string]any)
		if a["error"] != nil || len(a["args"].([]any)) != 2 {
			t.Errorf("ack %v", a)
		}
	}
	if code, r := control(t, s, "tok", "POST", "emit", `{"event":"x","socket":"nobody"}`); code != 404 || r.str("error") == "" {
		t.Errorf("unknown socket: %d %v", code, r)
	}
	if code, r := control(t, s, "tok", "POST", "emit", `{"args":[1]}`); code != 400 || r.str("error") != "event name missing" {
		t.Errorf("no event: %d %v", code, r)
	}
	if code, r := control(t, s, "tok", "POST", "leave", `{"socket":"`+ids["a"]+`","room":"r1"}`); code != 200 || r.json("rooms") != `[]` {
		t.Errorf("leave: %d %v", code, r)
	}
	if code, r := control(t, s, "tok", "POST", "disconnect", `{"socket":"`+ids["b"]+`"}`); code != 200 || r.json("disconnected") != `["`+ids["b"]+`"]` {
		t.Fatalf("disconnect: %d %v", code, r)
	}
	if reason := p.wait(t, "closed", func(r record) bool { return r.str("who") == "b" }).str("reason"); reason != "io server disconnect" {
		t.Errorf("b's disconnect reason %q", reason)
	}

	// SIGTERM: every client sees the close, sio exits 0.
	if code := s.terminate(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; stderr %s", code, s.stderrText())
	}
	for _, who := range []string{"a", "adm", "v2"} {
		if reason := p.wait(t, "closed", func(r record) bool { return r.str("who") == who }).str("reason"); reason != "transport close" {
			t.Errorf("%s saw %q", who, reason)
		}
	}
	if !strings.Contains(s.stderrText(), "shutting down (sockets connected: 3)") {
		t.Errorf("stderr %q", s.stderrText())
	}
	if find(s.out.snapshot(), "", func(r record) bool { return r.str("reason") == "server shutting down" }) == nil {
		t.Error("no disconnect line with reason \"server shutting down\"")
	}
}

func TestSIGINT(t *testing.T) {
	node := needNode(t)
	s := startSio(t)
	p := startPeer(t, node, "listener.mjs", s.url, "a=/chat", "v2=/")
	p.wait(t, "ready", nil)
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-s.done
	if s.err != nil {
		t.Errorf("exit after SIGINT: %v, want status 0", s.err)
	}
	p.wait(t, "closed", func(r record) bool { return r.str("who") == "a" })
	p.wait(t, "closed", func(r record) bool { return r.str("who") == "v2" })
}

func TestBusyPortAndBadFlags(t *testing.T) {
	bin := sioBinary(t)
	s := startSio(t)
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/"))
	tests := []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"serve", "-p", port}, 1, "sio: listen tcp 127.0.0.1:" + port + ": bind: address already in use"},
		{[]string{"serve", "--transports", "carrier-pigeon"}, 2, `sio: --transports: unknown transport "carrier-pigeon"`},
		{[]string{"serve", "--port", "-1"}, 2, "sio: --port -1 out of range"},
		{[]string{"serve", "--nope"}, 2, "sio: unknown flag: --nope"},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != tt.status {
			t.Errorf("%v: %v, want status %d", tt.args, err, tt.status)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.stderr) {
			t.Errorf("%v: stderr %q, want one line starting %q", tt.args, stderr.String(), tt.stderr)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q", tt.args, stdout.String())
		}
	}
}

func TestCORS(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		origin string
		want   string
	}{
		// The origin is echoed with credentials allowed: browsers refuse
		// "*" for a front end using withCredentials.
		{nil, "http://localhost:5173", "http://localhost:5173"},
		{[]string{"--cors-origin", "http://app.test"}, "http://app.test", "http://app.test"},
		{[]string{"--cors-origin", "http://app.test"}, "http://evil.test", ""},
	} {
		s := startSio(t, tt.args...)
		req, _ := http.NewRequest("GET", s.url+"socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("Origin", tt.origin)
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.want {
			t.Errorf("%v, origin %s: Access-Control-Allow-Origin %q, want %q", tt.args, tt.origin, got, tt.want)
		}
		if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("%v, origin %s: Access-Control-Allow-Credentials %q", tt.args, tt.origin, got)
		}
	}
}
