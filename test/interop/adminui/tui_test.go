package adminui

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
)

// terminal is the built sio in a pseudo-terminal, with everything it
// printed kept, ANSI stripped, to wait on.
type terminal struct {
	t    *testing.T
	f    *os.File
	mu   sync.Mutex
	cond *sync.Cond
	out  bytes.Buffer
	done bool
}

func startTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(sioBinary(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"), "NO_COLOR=1")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, f: f}
	tm.cond = sync.NewCond(&tm.mu)
	exited := make(chan error, 1)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			if err != nil {
				tm.done = true
			}
			tm.cond.Broadcast()
			tm.mu.Unlock()
			if err != nil {
				exited <- cmd.Wait()
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(patience):
			_ = cmd.Process.Kill()
			<-exited
		}
		f.Close()
	})
	return tm
}

// waitText waits until the screen output so far contains s.
func (tm *terminal) waitText(s string) {
	tm.t.Helper()
	timer := time.AfterFunc(patience, func() {
		tm.mu.Lock()
		tm.done = true
		tm.cond.Broadcast()
		tm.mu.Unlock()
	})
	defer timer.Stop()
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for !strings.Contains(ansi.Strip(tm.out.String()), s) {
		if tm.done {
			tail := ansi.Strip(tm.out.String())
			tail = tail[max(len(tail)-3000, 0):]
			tm.t.Fatalf("the dashboard never showed %q; it showed:\n%s", s, tail)
		}
		tm.cond.Wait()
	}
}

func (tm *terminal) keys(s string) {
	tm.t.Helper()
	if _, err := tm.f.WriteString(s); err != nil {
		tm.t.Fatal(err)
	}
}

// TestTUI: `sio admin` on a terminal shows a Node server's sockets and
// rooms, and its J action makes a socket join a room on the Node side.
func TestTUI(t *testing.T) {
	t.Parallel()
	p := startPeer(t, peerConfig{Auth: "admin:s3cret", ServerID: "node-tui"})
	c1 := p.connect("c1", "/", nil)
	p.send(map[string]any{"op": "serverJoin", "name": "c1", "room": "lobby"})
	p.waitFor("c1 joining lobby", func(r record) bool { return r.str("kind") == "join-room" && r.str("room") == "lobby" })

	tm := startTerminal(t, "admin", "--auth", "admin:s3cret", p.URL())
	tm.waitText(c1)
	tm.keys("3")
	tm.waitText("lobby")
	tm.keys("1")
	tm.waitText("node-tui")
	// Join: select c1 (the first socket of "/", before the admin socket's
	// namespace /admin), J, the room, enter.
	tm.keys("2")
	tm.keys("J")
	tm.waitText("joins room")
	tm.keys("night\r")
	p.waitFor("c1 joining night", func(r record) bool {
		return r.str("kind") == "join-room" && r.str("room") == "night" && r.str("id") == c1
	})
	tm.keys("q")
}
