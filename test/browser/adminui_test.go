package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/client"
)

// adminUIWait bounds each step of the admin UI test: Chromium's start, the
// app's load, the login, each view.
const adminUIWait = 120 * time.Second

// TestOfficialAdminUI loads the official admin UI's built app
// (@socket.io/admin-ui 0.5.1's ui/dist, from test/interop's node_modules)
// in headless Chromium, logs in to `sio serve --admin-ui --admin-auth`
// through its form, and reads in its DOM a connected client's socket id
// and room.
func TestOfficialAdminUI(t *testing.T) {
	chromium := needChromium(t)
	dist := needAdminUI(t)

	// sio serve, with --rooms so that the client can join a room.
	cmd := exec.Command(sioBinary(t), "serve", "--port", "0", "-o", "json", "--quiet", "--rooms",
		"--admin-ui", "--admin-auth", "ops:s3cret")
	stderr := &tailBuffer{max: maxConsole}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	origin := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l struct {
				Type string
				Data struct{ URL string }
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Type == "listening" {
				origin <- l.Data.URL
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("sio serve's stderr:\n%s", stderr)
		}
	})
	var server string
	select {
	case server = <-origin:
	case <-done:
		t.Fatalf("sio serve exited:\n%s", stderr)
	case <-time.After(adminUIWait):
		t.Fatalf("sio serve did not listen:\n%s", stderr)
	}

	// A connected client, in a room.
	ctx, cancel := context.WithTimeout(context.Background(), adminUIWait)
	defer cancel()
	// On "/": the UI's views show the namespace "/" first.
	c, err := client.Dial(ctx, server, client.Options{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.EmitWithAck(ctx, "join", "night-shift"); err != nil {
		t.Fatalf("join: %v", err)
	}

	pg := serveAdminUI(t, dist)
	pageURL := pg.origin + "/?" + url.Values{"server": {server}, "user": {"ops"}, "pass": {"s3cret"},
		"socket": {c.SID()}, "room": {"night-shift"}}.Encode()
	br := startChromium(t, chromium, pageURL)
	for _, step := range []string{"logged-in", "sockets", "rooms"} {
		data, err := pg.wait(step, adminUIWait, br.done)
		if err != nil {
			t.Fatalf("%v\npage errors: %q\nChromium:\n%s", err, pg.errors(), br.consoleText())
		}
		var text string
		_ = json.Unmarshal(data, &text)
		t.Logf("%s: %q", step, text)
		switch step {
		case "sockets":
			// The sockets view's row: the id, the address, the transport.
			if !regexp.MustCompile(regexp.QuoteMeta(c.SID()) + `\s+127\.0\.0\.1\s+(WebSocket|HTTP long-polling)`).MatchString(text) {
				t.Errorf("the sockets view's row of %s:\n%s", c.SID(), text)
			}
		case "rooms":
			// The room's row: its name and its one socket.
			if !regexp.MustCompile(`night-shift\s+(\S+\s+)?1\b`).MatchString(text) {
				t.Errorf("the rooms view's row of night-shift:\n%s", text)
			}
		}
	}
}

// needAdminUI finds the official admin UI's built app: without it the
// test fails in CI and skips elsewhere.
func needAdminUI(t *testing.T) string {
	t.Helper()
	dist := filepath.Join("..", "interop", "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		msg := "the admin UI test needs test/interop/node_modules (npm ci in test/interop)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skipf("skipping: %s: %v", msg, err)
	}
	return dist
}

// externalLink matches the index's links to Google Fonts and jsDelivr,
// which this machine's closed network cannot reach (icons and fonts only).
var externalLink = regexp.MustCompile(`<link rel="stylesheet" href="https://[^"]*">`)

// serveAdminUI serves the built app on an origin of its own, its index
// with the driving script (testdata/adminui.js) added after the app's own
// and without the external links, and collects the script's posts.
func serveAdminUI(t *testing.T, dist string) *page {
	t.Helper()
	index, err := os.ReadFile(filepath.Join(dist, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := externalLink.ReplaceAllString(string(index), "")
	html = strings.Replace(html, "</body>", `<script src="/sio-drive.js"></script></body>`, 1)
	p := &page{changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, html)
	})
	mux.HandleFunc("GET /sio-drive.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, filepath.Join("testdata", "adminui.js"))
	})
	mux.Handle("GET /", http.FileServer(http.Dir(dist)))
	mux.HandleFunc("POST /event", func(w http.ResponseWriter, r *http.Request) {
		var ev pageEvent
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPost)).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.record(ev)
		w.WriteHeader(http.StatusNoContent)
	})
	p.origin = serveHTTP(t, mux)
	return p
}

// record keeps one post of the page and wakes its waiters.
func (p *page) record(ev pageEvent) {
	p.mu.Lock()
	p.events = append(p.events, ev)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}
