package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

// socket.io 2 reads the auth of "/" from the handshake query; with --eio
// auto the client learns the version only after the handshake, and must
// still deliver it.
func TestAuthReachesV2MainNamespaceUnderAuto(t *testing.T) {
	p := startPeer(t, peerConfig{Version: 2})
	for _, transport := range []string{"polling", "websocket", "auto"} {
		t.Run(transport, func(t *testing.T) {
			c, err := client.Dial(ctxT(t), p.url("/"), client.Options{Transport: transport, Auth: []byte(`{"token":"t1"}`)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.EIO() != protocol.EIO3 {
				t.Errorf("EIO %d", c.EIO())
			}
			ack, err := c.EmitWithAck(ctxT(t), "whoami")
			if err != nil || string(ack.Inline()) != `["t1"]` {
				t.Fatalf("whoami: %v %v", ack, err)
			}

			_, err = client.Dial(ctxT(t), p.url("/"), client.Options{Transport: transport, Auth: []byte(`{"token":"bad"}`)})
			var ce *client.ConnectError
			if !errors.As(err, &ce) || ce.Message != "unauthorized" {
				t.Fatalf("bad token: %v", err)
			}
		})
	}
}

// A wrong --path or --eio against Node gives one line that names the fix.
func TestBinaryWrongPathAndVersionHints(t *testing.T) {
	v4 := startPeer(t, peerConfig{Version: 4})
	bare := startPeer(t, peerConfig{Version: 4, Bare: true})
	v2 := startPeer(t, peerConfig{Version: 2})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"websocket on a wrong path", []string{"-u", v4.url("/"), "--path", "/nope/", "--transport", "websocket"},
			"the server closed the connection without answering the WebSocket handshake on /nope/ (wrong --path?)"},
		{"polling on a wrong path, 404", []string{"-u", v4.url("/"), "--path", "/nope/"}, "404 Not Found on /nope/: wrong --path?"},
		{"polling on a wrong path, bare server", []string{"-u", bare.url("/"), "--path", "/nope/", "--connect-timeout", "1s"},
			"no answer to the Engine.IO handshake on /nope/ within 1s (wrong --path?)"},
		{"--eio 3 to socket.io 4, polling", []string{"-u", v4.url("/"), "--eio", "3", "--transport", "polling"}, "use --eio 4 or --eio auto"},
		{"--eio 3 to socket.io 4, websocket", []string{"-u", v4.url("/"), "--eio", "3", "--transport", "websocket"}, "try --eio 4 or --eio auto"},
		{"--eio 4 to socket.io 2, polling", []string{"-u", v2.url("/"), "--eio", "4", "--transport", "polling"}, "(socket.io 2.x), not v4: use --eio 3 or --eio auto"},
		{"--eio 4 to socket.io 2, websocket", []string{"-u", v2.url("/"), "--eio", "4", "--transport", "websocket"}, "(socket.io 2.x), not v4: use --eio 3 or --eio auto"},
		{"refused auth on / under auto, socket.io 2", []string{"-u", v2.url("/"), "--auth", `{"token":"bad"}`}, "CONNECT_ERROR: unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runSio(t, "", append([]string{"emit"}, append(tt.args, "x")...)...)
			line := r.stderr
			if i := strings.LastIndex(strings.TrimSuffix(line, "\n"), "\n"); i >= 0 {
				line = line[i+1:] // after the --eio auto note
			}
			if r.code != 1 || !strings.HasPrefix(line, "sio: connect ") || !strings.Contains(line, tt.want) || strings.Count(line, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want one line with %q", r.code, r.stderr, tt.want)
			}
		})
	}
}
