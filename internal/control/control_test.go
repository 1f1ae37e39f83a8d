package control

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValues(t *testing.T) {
	atts := [][]byte{{1, 2}, {3}}
	tests := []struct {
		name    string
		args    []string
		want    []any
		wantErr bool
	}{
		{"plain JSON stays raw", []string{`{"b":1,"a":2}`, `"x"`}, []any{json.RawMessage(`{"b":1,"a":2}`), json.RawMessage(`"x"`)}, false},
		{"top-level placeholder", []string{`{"_placeholder":true,"num":1}`}, []any{[]byte{3}}, false},
		{"nested placeholder", []string{`{"f":{"_placeholder":true,"num":0},"n":12345678901234567890}`},
			[]any{map[string]any{"f": []byte{1, 2}, "n": json.Number("12345678901234567890")}}, false},
		{"in an array", []string{`[1,{"_placeholder":true,"num":0}]`}, []any{[]any{json.Number("1"), []byte{1, 2}}}, false},
		{"placeholder without attachment", []string{`{"_placeholder":true,"num":5}`}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := make([]json.RawMessage, len(tt.args))
			for i, a := range tt.args {
				raw[i] = json.RawMessage(a)
			}
			got, err := Values(raw, atts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	args, atts, err := ParseArgs(json.RawMessage(`[{"action":"create"},{"$binary":"AQID"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 2 || string(args[0]) != `{"action":"create"}` || string(args[1]) != `{"_placeholder":true,"num":0}` {
		t.Fatalf("args = %s", args)
	}
	if len(atts) != 1 || !bytes.Equal(atts[0], []byte{1, 2, 3}) {
		t.Fatalf("attachments = %v", atts)
	}
	for _, empty := range []string{"", "null", " "} {
		if a, _, err := ParseArgs(json.RawMessage(empty)); err != nil || a != nil {
			t.Errorf("ParseArgs(%q) = %v, %v", empty, a, err)
		}
	}
	for _, bad := range []string{`{"a":1}`, `"x"`, `[1,`} {
		if _, _, err := ParseArgs(json.RawMessage(bad)); err == nil {
			t.Errorf("ParseArgs(%q) accepted", bad)
		}
	}
}

func TestParseAck(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"null", 0, false},
		{"false", 0, false},
		{"0", 0, false},
		{"true", DefaultAckWait, false},
		{"1500", 1500 * time.Millisecond, false},
		{`"2s"`, 2 * time.Second, false},
		{`"abc"`, 0, true},
		{`"-1s"`, 0, true},
		{`"1h"`, 0, true},
		{"-5", 0, true},
		{"[1]", 0, true},
	}
	for _, tt := range tests {
		got, err := parseAck(json.RawMessage(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseAck(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// fixture is a server with the control API and Go clients connected to it.
type fixture struct {
	t     *testing.T
	srv   *server.Server
	url   string
	token string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := server.New(server.Options{})
	srv.OfFunc(func(string, json.RawMessage) bool { return true })
	const token = "s3cret"
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle(Prefix, NewHandler(New(srv), token))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &fixture{t: t, srv: srv, url: hs.URL, token: token}
}

// dial connects a client to nsp; events it receives go to the returned
// channel (name and inline args).
func (f *fixture) dial(nsp string, opts client.Options) (*client.Client, <-chan string) {
	f.t.Helper()
	opts.NoReconnect = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(f.url+nsp, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	got := make(chan string, 16)
	c.OnAny(func(e *client.Event) {
		select {
		case got <- e.Name + " " + string(e.Inline()):
		default:
		}
	})
	if err := c.Connect(ctx); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	return c, got
}

func (f *fixture) do(method, path, body string) (int, map[string]any) {
	return f.doToken(f.token, method, path, body)
}

func (f *fixture) doToken(token, method, path, body string) (int, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Fatalf("%s %s: content type %q, body %s", method, path, ct, data)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		f.t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
	return resp.StatusCode, v
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an event")
		return ""
	}
}

func TestHTTPAuth(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", "wrong", "s3cret2"} {
		code, body := f.doToken(token, http.MethodGet, "/_sio/sockets", "")
		if code != http.StatusUnauthorized || body["error"] == nil {
			t.Errorf("token %q: %d %v", token, code, body)
		}
	}
	if code, _ := f.do(http.MethodGet, "/_sio/sockets", ""); code != http.StatusOK {
		t.Fatalf("good token: %d", code)
	}
}

func TestHTTPListJoinLeave(t *testing.T) {
	f := newFixture(t)
	a, _ := f.dial("/", client.Options{})
	b, _ := f.dial("/", client.Options{})
	adm, _ := f.dial("/admin", client.Options{})

	code, body := f.do(http.MethodGet, "/_sio/sockets", "")
	socks := body["sockets"].([]any)
	if code != 200 || len(socks) != 3 {
		t.Fatalf("sockets: %d %v", code, body)
	}
	first := socks[0].(map[string]any)
	for _, k := range []string{"id", "namespace", "rooms", "transport", "address", "eio", "connectedAt"} {
		if _, ok := first[k]; !ok {
			t.Errorf("socket listing lacks %q: %v", k, first)
		}
	}
	if first["namespace"] != "/" || socks[2].(map[string]any)["namespace"] != "/admin" {
		t.Errorf("not sorted by namespace: %v", socks)
	}
	_, body = f.do(http.MethodGet, "/_sio/sockets?namespace=admin", "")
	if s := body["sockets"].([]any); len(s) != 1 || s[0].(map[string]any)["id"] != adm.SID() {
		t.Errorf("admin sockets: %v", body)
	}
	if code, body := f.do(http.MethodGet, "/_sio/sockets?namespace=/nope", ""); code != 404 || !strings.Contains(body["error"].(string), "/nope") {
		t.Errorf("unknown namespace: %d %v", code, body)
	}

	code, body = f.do(http.MethodPost, "/_sio/join", `{"socket":"`+a.SID()+`","room":"r1"}`)
	if code != 200 || !reflect.DeepEqual(body["rooms"], []any{"r1"}) {
		t.Fatalf("join: %d %v", code, body)
	}
	f.do(http.MethodPost, "/_sio/join", `{"namespace":"/admin","socket":"`+adm.SID()+`","room":"r1"}`)
	_, body = f.do(http.MethodGet, "/_sio/rooms", "")
	want := []any{
		map[string]any{"namespace": "/", "name": "r1", "members": []any{a.SID()}},
		map[string]any{"namespace": "/admin", "name": "r1", "members": []any{adm.SID()}},
	}
	if !reflect.DeepEqual(body["rooms"], want) {
		t.Errorf("rooms = %v, want %v", body["rooms"], want)
	}
	_, body = f.do(http.MethodGet, "/_sio/sockets?room=r1&namespace=/", "")
	if s := body["sockets"].([]any); len(s) != 1 || s[0].(map[string]any)["id"] != a.SID() {
		t.Errorf("sockets in r1: %v", body)
	}
	code, body = f.do(http.MethodPost, "/_sio/leave", `{"socket":"`+a.SID()+`","room":"r1"}`)
	if code != 200 || !reflect.DeepEqual(body["rooms"], []any{}) {
		t.Fatalf("leave: %d %v", code, body)
	}
	if code, _ := f.do(http.MethodPost, "/_sio/join", `{"socket":"nobody","room":"r1"}`); code != 404 {
		t.Errorf("join unknown socket: %d", code)
	}
	if code, _ := f.do(http.MethodPost, "/_sio/join", `{"socket":"`+b.SID()+`"}`); code != 400 {
		t.Errorf("join without room: %d", code)
	}
}

func TestHTTPEmit(t *testing.T) {
	f := newFixture(t)
	a, gotA := f.dial("/", client.Options{})
	_, gotB := f.dial("/", client.Options{})
	_, gotAdm := f.dial("/admin", client.Options{})
	f.do(http.MethodPost, "/_sio/join", `{"socket":"`+a.SID()+`","room":"r1"}`)

	// The seed's pattern: inform every client in a room from a controller.
	code, body := f.do(http.MethodPost, "/_sio/emit", `{"room":"r1","event":"posts","args":[{"action":"create"}]}`)
	if code != 200 || body["sent"] != 1.0 {
		t.Fatalf("emit to room: %d %v", code, body)
	}
	if got := recv(t, gotA); got != `posts [{"action":"create"}]` {
		t.Errorf("a got %q", got)
	}
	// Everyone, every namespace; b and /admin had nothing before this.
	code, body = f.do(http.MethodPost, "/_sio/emit", `{"event":"all","args":[1,"two",{"$binary":"AQID"}]}`)
	if code != 200 || body["sent"] != 3.0 {
		t.Fatalf("emit to all: %d %v", code, body)
	}
	for _, ch := range []<-chan string{gotA, gotB, gotAdm} {
		if got := recv(t, ch); got != `all [1,"two",{"$binary":"AQID"}]` {
			t.Errorf("got %q", got)
		}
	}
	// One namespace.
	f.do(http.MethodPost, "/_sio/emit", `{"namespace":"/admin","event":"adm"}`)
	if got := recv(t, gotAdm); got != "adm []" {
		t.Errorf("admin got %q", got)
	}
	// One socket; then everyone again: a's next event must be "last".
	f.do(http.MethodPost, "/_sio/emit", `{"socket":"`+a.SID()+`","event":"direct","args":["x"]}`)
	if got := recv(t, gotA); got != `direct ["x"]` {
		t.Errorf("a got %q", got)
	}
	f.do(http.MethodPost, "/_sio/emit", `{"namespace":"/","event":"last"}`)
	if got := recv(t, gotB); got != "last []" {
		t.Errorf("b got %q, want only the namespace-wide event", got)
	}
	if got := recv(t, gotA); got != "last []" {
		t.Errorf("a got %q", got)
	}
}

func TestHTTPEmitAck(t *testing.T) {
	f := newFixture(t)
	a, _ := f.dial("/", client.Options{AckReply: func(e *client.Event) []any {
		return []any{"ok", json.RawMessage(e.Args[0]), []byte{9}}
	}})
	silent, _ := f.dial("/", client.Options{NoAutoAck: true})

	code, body := f.do(http.MethodPost, "/_sio/emit", `{"socket":"`+a.SID()+`","event":"ask","args":[42],"ack":"2s"}`)
	acks, _ := body["acks"].([]any)
	if code != 200 || len(acks) != 1 {
		t.Fatalf("emit with ack: %d %v", code, body)
	}
	want := map[string]any{"socket": a.SID(), "args": []any{"ok", 42.0, map[string]any{"$binary": "CQ=="}}}
	if !reflect.DeepEqual(acks[0], want) {
		t.Errorf("ack = %v, want %v", acks[0], want)
	}

	code, body = f.do(http.MethodPost, "/_sio/emit", `{"event":"ask","args":[1],"ack":300}`)
	acks, _ = body["acks"].([]any)
	if code != 200 || len(acks) != 2 {
		t.Fatalf("emit to all with ack: %d %v", code, body)
	}
	for _, x := range acks {
		m := x.(map[string]any)
		switch m["socket"] {
		case a.SID():
			if m["error"] != nil {
				t.Errorf("answering client: %v", m)
			}
		case silent.SID():
			if m["error"] != "timeout" {
				t.Errorf("silent client: %v", m)
			}
		default:
			t.Errorf("unknown socket in %v", m)
		}
	}

	// Empty room: nothing sent, nothing awaited.
	code, body = f.do(http.MethodPost, "/_sio/emit", `{"room":"empty","event":"x","ack":true}`)
	if code != 200 || body["sent"] != 0.0 || len(body["acks"].([]any)) != 0 {
		t.Errorf("empty room: %d %v", code, body)
	}
}

func TestHTTPDisconnect(t *testing.T) {
	f := newFixture(t)
	a, _ := f.dial("/", client.Options{})
	b, _ := f.dial("/", client.Options{})
	states := make(chan client.State, 8)
	a.OnState(func(s client.State) { states <- s })

	aID := a.SID()
	code, body := f.do(http.MethodPost, "/_sio/disconnect", `{"socket":"`+aID+`"}`)
	if code != 200 || !reflect.DeepEqual(body["disconnected"], []any{aID}) {
		t.Fatalf("disconnect: %d %v", code, body)
	}
	deadline := time.After(5 * time.Second)
	for done := false; !done; {
		select {
		case s := <-states:
			if s.Kind == client.StateDisconnect {
				if s.Reason != protocol.ReasonIOServerDisconnect {
					t.Errorf("reason %q", s.Reason)
				}
				done = true
			}
		case <-deadline:
			t.Fatal("client a saw no disconnect")
		}
	}
	_, body = f.do(http.MethodGet, "/_sio/sockets", "")
	if s := body["sockets"].([]any); len(s) != 1 || s[0].(map[string]any)["id"] != b.SID() {
		t.Errorf("after disconnect: %v", body)
	}
	if code, _ := f.do(http.MethodPost, "/_sio/disconnect", `{"socket":"`+aID+`"}`); code != 404 {
		t.Errorf("second disconnect: %d", code)
	}
}

func TestHTTPErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"no event", "POST", "/_sio/emit", `{"args":[1]}`, 400, "event name missing"},
		{"reserved event", "POST", "/_sio/emit", `{"event":"connect"}`, 400, "reserved"},
		{"unknown field", "POST", "/_sio/emit", `{"evnt":"x"}`, 400, "unknown field"},
		{"args not an array", "POST", "/_sio/emit", `{"event":"x","args":{"a":1}}`, 400, "array"},
		{"bad binary", "POST", "/_sio/emit", `{"event":"x","args":[{"$binary":"!!"}]}`, 400, "args"},
		{"room and socket", "POST", "/_sio/emit", `{"event":"x","room":"r","socket":"s"}`, 400, "not both"},
		{"bad ack", "POST", "/_sio/emit", `{"event":"x","ack":"soon"}`, 400, "ack"},
		{"not JSON", "POST", "/_sio/emit", `event=x`, 400, "body"},
		{"two values", "POST", "/_sio/emit", `{"event":"x"}{}`, 400, `unexpected '{' after the JSON value`},
		{"stray brace", "POST", "/_sio/disconnect", `{} }`, 400, `unexpected '}' after the JSON value`},
		{"stray bracket", "POST", "/_sio/emit", `{"event":"x"} ]`, 400, `unexpected ']' after the JSON value`},
		{"invalid UTF-8", "POST", "/_sio/emit", "{\"event\":\"e\",\"args\":[\"\x89\"]}", 400, "not valid UTF-8"},
		{"unknown namespace", "POST", "/_sio/emit", `{"namespace":"/nope","event":"x"}`, 404, "/nope"},
		{"unknown socket", "POST", "/_sio/emit", `{"socket":"nope","event":"x"}`, 404, "nope"},
		{"wrong method", "GET", "/_sio/emit", ``, 405, "use POST"},
		{"wrong method list", "POST", "/_sio/sockets", ``, 405, "use GET"},
		{"unknown endpoint", "GET", "/_sio/nope", ``, 404, "no endpoint"},
		{"unknown endpoint lists the known", "GET", "/_sio/", ``, 404, "sockets, rooms, stats"},
		{"wrong method, trailing slash", "PUT", "/_sio/join/", ``, 405, "use POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.do(tt.method, tt.path, tt.body)
			msg, _ := body["error"].(string)
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("%d %q, want %d containing %q", code, msg, tt.code, tt.msg)
			}
			if strings.Contains(msg, ErrInvalid.Error()) {
				t.Errorf("message %q repeats the classification", msg)
			}
		})
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	code, body := f.do(http.MethodGet, "/_sio/stats", "")
	if code != 200 {
		t.Fatalf("stats: %d %v", code, body)
	}
	// The fixture's server has the main namespace and no socket; the
	// process has goroutines and heap.
	if body["namespaces"].(float64) < 1 || body["sockets"].(float64) != 0 ||
		body["goroutines"].(float64) < 1 || body["heap_bytes"].(float64) <= 0 || body["runtime_bytes"].(float64) <= 0 {
		t.Errorf("stats: %v", body)
	}
	req, _ := http.NewRequest(http.MethodHead, f.url+"/_sio/stats", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HEAD stats: %d", resp.StatusCode)
	}
}
