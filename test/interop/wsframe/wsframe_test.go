// Package wsframe_test is a differential conformance check of sio's
// WebSocket wire (pkg/internal/wsframe) against Node's ws, the library
// socket.io runs on: the same frame sequences, valid and hostile, and the
// same bad handshakes go to a ws echo server (ws_echo.mjs) and to an echo
// server on wsframe (pkg/internal/wsecho), and the answers must be the same
// frames (echoes, pongs, the close frame with its code and reason) and the
// same HTTP refusals. It stands in for the Autobahn suite, which cannot be
// installed here (no PyPI, no Docker).
package wsframe_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sio-dev/sio/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// limit is both servers' largest message (ws's maxPayload).
const limit = 100

// waitTimeout bounds every wait for an answer: generous, for a loaded
// machine; the answer (or the server's close) ends it.
const waitTimeout = 30 * time.Second

// startGoEcho builds and runs pkg/internal/wsecho and returns its port.
func startGoEcho(t *testing.T) int {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wsecho")
	build := exec.Command("go", "build", "-o", bin, "github.com/sio-dev/sio/pkg/internal/wsecho")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build wsecho: %v\n%s", err, out)
	}
	return testutil.StartPeer(t, bin, "-limit", strconv.Itoa(limit))
}

// frame builds a client frame, masked unless unmasked is set.
func frame(fin bool, op byte, payload string, unmasked ...bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	masked := len(unmasked) == 0 || !unmasked[0]
	var m byte
	if masked {
		m = 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, m|byte(n))
	case n <= 0xffff:
		f = append(f, m|126, byte(n>>8), byte(n))
	default:
		f = append(f, m|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f = append(f, key[:]...)
	for i := range len(payload) {
		f = append(f, payload[i]^key[i%4])
	}
	return f
}

const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
)

// closeEnd ends every sequence: a server that took everything answers it
// with its own close frame, 1000 "end".
var closeEnd = frame(true, opClose, "\x03\xe8end")

const handshake = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// exchange opens a WebSocket to port, sends input after the handshake, and
// returns the server's frames up to its close frame (or the end of the
// connection), each as "op:payload" ("close:" with the code, then the
// reason).
func exchange(t *testing.T, port int, input []byte) []string {
	t.Helper()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(c, handshake); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	// Written while answers may already come: a reader drains them, so
	// neither side blocks on a full socket.
	go func() { _, _ = c.Write(input) }()
	var got []string
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return append(got, "eof")
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			_, _ = io.ReadFull(br, e[:])
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			_, _ = io.ReadFull(br, e[:])
			n = binary.BigEndian.Uint64(e[:])
		}
		if h[1]&0x80 != 0 || n > 1<<20 {
			t.Fatalf("server frame %x", h)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return append(got, "truncated")
		}
		op := h[0] & 0x0f
		switch op {
		case opClose:
			s := "close:"
			if len(p) >= 2 {
				s += strconv.Itoa(int(binary.BigEndian.Uint16(p))) + ":" + string(p[2:])
			}
			return append(got, s)
		default:
			got = append(got, fmt.Sprintf("%x%s:%q", op, map[bool]string{true: "", false: "(cont)"}[h[0]&0x80 != 0], p))
		}
	}
}

func TestFramesAgainstWs(t *testing.T) {
	nodePort := testutil.StartNodePeer(t, "ws_echo.mjs", strconv.Itoa(limit))
	goPort := startGoEcho(t)
	long := strings.Repeat("x", limit)
	tests := []struct {
		name  string
		input []byte
	}{
		{"text", frame(true, opText, "hello")},
		{"binary", frame(true, opBinary, "\x00\x01\xff")},
		{"empty text", frame(true, opText, "")},
		{"at the limit", frame(true, opText, long)},
		{"16-bit length", frame(true, opBinary, strings.Repeat("y", 126)[:limit])},
		{"fragments and a ping inside", slices.Concat(frame(false, opText, "fra"), frame(true, opPing, "p1"), frame(false, opCont, "gm"), frame(true, opCont, "ent"))},
		{"ping", frame(true, opPing, "ping payload")},
		{"empty ping", frame(true, opPing, "")},
		{"pong ignored", frame(true, opPong, "unsolicited")},
		{"UTF-8 split across fragments", slices.Concat(frame(false, opText, "\xe2\x82"), frame(true, opCont, "\xac"))},
		{"unmasked", frame(true, opText, "x", true)},
		{"reserved bit 1", func() []byte { f := frame(true, opText, "x"); f[0] |= 0x40; return f }()},
		{"reserved bit 3", func() []byte { f := frame(true, opText, "x"); f[0] |= 0x10; return f }()},
		{"opcode 3", frame(true, 0x3, "x")},
		{"opcode 0xb", frame(true, 0xb, "")},
		{"fragmented ping", frame(false, opPing, "")},
		{"ping of 126 bytes", frame(true, opPing, strings.Repeat("p", 126))},
		{"lone continuation", frame(true, opCont, "x")},
		{"text inside a fragmented text", slices.Concat(frame(false, opText, "a"), frame(true, opText, "b"))},
		{"invalid UTF-8", frame(true, opText, "\xff\xfe")},
		{"invalid UTF-8 across fragments", slices.Concat(frame(false, opText, "\xe2\x82"), frame(true, opCont, "x"))},
		{"over the limit", frame(true, opText, long+"x")},
		{"over the limit in fragments", slices.Concat(frame(false, opBinary, long[:60]), frame(true, opCont, long[:41]))},
		{"64-bit length with the top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}},
		{"close 1000 with a reason", frame(true, opClose, "\x03\xe8bye")},
		{"close 4000", frame(true, opClose, "\x0f\xa0")},
		{"empty close", frame(true, opClose, "")},
		{"one-byte close", frame(true, opClose, "\x03")},
		{"close 1005", frame(true, opClose, "\x03\xed")},
		{"close 999", frame(true, opClose, "\x03\xe7")},
		{"close 2000", frame(true, opClose, "\x07\xd0")},
		{"close reason not UTF-8", frame(true, opClose, "\x03\xe8\xff")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := append(slices.Clone(tt.input), closeEnd...)
			ws := exchange(t, nodePort, input)
			ours := exchange(t, goPort, input)
			if !slices.Equal(ws, ours) {
				t.Errorf("ws answers %q\nwsframe answers %q", ws, ours)
			}
		})
	}
}

func TestHandshakesAgainstWs(t *testing.T) {
	nodePort := testutil.StartNodePeer(t, "ws_echo.mjs", strconv.Itoa(limit))
	goPort := startGoEcho(t)
	key := "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	req := func(method, extra string) string {
		return method + " / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + extra + "\r\n"
	}
	tests := []struct{ name, req string }{
		{"valid", req("GET", key+"Sec-WebSocket-Version: 13\r\n")},
		{"version 8", req("GET", key+"Sec-WebSocket-Version: 8\r\n")},
		{"subprotocols", req("GET", key+"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n")},
		{"POST", req("POST", key+"Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n")},
		{"no key", req("GET", "Sec-WebSocket-Version: 13\r\n")},
		{"key of 15 bytes", req("GET", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n")},
		{"version 12", req("GET", key+"Sec-WebSocket-Version: 12\r\n")},
		{"no version", req("GET", key)},
		{"duplicate subprotocol", req("GET", key+"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, a\r\n")},
	}
	answer := func(port int, req string) string {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(waitTimeout))
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodGet})
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		if resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ = io.ReadAll(resp.Body)
		}
		return fmt.Sprintf("%d %q close=%v accept=%q protocol=%q version=%q type=%q", resp.StatusCode, body, resp.Close,
			resp.Header.Get("Sec-WebSocket-Accept"), resp.Header.Get("Sec-WebSocket-Protocol"),
			resp.Header.Get("Sec-WebSocket-Version"), resp.Header.Get("Content-Type"))
	}
	for _, tt := range tests {
		if ws, ours := answer(nodePort, tt.req), answer(goPort, tt.req); ws != ours {
			t.Errorf("%s:\n ws      %s\n wsframe %s", tt.name, ws, ours)
		}
	}
}
