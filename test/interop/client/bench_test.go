package client_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// sio bench against socket.io 4.8, 3.1 and 2.5 on every transport: the
// lean WebSocket and long-polling paths and the engine's polling → upgrade
// path. Every reply is validated by sio bench itself; the test checks that
// all of them came back, none was an error, and the protocol was detected.
func TestBenchTransportsAgainstNode(t *testing.T) {
	for _, version := range []int{4, 3, 2} {
		p := startPeer(t, peerConfig{Version: version})
		for _, transport := range []string{"websocket", "polling", "auto"} {
			for _, scen := range []struct{ name, event string }{{"ack", "ack"}, {"echo", "echo"}} {
				name := fmt.Sprintf("v%d/%s/%s", version, transport, scen.name)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					const clients, messages = 4, 100
					r := runSio(t, "", "bench", "-o", "json", "--progress", "off", "--transport", transport,
						"-s", scen.name, "-e", scen.event, "--reply-event", "echo", "--inflight", "2",
						"-c", fmt.Sprint(clients), "-n", fmt.Sprint(messages), "--timeout", "30s", p.url("/"))
					var rep struct {
						EIO            int    `json:"eio"`
						Opened         uint64 `json:"connections_opened"`
						AcksMatched    uint64 `json:"acks_matched"`
						RepliesMatched uint64 `json:"replies_matched"`
						Errors         uint64 `json:"errors"`
					}
					if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
						t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
					}
					wantEIO := 4
					if version == 2 {
						wantEIO = 3
					}
					if rep.EIO != wantEIO || rep.Opened != clients || rep.Errors != 0 ||
						rep.AcksMatched+rep.RepliesMatched != clients*messages {
						t.Fatalf("report %+v (want EIO %d, %d replies)", rep, wantEIO, clients*messages)
					}
				})
			}
		}
	}
}
