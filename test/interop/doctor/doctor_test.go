// Package doctor_test runs sio doctor's checks (pkg/doctor) against real
// Node servers, healthy and broken: socket.io 4.8, 3.1 and 2.5, a plain
// HTTP server, a round-robin proxy without sticky sessions or that strips
// the WebSocket upgrade, and a TLS server with a self-signed certificate.
package doctor_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/doctor"
	"github.com/sio-dev/sio/pkg/protocol"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// peer is the JSON config of peers/server.mjs.
type peer map[string]any

// start runs a Node server of peers/server.mjs and returns its port.
func start(t *testing.T, cfg peer) int {
	t.Helper()
	b, _ := json.Marshal(cfg)
	return testutil.StartNodePeer(t, filepath.Join("peers", "server.mjs"), string(b))
}

// closedPort returns a loopback port where nothing listens.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func url(port int, path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", port, path) }

// run runs doctor with a per-step timeout that a busy CI machine meets.
func run(t *testing.T, opts doctor.Options) *doctor.Report {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	r, err := doctor.Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// describe prints a report for failure messages.
func describe(r *doctor.Report) string {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "\n  %s %-9s %s (%s)", res.Status.Symbol(), res.ID, res.Summary, res.Elapsed.Round(time.Millisecond))
		if res.Cause != "" {
			fmt.Fprintf(&b, "\n      cause: %s", res.Cause)
		}
		for _, f := range res.Fixes {
			fmt.Fprintf(&b, "\n      fix (%s): %s", f.Where, f.Change)
		}
	}
	return b.String()
}

// fixText joins a result's cause and fixes, for substring assertions.
func fixText(res doctor.Result) string {
	s := res.Summary + "\n" + res.Cause
	for _, f := range res.Fixes {
		s += "\n" + f.Where + ": " + f.Change
	}
	return s
}

// fastHeartbeat keeps the heartbeat check short: the server announces it
// and doctor waits for one ping.
var fastHeartbeat = peer{"pingInterval": 300, "pingTimeout": 2000}

func with(base peer, more peer) peer {
	out := peer{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

const origin = "http://app.example"

// silentTimeout is the step timeout of the cases where a step must wait
// for nothing to come: shorter than the default to keep them quick, long
// enough for the steps that do succeed on a loaded machine.
const silentTimeout = 4 * time.Second

// Healthy servers of each generation: every check is ✓.
func TestHealthyServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     peer
		server  string
		clients []any
	}{
		{"socket.io 4.8", peer{"version": 4, "cors": map[string]any{"origin": origin}}, "socket.io 4.x", []any{"3.x", "4.x"}},
		{"socket.io 3.1", peer{"version": 3, "cors": map[string]any{"origin": origin}}, "socket.io 3.x or 4.0", []any{"3.x", "4.x"}},
		{"socket.io 2.5", peer{"version": 2}, "socket.io 2.x", []any{"1.x", "2.x"}},
		{"socket.io 4.8 with socket.io-msgpack-parser", peer{"version": 4, "cors": map[string]any{"origin": origin}, "parser": "msgpack"}, "socket.io 4.x", []any{"3.x", "4.x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			port := start(t, with(with(peer{"kind": "socketio"}, fastHeartbeat), tt.cfg))
			opts := doctor.Options{URL: url(port, "/"), Origin: origin, EmitEvent: "echo", EmitArgs: []any{"hi", map[string]any{"n": 1}}}
			if tt.cfg["parser"] == "msgpack" {
				opts.Codec = protocol.MsgpackCodec{}
			}
			r := run(t, opts)
			want := []string{"dns", "tcp", "http", "path", "version", "polling", "websocket", "upgrade", "sticky", "cors", "namespace", "heartbeat", "emit"}
			var got []string
			for _, res := range r.Results {
				got = append(got, res.ID)
				if res.Status != doctor.StatusOK {
					t.Errorf("%s: %s, want ok", res.ID, res.Status)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") || !r.OK() {
				t.Errorf("checks %v, OK %v; want %v", got, r.OK(), want)
			}
			v, _ := r.Get("version")
			if !strings.HasPrefix(v.Data["server"].(string), tt.server) || fmt.Sprint(v.Data["clients"]) != fmt.Sprint(tt.clients) {
				t.Errorf("version data %v; want server %q, clients %v", v.Data, tt.server, tt.clients)
			}
			e, _ := r.Get("emit")
			if !strings.HasSuffix(e.Summary, `["hi",{"n":1}]`) {
				t.Errorf("emit: %q", e.Summary)
			}
			if t.Failed() || testing.Verbose() {
				t.Log(describe(r))
			}
		})
	}
}

// Broken servers: each fails the named check with the cause and fix a
// developer needs; the checks that cannot run after it are skipped.
func TestBrokenServers(t *testing.T) {
	t.Parallel()
	testutil.RequireNode(t)
	certFile, keyFile := testutil.WriteSelfSignedCert(t)
	sio4 := with(peer{"kind": "socketio", "version": 4}, fastHeartbeat)
	// One default socket.io 4.8 serves every case that needs no special
	// server: each run has its own sessions, and a Node start is the
	// slowest part of a case on a busy machine.
	shared4 := start(t, sio4)
	tests := []struct {
		name string
		// setup starts the servers and returns doctor's options.
		setup func(t *testing.T) doctor.Options
		check string // the check that fails
		// want are substrings of its summary, cause and fixes.
		want []string
		// also are other checks' expected statuses.
		also map[string]doctor.Status
		// says are substrings of other checks' summaries.
		says map[string]string
		ok   bool // the run still reports a working session
	}{
		{
			name: "wrong path: the URL's path is the endpoint",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, with(sio4, peer{"path": "/realtime/"})), "/realtime")}
			},
			check: "path",
			want:  []string{"it is at /realtime/", "the URL's path is the namespace, not the endpoint", `client: path: "/realtime/"`, "sio: --path /realtime/"},
			also:  map[string]doctor.Status{"namespace": doctor.StatusOK, "upgrade": doctor.StatusOK},
		},
		{
			name:  "wrong --path",
			setup: func(t *testing.T) doctor.Options { return doctor.Options{URL: url(shared4, "/"), Path: "/ws/"} },
			check: "path",
			want:  []string{"GET /ws/?EIO=4&transport=polling: HTTP 404 Not Found", "it is at /socket.io/", `client: path: "/socket.io/"`},
			also:  map[string]doctor.Status{"namespace": doctor.StatusOK},
		},
		{
			name: "plain HTTP server, not Socket.IO",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, peer{"kind": "plain"}), "/")}
			},
			check: "path",
			want:  []string{"no Engine.IO endpoint at /socket.io/", "HTTP 200 OK, text/html", "nothing at /engine.io/ either", "new Server(httpServer"},
			also:  map[string]doctor.Status{"http": doctor.StatusOK, "version": doctor.StatusSkip, "namespace": doctor.StatusSkip},
		},
		{
			name:  "nothing listening",
			setup: func(t *testing.T) doctor.Options { return doctor.Options{URL: url(closedPort(t), "/")} },
			check: "tcp",
			want:  []string{"refused", "nothing listens on port", "start the server"},
			also:  map[string]doctor.Status{"http": doctor.StatusSkip, "emit": ""},
		},
		{
			name: "socket.io 2.5 (EIO3 only) and a socket.io-client 4",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, with(fastHeartbeat, peer{"kind": "socketio", "version": 2})), "/"), ClientVersion: 4}
			},
			check: "version",
			want: []string{"EIO 3: socket.io 2.x", "socket.io-client 1.x, 2.x", "socket.io-client 4.x speaks Engine.IO v4",
				"client: use socket.io-client@2", "server: upgrade the server to socket.io 4 with allowEIO3: true"},
			also: map[string]doctor.Status{"namespace": doctor.StatusOK},
		},
		{
			name: "socket.io 4.8 without allowEIO3 and a socket.io-client 2",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(shared4, "/"), ClientVersion: 2}
			},
			check: "version",
			want:  []string{"EIO 4: socket.io 4.x", "socket.io-client 2.x speaks Engine.IO v3", "server: allowEIO3: true"},
		},
		{
			name: "websocket-only server",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, with(sio4, peer{"transports": []string{"websocket"}})), "/")}
			},
			check: "polling",
			want:  []string{"refuses the polling transport", `client: transports: ["websocket"]`, `server: transports: ["polling", "websocket"]`},
			also:  map[string]doctor.Status{"websocket": doctor.StatusOK, "upgrade": doctor.StatusSkip, "namespace": doctor.StatusOK, "heartbeat": doctor.StatusOK},
		},
		{
			name: "websocket-only socket.io 2.5",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, with(fastHeartbeat, peer{"kind": "socketio", "version": 2, "transports": []string{"websocket"}})), "/")}
			},
			check: "polling",
			want:  []string{"refuses the polling transport", `client: transports: ["websocket"]`},
			also:  map[string]doctor.Status{"version": doctor.StatusOK, "websocket": doctor.StatusOK, "namespace": doctor.StatusOK, "heartbeat": doctor.StatusOK},
			says:  map[string]string{"version": "EIO 3: socket.io 2.x", "heartbeat": "our ping answered"},
		},
		{
			name: "a proxy strips the WebSocket upgrade",
			setup: func(t *testing.T) doctor.Options {
				backend := shared4
				return doctor.Options{URL: url(start(t, peer{"kind": "proxy", "backends": []int{backend}, "stripUpgrade": true}), "/")}
			},
			check: "upgrade",
			want:  []string{"HTTP 400 Bad Request instead of 101", "without its Upgrade header", "proxy_set_header Upgrade $http_upgrade", `client: transports: ["polling"]`},
			also:  map[string]doctor.Status{"websocket": doctor.StatusFail, "polling": doctor.StatusOK, "sticky": doctor.StatusOK, "namespace": doctor.StatusOK},
		},
		{
			name: "a proxy accepts the WebSocket but passes no frames",
			setup: func(t *testing.T) doctor.Options {
				backend := shared4
				return doctor.Options{URL: url(start(t, peer{"kind": "proxy", "backends": []int{backend}, "wsNoFrames": true}), "/"), Timeout: silentTimeout}
			},
			check: "websocket",
			want:  []string{"101 Switching Protocols, then no open packet", "does not pass its frames", "proxy: pass WebSocket frames through"},
			also:  map[string]doctor.Status{"upgrade": doctor.StatusFail, "polling": doctor.StatusOK, "namespace": doctor.StatusOK},
		},
		{
			name: "two nodes behind a round-robin balancer, no sticky sessions",
			setup: func(t *testing.T) doctor.Options {
				a, b := shared4, start(t, sio4)
				return doctor.Options{URL: url(start(t, peer{"kind": "proxy", "backends": []int{a, b}}), "/")}
			},
			check: "sticky",
			want:  []string{"400 Session ID unknown", "no sticky sessions", "proxy: enable sticky sessions", `client: transports: ["websocket"]`},
			also:  map[string]doctor.Status{"polling": doctor.StatusFail, "websocket": doctor.StatusOK, "namespace": doctor.StatusOK},
		},
		{
			name: "CORS: another origin allowed",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, with(sio4, peer{"cors": map[string]any{"origin": "http://admin.example"}}))
				return doctor.Options{URL: url(port, "/"), Origin: origin}
			},
			check: "cors",
			want:  []string{"Access-Control-Allow-Origin is http://admin.example, not http://app.example", `server: cors: { origin: ["http://admin.example", "http://app.example"] }`},
			also:  map[string]doctor.Status{"namespace": doctor.StatusOK},
		},
		{
			name: "CORS: socket.io 4 without a cors option",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(shared4, "/"), Origin: origin}
			},
			check: "cors",
			want:  []string{"no Access-Control-Allow-Origin for http://app.example", "xhr poll error", `server: new Server(httpServer, { cors: { origin: "http://app.example" } })`},
		},
		{
			name: "CORS: credentials need the origin named",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, with(sio4, peer{"cors": map[string]any{"origin": "*"}}))
				return doctor.Options{URL: url(port, "/"), Origin: origin, Credentials: true}
			},
			check: "cors",
			want:  []string{"Access-Control-Allow-Origin: * with credentials", `server: cors: { origin: "http://app.example", credentials: true }`},
		},
		{
			name: "CORS: socket.io 2 origins refuse the page",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, with(fastHeartbeat, peer{"kind": "socketio", "version": 2, "origins": "admin.example:*"}))
				return doctor.Options{URL: url(port, "/"), Origin: origin}
			},
			check: "version",
			want:  []string{"refuses the handshake from Origin http://app.example: Forbidden", `socket.io 2: origins: ["app.example:*"]`},
		},
		{
			name: "CORS: extraHeaders not allowed by the preflight",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, with(sio4, peer{"cors": map[string]any{"origin": origin, "allowedHeaders": []string{"content-type"}}}))
				return doctor.Options{URL: url(port, "/"), Origin: origin, Header: http.Header{"X-Token": {"t"}}}
			},
			check: "cors",
			want: []string{"the CORS preflight for extraHeaders is refused", "the browser needs x-token",
				`server: cors: { origin: "http://app.example", allowedHeaders: ["x-token"] }`},
		},
		{
			name: "a bare engine.io server, without Socket.IO",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, peer{"kind": "engine"}), "/"), Timeout: silentTimeout}
			},
			check: "namespace",
			want:  []string{"did not answer CONNECT within 4s", "an Engine.IO server without Socket.IO", "use engine.io-client instead of socket.io-client"},
			also: map[string]doctor.Status{"path": doctor.StatusFail, "version": doctor.StatusOK,
				"polling": doctor.StatusWarn, "websocket": doctor.StatusWarn, "upgrade": doctor.StatusOK},
		},
		{
			name: "a server with socket.io-msgpack-parser and a default client",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, with(sio4, peer{"parser": "msgpack"})), "/")}
			},
			check: "namespace",
			want:  []string{"closed the connection in answer to the CONNECT", "another parser than json", `client: parser: require("socket.io-msgpack-parser")`, "sio: --parser msgpack"},
			also:  map[string]doctor.Status{"polling": doctor.StatusFail, "websocket": doctor.StatusFail, "upgrade": doctor.StatusOK},
		},
		{
			name: "middleware refuses the auth (socket.io 4.8)",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, with(sio4, peer{"auth": true})), "/")}
			},
			check: "namespace",
			want:  []string{`refused the CONNECT: not authorized`, `CONNECT_ERROR message "not authorized", data {"reason":"no token"}`, `client: auth: { token: "…" }`},
			also:  map[string]doctor.Status{"heartbeat": doctor.StatusSkip, "upgrade": doctor.StatusOK},
		},
		{
			name: "middleware refuses the auth (socket.io 2.5)",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(start(t, with(fastHeartbeat, peer{"kind": "socketio", "version": 2, "auth": true})), "/"), Auth: json.RawMessage(`{"token":"wrong"}`)}
			},
			check: "namespace",
			want:  []string{`ERROR packet {"reason":"bad token"} (socket.io 2 sends err.data`, `sio: --auth '{"token":"wrong"}'`},
		},
		{
			name: "no such namespace",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(shared4, "/admin")}
			},
			check: "namespace",
			want:  []string{"the server has no namespace /admin", `CONNECT_ERROR message "Invalid namespace"`, `server: io.of("/admin")`},
		},
		{
			name: "emit without an ack",
			setup: func(t *testing.T) doctor.Options {
				return doctor.Options{URL: url(shared4, "/"), EmitEvent: "nobody-listens", Timeout: silentTimeout}
			},
			check: "emit",
			want:  []string{`no ack for "nobody-listens" within 4s`, `socket.on("nobody-listens", (...args) => { const callback = args.pop()`},
			also:  map[string]doctor.Status{"heartbeat": doctor.StatusOK},
		},
		{
			name: "a blocked event loop makes pings late",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, peer{"kind": "socketio", "version": 4, "pingInterval": 300, "pingTimeout": 5000})
				return doctor.Options{URL: url(port, "/"), Auth: json.RawMessage(`{"block":2500}`), Pings: 2}
			},
			check: "heartbeat",
			want:  []string{"for a pingInterval of 300ms", "the server's event loop lags", "server: keep handlers from blocking the event loop"},
			ok:    true,
		},
		{
			name: "a blocked event loop past pingTimeout",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, peer{"kind": "socketio", "version": 4, "pingInterval": 300, "pingTimeout": 1000})
				return doctor.Options{URL: url(port, "/"), Auth: json.RawMessage(`{"block":4000}`), Pings: 2}
			},
			check: "heartbeat",
			want:  []string{`the client closed with "ping timeout"`, "the server's event loop is blocked", "or raise pingTimeout"},
		},
		{
			name: "TLS with a self-signed certificate",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, with(sio4, peer{"tls": map[string]string{"cert": certFile, "key": keyFile}}))
				return doctor.Options{URL: fmt.Sprintf("https://127.0.0.1:%d/", port)}
			},
			check: "tls",
			want:  []string{"self-signed certificate", "sio: --insecure", "rejectUnauthorized: false", "Let's Encrypt"},
			also:  map[string]doctor.Status{"http": doctor.StatusSkip},
		},
		{
			name: "TLS with a self-signed certificate and --insecure",
			setup: func(t *testing.T) doctor.Options {
				port := start(t, with(sio4, peer{"tls": map[string]string{"cert": certFile, "key": keyFile}}))
				return doctor.Options{URL: fmt.Sprintf("https://127.0.0.1:%d/", port), Insecure: true}
			},
			check: "tls",
			want:  []string{"self-signed certificate (not verified: --insecure)"},
			also:  map[string]doctor.Status{"upgrade": doctor.StatusOK, "namespace": doctor.StatusOK, "heartbeat": doctor.StatusOK},
			ok:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.setup(t))
			defer func() {
				if t.Failed() || testing.Verbose() {
					t.Log(describe(r))
				}
			}()
			res, found := r.Get(tt.check)
			wantStatus := doctor.StatusFail
			if tt.ok {
				wantStatus = doctor.StatusWarn
			}
			if !found || res.Status != wantStatus {
				t.Fatalf("%s: %q, want %s", tt.check, res.Status, wantStatus)
			}
			text := fixText(res)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s does not say %q", tt.check, w)
				}
			}
			for id, st := range tt.also {
				got, ran := r.Get(id)
				if st == "" && ran {
					t.Errorf("%s ran (%s), want not listed", id, got.Status)
				} else if st != "" && got.Status != st {
					t.Errorf("%s: %q, want %s", id, got.Status, st)
				}
			}
			for id, want := range tt.says {
				if got, _ := r.Get(id); !strings.Contains(got.Summary, want) {
					t.Errorf("%s says %q, want %q", id, got.Summary, want)
				}
			}
			if r.OK() != tt.ok {
				t.Errorf("OK() = %v, want %v", r.OK(), tt.ok)
			}
		})
	}
}
