package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/proxy"
	"github.com/sio-dev/sio/pkg/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// target is an sio server behind the proxy: "echo" acks its arguments,
// "ask" makes the server ask the client for an ack and emit the answer
// back as "answered".
type target struct {
	srv *server.Server
	hs  *httptest.Server

	mu      sync.Mutex
	headers []http.Header // of every request
}

func newTarget(t *testing.T, codec protocol.Codec) *target {
	t.Helper()
	tg := &target{}
	tg.srv = server.New(server.Options{AllowEIO3: true, Codec: codec, AllowRequest: func(r *http.Request) error {
		tg.mu.Lock()
		tg.headers = append(tg.headers, r.Header.Clone())
		tg.mu.Unlock()
		return nil
	}})
	onConn := func(s *server.Socket) {
		s.On("echo", func(e *server.Event) { _ = e.Ack(e.Args.Values()...) })
		s.On("ask", func(e *server.Event) {
			sock := e.Socket()
			args := e.Args.Values()
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				got, err := sock.EmitWithAck(ctx, "question", args...)
				if err != nil {
					return
				}
				_ = sock.Emit("answered", got.Values()...)
			}()
		})
	}
	tg.srv.Of("/").OnConnection(onConn)
	tg.srv.Of("/admin").Use(func(s *server.Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" && s.Handshake().Query.Get("token") != "secret" {
			return &server.ConnectError{Message: "unauthorized"}
		}
		return nil
	}).OnConnection(onConn)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", tg.srv)
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: r.Header.Get("X-Probe")})
		w.Header().Set("X-Query", r.URL.RawQuery)
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "plain body")
	})
	tg.hs = httptest.NewServer(mux)
	t.Cleanup(func() {
		tg.srv.Close()
		tg.hs.Close()
	})
	return tg
}

// recorder keeps every event the proxy reports.
type recorder struct {
	mu     sync.Mutex
	events []proxy.Event
}

func (r *recorder) tap(e proxy.Event) {
	e.Trace = e.Trace.Clone()
	e.Data = bytes.Clone(e.Data)
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []proxy.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]proxy.Event(nil), r.events...)
}

// waitFor polls the recorded events until match finds one: events come
// from connection goroutines, after the bytes they describe.
func (r *recorder) waitFor(t *testing.T, what string, match func(proxy.Event) bool) proxy.Event {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, e := range r.snapshot() {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type fixture struct {
	tg  *target
	px  *proxy.Proxy
	hs  *httptest.Server
	rec *recorder
}

func newFixture(t *testing.T, opts proxy.Options) *fixture {
	t.Helper()
	f := &fixture{tg: newTarget(t, opts.Codec), rec: &recorder{}}
	u, _ := url.Parse(f.tg.hs.URL)
	opts.Target = u
	if opts.Tap == nil {
		opts.Tap = f.rec.tap
	}
	px, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.px = px
	f.hs = httptest.NewServer(px)
	t.Cleanup(func() {
		f.hs.Close()
		px.Close()
	})
	return f
}

func dial(t *testing.T, rawURL string, opts client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	opts.NoReconnect = true
	c, err := client.Dial(ctx, rawURL, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", rawURL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRoundTrips runs events, acks both ways and binary both ways through
// the proxy, on every transport and both Engine.IO revisions, and checks
// what the proxy decoded.
func TestRoundTrips(t *testing.T) {
	for _, eio := range []protocol.EIO{protocol.EIO3, protocol.EIO4} {
		for _, transport := range []string{"polling", "websocket", "auto"} {
			t.Run(fmt.Sprintf("%v/%s", eio, transport), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, proxy.Options{})
				c := dial(t, f.hs.URL+"/admin", client.Options{EIO: eio, Transport: transport, Auth: json.RawMessage(`{"token":"secret"}`)})
				if transport == "auto" {
					waitUpgraded(t, c)
				}
				questions := make(chan *client.Event, 1)
				c.On("question", func(e *client.Event) {
					_ = e.Ack("answer", []byte{9, 8, 7})
					questions <- e
				})
				answered := make(chan *client.Event, 1)
				c.On("answered", func(e *client.Event) { answered <- e })

				ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
				defer cancel()
				ack, err := c.EmitWithAck(ctx, "echo", "hi", []byte{1, 2, 3}, map[string]int{"n": 1})
				if err != nil {
					t.Fatal(err)
				}
				if got := string(ack.Inline()); got != `["hi",{"$binary":"AQID"},{"n":1}]` {
					t.Fatalf("ack through the proxy = %s", got)
				}
				if err := c.Emit("ask", "why", []byte{4, 5}); err != nil {
					t.Fatal(err)
				}
				select {
				case e := <-questions:
					if got := string(e.Inline()); got != `["why",{"$binary":"BAU="}]` {
						t.Fatalf("question = %s", got)
					}
				case <-ctx.Done():
					t.Fatal("no question from the server")
				}
				select {
				case e := <-answered:
					if got := string(e.Inline()); got != `["answer",{"$binary":"CQgH"}]` {
						t.Fatalf("answered = %s", got)
					}
				case <-ctx.Done():
					t.Fatal("the server got no answer")
				}

				// The proxy decoded both directions and paired both acks.
				ackEv := f.rec.waitFor(t, "the echo ACK", func(e proxy.Event) bool {
					return e.Kind == proxy.KindPacket && e.From == proxy.FromServer && e.Trace.Layer == protocol.LayerSocket && e.Trace.Packet.IsAck()
				})
				if !ackEv.Acked || ackEv.AckEvent != "echo" || ackEv.AckDelay <= 0 {
					t.Errorf("server ACK paired with %q after %v (%v)", ackEv.AckEvent, ackEv.AckDelay, ackEv.Acked)
				}
				if ackEv.Trace.Packet.Namespace != "/admin" || len(ackEv.Trace.Packet.Attachments) != 1 || ackEv.Trace.Dir != protocol.Out {
					t.Errorf("server ACK decoded as %+v", ackEv.Trace.Packet)
				}
				clientAck := f.rec.waitFor(t, "the client's ACK", func(e proxy.Event) bool {
					return e.Kind == proxy.KindPacket && e.From == proxy.FromClient && e.Trace.Layer == protocol.LayerSocket && e.Trace.Packet.IsAck()
				})
				if clientAck.AckEvent != "question" || !bytes.Equal(clientAck.Trace.Packet.Attachments[0], []byte{9, 8, 7}) {
					t.Errorf("client ACK paired with %q: %+v", clientAck.AckEvent, clientAck.Trace.Packet)
				}
				f.rec.waitFor(t, "the open", func(e proxy.Event) bool { return e.Kind == proxy.KindOpen && e.SID == c.EngineSID() })
				if transport == "auto" {
					f.rec.waitFor(t, "the upgrade", func(e proxy.Event) bool { return e.Kind == proxy.KindUpgrade })
				}
				for _, e := range f.rec.snapshot() {
					if e.Kind == proxy.KindError {
						t.Errorf("error event: %s", e.Reason)
					}
				}
				if got := f.px.Sessions(); len(got) != 1 || got[0].SID != c.EngineSID() || got[0].EIO != int(eio) {
					t.Errorf("sessions = %+v", got)
				}
				c.Close()
				f.rec.waitFor(t, "the disconnect", func(e proxy.Event) bool { return e.Kind == proxy.KindClose })
			})
		}
	}
}

func waitUpgraded(t *testing.T, c *client.Client) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for c.Transport() != "websocket" {
		if time.Now().After(deadline) {
			t.Fatal("no upgrade")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestUnauthorizedNamespace: the server's CONNECT_ERROR reaches the client
// as it was sent.
func TestUnauthorizedNamespace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, f.hs.URL+"/admin", client.Options{NoReconnect: true, Auth: json.RawMessage(`{"token":"wrong"}`)})
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("dial with a wrong token: %v", err)
	}
	f.rec.waitFor(t, "CONNECT_ERROR", func(e proxy.Event) bool {
		return e.Trace.Layer == protocol.LayerSocket && e.Trace.Packet.Type == protocol.PacketConnectError
	})
}

// TestPassThrough: a path outside the Engine.IO path goes through as is,
// with its status, headers, cookies and query; and headers reach the
// server on Engine.IO requests too.
func TestPassThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{})
	req, _ := http.NewRequest(http.MethodGet, f.hs.URL+"/plain?a=1&b=%20", nil)
	req.Header.Set("X-Probe", "p1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || string(body) != "plain body" || resp.Header.Get("X-Query") != "a=1&b=%20" {
		t.Fatalf("got %s %q %v", resp.Status, body, resp.Header)
	}
	if c := resp.Cookies(); len(c) != 1 || c[0].Value != "p1" {
		t.Fatalf("cookies %v", c)
	}

	for _, transport := range []string{"polling", "websocket"} {
		hdr := http.Header{"Authorization": {"Bearer tok-" + transport}, "Cookie": {"app=" + transport}, "Origin": {"http://app.example"}}
		c := dial(t, f.hs.URL, client.Options{Transport: transport, Header: hdr})
		c.Close()
	}
	f.tg.mu.Lock()
	defer f.tg.mu.Unlock()
	seen := map[string]bool{}
	for _, h := range f.tg.headers {
		if h.Get("Origin") == "http://app.example" {
			seen[h.Get("Authorization")+" "+h.Get("Cookie")] = true
		}
	}
	if !seen["Bearer tok-polling app=polling"] || !seen["Bearer tok-websocket app=websocket"] {
		t.Fatalf("the server saw %v", seen)
	}
}

// TestBadSessionStatus: the server's 400 for an unknown session reaches
// the client with its body.
func TestBadSessionStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{})
	for _, u := range []string{"/socket.io/?EIO=4&transport=polling&sid=nope", "/socket.io/?EIO=4&transport=bogus"} {
		resp, err := http.Get(f.hs.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		direct, err := http.Get(f.tg.hs.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(direct.Body)
		direct.Body.Close()
		if resp.StatusCode != direct.StatusCode || !bytes.Equal(body, want) {
			t.Errorf("%s: proxy %d %q, direct %d %q", u, resp.StatusCode, body, direct.StatusCode, want)
		}
	}
}

// TestTLS: an https target reached with Insecure, behind a TLS listener,
// on both transports.
func TestTLS(t *testing.T) {
	t.Parallel()
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("echo", func(e *server.Event) { _ = e.Ack(e.Args.Values()...) })
	})
	tgt := httptest.NewTLSServer(srv)
	t.Cleanup(func() {
		srv.Close()
		tgt.Close()
	})
	u, _ := url.Parse(tgt.URL)
	px, err := proxy.New(proxy.Options{Target: u, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewTLSServer(px)
	t.Cleanup(func() {
		front.Close()
		px.Close()
	})
	for _, transport := range []string{"polling", "websocket", "auto"} {
		c := dial(t, front.URL, client.Options{Transport: transport, TLSConfig: front.Client().Transport.(*http.Transport).TLSClientConfig})
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		ack, err := c.EmitWithAck(ctx, "echo", transport)
		cancel()
		if err != nil || string(ack.Inline()) != `["`+transport+`"]` {
			t.Fatalf("%s: %v %v", transport, ack, err)
		}
		c.Close()
	}

	// Without Insecure the target's self-signed certificate is refused.
	strict, err := proxy.New(proxy.Options{Target: u})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	rec := httptest.NewRecorder()
	strict.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("strict proxy to a self-signed target: %d", rec.Code)
	}
}

// TestOverMaxMessage: polling bodies over MaxMessage are forwarded whole
// without being decoded, both ways.
func TestOverMaxMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, proxy.Options{MaxMessage: 200})
	c := dial(t, f.hs.URL, client.Options{Transport: "polling"})
	big := strings.Repeat("x", 5000)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	ack, err := c.EmitWithAck(ctx, "echo", big)
	if err != nil {
		for _, e := range f.rec.snapshot() {
			if e.Kind != proxy.KindPacket {
				t.Logf("%s %s %s", e.Kind, e.From, e.Reason)
			} else {
				t.Logf("packet %s %s %.80q", e.From, e.Trace.Engine.Type, e.Trace.Raw)
			}
		}
		t.Fatal(err)
	}
	if got := string(ack.Inline()); got != `["`+big+`"]` {
		t.Fatalf("ack of %d bytes", len(got))
	}
	for _, from := range []proxy.Side{proxy.FromClient, proxy.FromServer} {
		f.rec.waitFor(t, "the undecoded body from the "+from.String(), func(e proxy.Event) bool {
			return e.Kind == proxy.KindError && e.From == from && strings.Contains(e.Reason, "forwarded without decoding")
		})
	}
}
