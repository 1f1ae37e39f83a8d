package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
)

var (
	buildOnce sync.Once
	sioBin    string
	buildErr  error
)

// sioBinary builds cmd/sio once for the package's tests.
func sioBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sio-proxy-interop-")
		if err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(dir, "sio")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/sio")
		cmd.Dir = filepath.Join("..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sio: %v\n%s", err, out)
			return
		}
		sioBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sioBin
}

// startServe runs `sio serve --echo --rooms --auth` on a free port and
// returns its port; it is stopped when the test ends.
func startServe(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(sioBinary(t), "serve", "-p", "0", "--no-tui", "-o", "json", "--quiet", "--echo", "--rooms", "--auth", `{"token":"secret"}`)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	ports := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r struct {
				Type string
				Data struct{ URL string }
			}
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Type == "listening" {
				var port int
				if _, err := fmt.Sscanf(r.Data.URL[strings.LastIndexByte(r.Data.URL, ':')+1:], "%d", &port); err == nil {
					ports <- port
				}
			}
		}
	}()
	select {
	case p := <-ports:
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("sio serve did not start")
	}
	return 0
}

// TestClientsThroughProxyToSioServe: socket.io-client 4.8, 3.1 and 2.5
// see the same from sio serve with and without the proxy between them,
// and the proxy decodes what both sent.
func TestClientsThroughProxyToSioServe(t *testing.T) {
	for _, client := range []int{4, 3, 2} {
		for _, transport := range []string{"polling", "websocket", "upgrade"} {
			t.Run(fmt.Sprintf("client-v%d/%s", client, transport), func(t *testing.T) {
				t.Parallel()
				testutil.RequireNode(t)
				port := startServe(t)
				cfg := map[string]any{"client": client, "transport": transport, "parser": "json", "serve": true,
					"url": fmt.Sprintf("http://127.0.0.1:%d", port)}
				direct, stop := runClient(t, cfg)
				stop()
				hs, _, rec := startProxy(t, port, proxy.Options{})
				cfg["url"] = hs.URL
				through, stop := runClient(t, cfg)
				stop()
				slices.Sort(direct)
				slices.Sort(through)
				if !slices.Equal(direct, through) {
					t.Errorf("through the proxy the client saw\n%s\nand directly\n%s", strings.Join(through, "\n"), strings.Join(direct, "\n"))
				}
				var echoes, pairedAcks int
				for _, e := range rec.snapshot() {
					if e.Kind == proxy.KindError {
						t.Errorf("proxy error: %s", e.Reason)
					}
					if e.Kind != proxy.KindPacket || e.Trace.Layer != protocol.LayerSocket {
						continue
					}
					r := render.FromTrace(e.Trace, false)
					if r.Event == "echo" && strings.HasPrefix(string(r.Args), `["hi",{"$binary":"AQID"}`) {
						echoes++ // the client's event, and sio serve's echo of it
					}
					if e.Acked && e.From == proxy.FromServer && (e.AckEvent == "echo" || e.AckEvent == "join") {
						pairedAcks++
					}
				}
				if echoes != 4 || pairedAcks != 4 {
					t.Errorf("decoded %d echo events (want 2 per namespace) and %d paired acks (want 2 per namespace)", echoes, pairedAcks)
				}
			})
		}
	}
}
