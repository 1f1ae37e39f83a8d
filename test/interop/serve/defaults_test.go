package serveinterop

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDefaultsMatchNode starts `sio serve` and a socket.io 4.8 server, both
// with no options, and talks to each as a client would over raw HTTP
// long-polling: the handshake, the CONNECT reply, the errors a bad request
// gets. Where they agree the answers must be identical (the session ids
// aside); where sio differs on purpose (CLI.md's defaults table: it also
// accepts socket.io-client 2.x and answers CORS for any origin, since a
// debugging server must take whatever front end is pointed at it) the
// test pins both answers, so that neither side's default drifts unseen.
func TestDefaultsMatchNode(t *testing.T) {
	node := needNode(t)
	s := startSio(t)
	n := startPeer(t, node, "defaultserver.mjs")
	port, _ := n.wait(t, "listening", nil)["port"].(float64)
	nodeURL := fmt.Sprintf("http://127.0.0.1:%d/", int(port))
	c := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)

	get := func(t *testing.T, url string, header ...string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	post := func(t *testing.T, url, body string) string {
		t.Helper()
		resp, err := c.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
		}
		return string(b)
	}
	// open handshakes over polling and returns the open packet's fields
	// and the session's polling URL.
	open := func(t *testing.T, base string) (map[string]any, string) {
		t.Helper()
		code, h, body := get(t, base+"socket.io/?EIO=4&transport=polling")
		if code != 200 || !strings.HasPrefix(body, "0{") {
			t.Fatalf("%s handshake: %d %q", base, code, body)
		}
		if ct := h.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
			t.Errorf("%s handshake Content-Type %q", base, ct)
		}
		var hs map[string]any
		if err := json.Unmarshal([]byte(body[1:]), &hs); err != nil {
			t.Fatalf("%s handshake %q: %v", base, body, err)
		}
		sid, _ := hs["sid"].(string)
		if sid == "" {
			t.Fatalf("%s handshake without a sid: %q", base, body)
		}
		delete(hs, "sid")
		return hs, base + "socket.io/?EIO=4&transport=polling&sid=" + sid
	}

	t.Run("handshake", func(t *testing.T) {
		sioHS, _ := open(t, s.url)
		nodeHS, _ := open(t, nodeURL)
		jsonEq(t, "sio's open packet (sid aside)", sioHS, mustJSON(t, nodeHS))
		// The values themselves, as CLI.md documents them.
		jsonEq(t, "open packet", sioHS, `{"upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	})

	t.Run("CONNECT reply has no recovery pid", func(t *testing.T) {
		// With connection state recovery on, Node's CONNECT reply carries a
		// "pid" and every event an offset; off, as by default, neither.
		connect := func(base string) map[string]any {
			_, u := open(t, base)
			if got := post(t, u, "40"); got != "ok" {
				t.Fatalf("%s POST 40: %q", base, got)
			}
			_, _, body := get(t, u)
			if !strings.HasPrefix(body, "40{") {
				t.Fatalf("%s CONNECT reply %q", base, body)
			}
			var data map[string]any
			if err := json.Unmarshal([]byte(body[2:]), &data); err != nil {
				t.Fatalf("%s CONNECT reply %q: %v", base, body, err)
			}
			return data
		}
		sioData, nodeData := connect(s.url), connect(nodeURL)
		if !slices.Equal(sortedKeys(sioData), sortedKeys(nodeData)) || !slices.Equal(sortedKeys(sioData), []string{"sid"}) {
			t.Errorf("CONNECT reply keys: sio %v, Node %v, want [sid]", sortedKeys(sioData), sortedKeys(nodeData))
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, q := range []string{
			"EIO=4&transport=carrier-pigeon",   // Transport unknown
			"EIO=4&transport=polling&sid=nope", // Session ID unknown
			"EIO=4&transport=websocket",        // Bad request: no Upgrade header
		} {
			sc, _, sb := get(t, s.url+"socket.io/?"+q)
			nc, _, nb := get(t, nodeURL+"socket.io/?"+q)
			if sc != nc || sb != nb {
				t.Errorf("?%s: sio %d %q, Node %d %q", q, sc, sb, nc, nb)
			}
		}
	})

	t.Run("deliberate differences", func(t *testing.T) {
		// allowEIO3: Node refuses socket.io-client 2.x by default; sio
		// accepts it (--eio3=false refuses it as Node does). Any EIO but 4
		// is then v3, as in Node with allowEIO3.
		if code, _, body := get(t, nodeURL+"socket.io/?EIO=3&transport=polling"); code != 400 || body != `{"code":5,"message":"Unsupported protocol version"}` {
			t.Errorf("Node, EIO=3: %d %q", code, body)
		}
		if code, _, body := get(t, s.url+"socket.io/?EIO=3&transport=polling"); code != 200 || !strings.Contains(body, `"sid"`) {
			t.Errorf("sio, EIO=3: %d %q", code, body)
		}
		// CORS: Node sends no CORS header by default (a browser on another
		// origin is refused); sio echoes the origin, credentials allowed.
		_, nh, _ := get(t, nodeURL+"socket.io/?EIO=4&transport=polling", "Origin", "http://localhost:5173")
		_, sh, _ := get(t, s.url+"socket.io/?EIO=4&transport=polling", "Origin", "http://localhost:5173")
		if got := nh.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Node's Access-Control-Allow-Origin %q", got)
		}
		if got := sh.Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
			t.Errorf("sio's Access-Control-Allow-Origin %q", got)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
