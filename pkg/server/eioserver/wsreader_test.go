package eioserver

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op byte, payload string) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	n := len(payload)
	switch {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key[:]...)
	start := len(f)
	f = append(f, payload...)
	wsframe.Mask(key, f[start:])
	return f
}

// rawWS is a WebSocket-only session driven with hand-made frames.
type rawWS struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, ts *testServer) *rawWS {
	t.Helper()
	c, err := rawWSDialPath(ts.http.Listener.Addr().String(), ts.srv.cfg.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawWS{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes b in pieces of at most chunk bytes, each its own write, so
// that frames arrive split across reads.
func (w *rawWS) send(b []byte, chunk int) {
	w.t.Helper()
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := w.c.Write(b[:n]); err != nil {
			w.t.Fatal(err)
		}
		b = b[n:]
		if chunk < 8 {
			time.Sleep(time.Millisecond) // let the server read each piece alone
		}
	}
}

// frame reads one server frame.
func (w *rawWS) frame() (op byte, payload string) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(waitTimeout))
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		w.t.Fatalf("read frame: %v", err)
	}
	if h[1]&0x80 != 0 {
		w.t.Fatal("server frame is masked")
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		_, _ = io.ReadFull(w.br, e[:])
		n = int(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		_, _ = io.ReadFull(w.br, e[:])
		n = int(binary.BigEndian.Uint64(e[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.br, p); err != nil {
		w.t.Fatalf("read payload: %v", err)
	}
	return h[0] & 0x0f, string(p)
}

// closeCode reads frames up to the close frame and returns its code
// (1005 when empty).
func (w *rawWS) closeCode() int {
	w.t.Helper()
	for {
		op, p := w.frame()
		if op != wsframe.OpClose {
			continue
		}
		if len(p) < 2 {
			return 1005
		}
		return int(binary.BigEndian.Uint16([]byte(p)))
	}
}

func rawWSDialPath(addr, path string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_, err = io.WriteString(c, "GET "+path+"?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		c.Close()
		return nil, err
	}
	// Read the response headers byte by byte, leaving the frames unread.
	var hdr []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(hdr), "\r\n\r\n") {
		if _, err := c.Read(one); err != nil {
			c.Close()
			return nil, err
		}
		hdr = append(hdr, one[0])
	}
	if !strings.HasPrefix(string(hdr), "HTTP/1.1 101") {
		c.Close()
		return nil, io.ErrUnexpectedEOF
	}
	return c, nil
}

func TestWebSocketReaderFraming(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{MaxPayload: 1 << 20}, true)
	w := dialRaw(t, ts)
	if op, p := w.frame(); op != wsframe.OpText || p[0] != '0' {
		t.Fatalf("open: %d %q", op, p)
	}
	ts.session()

	// A frame split byte by byte across reads.
	w.send(clientFrame(true, wsframe.OpText, "4split"), 1)
	if _, p := w.frame(); p != "4split" {
		t.Fatalf("got %q", p)
	}
	// Several frames in one write.
	var b []byte
	for _, m := range []string{"4a", "4b", "4c"} {
		b = append(b, clientFrame(true, wsframe.OpText, m)...)
	}
	w.send(b, len(b))
	for _, want := range []string{"4a", "4b", "4c"} {
		if _, p := w.frame(); p != want {
			t.Fatalf("got %q want %q", p, want)
		}
	}
	// A fragmented message with a ping between its fragments.
	b = clientFrame(false, wsframe.OpText, "4frag")
	b = append(b, clientFrame(true, wsframe.OpPing, "hey")...)
	b = append(b, clientFrame(false, wsframe.OpContinuation, "men")...)
	b = append(b, clientFrame(true, wsframe.OpContinuation, "ted")...)
	w.send(b, 3)
	if op, p := w.frame(); op != wsframe.OpPong || p != "hey" {
		t.Fatalf("pong: %d %q", op, p)
	}
	if _, p := w.frame(); p != "4fragmented" {
		t.Fatalf("got %q", p)
	}
	// Lengths with 16- and 64-bit extensions.
	for _, n := range []int{200, 70000} {
		m := "4" + strings.Repeat("y", n)
		w.send(clientFrame(true, wsframe.OpText, m), 4096)
		if _, p := w.frame(); p != m {
			t.Fatalf("%d bytes: got %d", n, len(p))
		}
	}
	for range 7 {
		ts.message()
	}
}

func TestWebSocketReaderViolations(t *testing.T) {
	t.Parallel()
	unmasked := clientFrame(true, wsframe.OpText, "4x")
	unmasked[1] &^= 0x80
	unmasked = append(unmasked[:2], "4x"...)
	tests := []struct {
		name   string
		frames []byte
		code   int
		reason protocol.DisconnectReason
	}{
		{"unmasked", unmasked, wsframe.CloseProtocolError, protocol.ReasonTransportError},
		{"reserved bits", func() []byte { f := clientFrame(true, wsframe.OpText, "4x"); f[0] |= 0x40; return f }(), wsframe.CloseProtocolError, protocol.ReasonTransportError},
		{"unknown opcode", clientFrame(true, 0x3, "4x"), wsframe.CloseProtocolError, protocol.ReasonTransportError},
		{"fragmented ping", clientFrame(false, wsframe.OpPing, ""), wsframe.CloseProtocolError, protocol.ReasonTransportError},
		{"lone continuation", clientFrame(true, wsframe.OpContinuation, "4x"), wsframe.CloseProtocolError, protocol.ReasonTransportError},
		{"invalid UTF-8", clientFrame(true, wsframe.OpText, "4\xff\xfe"), wsframe.CloseInvalidData, protocol.ReasonTransportError},
		{"too big in fragments", append(clientFrame(false, wsframe.OpText, "4"+strings.Repeat("x", 60)), clientFrame(true, wsframe.OpContinuation, strings.Repeat("x", 60))...), wsframe.CloseTooBig, protocol.ReasonTransportError},
		{"bad close code", clientFrame(true, wsframe.OpClose, "\x03\xed"), wsframe.CloseProtocolError, protocol.ReasonTransportError},
		{"close 1000", clientFrame(true, wsframe.OpClose, "\x03\xe8bye"), 1000, protocol.ReasonTransportClose},
		{"empty close", clientFrame(true, wsframe.OpClose, ""), 1005, protocol.ReasonTransportClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, Options{MaxPayload: 100}, true)
			w := dialRaw(t, ts)
			w.frame() // open
			ts.session()
			w.send(tt.frames, len(tt.frames))
			if code := w.closeCode(); code != tt.code {
				t.Fatalf("close code %d, want %d", code, tt.code)
			}
			if cl := ts.closed(); cl.reason != tt.reason {
				t.Fatalf("reason %q, want %q", cl.reason, tt.reason)
			}
		})
	}
}

// The close frame answering the peer's carries its code and reason, as
// Node's ws echoes them (test/interop/wsframe compares wsframe with ws).
func TestWebSocketCloseEchoesReason(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Options{}, true)
	w := dialRaw(t, ts)
	w.frame() // open
	w.send(clientFrame(true, wsframe.OpClose, "\x0f\xa0going"), 64)
	for {
		op, p := w.frame()
		if op == wsframe.OpClose {
			if p != "\x0f\xa0going" {
				t.Fatalf("close frame %q, want 4000 \"going\"", p)
			}
			return
		}
	}
}

// A reply waits for the end of its read; a message that ends the session
// later in the same read (invalid, or a close packet) must not drop it:
// the peer gets the reply, then the close, as from Node, which writes each
// reply at once.
func TestReplyBeforeCloseInOneRead(t *testing.T) {
	for _, last := range []string{"9nope", "1"} {
		t.Run(last, func(t *testing.T) {
			ts := newTestServer(t, Options{}, true)
			w := dialRaw(t, ts)
			w.frame()
			ts.session()
			one := append(clientFrame(true, wsframe.OpText, "4hi"), clientFrame(true, wsframe.OpText, last)...)
			if _, err := w.c.Write(one); err != nil {
				t.Fatal(err)
			}
			if op, p := w.frame(); op != wsframe.OpText || p != "4hi" {
				t.Fatalf("got %d %q, want the reply 4hi before the close", op, p)
			}
			ts.closed()
		})
	}
}
