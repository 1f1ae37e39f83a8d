package eioserver

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{
		AllowRequest: func(r *http.Request) error {
			switch r.URL.Query().Get("deny") {
			case "msg":
				return errors.New("go away")
			case "empty":
				return errors.New("")
			}
			return nil
		},
	}, false)
	sid, _ := ts.handshake("EIO=4&transport=polling")
	tests := []struct {
		name    string
		method  string
		query   string
		status  int
		code    int // -1: no JSON body
		message string
	}{
		{"transport missing", "GET", "EIO=4", 400, 0, "Transport unknown"},
		{"transport unknown", "GET", "EIO=4&transport=foo", 400, 0, "Transport unknown"},
		{"webtransport", "GET", "EIO=4&transport=webtransport", 400, 0, "Transport unknown"},
		{"sid unknown", "GET", "EIO=4&transport=polling&sid=nope", 400, 1, "Session ID unknown"},
		{"POST handshake", "POST", "EIO=4&transport=polling", 400, 2, "Bad handshake method"},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", 400, 2, "Bad handshake method"},
		{"OPTIONS handshake without CORS", "OPTIONS", "EIO=4&transport=polling", 400, 2, "Bad handshake method"},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, 3, "Bad request"},
		{"websocket sid without upgrade", "GET", "EIO=4&transport=websocket&sid=" + sid, 400, 3, "Bad request"},
		{"protocol mismatch", "GET", "EIO=3&transport=polling&sid=" + sid, 400, 3, "Bad request"},
		{"allowRequest message", "GET", "EIO=4&transport=polling&deny=msg", 403, 4, "go away"},
		{"allowRequest empty", "GET", "EIO=4&transport=polling&deny=empty", 403, 4, "Forbidden"},
		{"EIO missing", "GET", "transport=polling", 400, 5, "Unsupported protocol version"},
		{"EIO=3 without AllowEIO3", "GET", "EIO=3&transport=polling", 400, 5, "Unsupported protocol version"},
		{"EIO=abc", "GET", "EIO=abc&transport=polling", 400, 5, "Unsupported protocol version"},
		{"PUT on a session", "PUT", "EIO=4&transport=polling&sid=" + sid, 500, -1, ""},
		{"OPTIONS on a session", "OPTIONS", "EIO=4&transport=polling&sid=" + sid, 500, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(tt.method, tt.query, nil, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (%q)", r.status, tt.status, r.body)
			}
			if tt.code < 0 {
				if r.body != "" {
					t.Fatalf("body %q", r.body)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type %q", ct)
			}
			e := jsonBody(t, r.body)
			if e.Code != tt.code || e.Message != tt.message {
				t.Fatalf("got %+v", e)
			}
		})
	}
	t.Run("exact body", func(t *testing.T) {
		r := ts.do("GET", "EIO=4&transport=foo", nil, nil)
		if r.body != `{"code":0,"message":"Transport unknown"}` {
			t.Fatalf("body %q", r.body)
		}
	})
	t.Run("wrong path", func(t *testing.T) {
		res, err := ts.http.Client().Get(ts.http.URL + "/engine.io?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 404 || len(b) != 0 {
			t.Fatalf("got %d %q", res.StatusCode, b)
		}
	})
}

func TestWebSocketUpgradeRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{AllowRequest: func(r *http.Request) error {
		if r.URL.Query().Get("deny") != "" {
			return errors.New("nope")
		}
		return nil
	}}, false)
	tests := []struct {
		name, query, body string
	}{
		{"sid unknown", "EIO=4&transport=websocket&sid=nope", "Session ID unknown"},
		{"transport unknown", "EIO=4&transport=foo", "Transport unknown"},
		{"EIO=3", "EIO=3&transport=websocket", "Unsupported protocol version"},
		{"allowRequest", "EIO=4&transport=websocket&deny=1", "nope"},
		{"allowRequest before EIO", "EIO=3&transport=websocket&deny=1", "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, res, err := websocket.DefaultDialer.Dial(ts.wsURL(tt.query), nil)
			if err == nil {
				c.Close()
				t.Fatal("upgrade accepted")
			}
			if res == nil {
				t.Fatalf("no response: %v", err)
			}
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 400 || string(b) != tt.body || res.Header.Get("Content-Type") != "text/html" ||
				!res.Close {
				t.Fatalf("got %d %v %q", res.StatusCode, res.Header, b)
			}
		})
	}
}
