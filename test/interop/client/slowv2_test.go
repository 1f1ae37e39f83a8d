package client_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// slowMiddleware (ms) is longer than the engine client's 1 s WebSocket
// detection window: socket.io 2 sends its "40" only after it, so the
// WebSocket-only --eio auto handshake looks like a socket.io 3.x one.
const slowMiddleware = 1200

// A socket.io 2.x server whose "/" middleware is slower than the detection
// window is first taken for EIO4; its sid-less CONNECT reply makes the
// client dial again with EIO3, with the auth in the handshake query.
func TestSlowV2MiddlewareUnderWebSocketAuto(t *testing.T) {
	p := startPeer(t, peerConfig{Version: 2, ConnectDelay: slowMiddleware})
	t.Run("client", func(t *testing.T) {
		t.Parallel()
		c, err := client.New(p.url("/"), client.Options{Transport: "websocket", Auth: []byte(`{"token":"t1"}`)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var (
			mu    sync.Mutex
			opens []protocol.EIO
		)
		c.OnState(func(s client.State) {
			if s.Kind == client.StateOpen {
				mu.Lock()
				opens = append(opens, s.EIO)
				mu.Unlock()
			}
		})
		if err := c.Connect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := append([]protocol.EIO(nil), opens...)
		mu.Unlock()
		// EIO4 guessed, then EIO3: the test reproduces the misdetection.
		if len(got) != 2 || got[0] != protocol.EIO4 || got[1] != protocol.EIO3 {
			t.Errorf("opened with %v, want [4 3]", got)
		}
		if c.EIO() != protocol.EIO3 {
			t.Errorf("EIO %d", c.EIO())
		}
		ack, err := c.EmitWithAck(ctxT(t), "whoami")
		if err != nil || string(ack.Inline()) != `["t1"]` {
			t.Fatalf("whoami: %v %v", ack, err)
		}
	})
	t.Run("client bad auth", func(t *testing.T) {
		t.Parallel()
		_, err := client.Dial(ctxT(t), p.url("/"), client.Options{Transport: "websocket", Auth: []byte(`{"token":"bad"}`)})
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "unauthorized" {
			t.Fatalf("bad token: %v", err)
		}
	})
	t.Run("binary", func(t *testing.T) {
		t.Parallel()
		r := runSio(t, "", "emit", "-u", p.url("/"), "--transport", "websocket", "--eio", "auto", "-v", "--ack", "ack", "hello")
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "--eio auto: the server speaks Engine.IO v3") {
			t.Errorf("stderr %q does not report v3", r.stderr)
		}
		if !strings.Contains(r.stdout, "hello") {
			t.Errorf("stdout %q: no ack", r.stdout)
		}
	})
}
