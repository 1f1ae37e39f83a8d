package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/testutil"

	"github.com/sio-dev/sio/pkg/client"
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
