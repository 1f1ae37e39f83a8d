package browser

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// maxConsole bounds how much of Chromium's output the test keeps.
const maxConsole = 256 << 10

// chromiumFlags run Chromium headless with a throw-away profile and without
// any connection of its own: the background-networking, component-update,
// sync and QUIC flags keep it from dialling Google's services, which this
// machine's closed network would refuse. --no-sandbox because CI runs as
// root; --enable-logging=stderr --v=0 puts the page's console on stderr.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
}

// browser is a running Chromium, in a process group of its own.
type browser struct {
	cmd     *exec.Cmd
	console *tailBuffer
	done    chan struct{} // closed when Chromium has exited
}

// startChromium opens url in headless Chromium. The test's cleanup kills
// Chromium's whole process group (the browser, its zygotes, renderers and
// utility processes) and waits for it.
func startChromium(t *testing.T, bin, url string) *browser {
	t.Helper()
	profile := t.TempDir() // removed after the cleanup below has run
	b := &browser{console: &tailBuffer{max: maxConsole}, done: make(chan struct{})}
	b.cmd = exec.Command(bin, append(chromiumFlags, "--user-data-dir="+profile, url)...)
	b.cmd.Stdout, b.cmd.Stderr = b.console, b.console
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Wait also waits for the output pipes, which Chromium's children hold:
	// bound that should one of them escape the group kill.
	b.cmd.WaitDelay = 10 * time.Second
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		pgid := b.cmd.Process.Pid
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("kill chromium's process group: %v", err)
		}
		<-b.done
		// Chromium's children are reparented and reaped once it dies; the
		// group must be empty within the bound.
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(-pgid, 0) == nil {
			if time.Now().After(deadline) {
				t.Errorf("chromium's process group %d still has processes 10 s after SIGKILL", pgid)
				return
			}
			time.Sleep(20 * time.Millisecond) // polling the kernel for the group's end, bounded above
		}
	})
	return b
}

// consoleText is Chromium's output without the D-Bus complaints that every
// run prints on a machine without a session bus.
func (b *browser) consoleText() string {
	var out []string
	for _, line := range strings.Split(b.console.String(), "\n") {
		if !strings.Contains(line, "dbus/") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.dropped += over
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return "[... " + strconv.Itoa(b.dropped) + " bytes dropped]\n" + string(b.buf)
	}
	return string(b.buf)
}
