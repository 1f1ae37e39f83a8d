package proxy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/proxy"
)

// wsExchange dials base over WebSocket, reads the open packet, sends each
// frame in turn and returns every message and the close it then sees,
// one line each.
func wsExchange(t *testing.T, base string, frames []string) []string {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var seen []string
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, _, err := c.ReadMessage(); err != nil { // the open packet (its sid differs)
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := c.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
			seen = append(seen, "write: "+err.Error())
			break
		}
	}
	for {
		typ, msg, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				seen = append(seen, fmt.Sprintf("close %d", ce.Code))
			} else {
				seen = append(seen, "closed")
			}
			return seen
		}
		if bytes.HasPrefix(msg, []byte(`40{"sid":`)) {
			msg = []byte(`40{"sid":…}`)
		}
		seen = append(seen, fmt.Sprintf("%d %q", typ, msg))
	}
}

// TestHostileFromClient: frames that do not decode are logged with their
// offset and forwarded, so the server answers them as it would without
// the proxy, and the client sees the same thing.
func TestHostileFromClient(t *testing.T) {
	t.Parallel()
	for _, frames := range [][]string{
		{"40", `42["ok"`}, // unterminated JSON: the server closes
		{"40", "9nope"},   // an unknown Engine.IO type
		{"40", `451-["up",{"_placeholder":true,"num":0}]`, "4x"}, // text where an attachment belongs
	} {
		t.Run(strings.Join(frames, " "), func(t *testing.T) {
			f := newFixture(t, proxy.Options{})
			direct := wsExchange(t, f.tg.hs.URL, frames)
			through := wsExchange(t, f.hs.URL, frames)
			if strings.Join(direct, "\n") != strings.Join(through, "\n") {
				t.Errorf("through the proxy the client saw\n%s\nand directly\n%s", strings.Join(through, "\n"), strings.Join(direct, "\n"))
			}
			t.Logf("both saw %q", through)
			e := f.rec.waitFor(t, "the decode error", func(e proxy.Event) bool { return e.Kind == proxy.KindError })
			if e.From != proxy.FromClient || !strings.Contains(e.Reason, "undecodable frame from the client") {
				t.Errorf("error event %+v", e)
			}
			if frames[1] != "9nope" && e.Offset < 0 && !strings.Contains(e.Reason, "plaintext") {
				t.Errorf("no offset: %+v", e)
			}
		})
	}
}

// TestHostileFromServer: a server that sends garbage (on a poll and over
// WebSocket) reaches the client byte for byte; the proxy logs it and
// neither panics nor stalls the session.
func TestHostileFromServer(t *testing.T) {
	t.Parallel()
	const sid = "HOSTILE"
	garbage := []string{"4{", "42[\"a\",", "6junk", "\x00\xff", "451-[{\"_placeholder\":true,\"num\":7}]"}
	upgrader := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/socket.io/", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Get("transport") == "websocket":
			c, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.WriteMessage(websocket.TextMessage, []byte(`0{"sid":"WS`+sid+`","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
			for _, g := range garbage {
				_ = c.WriteMessage(websocket.TextMessage, []byte(g))
			}
			_ = c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"), time.Now().Add(time.Second))
		case q.Get("sid") == "":
			_, _ = io.WriteString(w, `0{"sid":"`+sid+`","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
		default:
			_, _ = io.WriteString(w, strings.Join(garbage, "\x1e"))
		}
	})
	tgt := httptest.NewServer(mux)
	defer tgt.Close()
	var mu sync.Mutex
	var errs []proxy.Event
	u, _ := url.Parse(tgt.URL)
	px, err := proxy.New(proxy.Options{Target: u, Tap: func(e proxy.Event) {
		if e.Kind == proxy.KindError {
			mu.Lock()
			errs = append(errs, e)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(px)
	defer front.Close()
	defer px.Close()

	for _, path := range []string{"/socket.io/?EIO=4&transport=polling", "/socket.io/?EIO=4&transport=polling&sid=" + sid} {
		resp, err := http.Get(front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := http.Get(tgt.URL + path)
		wantBody, _ := io.ReadAll(want.Body)
		want.Body.Close()
		if !bytes.Equal(got, wantBody) {
			t.Errorf("%s: the client got %q, the server sent %q", path, got, wantBody)
		}
	}
	direct := wsRaw(t, tgt.URL)
	through := wsRaw(t, front.URL)
	if strings.Join(direct, "\n") != strings.Join(through, "\n") {
		t.Errorf("over WebSocket the client saw\n%s\nthrough the proxy, and\n%s\ndirectly", strings.Join(through, "\n"), strings.Join(direct, "\n"))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) < 2 {
		t.Errorf("errors logged: %+v", errs)
	}
	for _, e := range errs {
		if e.From != proxy.FromServer {
			t.Errorf("error blamed on the %s: %s", e.From, e.Reason)
		}
	}
}

// wsRaw reads every message of a WebSocket and its close.
func wsRaw(t *testing.T, base string) []string {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var seen []string
	for {
		typ, msg, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return append(seen, fmt.Sprintf("close %d %s", ce.Code, ce.Text))
			}
			return append(seen, "closed: "+err.Error())
		}
		seen = append(seen, fmt.Sprintf("%d %q", typ, msg))
	}
}
