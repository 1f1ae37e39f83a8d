package serverinterop

import (
	"slices"
	"sort"
	"testing"

	"github.com/sio-dev/sio/pkg/server"
)

// TestClientV3: socket.io-client 3.1 (EIO4 / Socket.IO v5, the generation
// before timeout() and emitWithAck) against pkg/server on each transport.
func TestClientV3(t *testing.T) {
	node := needNode(t)
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			upgrades := make(chan string, 8)
			srv := appServer(server.Options{OnUpgrade: func(s *server.Socket, tr string) {
				select {
				case upgrades <- tr:
				default:
				}
			}})
			url := serve(t, srv)
			lines := runPeer(t, node, "v3.mjs", url, mode)

			if got := mustFind(t, lines, "welcome", nil).json("auth"); got != `{"token":"main"}` {
				t.Errorf("auth seen by the connection handler: %s", got)
			}
			if got := mustFind(t, lines, "ack", nil).json("args"); got != `[1,"2",{"3":[true]}]` {
				t.Errorf("client→server ack: %s", got)
			}
			if got := mustFind(t, lines, "answer", nil).str("answer"); got != "yes:q?" {
				t.Errorf("server→client ack: %q", got)
			}
			if got := mustFind(t, lines, "binack", nil).str("hex"); got != "030201" {
				t.Errorf("binary ack: %q", got)
			}
			bo := mustFind(t, lines, "binout", nil)
			if bo.str("hex") != "01020304" || bo["isBuffer"] != true || bo.str("label") != "label" {
				t.Errorf("server binary emit: %v", bo)
			}
			ce := mustFind(t, lines, "connect_error", nil)
			if ce.str("message") != "not authorized" || ce.json("data") != `{"reason":"bad token"}` {
				t.Errorf("refused auth: %v", ce)
			}
			if got := mustFind(t, lines, "whoami", nil).str("nsp"); got != "/admin" {
				t.Errorf("custom namespace: %q", got)
			}
			ids := map[string]string{}
			for _, l := range lines {
				if l.str("event") == "connect" {
					ids[l.str("nsp")] = l.str("id")
				}
			}
			if ids["/"] == "" || ids["/admin"] == "" || ids["/"] == ids["/admin"] {
				t.Errorf("socket ids %v", ids)
			}
			want := map[string]string{"polling": "polling", "websocket": "websocket", "upgrade": "websocket"}[mode]
			if got := mustFind(t, lines, "transport", nil).str("name"); got != want {
				t.Errorf("transport %q, want %q", got, want)
			}
			if mode == "upgrade" {
				select {
				case tr := <-upgrades:
					if tr != "websocket" {
						t.Errorf("OnUpgrade %q", tr)
					}
				default:
					t.Error("OnUpgrade was not called")
				}
			}
			receivers := func(event string) []int {
				var out []int
				for _, l := range lines {
					if l.str("event") == event {
						out = append(out, int(l["client"].(float64)))
					}
				}
				sort.Ints(out)
				return out
			}
			if got := receivers("shout"); !slices.Equal(got, []int{0, 1}) {
				t.Errorf("room \"r\" receivers %v, want [0 1]", got)
			}
			if got := receivers("everyone"); !slices.Equal(got, []int{2}) {
				t.Errorf("everyone-but-\"r\" receivers %v, want [2]", got)
			}
			if got := mustFind(t, lines, "disconnect", nil).str("reason"); got != "io server disconnect" {
				t.Errorf("client disconnect reason %q", got)
			}
		})
	}
}
