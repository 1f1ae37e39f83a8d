package eioserver

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

func newBenchServer(b *testing.B) (*Server, *httptest.Server) {
	b.Helper()
	srv := NewServer(Options{})
	srv.OnConnection(func(s *Session) {
		s.OnMessage(func(data []byte, binary bool) {
			_ = s.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: bytes.Clone(data), Binary: binary})
		})
	})
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return srv, hs
}

// BenchmarkWebSocketEcho measures one message round trip over WebSocket:
// the client writes "4hello", the server's OnMessage echoes it.
func BenchmarkWebSocketEcho(b *testing.B) {
	_, hs := newBenchServer(b)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.ReadMessage(); err != nil { // open
		b.Fatal(err)
	}
	msg := []byte("4hello")
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleWebSocketMemory reports the memory (heap + goroutine stacks)
// held per idle WebSocket session, measured with 1000 sessions. The
// clients are bare TCP connections that did the handshake by hand, so they
// add only a net.Conn each (a few hundred bytes) to the figure.
func BenchmarkIdleWebSocketMemory(b *testing.B) {
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		srv, hs := newBenchServer(b)
		addr := hs.Listener.Addr().String()
		before, beforeStack := memInUse()
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := rawWSDial(addr)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		if got := srv.SessionCount(); got != n {
			b.Fatalf("%d sessions", got)
		}
		after, afterStack := memInUse()
		b.ReportMetric(float64(after-before)/n, "bytes/conn")
		b.ReportMetric(float64(afterStack-beforeStack)/n, "stack-bytes/conn")
		b.ReportMetric(float64(runtime.NumGoroutine())/n, "goroutines/conn")
		for _, c := range conns {
			c.Close()
		}
		srv.Close()
		hs.Close()
		b.StartTimer()
	}
}

// memInUse returns the live heap plus goroutine stacks, and the stacks.
func memInUse() (total, stacks uint64) {
	for range 5 { // stacks shrink by half per GC
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse, m.StackInuse
}

// rawWSDial opens a WebSocket-only session with a hand-written handshake
// and reads the open frame.
func rawWSDial(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_, err = io.WriteString(c, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 512)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if line == "\r\n" {
			break
		}
	}
	// The open frame: a short text frame (2-byte header + 16-bit length).
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(br, hdr[:2]); err != nil {
		c.Close()
		return nil, err
	}
	size := int(hdr[1] & 0x7f)
	if size == 126 {
		if _, err := io.ReadFull(br, hdr[2:4]); err != nil {
			c.Close()
			return nil, err
		}
		size = int(hdr[2])<<8 | int(hdr[3])
	}
	if _, err := io.ReadFull(br, make([]byte, size)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
