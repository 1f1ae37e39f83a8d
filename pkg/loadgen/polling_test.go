package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// The lean polling path reads what any HTTP/1.1 server may answer: chunked
// bodies, Connection: close after each answer (a new connection for the
// next request), several packets in one payload, base64 binary records,
// and an error status with the engine's JSON.
func TestPollWireHTTPForms(t *testing.T) {
	gets := make(chan string, 4) // what each GET after the handshake answers
	posts := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		switch {
		case r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			posts <- string(b)
			io.WriteString(w, "ok")
		case r.URL.Query().Get("sid") == "":
			io.WriteString(w, `0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
			w.(http.Flusher).Flush() // chunked
		default:
			body := <-gets
			if code, msg, ok := strings.Cut(body, "|"); ok && code == "400" {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, msg)
				return
			}
			io.WriteString(w, body)
		}
	}))
	defer srv.Close()
	tg, err := newTarget(srv.URL, "", protocol.EIO4, nil, http.Header{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg.transport = "polling"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := dialPolling(ctx, tg, &net.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.setReadDeadline(time.Now().Add(10 * time.Second))

	expect := func(op byte, want string) {
		t.Helper()
		gotOp, got, err := w.readMessage()
		if err != nil || gotOp != op || string(got) != want {
			t.Fatalf("readMessage = %d %q %v, want %d %q", gotOp, got, err, op, want)
		}
	}
	expect(opText, `0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)

	if err := w.write(opText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	w.queue(opText, []byte(`42["a"]`))
	w.queue(opBinary, []byte{1, 2})
	if err := w.flushQueue(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"40", "42[\"a\"]\x1ebAQI="} {
		if got := <-posts; got != want {
			t.Fatalf("POST body %q, want %q", got, want)
		}
	}

	gets <- "40{\"sid\":\"x\"}\x1e2\x1ebAQI="
	expect(opText, `40{"sid":"x"}`)
	expect(opText, "2")
	expect(opBinary, "\x01\x02")

	gets <- `400|{"code":1,"message":"Session ID unknown"}`
	_, _, err = w.readMessage()
	var se *pollStatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || !strings.Contains(se.Body, "Session ID unknown") {
		t.Fatalf("after a 400: %v", err)
	}
}

// An EIO 4 handshake answered with a v3 payload (socket.io 2) is told
// apart, so sio bench can retry with EIO 3.
func TestPollWireDetectsV3(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `97:0{"sid":"s1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}2:40`)
	}))
	defer srv.Close()
	tg, err := newTarget(srv.URL, "", protocol.EIO4, nil, http.Header{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dialPolling(context.Background(), tg, &net.Dialer{}); !errors.Is(err, errPayloadV3) {
		t.Fatalf("dialPolling: %v", err)
	}
}

// A body larger than the bound is refused, whatever its framing.
func TestPollWireBodyBound(t *testing.T) {
	big := strings.Repeat("x", 5<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "4"+big)
	}))
	defer srv.Close()
	tg, err := newTarget(srv.URL, "", protocol.EIO4, nil, http.Header{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dialPolling(context.Background(), tg, &net.Dialer{})
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("dialPolling: %v", err)
	}
}

// A server may close a kept-alive POST connection while it is idle (Node
// after its keepAliveTimeout) without saying so in the last answer: the
// next POST goes again on a new connection, not lost. This server closes
// the connection after every POST's answer, which carries no
// Connection: close.
func TestPollWireResendsOnClosedIdleConn(t *testing.T) {
	t.Parallel()
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.OnAny(func(ev *server.Event) { ev.AckArgs(ev.Args) })
	})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			srv.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		conn, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s",
			rec.Code, http.StatusText(rec.Code), rec.Body.Len(), rec.Body.Bytes())
		bw.Flush()
		conn.Close()
	}))
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	res := runT(t, Config{URL: hs.URL, Transport: "polling", EIO: protocol.EIO4, Scenario: ScenarioAck, Clients: 2, Messages: 5})
	checkClean(t, res)
	if res.AcksMatched != 10 {
		t.Fatalf("acks matched %d, want 10", res.AcksMatched)
	}
}
