package client_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client/eioclient"
	"github.com/sio-dev/sio/pkg/protocol"
)

// socket.io 3.0–4.0 speak EIO4 but their open packet has no maxPayload, the
// field the engine client's WebSocket-only --eio auto relies on. This pins
// what a 3.x server sends and what auto chooses on each transport.
func TestSocketIO3HandshakeAndAutoEIO(t *testing.T) {
	p := startPeer(t, peerConfig{Version: 3})
	base, err := url.Parse(p.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, transport := range []string{"polling", "websocket", "auto"} {
		t.Run(transport, func(t *testing.T) {
			start := time.Now()
			c, err := eioclient.Dial(ctxT(t), base, eioclient.Options{Transport: transport})
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			defer c.Close()
			if c.EIO() != protocol.EIO4 {
				t.Errorf("EIO %v, want 4", c.EIO())
			}
			hs := c.Handshake()
			if hs.MaxPayload != 0 {
				t.Errorf("maxPayload %d: the peer is not socket.io 3.x", hs.MaxPayload)
			}
			// engine.io 4.1's defaults; socket.io 2.5 (engine.io 3.6) sends
			// the same fields with pingTimeout 20000, so neither the field
			// set nor the values tell the two apart.
			if hs.SID == "" || hs.PingInterval != 25000 || hs.PingTimeout != 5000 {
				t.Errorf("handshake %+v", hs)
			}
			// Over WebSocket only, a handshake without maxPayload costs the
			// detection window (a 3.x server sends nothing unasked, where
			// socket.io 2 sends "40"); polling tells at once.
			if transport != "websocket" && took > 500*time.Millisecond {
				t.Errorf("dial %s took %v", transport, took)
			}
			t.Logf("dial %s with EIO auto: %v", transport, took)
		})
	}
}

// The sio binary against socket.io 3.x on each transport: --eio auto picks
// 4, a binary emit gets its binary ack, /admin refuses and accepts auth.
func TestBinarySocketIO3(t *testing.T) {
	p := startPeer(t, peerConfig{Version: 3})
	for _, transport := range []string{"polling", "websocket", "auto"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r := runSio(t, "", "emit", "-u", p.url("/"), "--transport", transport, "--ack", "-o", "json",
				"binecho", `{"$binary":"AQI="}`, "s")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "--eio auto") {
				t.Errorf("--eio auto chose EIO3: %q", r.stderr)
			}
			lines := jsonLines(t, r.stdout)
			if len(lines) != 2 {
				t.Fatalf("want 2 lines, got %q", r.stdout)
			}
			if lines[0]["type"] != "BINARY_EVENT" || lines[0]["event"] != "binecho" {
				t.Errorf("first line %v", lines[0])
			}
			args, _ := json.Marshal(lines[1]["args"])
			if lines[1]["type"] != "BINARY_ACK" || string(args) != `[["buffer:0102","string"],{"$binary":"AQI="},"s"]` {
				t.Errorf("second line %v", lines[1])
			}
		})
	}
	t.Run("namespace auth refused", func(t *testing.T) {
		t.Parallel()
		r := runSio(t, "", "emit", "-u", p.url("/admin"), "--auth", `{"token":"x"}`, "x")
		want := "sio: connect " + p.url("/admin") + `: CONNECT_ERROR: unauthorized {"reason":"bad token"} (refused by the server: check --auth)` + "\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d stderr %q, want %q", r.code, r.stderr, want)
		}
	})
	t.Run("namespace auth accepted", func(t *testing.T) {
		t.Parallel()
		r := runSio(t, "", "emit", "-u", p.url("/admin"), "--auth", `{"token":"secret"}`, "--ack", "-o", "json", "whoami")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		lines := jsonLines(t, r.stdout)
		if len(lines) != 2 || lines[1]["type"] != "ACK" || lines[1]["nsp"] != "/admin" {
			t.Fatalf("stdout %q", r.stdout)
		}
		if args, _ := json.Marshal(lines[1]["args"]); string(args) != `["secret"]` {
			t.Errorf("ack args %s", args)
		}
	})
}
