package serveinterop

import (
	"strings"
	"testing"
)

// TestEchoByteForByte: what a real socket.io client sends comes back from
// `sio serve --echo --broadcast` (echo, relay and ack) exactly as it was
// sent, objects holding binary included: before, their keys came back
// sorted. The log's raw frames of the event in and of its echo out must
// carry the same argument bytes.
func TestEchoByteForByte(t *testing.T) {
	node := needNode(t)
	for _, tt := range []struct{ version, transport string }{
		{"v4", "websocket"}, {"v4", "polling"}, {"v2", "websocket"}, {"v2", "polling"},
	} {
		t.Run(tt.version+"/"+tt.transport, func(t *testing.T) {
			s := startSio(t, "--echo", "--broadcast", "--raw")
			lines := runPeer(t, node, "fidelity.mjs", s.url, tt.version, tt.transport)
			sent := mustFind(t, lines, "sent", nil).str("text")
			const want = `[{"name":"f","data":{"$binary":"AQID"},"z":0,"list":[1.5,{"y":1,"x":{"$binary":"BA=="}}]},"tail",{"zz":null,"aa":[true,false]}]`
			if sent != want {
				t.Fatalf("the peer sent %s, want %s", sent, want)
			}
			for _, what := range []string{"ack", "echo", "relay"} {
				if got := mustFind(t, lines, what, nil).str("text"); got != sent {
					t.Errorf("%s: got %s, sent %s", what, got, sent)
				}
			}
			in := s.out.wait(t, "the incoming event", func(r record) bool {
				return r.str("dir") == "in" && r.str("event") == "file"
			})
			out := s.out.wait(t, "the echo", func(r record) bool {
				return r.str("dir") == "out" && r.str("event") == "file" && r.str("sid") == in.str("sid")
			})
			if a, b := argsText(in.str("raw")), argsText(out.str("raw")); a == "" || a != b {
				t.Errorf("raw frames differ past the header:\n in  %s\n out %s", in.str("raw"), out.str("raw"))
			}
		})
	}
}

// argsText is a raw event frame from its '[' on: the arguments as sent.
func argsText(raw string) string {
	if i := strings.IndexByte(raw, '['); i >= 0 {
		return raw[i:]
	}
	return ""
}
