package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
)

var noDeadline time.Time

// The opcodes the wire interface speaks (pkg/internal/wsframe's).
const (
	opText   = wsframe.OpText
	opBinary = wsframe.OpBinary
)

const (
	readBufInitial = 1 << 10
	readBufMax     = 32 << 10 // a read that fills the buffer doubles it, up to this
)

// errMessageTooLarge is a frame or message above the configured limit.
var errMessageTooLarge = wsframe.ErrMessageTooBig

// closeError is a close frame from the server.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("websocket closed by server: %d %s", e.code, e.reason)
}

// wsConn is a minimal WebSocket client connection (RFC 6455) made for the
// load generator, on pkg/internal/wsframe: one reader goroutine calls
// readMessage; write may be called from any goroutine (a mutex
// serialises writes). Received messages alias the read buffer until the
// next readMessage; nothing is allocated per message once the buffers have
// grown.
type wsConn struct {
	nc  net.Conn
	dec wsframe.Decoder

	rbuf []byte
	r, w int

	// What the decoder's handler got during one readMessage.
	msgOp     byte
	msg       []byte
	gotMsg    bool
	peerClose *closeError
	ctrlErr   error // a pong or close answer that could not be written

	wmu    sync.Mutex
	wbuf   []byte
	outq   []byte // queue's frames, serialised by the caller
	bgMu   sync.Mutex
	closed bool           // under bgMu: no more writeSoon goroutines
	bg     sync.WaitGroup // writeSoon goroutines

	// beforeRead, if set, runs on the reader just before it blocks in a
	// network read: the closed loop flushes the requests it queued while
	// handling what was already buffered, in one write.
	beforeRead func() error
}

// newDecoder reads a server's frames. It skips the UTF-8 check (as the
// loader did before wsframe; ws's skipUTF8Validation): the loader parses
// every message it counts, and its CPU per message bounds what it can
// measure.
func newDecoder(maxMsg int) wsframe.Decoder {
	return wsframe.Decoder{Limit: int64(maxMsg), FromServer: true, SkipUTF8Validation: true}
}

// newWSConn wraps an open WebSocket; head is what the server sent after its
// 101 answer, maxMsg bounds a message.
func newWSConn(nc net.Conn, head []byte, maxMsg int) *wsConn {
	c := &wsConn{nc: nc, dec: newDecoder(maxMsg), rbuf: make([]byte, readBufInitial)}
	if len(head) > 0 {
		c.grow(len(head))
		c.w = copy(c.rbuf, head)
	}
	return c
}

// httpStatusError is a handshake answered with something other than 101.
type httpStatusError = wsframe.StatusError

// dialWS opens a WebSocket to u (scheme ws or wss) through d, with extra
// request headers. ctx bounds the TCP connect and the HTTP handshake.
func dialWS(ctx context.Context, d *net.Dialer, tlsConf *tls.Config, u *url.URL, header http.Header, maxMsg int) (*wsConn, error) {
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "wss" {
			host = net.JoinHostPort(u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "wss" {
		cfg := tlsConf.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	head, err := wsframe.ClientHandshake(nc, u, header)
	if !stop() {
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(noDeadline)
	return newWSConn(nc, head, maxMsg), nil
}

// grow makes room for at least n unread bytes in rbuf.
func (c *wsConn) grow(n int) {
	if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	if n <= len(c.rbuf) {
		return
	}
	nb := make([]byte, max(n, 2*len(c.rbuf)))
	copy(nb, c.rbuf[:c.w])
	c.rbuf = nb
}

// fill reads until at least n unread bytes are buffered.
func (c *wsConn) fill(n int) error {
	for c.w-c.r < n {
		if c.r+n > len(c.rbuf) {
			c.grow(n)
		}
		if c.beforeRead != nil {
			if err := c.beforeRead(); err != nil {
				return err
			}
		}
		free := len(c.rbuf) - c.w
		m, err := c.nc.Read(c.rbuf[c.w:])
		c.w += m
		if err != nil {
			if c.w-c.r >= n {
				return nil
			}
			return err
		}
		if m == free && len(c.rbuf) < readBufMax {
			c.grow(2 * len(c.rbuf))
		}
	}
	return nil
}

// The wsframe.Handler of the connection's decoder: Message stops the
// decoding at each message, which readMessage returns.

func (c *wsConn) Message(op byte, data []byte) bool {
	c.msgOp, c.msg, c.gotMsg = op, data, true
	return false
}

func (c *wsConn) Ping(payload []byte) {
	if err := c.writeSoon(wsframe.OpPong, payload); err != nil && c.ctrlErr == nil {
		c.ctrlErr = err
	}
}

func (c *wsConn) Close(code int, reason []byte) {
	c.peerClose = &closeError{code: code, reason: string(reason)}
	c.writeSoon(wsframe.OpClose, wsframe.ClosePayload(code))
}

// readMessage returns the next data message (text or binary). It answers
// pings and reassembles fragments. The payload aliases internal buffers and
// is valid until the next call.
func (c *wsConn) readMessage() (op byte, payload []byte, err error) {
	for {
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		used, need, _, err := c.dec.Decode(c.rbuf[c.r:c.w], c)
		c.r += used
		if c.gotMsg {
			c.gotMsg = false
			m := c.msg
			c.msg = nil
			return c.msgOp, m, nil
		}
		switch {
		case errors.Is(err, wsframe.ErrPeerClosed):
			return 0, nil, c.peerClose
		case err != nil:
			return 0, nil, err
		case c.ctrlErr != nil:
			return 0, nil, c.ctrlErr
		}
		// An incomplete frame: its size when the header is complete,
		// else one byte more.
		if need == 0 {
			need = c.w - c.r + 1
		}
		if err := c.fill(need); err != nil {
			return 0, nil, err
		}
	}
}

// wire is one connection's transport as the scenarios see it: Engine.IO
// packets in their text form ("42[...]"), one per message, and binary
// messages (socket.io-msgpack-parser's packets). wsConn is the
// lean WebSocket path; engineWire (polling, or polling upgraded to
// WebSocket) goes through pkg/client/eioclient.
type wire interface {
	// readMessage returns the next message (opText: an engine.io packet in
	// text form; opBinary: binary data). It aliases internal buffers until
	// the next call; only the reader calls it.
	readMessage() (op byte, payload []byte, err error)
	// write sends one message now: opText, an engine.io packet in text
	// form; opBinary, the data of a binary message (on the lean path the
	// caller adds EIO3's 0x04 type byte). writeSoon may hand it to another
	// goroutine so the reader never blocks on a busy writer.
	write(op byte, p []byte) error
	writeSoon(op byte, p []byte) error
	// queue adds a message to the batch that flushQueue sends in one
	// write. The caller serialises queue and flushQueue.
	queue(op byte, p []byte)
	flushQueue() error
	// setBeforeRead installs the hook run before the reader blocks.
	setBeforeRead(f func() error)
	setReadDeadline(t time.Time)
	setWriteDeadline(t time.Time)
	// heartbeat reports whether the wire answers pings and sends v3 pings
	// itself (the engine does; the lean path leaves it to the session).
	heartbeat() bool
	close() error
}

func (c *wsConn) queue(op byte, p []byte) { c.outq = wsframe.AppendClientFrame(c.outq, op, p) }

func (c *wsConn) flushQueue() error {
	if len(c.outq) == 0 {
		return nil
	}
	err := c.writeFrames(c.outq)
	c.outq = c.outq[:0]
	return err
}

func (c *wsConn) setBeforeRead(f func() error) { c.beforeRead = f }
func (c *wsConn) setReadDeadline(t time.Time)  { c.nc.SetReadDeadline(t) }
func (c *wsConn) setWriteDeadline(t time.Time) { c.nc.SetWriteDeadline(t) }
func (c *wsConn) heartbeat() bool              { return false }

// write sends one message.
func (c *wsConn) write(op byte, p []byte) error { return c.writeFrame(op, p) }

// writeFrame sends one frame.
func (c *wsConn) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = wsframe.AppendClientFrame(c.wbuf[:0], op, p)
	_, err := c.nc.Write(c.wbuf)
	return err
}

// writeFrames sends frames made with appendFrame, in one write.
func (c *wsConn) writeFrames(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// writeSoon writes a control answer from the reader. If a sender holds the
// write lock (it may be blocked by a server that is itself blocked writing
// to us), the answer is written by a short-lived goroutine, so the reader
// never stops reading; close waits for it.
func (c *wsConn) writeSoon(op byte, p []byte) error {
	if c.wmu.TryLock() {
		c.wmu.Unlock()
		return c.writeFrame(op, p)
	}
	cp := append([]byte(nil), p...)
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		c.writeFrame(op, cp)
	}()
	return nil
}

// close sends a close frame (best effort) and closes the connection.
func (c *wsConn) close() error {
	c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.writeFrame(wsframe.OpClose, wsframe.ClosePayload(wsframe.CloseNormal))
	err := c.nc.Close()
	c.bgMu.Lock()
	c.closed = true
	c.bgMu.Unlock()
	c.bg.Wait()
	return err
}
