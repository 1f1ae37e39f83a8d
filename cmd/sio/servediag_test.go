package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// get does a GET with optional headers (name, value pairs) and returns the
// status.
func (r *running) get(t *testing.T, path string, hdr ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.info.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A client the server refuses only sees "xhr poll error" or "websocket
// error": the log says what was refused and what to change.
func TestServeLogsRefusedRequests(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--transports", "websocket", "--eio3=false")
	if code := r.get(t, "/socket.io/?EIO=4&transport=polling"); code != http.StatusBadRequest {
		t.Errorf("polling on a websocket-only server: %d", code)
	}
	r.waitLine(t, "• refused", `"error":"Transport unknown"`, `transport polling is off (--transports websocket): the client needs transports: ["websocket"]`)

	if _, _, err := r.dial(t, "/", client.Options{EIO: 3, Transport: "websocket"}); err == nil {
		t.Error("an EIO3 client was accepted with --eio3=false")
	}
	r.waitLine(t, "• refused", `"url":"/socket.io/?EIO=3&transport=websocket`, "socket.io-client 2.x (Engine.IO v3), refused by --eio3=false")

	if code := r.get(t, "/ws/?EIO=4&transport=polling"); code != http.StatusNotFound {
		t.Errorf("wrong path: %d", code)
	}
	r.waitLine(t, "• refused", `"status":404`, `set path: "/socket.io/" on the client, or run sio serve --path /ws/`)
	if code := r.get(t, "/favicon.ico"); code != http.StatusNotFound {
		t.Errorf("favicon: %d", code)
	}
	if strings.Contains(r.stdout.String(), "favicon") {
		t.Errorf("a request that is not from a Socket.IO client is reported: %s", r.stdout)
	}
}

func TestServeLogsUnknownSessionAndOrigin(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--cors-origin", "http://app.test")
	if code := r.get(t, "/socket.io/?EIO=4&transport=polling&sid=gone"); code != http.StatusBadRequest {
		t.Errorf("unknown sid: %d", code)
	}
	r.waitLine(t, "• refused", `"error":"Session ID unknown"`, "the server restarted")

	if code := r.get(t, "/socket.io/?EIO=4&transport=polling", "Origin", "http://app.test"); code != http.StatusOK {
		t.Errorf("allowed origin: %d", code)
	}
	if code := r.get(t, "/socket.io/?EIO=4&transport=polling", "Origin", "http://localhost:5173"); code != http.StatusOK {
		t.Errorf("other origin: %d", code)
	}
	r.waitLine(t, "• refused", `"origin":"http://localhost:5173"`, "add --cors-origin http://localhost:5173")
	if strings.Contains(r.stdout.String(), `"origin":"http://app.test"`) {
		t.Errorf("an allowed origin is reported: %s", r.stdout)
	}
}

// A message over --max-payload closes the connection: the log says why
// on the socket's line, before its disconnect.
func TestServeLogsMaxPayloadReason(t *testing.T) {
	checkLeaks(t)
	r := startServe(t, "--max-payload", "200", "--recovery", "0")
	c, _ := r.mustDial(t, "/", client.Options{Transport: "websocket"})
	short := c.SID()[:8]
	_ = c.Emit("big", strings.Repeat("x", 500))
	r.waitLine(t, "• "+short, "error a WebSocket message over --max-payload (200 bytes)", "code 1009")
	r.waitLine(t, "• "+short, "disconnect transport error")

	// A polling POST over the limit is refused with 413.
	resp, err := r.http.Get(r.info.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var hs struct{ SID string }
	if err := json.Unmarshal(body[1:], &hs); err != nil {
		t.Fatalf("handshake %q: %v", body, err)
	}
	post, err := r.http.Post(r.info.URL+"/socket.io/?EIO=4&transport=polling&sid="+hs.SID, "text/plain", strings.NewReader("4"+strings.Repeat("y", 300)))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("POST over the limit: %d", post.StatusCode)
	}
	r.waitLine(t, "• "+hs.SID[:8], "error a polling request body of 301 bytes is over --max-payload (200 bytes): refused with 413")
}

// A browser or Node that does not trust the certificate fails the TLS
// handshake: the banner and the log say how to make it trust it.
func TestServeTLSUntrusted(t *testing.T) {
	checkLeaks(t)
	cert, key := testutil.WriteSelfSignedCert(t)
	r := startServe(t, "--tls-cert", cert, "--tls-key", key)
	if !strings.Contains(r.stderr.String(), "this machine does not trust the certificate (self-signed, or signed by an unknown authority)") ||
		!strings.Contains(r.stderr.String(), "NODE_EXTRA_CA_CERTS="+cert) {
		t.Errorf("banner: %q", r.stderr)
	}
	strict := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}, Timeout: 5 * time.Second}
	defer strict.CloseIdleConnections()
	if _, err := strict.Get(r.info.URL + "/socket.io/?EIO=4&transport=polling"); err == nil {
		t.Fatal("a client that verifies certificates trusted a self-signed one")
	}
	r.waitLine(t, "• refused", `"method":"TLS"`, "tls: bad certificate", "the client does not trust this certificate", "NODE_EXTRA_CA_CERTS=")
	if strings.Contains(r.stderr.String(), "TLS handshake error") {
		t.Errorf("the TLS error is also logged raw: %q", r.stderr)
	}
}

// lifecycleRecorder is a serveObserver that keeps the lifecycle events.
type lifecycleRecorder struct{ evs chan lifecycle }

func (r *lifecycleRecorder) Trace(protocol.Trace)   {}
func (r *lifecycleRecorder) Lifecycle(ev lifecycle) { r.evs <- ev }

func (r *lifecycleRecorder) next(t *testing.T, kind string) lifecycle {
	t.Helper()
	for {
		select {
		case ev := <-r.evs:
			if ev.Kind == kind {
				return ev
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no %q event", kind)
		}
	}
}

// rewordHandler gives every record another message, as a rewording of the
// engine's log lines would.
type rewordHandler struct{ next slog.Handler }

func (h rewordHandler) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (h rewordHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Message = "reworded: " + strings.ToUpper(r.Message)
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}
func (h rewordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return rewordHandler{h.next.WithAttrs(as)}
}
func (h rewordHandler) WithGroup(n string) slog.Handler { return rewordHandler{h.next.WithGroup(n)} }

// The refused and error hints come from the engine's typed events: with
// every log message reworded they are all still there.
func TestServeDiagIgnoresLogText(t *testing.T) {
	checkLeaks(t)
	opts, err := parseServe(t, false, "--transports", "websocket", "--eio3=false", "--max-payload", "200")
	if err != nil {
		t.Fatal(err)
	}
	obs := &lifecycleRecorder{evs: make(chan lifecycle, 64)}
	diag := &serveDiag{opts: opts, obs: obs}
	logger := slog.New(rewordHandler{&logHandler{next: slog.DiscardHandler}})
	srv := newServeServer(opts, obs, logger, diag.engineHooks)
	diag.srv = srv
	hs := httptest.NewServer(diag.wrap(srv))
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})

	resp, err := hs.Client().Get(hs.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ev := obs.next(t, "refused"); !strings.Contains(ev.Reason, "transport polling is off") || !strings.Contains(string(ev.Data), `"status":400`) {
		t.Fatalf("transport off: %+v %s", ev, ev.Data)
	}

	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=3&transport=websocket"
	if c, _, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil {
		c.Close()
		t.Fatal("EIO3 accepted with --eio3=false")
	}
	if ev := obs.next(t, "refused"); !strings.Contains(ev.Reason, "refused by --eio3=false") {
		t.Fatalf("EIO3: %+v", ev)
	}

	c, _, err := websocket.DefaultDialer.Dial(strings.Replace(wsURL, "EIO=3", "EIO=4", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.ReadMessage(); err != nil { // open
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("4"+strings.Repeat("x", 300))); err != nil {
		t.Fatal(err)
	}
	if ev := obs.next(t, "error"); !strings.Contains(ev.Reason, "over --max-payload (200 bytes)") || !strings.Contains(ev.Reason, "code 1009") {
		t.Fatalf("too big: %+v", ev)
	}
}
