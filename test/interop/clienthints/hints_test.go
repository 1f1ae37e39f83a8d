// Package clienthints runs the sio client commands against the servers a
// user points them at by mistake (servers.mjs) and checks that each
// failure is one line on stderr, non-zero, naming the fix.
package clienthints

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sio-dev/sio/internal/testutil"
)

var (
	buildOnce sync.Once
	sioPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sio-hints-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sioPath = filepath.Join(dir, "sio")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sio runs the sio command, built once, with a clean environment.
func sio(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	buildOnce.Do(func() {
		if out, err := exec.Command("go", "build", "-o", sioPath, "github.com/sio-dev/sio/cmd/sio").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	cmd := exec.Command(sioPath, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SIO_URL=", "SIO_PROFILE=", "SIO_CONFIG_DIR="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}

func server(t *testing.T, mode string) string {
	t.Helper()
	return fmt.Sprintf("http://127.0.0.1:%d", testutil.StartNodePeer(t, "servers.mjs", mode))
}

func TestEveryClientFailureHasAHint(t *testing.T) {
	wsonly, auth, plainws, plainhttp := server(t, "wsonly"), server(t, "auth"), server(t, "plainws"), server(t, "plainhttp")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"websocket-only server", []string{"emit", "-u", wsonly, "x"}, 1,
			"the server refused HTTP long-polling (Transport unknown): a WebSocket-only server? use --transport websocket"},
		{"refused CONNECT without --auth", []string{"emit", "-u", auth, "x"}, 1,
			`CONNECT_ERROR: unauthorized (refused by the server: pass credentials with --auth '{"token":"…"}')`},
		{"refused CONNECT with --auth", []string{"listen", "-u", auth, "--auth", `{"token":"no"}`}, 1,
			"CONNECT_ERROR: unauthorized (refused by the server: check --auth)"},
		{"URL path meant as --path", []string{"emit", "-u", wsonly + "/socket.io", "--transport", "websocket", "x"}, 1,
			"the server has no namespace /socket.io (the URL's path is the namespace; for the Engine.IO path use --path /socket.io/ and a URL without it)"},
		{"plain WebSocket server", []string{"emit", "-u", plainws, "--transport", "websocket", "--connect-timeout", "2s", "x"}, 1,
			"not a Socket.IO server on /socket.io/"},
		{"plain HTTP server", []string{"emit", "-u", plainhttp, "x"}, 1, "not a Socket.IO server on /socket.io/"},
		{"invalid port", []string{"emit", "-u", "http://localhost:99999", "x"}, 2, `URL "http://localhost:99999": invalid port 99999: want a number from 1 to 65535`},
		{"URL as the event name", []string{"emit", wsonly, "chat"}, 2, "looks like a URL: give the server with -u " + wsonly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := sio(t, tc.args...)
			if code != tc.code || out != "" || !strings.HasPrefix(errOut, "sio: ") || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and one line with %q", code, out, errOut, tc.code, tc.want)
			}
		})
	}
	// A message over the server's maxHttpBufferSize: Node closes the
	// connection (over WebSocket after the write succeeded).
	small := server(t, "small")
	big := `"` + strings.Repeat("x", 2000) + `"`
	for _, args := range [][]string{{"--transport", "polling"}, {"--transport", "websocket"}, {"--ack", "--transport", "websocket"}} {
		code, _, errOut := sio(t, append([]string{"emit", "-u", small, "big", big}, args...)...)
		if code != 1 || !strings.Contains(errOut, "over the server's limit of 1000 bytes (its maxHttpBufferSize)") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// -o json: the refused CONNECT is a JSON line on stdout, as every packet.
	code, out, errOut := sio(t, "emit", "-u", auth, "x", "-o", "json")
	if code != 1 || !strings.Contains(out, `"type":"CONNECT_ERROR"`) || !strings.Contains(out, `"unauthorized"`) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("emit -o json refused: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}
