package serveinterop

import (
	"strconv"
	"strings"
	"testing"
)

// TestDeepJSON: an argument nested deeper than encoding/json's 10,000
// levels is valid JSON that a Node server accepts (JSON.parse is not
// recursive); sio serve closed the session. A real socket.io-client 4.8
// now gets its ack, the --echo event, and a session that goes on. With
// attachments the data is walked for placeholders, which sio bounds at
// 10,000 levels (Node's recursive walk overflows at about 5,200): deeper,
// the connection is closed and the log says why.
func TestDeepJSON(t *testing.T) {
	node := needNode(t)
	// Past encoding/json's 10,000. Not much further: the client's own
	// encoder gets slow (V8's JSON.stringify on a deep stack, in the
	// peer's Worker: 0.7 s at 20,000 levels, 24 s at 100,000).
	// pkg/protocol's TestDeepTextPacket goes to 500,000.
	const depth = 15_000
	s := startSio(t, "--echo", "--quiet")
	lines := runPeer(t, node, "deep.mjs", s.url, strconv.Itoa(depth), "text")
	for _, ev := range []string{"ack", "echo"} {
		l := mustFind(t, lines, ev, nil)
		if got, _ := l["depth"].(float64); int(got) != depth || l.str("leaf") != "leaf" {
			t.Errorf("%s came back %v deep with leaf %v, want %d and \"leaf\"", ev, l["depth"], l["leaf"], depth)
		}
	}
	jsonEq(t, "the next ack", mustFind(t, lines, "after", nil)["ack"], `1`)
	if r := mustFind(t, lines, "disconnect", nil).str("reason"); r != "io client disconnect" {
		t.Errorf("disconnect reason %q, want the client's own close", r)
	}

	s = startSio(t, "--quiet")
	lines = runPeer(t, node, "deep.mjs", s.url, "12000", "binary")
	if find(lines, "ack", nil) != nil {
		t.Errorf("a binary packet 12,000 deep was acknowledged: %v", lines)
	}
	if r := mustFind(t, lines, "disconnect", nil).str("reason"); r != "transport close" {
		t.Errorf("disconnect reason %q, want transport close", r)
	}
	if !s.waitStderr("binary packet nested too deep") {
		t.Errorf("sio's log does not say why it closed the connection: %q", s.stderrText())
	}
	if strings.Contains(s.stderrText(), "panic") {
		t.Errorf("stderr: %s", s.stderrText())
	}
}
