// Package browser runs a real browser against sio: headless Chromium
// (Debian's chromium package; scripts/ci-deps.sh installs it) loads
// socket.io-client 4.8's browser bundle, from test/interop's node_modules,
// in a page this test serves, and talks for 30 s to a Socket.IO server on
// another origin — the built `sio serve` binary, and pkg/server in process:
// polling then the upgrade to WebSocket, acked emits both ways, binary
// (ArrayBuffer) both ways, CORS with withCredentials, a server push every
// 200 ms, and a namespace behind auth. The page (testdata/page.js) checks
// every event against its sequence number and posts its counts back; the
// test asserts that nothing was lost and nothing disconnected.
package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const (
	// session is how long the page stays connected while the test pushes:
	// long enough to cross a default heartbeat (25 s) and anything that
	// goes wrong only seconds after the upgrade.
	session = 30 * time.Second
	// pushEvery is the period of the server's pushes.
	pushEvery = 200 * time.Millisecond
	// pageStart bounds Chromium's start, the page's load and its connect.
	pageStart = 90 * time.Second
	// reportWait bounds the page's drain (20 s in page.js) and its post.
	reportWait = 60 * time.Second
	// The fewest emits and pushes a 30 s session must hold for the test to
	// mean something: a third of the nominal rates (100 ms, 250 ms, 200 ms),
	// so that a loaded machine passes.
	minMsgs, minNotes, minPushes = 100, 40, 50
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { removeSioBinary() }))
}

func TestBrowser(t *testing.T) {
	chromium := needChromium(t)
	bundle := needBundle(t)
	for _, b := range []struct {
		name  string
		start func(t *testing.T, token string) backend
	}{
		{"sio-serve", startSioServe},
		{"pkg-server", startPkgServer},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			token := randomToken(t)
			runSession(t, chromium, bundle, token, b.start(t, token))
		})
	}
}

// backend is the Socket.IO server the page talks to. It echoes every event
// to its sender and acks it with the event's own arguments, requires
// {"token": <token>} as the CONNECT auth of every namespace, and answers
// CORS with credentials for any origin.
type backend interface {
	// Origin is the server's origin, e.g. http://127.0.0.1:41234.
	Origin() string
	// Push emits "push" seq and pattern(seq, 2) with an ack to the page's
	// "/" socket and checks the ack: seq and pattern(seq, 3).
	Push(ctx context.Context, seq int) error
	// Stop emits "stop" pushes to the page's "/" socket.
	Stop(ctx context.Context, pushes int) error
	// Disconnects lists the sockets the server saw end so far. When the
	// test fails, the backend logs what it saw after it stopped.
	Disconnects() []string
}

// nspReport is the page's account of one namespace (page.js, track).
type nspReport struct {
	Connects      int
	Disconnects   []string
	ConnectErrors []string
	Sent          int
	Acked         int
	Echoes        int
	BadAcks       int
	BadEchoes     int
}

// pageReport is what the page posts after "stop" (page.js, report).
type pageReport struct {
	UserAgent         string
	Denied            *string
	OpenTransport     string
	Upgrades          []string
	ReconnectAttempts int
	Errors            []string
	DroppedErrors     int
	Pushes            int
	PushesExpected    int
	FinalTransport    string
	Main              *nspReport
	Secure            *nspReport
}

// runSession opens the page in Chromium against be, pushes to it for the
// session, stops it and checks its report and the server's view.
func runSession(t *testing.T, chromium, bundle, token string, be backend) {
	pg := startPage(t, bundle)
	pageURL := pg.origin + "/?" + url.Values{"server": {be.Origin()}, "token": {token}}.Encode()
	br := startChromium(t, chromium, pageURL)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("page errors: %q\nChromium's output:\n%s", pg.errors(), br.consoleText())
		}
	})

	if _, err := pg.wait("ready", pageStart, br.done); err != nil {
		t.Fatal(err)
	}
	pushes, err := push(pg, br, be)
	if err != nil {
		t.Error(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := be.Stop(ctx, pushes); err != nil {
		t.Errorf("stop: %v", err)
		// No report will come; what the page saw may still be on its way.
		_, _ = pg.wait("error", 10*time.Second, br.done)
		t.FailNow()
	}
	data, err := pg.wait("report", reportWait, br.done)
	if err != nil {
		t.Fatal(err)
	}
	var rep pageReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report: %v: %s", err, data)
	}
	if rep.Main == nil || rep.Secure == nil {
		t.Fatalf("report without its namespaces: %s", data)
	}
	t.Logf("%s: %d pushes; /: %d acked binary emits; /secure: %d acked emits; %s",
		be.Origin(), rep.Pushes, rep.Main.Sent, rep.Secure.Sent, rep.UserAgent)
	checkReport(t, &rep, pushes)
	if d := be.Disconnects(); len(d) > 0 {
		t.Errorf("the server saw sockets disconnect during the session: %q", d)
	}
}

// push pushes to the page every pushEvery for the session, one push (and
// its ack) at a time, and returns how many it pushed. It stops early when
// the page reports an error or Chromium exits.
func push(pg *page, br *browser, be backend) (int, error) {
	tick := time.NewTicker(pushEvery)
	defer tick.Stop()
	end := time.After(session)
	for n := 0; ; n++ {
		select {
		case <-end:
			return n, nil
		case <-br.done:
			return n, fmt.Errorf("Chromium exited after %d pushes", n)
		case <-tick.C:
		}
		if errs := pg.errors(); len(errs) > 0 {
			return n, fmt.Errorf("the page reported errors after %d pushes", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := be.Push(ctx, n)
		cancel()
		if err != nil {
			return n, fmt.Errorf("push %d: %w", n, err)
		}
	}
}

// checkReport asserts the page's report: one connection that started on
// polling and upgraded to WebSocket, no disconnect, every emit acked and
// echoed in order, every push received in order, the wrong token refused.
func checkReport(t *testing.T, rep *pageReport, pushes int) {
	t.Helper()
	if len(rep.Errors) > 0 || rep.DroppedErrors > 0 {
		t.Errorf("the page reported %d errors: %q", len(rep.Errors)+rep.DroppedErrors, rep.Errors)
	}
	if rep.Denied == nil || *rep.Denied != "unauthorized" {
		t.Errorf("a wrong token on /secure: connect_error %v, want \"unauthorized\"", rep.Denied)
	}
	if rep.OpenTransport != "polling" || !slices.Equal(rep.Upgrades, []string{"websocket"}) || rep.FinalTransport != "websocket" {
		t.Errorf("opened on %q, upgrades %q, final transport %q; want polling then one upgrade to websocket (the default)",
			rep.OpenTransport, rep.Upgrades, rep.FinalTransport)
	}
	if rep.ReconnectAttempts != 0 {
		t.Errorf("%d reconnect attempts", rep.ReconnectAttempts)
	}
	if rep.PushesExpected != pushes || rep.Pushes != pushes {
		t.Errorf("the page got %d pushes and was told %d; the test pushed %d", rep.Pushes, rep.PushesExpected, pushes)
	}
	if pushes < minPushes {
		t.Errorf("only %d pushes in %s", pushes, session)
	}
	for _, c := range []struct {
		name string
		r    *nspReport
		min  int
	}{{"/", rep.Main, minMsgs}, {"/secure", rep.Secure, minNotes}} {
		r := c.r
		if r.Connects != 1 || len(r.Disconnects) > 0 || len(r.ConnectErrors) > 0 {
			t.Errorf("%s: %d connects, disconnects %q, connect errors %q; want one connect", c.name, r.Connects, r.Disconnects, r.ConnectErrors)
		}
		if r.Acked != r.Sent || r.Echoes != r.Sent || r.BadAcks > 0 || r.BadEchoes > 0 {
			t.Errorf("%s: sent %d, acked %d (%d wrong), echoed %d (%d wrong)", c.name, r.Sent, r.Acked, r.BadAcks, r.Echoes, r.BadEchoes)
		}
		if r.Sent < c.min {
			t.Errorf("%s: only %d emits in %s", c.name, r.Sent, session)
		}
	}
}

// pattern is the binary argument seq with tag, as page.js's pattern.
func pattern(seq int, tag byte) []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(seq*31+i*7) + tag
	}
	return b
}

func randomToken(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// needChromium finds Debian's chromium: without it the test fails in CI
// and skips elsewhere, saying how to install it.
func needChromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		msg := "the browser test needs Chromium: apt-get install --no-install-recommends chromium (scripts/ci-deps.sh does it as root)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("skipping: %s", msg)
	}
	return path
}

// needBundle finds socket.io-client 4.8's browser bundle in test/interop's
// node_modules: without it the test fails in CI and skips elsewhere.
func needBundle(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "interop", "node_modules", "socket.io-client")
	var pkg struct{ Version string }
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err == nil {
		err = json.Unmarshal(data, &pkg)
	}
	if err == nil && !strings.HasPrefix(pkg.Version, "4.8.") {
		err = fmt.Errorf("socket.io-client is %s, want 4.8.x", pkg.Version)
	}
	bundle := filepath.Join(dir, "dist", "socket.io.min.js")
	if err == nil {
		_, err = os.Stat(bundle)
	}
	if err != nil {
		msg := "the browser test needs test/interop/node_modules (npm ci in test/interop)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("skipping: %s: %v", msg, err)
	}
	return bundle
}
