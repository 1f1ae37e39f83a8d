// Package msgpack_test runs sio's client, as a library and as the sio
// command, against a real socket.io 4.8 server built with
// socket.io-msgpack-parser (server.mjs): events, acks and binary both
// ways, on every transport, and the hint for a parser mismatch.
package msgpack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/testutil"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sioDir != "" {
		os.RemoveAll(sioDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// nodeServer starts server.mjs with the given parser ("msgpack" or
// "json") and returns its base URL.
func nodeServer(t *testing.T, parser string) string {
	t.Helper()
	cfg, _ := json.Marshal(map[string]string{"parser": parser})
	return fmt.Sprintf("http://127.0.0.1:%d", testutil.StartNodePeer(t, "server.mjs", string(cfg)))
}

var (
	sioOnce sync.Once
	sioDir  string
	sioPath string
	sioErr  error
)

// sio runs the sio command (built once) and returns its exit status,
// stdout and stderr.
func sio(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	sioOnce.Do(func() {
		if sioDir, sioErr = os.MkdirTemp("", "sio-msgpack-"); sioErr != nil {
			return
		}
		sioPath = filepath.Join(sioDir, "sio")
		if out, err := exec.Command("go", "build", "-o", sioPath, "github.com/sio-dev/sio/cmd/sio").CombinedOutput(); err != nil {
			sioErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if sioErr != nil {
		t.Fatal(sioErr)
	}
	cmd := exec.Command(sioPath, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SIO_URL=", "SIO_CONFIG_DIR="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errOut.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}

func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var transports = []string{"polling", "websocket", "auto"}

// The library client with the msgpack codec: the server's welcome, an
// ack of binary arguments (top-level and nested) that Node decodes as
// Buffers, binary the server emits, and an ack request from the server.
func TestClientTalksToMsgpackServer(t *testing.T) {
	base := nodeServer(t, "msgpack")
	for _, transport := range transports {
		for _, nsp := range []string{"/", "/admin"} {
			t.Run(transport+nsp, func(t *testing.T) {
				t.Parallel()
				welcome := make(chan string, 1)
				binout := make(chan string, 1)
				answer := make(chan string, 1)
				c, err := client.New(base+nsp, client.Options{
					Transport: transport,
					Codec:     protocol.MsgpackCodec{},
					AckReply:  func(*client.Event) []any { return []any{"forty-two"} },
				})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.On("welcome", func(e *client.Event) { welcome <- string(e.Args[0]) })
				c.On("binout", func(e *client.Event) { binout <- string(e.Inline()) })
				c.On("answer", func(e *client.Event) { answer <- string(e.Args[0]) })
				if err := c.Connect(withTimeout(t)); err != nil {
					t.Fatal(err)
				}
				if got := <-welcome; got != `"`+nsp+`"` {
					t.Errorf("welcome %s, want %q", got, nsp)
				}
				ack, err := c.EmitWithAck(withTimeout(t), "kinds", 1, []byte{1, 2}, map[string]any{"a": []byte{3}})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := string(ack.Inline()), `[["number","buffer:0102","object"],1,{"$binary":"AQI="},{"a":{"$binary":"Aw=="}}]`; got != want {
					t.Errorf("kinds ack %s, want %s", got, want)
				}
				if err := c.Emit("bin"); err != nil {
					t.Fatal(err)
				}
				if got, want := <-binout, `[{"$binary":"AQID"},{"nested":{"$binary":"BA=="}}]`; got != want {
					t.Errorf("binout %s, want %s", got, want)
				}
				if err := c.Emit("askme"); err != nil {
					t.Fatal(err)
				}
				if got := <-answer; got != `"forty-two"` {
					t.Errorf("answer to the server's ack request %s", got)
				}
			})
		}
	}
}

// sio emit, listen and connect with --parser msgpack, as a user runs them.
func TestCommandsWithParserMsgpack(t *testing.T) {
	base := nodeServer(t, "msgpack")
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := sio(t, "", "emit", "-u", base+"/admin", "--parser", "msgpack", "--transport", transport,
				"--ack", "kinds", "1", `{"$binary":"AQI="}`, "-o", "json")
			if code != 0 || !strings.Contains(out, `"args":[["number","buffer:0102"],1,{"$binary":"AQI="}]`) {
				t.Errorf("emit: exit %d\nstdout %s\nstderr %s", code, out, errOut)
			}
			code, out, errOut = sio(t, "", "emit", "-u", base, "--parser", "msgpack", "--transport", transport,
				"bin", "--wait", "binout", "-o", "json")
			if code != 0 || !strings.Contains(out, `"event":"binout","args":[{"$binary":"AQID"},{"nested":{"$binary":"BA=="}}]`) {
				t.Errorf("emit --wait: exit %d\nstdout %s\nstderr %s", code, out, errOut)
			}
			code, out, errOut = sio(t, "", "listen", "-u", base, "--parser", "msgpack", "--transport", transport,
				"welcome", "--count", "1", "-o", "json")
			if code != 0 || !strings.Contains(out, `"event":"welcome","args":["/"]`) {
				t.Errorf("listen: exit %d\nstdout %s\nstderr %s", code, out, errOut)
			}
			code, out, errOut = sio(t, "emit --ack kinds '{\"$x\":1}' '{\"$binary\":\"/w==\"}'\n", "connect", "--no-tui", base,
				"--parser", "msgpack", "--transport", transport, "-o", "json")
			if code != 0 || !strings.Contains(out, `"args":[["object","buffer:ff"],{"$x":1},{"$binary":"/w=="}]`) {
				t.Errorf("connect: exit %d\nstdout %s\nstderr %s", code, out, errOut)
			}
		})
	}
}

// A client whose parser is not the server's gets one line that names the
// flag to use, in both directions and on both transports.
func TestParserMismatchSaysWhichFlag(t *testing.T) {
	servers := map[string]string{"msgpack": nodeServer(t, "msgpack"), "json": nodeServer(t, "json")}
	for _, tc := range []struct{ server, client string }{{"msgpack", "json"}, {"json", "msgpack"}} {
		for _, transport := range []string{"polling", "websocket"} {
			t.Run(tc.server+"-server/"+transport, func(t *testing.T) {
				t.Parallel()
				code, out, errOut := sio(t, "", "emit", "-u", servers[tc.server], "--parser", tc.client, "--transport", transport, "x")
				want := "try --parser " + tc.server
				if code != 1 || out != "" || !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 {
					t.Errorf("exit %d, stdout %q, stderr %q; want one line with %q", code, out, errOut, want)
				}
			})
		}
	}
}
