package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// connectNode starts Node's socket.io 4.8 server and sio connect's TUI on
// it, connected.
func connectNode(t *testing.T) (*term, string) {
	t.Helper()
	url := "http://127.0.0.1:" + startNode(t, "node-server.cjs")
	tm := startTerm(t, "connect", url)
	tm.waitText(10*time.Second, "● connected", "sid ")
	return tm, url
}

// logRows are the screen's log rows showing event name.
func logRows(scr, name string) []string {
	var rows []string
	for _, l := range strings.Split(scr, "\n") {
		if strings.Contains(l, "< EVENT") && strings.Contains(l, name) {
			rows = append(rows, strings.TrimSpace(l))
		}
	}
	return rows
}

var pausedRE = regexp.MustCompile(`PAUSED \+(\d+)`)

// Issue 15.1: pausing while the server floods freezes what is on the
// screen; the flood is counted, and resuming shows it.
func TestConnectTUIPauseUnderFloodAgainstNode(t *testing.T) {
	tm, _ := connectNode(t)
	tm.typeKeys("e")
	tm.waitText(5*time.Second, "enter send")
	tm.typeKeys("flood\t40000\r")
	tm.waitText(10*time.Second, `sent "flood"`)
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "/ filter")
	tm.waitText(10*time.Second, "< EVENT", "tick")
	tm.typeKeys("p")
	tm.waitRegexp(10*time.Second, pausedRE)
	frozen := logRows(tm.text(), "tick")
	if len(frozen) == 0 {
		t.Fatalf("no tick rows on the paused screen:\n%s", tm.text())
	}
	// Wait for the flood to go on behind the pause, past the log's 10,000
	// entries (the ring that used to evict the paused rows), then check
	// the rows did not move.
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := tm.waitRegexp(10*time.Second, pausedRE)
		if n, _ := strconv.Atoi(m[1]); n >= 15000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flood behind the pause did not reach 15000:\n%s", tm.text())
		}
		select {
		case <-tm.changed:
		case <-time.After(time.Second):
		}
	}
	if now := logRows(tm.text(), "tick"); !slices.Equal(now, frozen) {
		t.Errorf("the paused screen changed:\nbefore %q\nafter  %q", frozen, now)
	}
	// Resuming follows the tail again: the last tick shows.
	tm.typeKeys("p")
	tm.waitText(30*time.Second, "tick 39999")
	tm.quit()
}

// Issue 15.2: a second namespace with its own auth, from the UI; a refused
// one can be closed.
func TestConnectTUISecondNamespaceWithAuthAgainstNode(t *testing.T) {
	tm, _ := connectNode(t)
	tm.typeKeys("n")
	tm.waitText(5*time.Second, "open namespace")
	tm.typeKeys(`admin {"token":"wrong"}` + "\r")
	tm.waitText(10*time.Second, "unauthorized")
	tm.typeKeys("x") // closes the refused namespace
	tm.waitText(10*time.Second, "closed /admin")
	if strings.Contains(strings.SplitN(tm.text(), "\n", 3)[1], "/admin") {
		t.Errorf("the refused namespace is still in the header:\n%s", tm.text())
	}
	tm.typeKeys("n")
	tm.waitText(5*time.Second, "open namespace")
	tm.typeKeys(`admin {"token":"secret"}` + "\r")
	tm.waitText(10*time.Second, "[/admin]", "opened /admin")
	tm.typeKeys("e")
	tm.waitText(5*time.Second, "enter send")
	tm.typeKeys("who\t1\x14\r")
	tm.waitText(10*time.Second, `ack for "who"`)
	tm.waitRegexp(10*time.Second, regexp.MustCompile(`< ACK +/admin #0 \{"node":"who","nsp":"/admin"\}`))
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "/ filter") // esc then q at once would read as alt+q
	tm.quit()
}

// Issue 15.7: arguments typed over several lines (ctrl+j) are sent as one
// compact JSON value.
func TestConnectTUIMultiLineEditorAgainstNode(t *testing.T) {
	tm, _ := connectNode(t)
	tm.typeKeys("e")
	tm.waitText(5*time.Second, "enter send")
	tm.typeKeys("multi\t{\n  \"a\": 1,\n  \"b\": [1, 2]\n}")
	tm.waitText(5*time.Second, `"b": [1, 2]`)
	tm.typeKeys("\x14\r")
	tm.waitText(10*time.Second, `ack for "multi"`)
	tm.waitRegexp(10*time.Second, regexp.MustCompile(`> EVENT +multi #0 \{"a":1,"b":\[1,2\]\}`)) // sent compact
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "/ filter") // esc then q at once would read as alt+q
	tm.quit()
}

// Issue 15.10: a message saved from the composer is sent again from the
// picker, and by `sio emit @NAME`.
func TestConnectTUISavedMessageAgainstNode(t *testing.T) {
	tm, url := connectNode(t)
	tm.typeKeys("e")
	tm.waitText(5*time.Second, "enter send")
	tm.typeKeys(`keep-me` + "\t" + `"kept" 7` + "\x14\x13")
	tm.waitText(5*time.Second, "save message as")
	tm.typeKeys("\r")
	tm.waitText(10*time.Second, `saved "keep-me"`)
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "/ filter")
	tm.typeKeys("o")
	tm.waitText(10*time.Second, "saved ›", "keep-me")
	tm.typeKeys("kpm\r")
	tm.waitText(10*time.Second, `ack for "keep-me"`)
	tm.waitRegexp(10*time.Second, regexp.MustCompile(`> EVENT +keep-me #0 "kept" 7`)) // the saved message, sent
	tm.quit()

	cmd := exec.Command(sioBin, "emit", "-u", url, "@keep-me")
	cmd.Env = append(os.Environ(), "SIO_CONFIG_DIR="+filepath.Join(tm.home, "config"), "NO_COLOR=1", "SIO_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"keep-me"`) || !strings.Contains(string(out), `{"node":"keep-me"}`) {
		t.Errorf("sio emit @keep-me: %v\n%s", err, out)
	}
}

// Issue 15.14: sio proxy --tui between socket.io-client 4.8 and a
// socket.io 4.8 server: the client's traffic shows in the dashboard, e
// injects an event to it, D kills its session.
func TestProxyTUIBetweenNodePeers(t *testing.T) {
	target := "http://127.0.0.1:" + startNode(t, "node-server.cjs")
	tm := startTerm(t, "proxy", "--target", target, "--listen", "127.0.0.1:0", "--tui")
	m := tm.waitRegexp(10*time.Second, regexp.MustCompile(`(http://127\.0\.0\.1:\d+) → `))
	startNode(t, "node-client.cjs", m[1])
	tm.waitText(10*time.Second, "sockets 1")
	tm.typeKeys("3")
	tm.waitText(10*time.Second, "from-node", `{"hello":"dashboard"}`)
	tm.typeKeys("e")
	tm.waitText(5*time.Second, "enter send")
	tm.typeKeys("pushed\t\"by sio\"\r")
	tm.waitText(10*time.Second, `> EVENT`, `pushed "by sio"`)
	tm.typeKeys("\x1b")
	tm.waitText(5*time.Second, "? help")
	tm.typeKeys("D")
	tm.waitText(5*time.Second, "? y/n")
	tm.typeKeys("y")
	tm.waitText(10*time.Second, "kill")
	tm.quit()
}
