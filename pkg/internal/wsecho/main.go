// Command wsecho is a WebSocket echo server on pkg/internal/wsframe, the
// way the server engine uses it: the handshake of wsframe.Upgrade, the
// Decoder with a message limit, a pong for each ping, the peer's close
// code and reason echoed, and a violation answered with its close code.
// test/interop/wsframe sends the same frames to it and to Node's ws and
// compares the answers; it lives here because only pkg/ may import
// pkg/internal/wsframe.
//
// Usage: wsecho -limit N; it prints {"port":N} on stdout once it listens
// on 127.0.0.1 (as the Node peers of test/interop do) and serves until
// stdin closes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
)

func main() {
	limit := flag.Int64("limit", 100, "the largest message, in bytes (ws's maxPayload)")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wsframe.IsUpgrade(r) {
			http.Error(w, "a WebSocket endpoint", http.StatusUpgradeRequired)
			return
		}
		nc, head, err := wsframe.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		serve(nc, head, *limit)
	})}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("{\"port\":%d}\n", ln.Addr().(*net.TCPAddr).Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// echo is one connection's wsframe.Handler.
type echo struct {
	mu    sync.Mutex
	nc    net.Conn
	close []byte // the close frame's payload, once there is one
}

func (e *echo) write(op byte, p []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.nc.Write(append(wsframe.AppendHeader(nil, op, len(p)), p...))
}

func (e *echo) Message(op byte, data []byte) bool {
	e.write(op, data)
	return true
}

func (e *echo) Ping(p []byte) { e.write(wsframe.OpPong, p) }

func (e *echo) Close(code int, reason []byte) {
	e.close = append(wsframe.ClosePayload(code), reason...)
}

func serve(nc net.Conn, head []byte, limit int64) {
	defer nc.Close()
	e := &echo{nc: nc}
	dec := wsframe.Decoder{Limit: limit}
	buf := append(make([]byte, 0, 4096), head...)
	for {
		more, err := dec.Consume(&buf, e)
		var we *wsframe.Error
		switch {
		case errors.As(err, &we):
			e.write(wsframe.OpClose, wsframe.ClosePayload(we.Code))
			return
		case err != nil || !more: // the peer's close frame
			e.write(wsframe.OpClose, e.close)
			return
		}
		buf = wsframe.GrowReadBuf(buf)
		n, rerr := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr != nil && n == 0 {
			return
		}
	}
}
