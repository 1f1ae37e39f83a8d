package browser

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// maxPost bounds one post from the page (its report is a few kB).
const maxPost = 1 << 20

// pageEvent is one post of the page: "ready", "error" or "report".
type pageEvent struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

// page serves the test page, its script and the socket.io-client bundle on
// an origin of its own, and collects what the page posts to /event.
type page struct {
	origin string

	mu      sync.Mutex
	events  []pageEvent
	changed chan struct{} // closed and replaced at each post
}

func startPage(t *testing.T, bundle string) *page {
	t.Helper()
	p := &page{changed: make(chan struct{})}
	mux := http.NewServeMux()
	file := func(name, typ string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", typ)
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFile(w, r, name)
		}
	}
	mux.HandleFunc("GET /{$}", file(filepath.Join("testdata", "page.html"), "text/html; charset=utf-8"))
	mux.HandleFunc("GET /page.js", file(filepath.Join("testdata", "page.js"), "text/javascript"))
	mux.HandleFunc("GET /socket.io.min.js", file(bundle, "text/javascript"))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /event", func(w http.ResponseWriter, r *http.Request) {
		var ev pageEvent
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPost)).Decode(&ev); err != nil {
			t.Errorf("bad post from the page: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.events = append(p.events, ev)
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	p.origin = serveHTTP(t, mux)
	return p
}

// errors lists the errors the page posted so far.
func (p *page) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ev := range p.events {
		if ev.Kind == "error" {
			var msg string
			_ = json.Unmarshal(ev.Data, &msg)
			out = append(out, msg)
		}
	}
	return out
}

// wait returns the data of the page's first post of kind. It gives up
// after timeout, when the page posts an error first, or when the browser
// is gone.
func (p *page) wait(kind string, timeout time.Duration, browser <-chan struct{}) (json.RawMessage, error) {
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for _, ev := range p.events {
			if ev.Kind == kind {
				p.mu.Unlock()
				return ev.Data, nil
			}
		}
		changed := p.changed
		p.mu.Unlock()
		if errs := p.errors(); len(errs) > 0 && kind != "report" {
			return nil, errors.New("the page reported errors before " + kind)
		}
		select {
		case <-changed:
		case <-browser:
			return nil, errors.New("Chromium exited before the page posted " + kind)
		case <-deadline:
			return nil, errors.New("no " + kind + " from the page within " + timeout.String())
		}
	}
}

// serveHTTP serves h on a free loopback port until the test ends and
// returns its origin.
func serveHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h) // 127.0.0.1, a free port
	t.Cleanup(ts.Close)
	return ts.URL
}
