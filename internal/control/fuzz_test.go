package control

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// FuzzControlAPI sends fuzzed request bodies (and, for the GET endpoints,
// query strings) to the control API's HTTP handler. "$SID" in the input is
// replaced by the id of a real client connected over loopback, so that
// emit, join and leave reach a socket; disconnect runs against a server
// with no socket, so that the client stays for the next input.
//
// Properties, beyond not panicking:
//   - every answer is one JSON object with Content-Type application/json,
//     status 200, 400 or 404 (never 500), and an "error" text unless 200;
//   - a body that is not one JSON value, is not an object (or null), or has
//     a key the endpoint does not know (compared as encoding/json does,
//     case-insensitively) is a 400: a typo must not widen an emit;
//   - emit: "sent" is 0 or 1; when 1, the client gets that event with the
//     same arguments ({"$binary"} values as the same bytes); with an ack
//     wait, one answer per socket, "timeout" or the client's echo of the
//     arguments;
//   - join and leave answer the socket's rooms with the room in or out;
//   - sockets lists only what the filter names.
//
// Seeds: the examples of the package documentation and CLI.md's argument
// forms.
func FuzzControlAPI(f *testing.F) {
	seeds := []struct {
		ep   uint8
		body string
	}{
		{fzEmit, `{"event":"posts","args":[{"action":"create"}]}`},
		{fzEmit, `{"room":"r1","event":"posts","args":[{"action":"create"}]}`},
		{fzEmit, `{"event":"all","args":[1,"two",{"$binary":"AQID"}]}`},
		{fzEmit, `{"socket":"$SID","event":"direct","args":["x",{"f":{"$binary":""},"n":1e400}],"ack":true}`},
		{fzEmit, `{"namespace":"/","event":"q","args":[],"ack":"250ms"}`},
		{fzEmit, `{"namespace":"/admin","event":"adm"}`},
		{fzEmit, `{"event":"connect"}`},
		{fzEmit, `{"Event":"x","evnt":"y"}`},
		{fzEmit, `{"event":"x","ack":1500.5} {}`},
		{fzJoin, `{"socket":"$SID","room":"r1"}`},
		{fzLeave, `{"namespace":"/","socket":"$SID","room":"r1"}`},
		{fzDisconnect, `{"namespace":"/","room":"r1","close":true}`},
		{fzSockets, `namespace=/&room=r1`},
		{fzSockets, `socket=$SID`},
		{fzRooms, `namespace=admin`},
	}
	for _, s := range seeds {
		f.Add(s.ep, []byte(s.body))
	}

	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, ep uint8, input []byte) {
		fx.check(t, ep%fzEndpoints, bytes.ReplaceAll(input, []byte("$SID"), []byte(fx.sid)))
	})
}

const (
	fzEmit = iota
	fzJoin
	fzLeave
	fzDisconnect
	fzSockets
	fzRooms
	fzEndpoints
)

// fuzzFixture is a server with one client (live) and one without any
// socket (empty), each with the control handler.
type fuzzFixture struct {
	live, empty http.Handler
	ctl         *Control
	sid         string
	events      chan *client.Event
}

const fuzzToken = "fuzz"

func newFuzzFixture(f *testing.F) *fuzzFixture {
	srv := server.New(server.Options{})
	hs := httptest.NewServer(srv)
	empty := server.New(server.Options{})
	fx := &fuzzFixture{
		ctl:    New(srv),
		empty:  NewHandler(New(empty), fuzzToken),
		events: make(chan *client.Event, 16),
	}
	fx.live = NewHandler(fx.ctl, fuzzToken)
	c, err := client.New(hs.URL+"/", client.Options{
		NoReconnect: true,
		// Echo the arguments, inline, as one argument: the answer then
		// shows what the client received.
		AckReply: func(e *client.Event) []any { return []any{json.RawMessage(e.Inline())} },
	})
	if err != nil {
		f.Fatal(err)
	}
	c.OnAny(func(e *client.Event) { fx.events <- e })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		f.Fatal(err)
	}
	fx.sid = c.SID()
	f.Cleanup(func() {
		_ = c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = empty.Shutdown(ctx)
		hs.Close()
	})
	return fx
}

// fields are the JSON keys each POST endpoint knows.
var fzFields = map[uint8][]string{
	fzEmit:       {"namespace", "room", "socket", "event", "args", "ack"},
	fzJoin:       {"namespace", "socket", "room"},
	fzLeave:      {"namespace", "socket", "room"},
	fzDisconnect: {"namespace", "room", "socket", "close"},
}

// mustRefuse reports whether body is a 400 whatever its values: not one
// JSON value, not UTF-8, not an object or null, or with an unknown key.
func mustRefuse(ep uint8, body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return false
	}
	if !json.Valid(body) || !utf8.Valid(body) {
		return true
	}
	switch body[0] {
	case 'n':
		return false
	case '{':
	default:
		return true
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return true
	}
	for k := range obj {
		if !slices.ContainsFunc(fzFields[ep], func(f string) bool { return strings.EqualFold(f, k) }) {
			return true
		}
	}
	return false
}

func (fx *fuzzFixture) check(t *testing.T, ep uint8, input []byte) {
	h := fx.live
	var req *http.Request
	switch ep {
	case fzSockets, fzRooms:
		path := Prefix + "sockets"
		if ep == fzRooms {
			path = Prefix + "rooms"
		}
		req = httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = string(input)
	default:
		path := map[uint8]string{fzEmit: "emit", fzJoin: "join", fzLeave: "leave", fzDisconnect: "disconnect"}[ep]
		req = httptest.NewRequest(http.MethodPost, Prefix+path, bytes.NewReader(input))
		if ep == fzDisconnect {
			h = fx.empty
		}
	}
	req.Header.Set("Authorization", "Bearer "+fuzzToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("answer %q is not a JSON object: %v", rec.Body, err)
	}
	switch rec.Code {
	case http.StatusOK:
	case http.StatusBadRequest, http.StatusNotFound:
		var msg string
		if json.Unmarshal(resp["error"], &msg) != nil || msg == "" {
			t.Fatalf("%d without an error text: %s", rec.Code, rec.Body)
		}
	default:
		t.Fatalf("status %d: %s (input %q)", rec.Code, rec.Body, input)
	}
	if ep != fzSockets && ep != fzRooms && mustRefuse(ep, input) && rec.Code != http.StatusBadRequest {
		t.Fatalf("body %q answered %d %s, want 400", input, rec.Code, rec.Body)
	}
	if rec.Code != http.StatusOK {
		return
	}
	switch ep {
	case fzEmit:
		fx.checkEmit(t, input, resp)
	case fzJoin, fzLeave:
		var r roomRequest
		firstValue(input, &r)
		var rooms []string
		if err := json.Unmarshal(resp["rooms"], &rooms); err != nil {
			t.Fatalf("rooms in %s: %v", rec.Body, err)
		}
		if slices.Contains(rooms, r.Room) != (ep == fzJoin) {
			t.Fatalf("after %s of %q the rooms are %q", map[uint8]string{fzJoin: "join", fzLeave: "leave"}[ep], r.Room, rooms)
		}
		if ep == fzJoin {
			// Leave again, so that rooms do not pile up over a long run.
			if _, err := fx.ctl.Leave(Target{Socket: fx.sid}, r.Room); err != nil {
				t.Fatal(err)
			}
		}
	case fzSockets:
		var socks []Socket
		if err := json.Unmarshal(resp["sockets"], &socks); err != nil {
			t.Fatalf("sockets in %s: %v", rec.Body, err)
		}
		q := req.URL.Query()
		for _, s := range socks {
			if id := q.Get("socket"); id != "" && s.ID != id {
				t.Fatalf("filter socket=%q listed %q", id, s.ID)
			}
			if nsp := q.Get("namespace"); nsp != "" && s.Namespace != normalize(nsp) {
				t.Fatalf("filter namespace=%q listed one of %q", nsp, s.Namespace)
			}
			if room := q.Get("room"); room != "" && q.Get("socket") == "" && !slices.Contains(s.Rooms, room) && room != s.ID {
				t.Fatalf("filter room=%q listed %q in %q", room, s.ID, s.Rooms)
			}
		}
	}
}

// firstValue decodes the request an accepted body holds: its first JSON
// value, as the handler reads it.
func firstValue(body []byte, v any) {
	_ = json.NewDecoder(bytes.NewReader(body)).Decode(v)
}

// checkEmit checks a 200 answer to an emit against what the client got.
func (fx *fuzzFixture) checkEmit(t *testing.T, input []byte, resp map[string]json.RawMessage) {
	var r emitRequest
	firstValue(input, &r)
	var sent int
	if err := json.Unmarshal(resp["sent"], &sent); err != nil || sent < 0 || sent > 1 {
		t.Fatalf("sent %s, want 0 or 1", resp["sent"])
	}
	want := r.Args
	if len(bytes.TrimSpace(want)) == 0 || string(bytes.TrimSpace(want)) == "null" {
		want = json.RawMessage("[]")
	}
	if sent == 1 {
		select {
		case e := <-fx.events:
			if e.Name != r.Event {
				t.Fatalf("client got event %q, want %q", e.Name, r.Event)
			}
			if !sameArgs(t, e.Inline(), want) {
				t.Fatalf("client got %s, want %s", e.Inline(), want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("sent 1, but the client got nothing")
		}
	}
	raw, ok := resp["acks"]
	if !ok {
		return
	}
	var acks []Answer
	if err := json.Unmarshal(raw, &acks); err != nil || len(acks) != sent {
		t.Fatalf("acks %s for %d sockets (%v)", raw, sent, err)
	}
	for _, a := range acks {
		if a.Error == "timeout" {
			continue // the wait may be shorter than a round trip
		}
		if a.Error != "" {
			t.Fatalf("ack error %q", a.Error)
		}
		var echo []json.RawMessage
		if err := json.Unmarshal(a.Args, &echo); err != nil || len(echo) != 1 || !sameArgs(t, echo[0], want) {
			t.Fatalf("ack %s, want the echo [%s]", a.Args, want)
		}
	}
}

// sameArgs compares two argument arrays by meaning: {"$binary"} values by
// their bytes, objects as maps (key order and duplicates as JavaScript
// reads them: the last one wins), numbers by their text.
func sameArgs(t *testing.T, a, b []byte) bool {
	return reflect.DeepEqual(canonArgs(t, a), canonArgs(t, b))
}

func canonArgs(t *testing.T, raw []byte) any {
	data, atts, err := protocol.ExtractBinary(raw)
	if err != nil {
		t.Fatalf("ExtractBinary(%s): %v", raw, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	// Placeholders become []byte (Values' helper), which no JSON value
	// decodes to; a 200 emit has no placeholder out of range.
	v, err = resolvePlaceholders(v, atts)
	if err != nil {
		t.Fatalf("placeholders of %s: %v", data, err)
	}
	return v
}
