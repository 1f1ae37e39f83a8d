// Package e2e runs the real sio binary in a pseudo-terminal, as a user
// would: it types into the TUI of `sio connect` and `sio serve` and reads
// what the screen shows.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/server"
)

// sioBin is the binary under test, built once by TestMain.
var sioBin string

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" {
		fmt.Println("e2e: skipped: the pseudo-terminal tests run on Linux only")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "sio-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	sioBin = filepath.Join(dir, "sio")
	build := exec.Command("go", "build", "-o", sioBin, "../../cmd/sio")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build sio:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := 0
	goleak.VerifyTestMain(exitRecorder{m, &code})
	os.RemoveAll(dir)
	os.Exit(code)
}

// exitRecorder lets TestMain clean up after goleak.VerifyTestMain, which
// exits by itself.
type exitRecorder struct {
	m    *testing.M
	code *int
}

func (e exitRecorder) Run() int {
	*e.code = e.m.Run()
	return *e.code
}

// Screen size of every test.
const (
	cols = 100
	rows = 30
)

// term is sio running in a pseudo-terminal, with everything it wrote.
type term struct {
	t       *testing.T
	cmd     *exec.Cmd
	pty     *os.File
	mu      sync.Mutex
	out     bytes.Buffer
	scr     *screen
	changed chan struct{} // a signal after each read
	eof     chan struct{} // closed when the output ended
	home    string        // its HOME; its config (saved messages) is in home/config
}

// maxOutput bounds what a test keeps of the terminal output.
const maxOutput = 16 << 20

func startTerm(t *testing.T, args ...string) *term {
	t.Helper()
	cmd := exec.Command(sioBin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"),
		"SIO_CONFIG_DIR="+filepath.Join(home, "config"), "NO_COLOR=", "SIO_URL=")
	p, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, cmd: cmd, pty: p, scr: newScreen(cols, rows), changed: make(chan struct{}, 1), eof: make(chan struct{}), home: home}
	go tm.read()
	t.Cleanup(func() {
		if tm.cmd.ProcessState == nil {
			_ = tm.cmd.Process.Kill()
			_ = tm.cmd.Wait()
		}
		p.Close()
		<-tm.eof
		if t.Failed() {
			t.Logf("the screen at the end:\n%s", tm.text())
		}
	})
	return tm
}

func (tm *term) read() {
	defer close(tm.eof)
	buf := make([]byte, 32<<10)
	for {
		n, err := tm.pty.Read(buf)
		if n > 0 {
			tm.mu.Lock()
			if tm.out.Len()+n <= maxOutput {
				tm.out.Write(buf[:n])
			}
			tm.scr.Write(buf[:n])
			tm.mu.Unlock()
			select {
			case tm.changed <- struct{}{}:
			default:
			}
		}
		if err != nil {
			return // EIO once sio exited and the pty is drained
		}
	}
}

// raw returns the output past from.
func (tm *term) raw(from int) []byte {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return bytes.Clone(tm.out.Bytes()[from:])
}

// text is what the screen shows now.
func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.scr.String()
}

// waitText waits until the screen shows every want at once.
func (tm *term) waitText(timeout time.Duration, want ...string) string {
	tm.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		txt := tm.text()
		missing := ""
		for _, w := range want {
			if !strings.Contains(txt, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return txt
		}
		select {
		case <-tm.changed:
		case <-tm.eof:
			if txt := tm.text(); !containsAll(txt, want) {
				tm.t.Fatalf("sio exited before showing %q", missing)
			}
		case <-deadline.C:
			tm.t.Fatalf("the screen did not show %q within %s", missing, timeout)
		}
	}
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// waitRegexp waits until re matches the screen and returns the match's
// groups.
func (tm *term) waitRegexp(timeout time.Duration, re *regexp.Regexp) []string {
	tm.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if m := re.FindStringSubmatch(tm.text()); m != nil {
			return m
		}
		select {
		case <-tm.changed:
		case <-tm.eof:
			if m := re.FindStringSubmatch(tm.text()); m != nil {
				return m
			}
			tm.t.Fatalf("sio exited before showing %s", re)
		case <-deadline.C:
			tm.t.Fatalf("the screen did not show %s within %s:\n%s", re, timeout, tm.text())
		}
	}
}

// typeKeys writes keys as the user would type them.
func (tm *term) typeKeys(keys string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.pty, keys); err != nil {
		tm.t.Fatalf("type %q: %v", keys, err)
	}
}

// quit presses q and checks that sio exits with status 0 and leaves the
// alternate screen.
func (tm *term) quit() {
	tm.t.Helper()
	tm.typeKeys("q")
	waited := make(chan error, 1)
	go func() { waited <- tm.cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			tm.t.Errorf("sio exited with %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		_ = tm.cmd.Process.Kill()
		<-waited
		tm.t.Fatal("sio did not exit within 10s of q")
	}
	select {
	case <-tm.eof:
	case <-time.After(5 * time.Second):
		tm.t.Fatal("the terminal output did not end")
	}
	out := tm.raw(0)
	if !bytes.Contains(out, []byte("\x1b[?1049l")) {
		tm.t.Errorf("the alternate screen was not left (no ESC[?1049l in %q)", tail(out, 200))
	}
	if !bytes.Contains(out, []byte("\x1b[?25h")) {
		tm.t.Errorf("the cursor was not shown again (no ESC[?25h in %q)", tail(out, 200))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// startAckServer runs a Socket.IO server that answers every ack request
// with "ack-OK-91".
func startAckServer(t *testing.T) string {
	t.Helper()
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.OnAny(func(e *server.Event) {
			if e.WantsAck() {
				_ = e.Ack("ack-OK-91")
			}
		})
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

func TestConnectTUI(t *testing.T) {
	url := startAckServer(t)
	tm := startTerm(t, "connect", url)
	tm.waitText(10*time.Second, "● connected", "sid ")

	// e opens the composer: event, tab, arguments, ctrl+t asks for an ack,
	// enter sends.
	tm.typeKeys("e")
	tm.waitText(5*time.Second, "enter send")
	tm.typeKeys("e2e-ping\tpayload-7f3 42\x14\r")
	tm.waitText(10*time.Second, "ack for \"e2e-ping\"", "ack-OK-91")
	tm.waitRegexp(10*time.Second, regexp.MustCompile(`> EVENT +e2e-ping #0 "payload-7f3" 42`))
	tm.waitRegexp(10*time.Second, regexp.MustCompile(`< ACK +#0 "ack-OK-91"`))

	// esc leaves the composer; then q quits.
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "/ filter")
	tm.quit()
}

func TestServeTUI(t *testing.T) {
	tm := startTerm(t, "serve", "--port", "0")
	m := tm.waitRegexp(10*time.Second, regexp.MustCompile(`sio serve (http://127\.0\.0\.1:\d+)/socket\.io/`))
	url := m[1]

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The dashboard lists the socket and shows its traffic.
	sid := c.SID()
	tm.waitText(10*time.Second, "sockets 1", "target socket "+sid, "Traffic of "+sid)
	if err := c.Emit("from-go-client", "hello-e2e"); err != nil {
		t.Fatal(err)
	}
	tm.waitText(10*time.Second, "from-go-client", "hello-e2e")

	// A second client comes and goes: the Traffic tab shows why it left,
	// as a session line, after its socket has left the Sockets list.
	c2, err := client.Dial(ctx, url, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	sid2 := c2.SID()
	tm.waitText(10*time.Second, "sockets 2")
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	tm.waitText(10*time.Second, "sockets 1")
	tm.typeKeys("3")
	line := regexp.MustCompile(`\d\d:\d\d:\d\d\.\d{3} • ` + regexp.QuoteMeta(sid2[:8]) + ` disconnect / client namespace disconnect`)
	tm.waitRegexp(10*time.Second, line)
	// The filter finds it by its reason.
	tm.typeKeys("/namespace disc")
	scr := tm.waitText(5*time.Second, "Log 1/")
	if !line.MatchString(scr) {
		t.Errorf("the filter hid the disconnect line:\n%s", scr)
	}
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "/ filter")

	tm.quit()
	// The server shut down gracefully: the client saw its connection close.
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Error("the server's shutdown did not close the client's connection")
	}
}

// startNode runs a Node script of testdata with test/interop's packages and
// returns the first line it prints. It skips without Node or the installed
// packages, but fails when CI is set. Closing its stdin ends it.
func startNode(t *testing.T, script string, args ...string) string {
	t.Helper()
	modules, _ := filepath.Abs("../interop/node_modules")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(modules, "socket.io")); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or %s missing (run npm ci in test/interop)", modules)
		}
		t.Skipf("node or %s missing (run npm ci in test/interop)", modules)
	}
	cmd := exec.Command(node, append([]string{filepath.Join("testdata", script), modules}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("node %s: %v", script, err)
		}
	})
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		first <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-first:
		if line == "" {
			t.Fatalf("node %s printed nothing", script)
		}
		return line
	case <-time.After(time.Minute): // Node starts in well under a second, unless the machine is loaded
		_ = cmd.Process.Kill()
		t.Fatalf("node %s printed nothing within a minute", script)
	}
	return ""
}

// The client session against Node's socket.io 4.8.4, as a user would try it.
func TestConnectTUIAgainstNode(t *testing.T) {
	url := "http://127.0.0.1:" + startNode(t, "node-server.cjs")
	tm := startTerm(t, "connect", url)
	tm.waitText(10*time.Second, "● connected", "sid ")
	tm.typeKeys("e")
	tm.waitText(5*time.Second, "enter send")
	tm.typeKeys("from-sio\t'to node' {\"n\":1}\x14\r")
	tm.waitText(10*time.Second, `ack for "from-sio"`)
	tm.waitRegexp(10*time.Second, regexp.MustCompile(`> EVENT +from-sio #0 "to node" \{"n":1\}`))
	tm.waitRegexp(10*time.Second, regexp.MustCompile(`< ACK +#0 \{"node":"from-sio"\}`))
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "/ filter")
	tm.quit()
}

// The dashboard with Node's socket.io-client 4.8.4 connected.
func TestServeTUIWithNodeClient(t *testing.T) {
	tm := startTerm(t, "serve", "--port", "0")
	m := tm.waitRegexp(10*time.Second, regexp.MustCompile(`sio serve (http://127\.0\.0\.1:\d+)/socket\.io/`))
	sid := startNode(t, "node-client.cjs", m[1])
	tm.waitText(10*time.Second, "sockets 1", "target socket "+sid, "from-node", `{"hello":"dashboard"}`)
	tm.quit()
}
