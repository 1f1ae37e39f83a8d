package wsframe

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// upgradeServer answers every request with Upgrade, and, once upgraded,
// sends a text frame "hi" and then the bytes the client sent with its
// request as a binary frame.
func upgradeServer(t *testing.T) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsUpgrade(r) {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		nc, head, err := Upgrade(w, r, http.Header{"X-Extra": {"1"}})
		if err != nil {
			return
		}
		defer nc.Close()
		out := append(AppendHeader(nil, OpText, 2), "hi"...)
		out = append(AppendHeader(out, OpBinary, len(head)), head...)
		_, _ = nc.Write(out)
		_, _ = io.Copy(io.Discard, nc) // until the client closes
	}))
	t.Cleanup(hs.Close)
	return hs
}

// rawExchange sends req on a new connection and returns the response and
// a reader positioned after its header.
func rawExchange(t *testing.T, hs *httptest.Server, req string) (*http.Response, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	return resp, br
}

const sampleKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 §1.3

func upgradeRequest(method, extra string) string {
	return method + " /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + extra + "\r\n"
}

func TestUpgradeAnswersAsWs(t *testing.T) {
	hs := upgradeServer(t)
	frame := clientFrame(true, OpText, "4early")
	resp, br := rawExchange(t, hs, upgradeRequest("GET", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "+sampleKey+
		"\r\nSec-WebSocket-Protocol: chat, superchat\r\n")+string(frame))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
		resp.Header.Get("Sec-WebSocket-Protocol") != "chat" || resp.Header.Get("X-Extra") != "1" || resp.Header.Get("Connection") != "Upgrade" {
		t.Fatalf("101: %d %v", resp.StatusCode, resp.Header)
	}
	var l decodeLog
	d := &Decoder{FromServer: true}
	buf := make([]byte, 0, 512)
	for len(l.msgs) < 2 {
		buf = GrowReadBuf(buf)
		n, err := br.Read(buf[len(buf):cap(buf)])
		if err != nil {
			t.Fatalf("read: %v (%q)", err, l.msgs)
		}
		buf = buf[:len(buf)+n]
		if _, err := d.Consume(&buf, &l); err != nil {
			t.Fatal(err)
		}
	}
	// The frame sent with the request came back to the handler as head.
	if l.msgs[0] != "t:hi" || l.msgs[1] != "b:"+string(frame) {
		t.Fatalf("frames %q", l.msgs)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	hs := upgradeServer(t)
	key := "Sec-WebSocket-Key: " + sampleKey + "\r\n"
	tests := []struct {
		name, req string
		status    int
		body      string
		version   string // the Sec-WebSocket-Version answered
	}{
		{"POST", upgradeRequest("POST", key+"Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n"), 405, "Invalid HTTP method", ""},
		{"no key", upgradeRequest("GET", "Sec-WebSocket-Version: 13\r\n"), 400, "Missing or invalid Sec-WebSocket-Key header", ""},
		{"short key", upgradeRequest("GET", "Sec-WebSocket-Key: abc==\r\nSec-WebSocket-Version: 13\r\n"), 400, "Missing or invalid Sec-WebSocket-Key header", ""},
		{"version 12", upgradeRequest("GET", key+"Sec-WebSocket-Version: 12\r\n"), 400, "Missing or invalid Sec-WebSocket-Version header", "13, 8"},
		{"no version", upgradeRequest("GET", key), 400, "Missing or invalid Sec-WebSocket-Version header", "13, 8"},
		{"bad subprotocol", upgradeRequest("GET", key+"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, a\r\n"), 400, "Invalid Sec-WebSocket-Protocol header", ""},
	}
	for _, tt := range tests {
		resp, _ := rawExchange(t, hs, tt.req)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tt.status || string(body) != tt.body || !resp.Close ||
			resp.Header.Get("Content-Type") != "text/html" || resp.Header.Get("Sec-WebSocket-Version") != tt.version {
			t.Errorf("%s: %d %q %v", tt.name, resp.StatusCode, body, resp.Header)
		}
	}
	// Version 8 (hybi-08) is accepted, as ws does.
	if resp, _ := rawExchange(t, hs, upgradeRequest("GET", key+"Sec-WebSocket-Version: 8\r\n")); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("version 8: %d", resp.StatusCode)
	}
}

func TestClientHandshake(t *testing.T) {
	hs := upgradeServer(t)
	u, _ := url.Parse("ws" + strings.TrimPrefix(hs.URL, "http") + "/x?a=1")
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	head, err := ClientHandshake(nc, u, http.Header{"X-Test": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	var l decodeLog
	d := &Decoder{FromServer: true}
	buf := head
	for {
		if _, err := d.Consume(&buf, &l); err != nil {
			t.Fatal(err)
		}
		if len(l.msgs) > 0 {
			break
		}
		buf = GrowReadBuf(buf)
		n, err := nc.Read(buf[len(buf):cap(buf)])
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[:len(buf)+n]
	}
	if l.msgs[0] != "t:hi" {
		t.Fatalf("first message %q", l.msgs[0])
	}

	// A refusal is a *StatusError with the body.
	nc2, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	_, err = ClientHandshake(nc2, &url.URL{Scheme: "ws", Host: u.Host, Path: "/x"}, http.Header{"Sec-WebSocket-Protocol": {"a, a"}})
	se, ok := err.(*StatusError)
	if !ok || se.StatusCode != http.StatusBadRequest || se.Body != "Invalid Sec-WebSocket-Protocol header" {
		t.Fatalf("refused handshake: %v", err)
	}
}
