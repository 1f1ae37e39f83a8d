package serverinterop

import (
	"slices"
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

			checkClientRun(t, lines, mode, upgrades)
			if got := receivers(lines, "shout"); !slices.Equal(got, []int{0, 1}) {
				t.Errorf("room \"r\" receivers %v, want [0 1]", got)
			}
			if got := receivers(lines, "everyone"); !slices.Equal(got, []int{2}) {
				t.Errorf("everyone-but-\"r\" receivers %v, want [2]", got)
			}
		})
	}
}
