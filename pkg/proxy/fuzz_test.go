package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sio-dev/sio/pkg/proxy"
)

// fuzzTarget is a fake app server for the fuzz targets: it opens one
// polling session per EIO revision, keeps the last POST body it got, and
// answers polls with the body it is given.
type fuzzTarget struct {
	mu       sync.Mutex
	posted   []byte
	pollBody []byte
	pollType string
}

func (ft *fuzzTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ft.mu.Lock()
	defer ft.mu.Unlock()
	switch {
	case q.Get("sid") == "":
		_, _ = io.WriteString(w, handshakeFor(q.Get("EIO")))
	case r.Method == http.MethodPost:
		ft.posted, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "ok")
	default:
		w.Header().Set("Content-Type", ft.pollType)
		_, _ = w.Write(ft.pollBody)
	}
}

func handshakeFor(eio string) string {
	open := `0{"sid":"F` + eio + `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if eio == "3" {
		return "101:" + open
	}
	return open
}

// fuzzSetup starts the target and the proxy, opens both sessions and
// returns the proxy's URL; every error the proxy reports is checked.
func fuzzSetup(f *testing.F) (*fuzzTarget, string, func() []proxy.Event) {
	ft := &fuzzTarget{}
	tgt := httptest.NewServer(ft)
	var mu sync.Mutex
	var events []proxy.Event
	u, _ := url.Parse(tgt.URL)
	px, err := proxy.New(proxy.Options{Target: u, Tap: func(e proxy.Event) {
		if e.Kind == proxy.KindError {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	}})
	if err != nil {
		f.Fatal(err)
	}
	front := httptest.NewServer(px)
	f.Cleanup(func() {
		front.Close()
		px.Close()
		tgt.Close()
	})
	for _, eio := range []string{"3", "4"} {
		resp, err := http.Get(front.URL + "/socket.io/?EIO=" + eio + "&transport=polling")
		if err != nil {
			f.Fatal(err)
		}
		resp.Body.Close()
	}
	take := func() []proxy.Event {
		mu.Lock()
		defer mu.Unlock()
		out := events
		events = nil
		return out
	}
	return ft, front.URL, take
}

var fuzzContentTypes = []string{"text/plain;charset=UTF-8", "application/octet-stream"}

// addPayloadSeeds seeds both targets with real payloads: a handshake's
// neighbours, events with and without binary, v3 and v4 framings.
func addPayloadSeeds(f *testing.F) {
	for _, s := range []string{
		"40", `42["chat","hi"]`, "40\x1e42[\"a\",1]", `451-["up",{"_placeholder":true,"num":0}]` + "\x1ebAQID",
		"2", "3", "6", "1", `43/admin,1["ok"]`, "4{", "9", "", "\x1e\x1e",
		`9:42["a",1]5:431[]`, "2:40", "6:b4AQID",
	} {
		for eio := range 2 {
			for ct := range 2 {
				f.Add(uint8(eio), uint8(ct), []byte(s))
			}
		}
	}
	f.Add(uint8(0), uint8(1), []byte{0, 2, 0xff, '4', '0', 1, 4, 0xff, 4, 1, 2, 3})
}

// checkErrors: decode errors never claim an offset past the body.
func checkErrors(t *testing.T, events []proxy.Event, body []byte) {
	for _, e := range events {
		if e.Offset > len(body) {
			t.Fatalf("error offset %d past a %d-byte body: %s", e.Offset, len(body), e.Reason)
		}
	}
}

// FuzzProxyFromClient sends any body a client may POST (v3/v4, text or
// binary) through the proxy: the server gets it byte for byte, whatever
// the decoder makes of it.
func FuzzProxyFromClient(f *testing.F) {
	addPayloadSeeds(f)
	ft, front, take := fuzzSetup(f)
	f.Fuzz(func(t *testing.T, eio, ct uint8, body []byte) {
		v := []string{"3", "4"}[eio%2]
		resp, err := http.Post(front+"/socket.io/?EIO="+v+"&transport=polling&sid=F"+v, fuzzContentTypes[ct%2], bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ft.mu.Lock()
		posted := ft.posted
		ft.mu.Unlock()
		if resp.StatusCode != http.StatusOK || string(answer) != "ok" || !bytes.Equal(posted, body) {
			t.Fatalf("status %d %q; the server got %q, the client sent %q", resp.StatusCode, answer, posted, body)
		}
		checkErrors(t, take(), body)
	})
}

// FuzzProxyFromServer answers a poll with any body a server may send: the
// client gets it byte for byte.
func FuzzProxyFromServer(f *testing.F) {
	addPayloadSeeds(f)
	ft, front, take := fuzzSetup(f)
	f.Fuzz(func(t *testing.T, eio, ct uint8, body []byte) {
		v := []string{"3", "4"}[eio%2]
		if bytes.HasPrefix(body, []byte("1")) || bytes.Contains(body, []byte("\x1e1")) || strings.Contains(string(body), ":1") {
			// A close packet ends the tracked session; what follows would be
			// a new one. Forwarding is the same, the check needs a session.
			body = append([]byte("6"), body...)
		}
		ft.mu.Lock()
		ft.pollBody, ft.pollType = body, fuzzContentTypes[ct%2]
		ft.mu.Unlock()
		resp, err := http.Get(front + "/socket.io/?EIO=" + v + "&transport=polling&sid=F" + v)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, body) {
			t.Fatalf("the client got %q, the server sent %q", got, body)
		}
		checkErrors(t, take(), body)
	})
}
