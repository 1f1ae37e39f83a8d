package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sio-dev/sio/internal/iostreams"
	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/pkg/server/redisadapter"
)

// TestJSONLinesSchemaMore does for the commands that TestJSONLinesSchema
// does not run what it does for serve, connect, emit, listen, decode and
// bench: it runs proxy, doctor, admin (--watch and the listings), listen
// --redis, emit --redis, profile and version with -o json on the paths
// that print each kind of line, checks every line against
// docs/jsonlines.schema.json, and checks that each kind was printed.
func TestJSONLinesSchemaMore(t *testing.T) {
	checkLeaks(t)
	schema := compileSchema(t)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T) map[string]string // command → its stdout
		want []string
	}{
		{"proxy", proxyJSONLines, []string{
			"proxy session open", "proxy session upgrade", "proxy session close", "proxy session kill", "proxy session error",
			"proxy engine.io open", "proxy engine.io message", "proxy engine.io upgrade",
			"proxy CONNECT", "proxy EVENT", "proxy EVENT reason", "proxy ACK reason",
		}},
		{"doctor", doctorJSONLines, []string{"doctor check ok", "doctor check fail", "doctor check skip"}},
		{"admin", adminJSONLines, []string{
			"admin update config", "admin update all_sockets", "admin update socket_connected", "admin update socket_updated",
			"admin update room_joined", "admin update room_left", "admin update event_received", "admin update event_sent",
			"admin update socket_disconnected", "admin update server_stats",
			"admin socket", "admin room", "admin server",
		}},
		{"redis", redisJSONLines, []string{
			"listen cluster broadcast", "listen cluster request", "listen cluster response", "listen cluster malformed",
			"emit publish emit", "emit publish socketsJoin",
		}},
		{"profile and version", profileJSONLines, []string{"profile profile list", "profile profile", "version version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			for cmd, out := range tc.run(t) {
				checkLines(t, schema, cmd, out, seen)
			}
			for _, want := range tc.want {
				if !seen[want] {
					t.Errorf("no %q line was printed", want)
				}
			}
			if t.Failed() {
				var kinds []string
				for k := range seen {
					kinds = append(kinds, k)
				}
				sort.Strings(kinds)
				t.Logf("lines seen: %q", kinds)
			}
		})
	}
}

// checkLines validates each line of out, which cmd printed, and notes
// its kind in seen as "cmd kind".
func checkLines(t *testing.T, schema *jsonschema.Schema, cmd, out string, seen map[string]bool) {
	t.Helper()
	if out == "" {
		t.Errorf("%s printed nothing", cmd)
		return
	}
	name := strings.Fields(cmd)[0]
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
		if err != nil {
			t.Errorf("%s printed a line that is not JSON: %q", cmd, line)
			continue
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s: %s\ndoes not match docs/jsonlines.schema.json: %v", cmd, line, err)
		}
		seen[name+" "+lineKind(line)] = true
	}
}

// lineKind names the kind of a line, as the schema tells them apart.
func lineKind(line string) string {
	if strings.HasPrefix(line, "[") {
		return "profile list"
	}
	var l map[string]any
	_ = json.Unmarshal([]byte(line), &l)
	str := func(k string) string { s, _ := l[k].(string); return s }
	has := func(k string) bool { _, ok := l[k]; return ok }
	switch {
	case has("check"):
		return "check " + str("status")
	case has("channel") && has("kind"):
		return "cluster " + str("kind")
	case has("op"):
		return "publish " + str("op")
	case has("event") && !has("type"):
		return "update " + str("event")
	case has("serverId"):
		return "server"
	case has("clientId"):
		return "socket"
	case has("members"):
		return "room"
	case has("go"):
		return "version"
	case has("name"):
		return "profile"
	case has("layer"):
		return str("layer") + " " + str("type")
	case has("reason"):
		return str("type") + " reason"
	}
	return str("type")
}

// runSioCtx runs the CLI until it ends or ctx is done, its stdout going
// to out; it returns stderr and the exit status.
func runSioCtx(ctx context.Context, out io.Writer, args ...string) (string, int) {
	ios, _, _, errOut := iostreams.Test()
	ios.Out = out
	a := &app{io: ios, getenv: func(string) string { return "" }}
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return errOut.String(), exitStatus(a, inOwnWords(cmd, err))
}

// waitOutput waits until buf has a line containing every one of subs.
func waitOutput(t *testing.T, what string, buf *syncBuffer, subs ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, l := range strings.Split(buf.String(), "\n") {
			ok := true
			for _, s := range subs {
				ok = ok && strings.Contains(l, s)
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no line with %q in:\n%s", what, subs, buf)
		}
		time.Sleep(10 * time.Millisecond) // polling a log that another goroutine writes
	}
}

// proxyJSONLines runs sio proxy -o json -v --raw in front of sio serve:
// a client that upgrades, an acked event, an injected one, an undecodable
// frame and a killed session.
func proxyJSONLines(t *testing.T) map[string]string {
	r := startServe(t, "-o", "json", "--echo", "--no-tui")
	ios, _, _, _ := iostreams.Test()
	out := &syncBuffer{}
	ios.Out = out
	urls := make(chan string, 1)
	var px *proxy.Proxy
	opts := &proxyOptions{Target: r.info.URL, Listen: "127.0.0.1:0", Path: "/socket.io/", Parser: "json", Output: "json",
		Verbose: true, Raw: true, MaxMessage: proxy.DefaultMaxMessage,
		onListen: func(u string, p *proxy.Proxy) { px = p; urls <- u }}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runProxy(ctx, &app{io: ios}, opts) }()
	var u string
	select {
	case u = <-urls:
	case err := <-done:
		t.Fatal(err)
	}

	dctx, dcancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer dcancel()
	c, err := client.Dial(dctx, u, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitOutput(t, "proxy", out, `"layer":"session","type":"upgrade"`)
	if _, err := c.EmitWithAck(dctx, "chat", "hi"); err != nil {
		t.Fatal(err)
	}
	sid := c.EngineSID()
	if err := px.Inject(sid, proxy.FromClient, "/", "news", []json.RawMessage{json.RawMessage(`"from the proxy"`)}, nil); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, "proxy", out, `"reason":"injected by the proxy"`)

	// A polling session that sends a frame the parser refuses: the proxy
	// says so and forwards it as is.
	resp, err := http.Get(u + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var hs struct{ SID string }
	if err := json.Unmarshal(bytes.TrimPrefix(body, []byte("0")), &hs); err != nil || hs.SID == "" {
		t.Fatalf("handshake %q: %v", body, err)
	}
	resp, err = http.Post(u+"/socket.io/?EIO=4&transport=polling&sid="+hs.SID, "text/plain", strings.NewReader("4{{"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	waitOutput(t, "proxy", out, `"layer":"session","type":"error"`)

	if err := px.Kill(sid); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, "proxy", out, `"sid":"`+sid+`"`, `"layer":"session","type":"close"`)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return map[string]string{"proxy": out.String()}
}

// doctorJSONLines runs sio doctor -o json against sio serve (every check
// passes, heartbeat and emit included) and against an HTTP server that is
// not Socket.IO (a failure, then skipped checks).
func doctorJSONLines(t *testing.T) map[string]string {
	r := startServe(t, "-o", "json", "--echo", "--no-tui", "--ping-interval", "200ms")
	outs := map[string]string{}
	out, errOut, code := runSio(t, "", false, "doctor", r.info.URL, "-o", "json", "--origin", "http://app.example", "-H", "X-Token: 1", "--pings", "1", "--emit", "ping", "hello")
	if code != 0 {
		t.Errorf("doctor: status %d: %s\n%s", code, errOut, out)
	}
	outs["doctor ok"] = out
	notSIO := httptest.NewServer(http.NotFoundHandler())
	defer notSIO.Close()
	out, errOut, code = runSio(t, "", false, "doctor", notSIO.URL, "-o", "json", "--timeout", "2s")
	if code != exitFailure {
		t.Errorf("doctor of a plain HTTP server: status %d: %s\n%s", code, errOut, out)
	}
	outs["doctor fail"] = out
	return outs
}

// adminJSONLines runs sio admin --watch -o json against sio serve
// --admin-ui while a client connects, joins a room, is sent an event and
// leaves, and the listings sockets, rooms and servers.
func adminJSONLines(t *testing.T) map[string]string {
	r := startServe(t, "-o", "json", "--echo", "--rooms", "--admin-ui", "--no-tui")
	url := r.info.URL
	watch := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan string, 1)
	go func() {
		errOut, code := runSioCtx(ctx, watch, "admin", "--watch", "-o", "json", url)
		if code != 0 {
			errOut += " (status " + strconv.Itoa(code) + ")"
		}
		done <- errOut
	}()
	waitOutput(t, "admin --watch", watch, `"event":"all_sockets"`)
	c, _ := r.mustDial(t, "/", client.Options{})
	emitAck(t, c, "join", "r1")
	waitOutput(t, "admin --watch", watch, `"event":"socket_updated"`, `"transport":"websocket"`, `"nsp":"/"`)

	outs := map[string]string{}
	for _, args := range [][]string{
		{"admin", "sockets", "-o", "json", url},
		{"admin", "rooms", "--all", "-o", "json", url},
		{"admin", "servers", "--gather", "1ms", "-o", "json", url},
	} {
		out, errOut, code := runSio(t, "", false, args...)
		if code != 0 {
			t.Fatalf("%s: status %d: %s", args[1], code, errOut)
		}
		outs[strings.Join(args[:2], " ")] = out
	}
	// An action prints what it did on stderr, nothing on stdout.
	if out, errOut, code := runSio(t, "", false, "admin", "emit", "-o", "json", "-u", url, "news", "hi"); code != 0 || out != "" {
		t.Fatalf("admin emit: status %d, stdout %q, stderr %q", code, out, errOut)
	}
	_ = c.Close()
	waitOutput(t, "admin --watch", watch, `"event":"socket_disconnected"`, `"nsp":"/"`)
	waitOutput(t, "admin --watch", watch, `"event":"server_stats"`)
	cancel()
	if errOut := <-done; errOut != "" {
		t.Errorf("admin --watch: %s", errOut)
	}
	outs["admin --watch"] = watch.String()
	return outs
}

// redisJSONLines runs sio listen --redis -o json while sio emit --redis
// publishes a broadcast and a socketsJoin request, two cluster nodes
// exchange a fetchSockets request and its response, and a message that
// is not the adapter's arrives.
func redisJSONLines(t *testing.T) map[string]string {
	rs := testutil.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rc.Close()
	listen := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan string, 1)
	go func() {
		errOut, code := runSioCtx(ctx, listen, "listen", "--redis", rs.URL(), "-o", "json")
		if code != 0 {
			errOut += " (listen ended with an error)"
		}
		done <- errOut
	}()
	deadline := time.Now().Add(15 * time.Second)
	for n, _ := rc.PubSubNumPat(ctx).Result(); n < 3; n, _ = rc.PubSubNumPat(ctx).Result() {
		if time.Now().After(deadline) {
			t.Fatal("sio listen --redis did not subscribe")
		}
		time.Sleep(10 * time.Millisecond) // Redis has no event for a new subscriber
	}

	outs := map[string]string{}
	for _, args := range [][]string{
		{"emit", "--redis", rs.URL(), "-o", "json", "news", "hi", `{"$binary":"AQI="}`},
		{"emit", "--redis", rs.URL(), "-o", "json", "--room", "r1", "--sockets-join", "r2"},
	} {
		out, errOut, code := runSio(t, "", false, args...)
		if code != 0 {
			t.Fatalf("%v: status %d: %s", args, code, errOut)
		}
		outs[strings.Join(args[:len(args)-1], " ")] = out
	}
	if err := rc.Publish(ctx, "socket.io#/#", "not msgpack").Err(); err != nil {
		t.Fatal(err)
	}
	node := func() *server.Server {
		c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
		cl := redisadapter.New(c, redisadapter.Options{Logger: slog.New(slog.DiscardHandler)})
		srv := server.New(server.Options{Adapter: cl.Adapter})
		srv.Of("/")
		t.Cleanup(func() {
			srv.Close()
			_ = cl.Close()
			_ = c.Close()
		})
		return srv
	}
	a := node()
	node()
	waitNodes(t, rs, 2)
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	defer fcancel()
	if _, err := a.Of("/").FetchSockets(fctx); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, "listen --redis", listen, `"kind":"response"`)
	waitOutput(t, "listen --redis", listen, `"kind":"malformed"`)
	cancel()
	if errOut := <-done; strings.Contains(errOut, "error") {
		t.Errorf("listen --redis: %s", errOut)
	}
	outs["listen --redis"] = listen.String()
	return outs
}

// profileJSONLines runs sio profile list|show -o json on a profile with
// every field, and sio version -o json.
func profileJSONLines(t *testing.T) map[string]string {
	env := envMap(t, map[string]string{})
	if code, _, errOut := runWithEnv(t, env, "profile", "add", "prod", "--url", "https://api.example.com/admin", "--path", "/rt/",
		"--auth-env", "PROD_TOKEN", "-q", "v=2", "-H", "X-A: 1", "--header-env", "Authorization=PROD_BEARER",
		"--transport", "websocket", "--eio", "4", "--parser", "msgpack", "--insecure", "--ca-file", "/etc/ca.pem",
		"--cert-file", "/etc/c.pem", "--key-file", "/etc/k.pem", "--server-name", "api"); code != 0 {
		t.Fatalf("profile add: status %d: %s", code, errOut)
	}
	if code, _, errOut := runWithEnv(t, env, "profile", "add", "local", "--url", "http://localhost:3000", "--auth", `{"token":"t"}`); code != 0 {
		t.Fatalf("profile add: status %d: %s", code, errOut)
	}
	outs := map[string]string{}
	for _, args := range [][]string{
		{"profile", "list", "-o", "json"},
		{"profile", "show", "prod", "-o", "json"},
		{"profile", "show", "local", "-o", "json"},
		{"version", "-o", "json"},
	} {
		code, out, errOut := runWithEnv(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: status %d: %s", args, code, errOut)
		}
		outs[strings.Join(args, " ")] = out
	}
	return outs
}

// TestJSONLinesCLIExamples checks that the example lines of docs/CLI.md
// (its ```json blocks) match the schema too.
func TestJSONLinesCLIExamples(t *testing.T) {
	t.Parallel()
	schema := compileSchema(t)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "CLI.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range strings.Split(string(doc), "```json\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
			n++
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
			if err != nil {
				t.Errorf("not JSON: %s", line)
				continue
			}
			if err := schema.Validate(v); err != nil {
				t.Errorf("%s\ndoes not match docs/jsonlines.schema.json: %v", line, err)
			}
		}
	}
	if n < 10 {
		t.Errorf("%d example lines in docs/CLI.md: the ```json blocks were not found", n)
	}
}
