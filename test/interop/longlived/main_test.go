// Package longlived keeps real Socket.IO sessions up for a minute with a
// one-second heartbeat, as an application does, and checks nothing is lost:
//
//   - server side: a default socket.io-client 4.8, 3.1 and 2.5 on each
//     transport (polling, websocket, polling then the upgrade) against the
//     built `sio serve` and against pkg/server;
//   - client side: the built `sio listen` and pkg/client on each transport
//     against socket.io 4.8, 3.1 and 2.5 servers.
//
// Both sides send numbered events every 100–250 ms (the client with acks),
// with two quiet windows (see newSession), and the tests check every event
// and ack arrived, in order, with no disconnect and no reconnection, across
// dozens of heartbeats. Shorter sessions hid a deadline bug that dropped
// every upgraded client 5 s after its upgrade (issue 10).
//
// The cases wait far more than they compute, so they all run at once: the
// package takes about one session, not one per case.
package longlived

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var sessionDuration = flag.Duration("longlived.duration", 60*time.Second,
	"how long each session lives (the issue asks for at least 60s; shorter only while developing)")

// patience bounds each step that is not the session itself (a process
// starting, connecting, exiting; a control request), generously: the
// machine may be busy with the rest of the suite.
const patience = 60 * time.Second

// parallelCases is how many cases may run at once unless -parallel says
// otherwise: all 36 of them. The default (GOMAXPROCS, 2 in CI) would run
// the one-minute sessions two by two, for 18 minutes.
const parallelCases = 40

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(parallelCases))
	}
	// The race build of cmd/sio is the heaviest step of the package: done
	// first, it does not starve the sessions of the cases that need no
	// binary.
	buildSio()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// session is the shape of one long-lived session, shared with the peers
// (as JSON): how long each side sends, how often, when it stays quiet, and
// the heartbeat.
type session struct {
	DurationMs int `json:"durationMs"`
	MinGapMs   int `json:"minGapMs"`
	MaxGapMs   int `json:"maxGapMs"`
	// ClientQuiet and ServerQuiet are [from, to) windows, in ms from the
	// start, in which that side sends nothing.
	ClientQuiet    [][2]int `json:"clientQuiet"`
	ServerQuiet    [][2]int `json:"serverQuiet"`
	PingIntervalMs int      `json:"pingIntervalMs"`
	PingTimeoutMs  int      `json:"pingTimeoutMs"`
	// GraceMs is how long, after the session, a side waits for what is
	// still in flight before it reports what is missing.
	GraceMs int `json:"graceMs"`
}

// newSession lays out a session of d: both sides send every 100–250 ms,
// except that from 25% to 35% of it only the server sends (its writes are
// then the only traffic besides heartbeats), and from 60% to 70% nobody
// does (the first writes after several idle heartbeats, both ways).
//
// The heartbeat comes every second, so a minute crosses about 60 of them.
// Its timeout is 5 s, not 1 s: with 1 s, Node clients on Node servers
// (no sio involved) dropped polling sessions with "ping timeout" within
// 10 s on this 2-core machine under load, and so did sio's; the drops this
// package hunts (a deadline left behind, a lost write) do not depend on it.
func newSession(d time.Duration) session {
	ms := int(d / time.Millisecond)
	clientOnlyQuiet := [2]int{ms * 25 / 100, ms * 35 / 100}
	bothQuiet := [2]int{ms * 60 / 100, ms * 70 / 100}
	return session{
		DurationMs:     ms,
		MinGapMs:       100,
		MaxGapMs:       250,
		ClientQuiet:    [][2]int{clientOnlyQuiet, bothQuiet},
		ServerQuiet:    [][2]int{bothQuiet},
		PingIntervalMs: 1000,
		PingTimeoutMs:  5000,
		GraceMs:        30000,
	}
}

func (s session) duration() time.Duration { return time.Duration(s.DurationMs) * time.Millisecond }
func (s session) grace() time.Duration    { return time.Duration(s.GraceMs) * time.Millisecond }
func (s session) pingInterval() time.Duration {
	return time.Duration(s.PingIntervalMs) * time.Millisecond
}
func (s session) pingTimeout() time.Duration {
	return time.Duration(s.PingTimeoutMs) * time.Millisecond
}

// minHeartbeats is the fewest heartbeats a session must cross: half of
// those its duration holds (30 for a minute at 1 s). A heartbeat takes the
// interval plus a round trip (Node's server pings again only after the
// pong; an Engine.IO 3 client pings after the last pong), and a busy
// machine stretches the round trip: with the load of a shared 2-core
// machine, a minute held 39 to 60. A session that silently ended early
// holds far fewer.
func (s session) minHeartbeats() int { return s.DurationMs / 2 / s.PingIntervalMs }

// minSent is the fewest events a side with these quiet windows must have
// sent: one per second of its sending time, a quarter of the nominal rate.
func (s session) minSent(quiet [][2]int) int {
	active := s.DurationMs
	for _, w := range quiet {
		active -= w[1] - w[0]
	}
	return active / 1000
}

func (s session) json() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// run calls send(1), send(2), ... on the pace of the peers' paced(): every
// MinGapMs–MaxGapMs for the session, skipping the quiet windows. It returns
// how many it sent, or the first error of send or ctx.
func (s session) run(ctx context.Context, quiet [][2]int, send func(n int) error) (int, error) {
	start := time.Now()
	n := 0
	for {
		gap := time.Duration(s.MinGapMs+rand.IntN(s.MaxGapMs-s.MinGapMs+1)) * time.Millisecond
		timer := time.NewTimer(gap)
		select {
		case <-ctx.Done():
			timer.Stop()
			return n, ctx.Err()
		case <-timer.C:
		}
		elapsed := int(time.Since(start) / time.Millisecond)
		if elapsed >= s.DurationMs {
			return n, nil
		}
		if inWindow(quiet, elapsed) {
			continue
		}
		n++
		if err := send(n); err != nil {
			return n, err
		}
	}
}

func inWindow(windows [][2]int, ms int) bool {
	for _, w := range windows {
		if ms >= w[0] && ms < w[1] {
			return true
		}
	}
	return false
}

// needNode returns node's path; it skips without Node or the interop
// packages, and fails when CI is set.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, pkg := range []string{"socket.io", "socket.io-v3", "socket.io-v2", "socket.io-client", "socket.io-client-v3", "socket.io-client-v2"} {
		if err == nil {
			_, err = os.Stat(filepath.Join("..", "node_modules", pkg))
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("long-lived interop needs node and test/interop/node_modules (run npm ci in test/interop): %v", err)
		}
		t.Skipf("skipping long-lived interop: node or test/interop/node_modules missing (%v)", err)
	}
	return node
}

var (
	binDir   string
	sioBin   string
	buildErr error
)

// buildSio builds cmd/sio with the race detector: a race in a minute of
// real traffic is a finding too.
func buildSio() {
	binDir, buildErr = os.MkdirTemp("", "sio-longlived-")
	if buildErr != nil {
		return
	}
	bin := filepath.Join(binDir, "sio")
	cmd := exec.Command("go", "build", "-race", "-o", bin, "./cmd/sio")
	cmd.Dir = filepath.Join("..", "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build -race ./cmd/sio: %v\n%s", err, out)
		return
	}
	sioBin = bin
}

// sioBinary returns the binary TestMain built.
func sioBinary(t *testing.T) string {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return sioBin
}

// record is one JSON line of a peer or of sio.
type record map[string]any

func (r record) str(k string) string {
	s, _ := r[k].(string)
	return s
}

// num reads a number field, or the first element of an array field (the
// "args" of an event), as an int; ok is false when it is neither.
func (r record) num(k string) (int, bool) {
	v := r[k]
	if a, isArray := v.([]any); isArray {
		if len(a) == 0 {
			return 0, false
		}
		v = a[0]
	}
	f, ok := v.(float64)
	return int(f), ok && f == float64(int(f))
}

func (r record) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// lineLog collects the JSON lines of a process's stdout.
type lineLog struct {
	mu      sync.Mutex
	lines   []record
	bad     []string
	changed chan struct{} // closed and replaced at each new line and at EOF
	eof     bool
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var rec record
		l.mu.Lock()
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			if len(l.bad) < 100 {
				l.bad = append(l.bad, sc.Text())
			}
		} else {
			l.lines = append(l.lines, rec)
		}
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.eof = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *lineLog) snapshot() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.lines...)
}

// wait returns the first line match accepts, waiting up to timeout for it;
// it fails the test at the timeout or when the output ends without it.
func (l *lineLog) wait(t *testing.T, what string, timeout time.Duration, match func(record) bool) record {
	t.Helper()
	r, err := l.await(timeout, match)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return r
}

func (l *lineLog) await(timeout time.Duration, match func(record) bool) (record, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for seen := 0; ; {
		l.mu.Lock()
		for ; seen < len(l.lines); seen++ {
			if match(l.lines[seen]) {
				r := l.lines[seen]
				l.mu.Unlock()
				return r, nil
			}
		}
		eof, ch := l.eof, l.changed
		l.mu.Unlock()
		if eof {
			return nil, errors.New("the output ended without it")
		}
		select {
		case <-ch:
		case <-deadline.C:
			return nil, fmt.Errorf("not there after %s", timeout)
		}
	}
}

// cappedBuffer keeps the first 1 MiB written to it (a process's stderr).
type cappedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 1<<20 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// process is a child (sio or a Node peer) whose stdout is JSON lines.
type process struct {
	name    string
	cmd     *exec.Cmd
	stdinMu sync.Mutex
	stdin   io.WriteCloser
	out     *lineLog
	stderr  *cappedBuffer
	done    chan struct{}
	err     error // cmd.Wait's, once done is closed
}

// start runs bin with args; the test's cleanup kills it if it still runs.
func start(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, out: newLineLog(), stderr: &cappedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.out.read(stdout)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(patience):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		p.checkOutput(t)
	})
	return p
}

// checkOutput reports what a process printed that it should not have: a
// non-JSON line on stdout, or a data race of the race-built sio.
func (p *process) checkOutput(t *testing.T) {
	t.Helper()
	p.out.mu.Lock()
	bad := p.out.bad
	p.out.mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("%s printed non-JSON lines: %q", p.name, bad)
	}
	if strings.Contains(p.stderr.String(), "DATA RACE") {
		t.Errorf("%s: data race:\n%s", p.name, p.stderr.String())
	}
}

// stop sends sig, unless the process already exited, and returns the exit
// status; it fails the test if the process does not exit within patience.
func (p *process) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	select {
	case <-p.done:
		t.Errorf("%s exited before the end of the test", p.name)
	default:
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		select {
		case <-p.done:
		case <-time.After(patience):
			t.Fatalf("%s did not exit after %v", p.name, sig)
		}
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

// send writes a line to the process's stdin.
func (p *process) send(line string) error {
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// peerLine waits for the peer's line of the event; a peer's "error" line
// fails the test at once.
func (p *process) peerLine(t *testing.T, event string, timeout time.Duration, match func(record) bool) record {
	t.Helper()
	r := p.out.wait(t, p.name+": "+event, timeout, func(r record) bool {
		return r.str("event") == "error" || (r.str("event") == event && (match == nil || match(r)))
	})
	if r.str("event") == "error" {
		t.Fatalf("%s: %s\nstderr: %s", p.name, r.str("message"), p.stderr.String())
	}
	return r
}

// checkSequence reports the numbers of got that are not 1, 2, ..., want.
func checkSequence(t *testing.T, what string, got []int, want int) {
	t.Helper()
	var wrong []string
	for i, n := range got {
		if n != i+1 && len(wrong) < 10 {
			wrong = append(wrong, fmt.Sprintf("#%d is %d", i+1, n))
		}
	}
	if len(got) != want || len(wrong) > 0 {
		t.Errorf("%s: %d of %d, out of order: %v", what, len(got), want, wrong)
	}
}
