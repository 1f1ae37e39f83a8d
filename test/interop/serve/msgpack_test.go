package serveinterop

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMsgpackParser: socket.io-client 4.8 with socket.io-msgpack-parser
// talks to `sio serve --parser msgpack` over both transports: the ack and
// the echo carry the arguments back (binary as Buffers), sio's log shows
// the packets, and a client without the parser does not get connected.
func TestMsgpackParser(t *testing.T) {
	node := needNode(t)
	if _, err := os.Stat(filepath.Join("..", "node_modules", "socket.io-msgpack-parser")); err != nil {
		t.Fatalf("test/interop/node_modules lacks socket.io-msgpack-parser (run npm ci in test/interop): %v", err)
	}
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			s := startSio(t, "--parser", "msgpack", "--echo")
			lines := runPeer(t, node, "msgpack.mjs", s.url, transport)
			const want = `["hi",{"n":1.5,"z":null,"bin":{"$binary":"AQID"}},[true,"x"]]`
			for _, what := range []string{"ack", "echo"} {
				if got := mustFind(t, lines, what, nil).str("text"); got != want {
					t.Errorf("%s: %s, want %s", what, got, want)
				}
			}
			if l := mustFind(t, lines, "plain", nil); l["err"] == nil {
				t.Errorf("a client without the msgpack parser connected: %v", l)
			}
			in := s.out.wait(t, "the incoming event", func(r record) bool {
				return r.str("dir") == "in" && r.str("event") == "chat"
			})
			jsonEq(t, "logged args", in["args"], `["hi",{"n":1.5,"z":null,"bin":{"$binary":"AQID"}},[true,"x"]]`)
		})
	}
}
