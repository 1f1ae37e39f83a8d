package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

var noDeadline time.Time

// WebSocket opcodes (RFC 6455, 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

const (
	readBufInitial = 1 << 10
	readBufMax     = 32 << 10 // a read that fills the buffer doubles it, up to this
)

// errMessageTooLarge is a frame or message above the configured limit.
var errMessageTooLarge = errors.New("websocket message too large")

// closeError is a close frame from the server.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("websocket closed by server: %d %s", e.code, e.reason)
}

// wsConn is a minimal WebSocket client connection (RFC 6455) made for the
// load generator: one reader goroutine calls readMessage; writeText may be
// called from any goroutine (a mutex serialises writes). Received messages
// alias the read buffer until the next readMessage; nothing is allocated
// per message once the buffers have grown.
type wsConn struct {
	nc     net.Conn
	maxMsg int

	rbuf []byte
	r, w int
	frag []byte // a fragmented message being assembled

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

// httpStatusError is a handshake answered with something other than 101.
type httpStatusError struct {
	StatusCode int
	Body       string
}

func (e *httpStatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("websocket handshake: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("websocket handshake: HTTP %d: %s", e.StatusCode, e.Body)
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

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
	c, err := handshakeWS(nc, u, header, maxMsg)
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
	return c, nil
}

func handshakeWS(nc net.Conn, u *url.URL, header http.Header, maxMsg int) (*wsConn, error) {
	var keyRaw [16]byte
	rand.Read(keyRaw[:])
	key := base64.StdEncoding.EncodeToString(keyRaw[:])
	var sb strings.Builder
	sb.WriteString("GET ")
	sb.WriteString(u.RequestURI())
	sb.WriteString(" HTTP/1.1\r\nHost: ")
	sb.WriteString(u.Host)
	sb.WriteString("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
	sb.WriteString(key)
	sb.WriteString("\r\n")
	for k, vs := range header {
		for _, v := range vs {
			sb.WriteString(k)
			sb.WriteString(": ")
			sb.WriteString(v)
			sb.WriteString("\r\n")
		}
	}
	sb.WriteString("\r\n")
	if _, err := io.WriteString(nc, sb.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 512)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body.Close()
		return nil, &httpStatusError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) ||
		!strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, errors.New("websocket handshake: bad Sec-WebSocket-Accept or Upgrade header")
	}
	c := &wsConn{nc: nc, maxMsg: maxMsg, rbuf: make([]byte, readBufInitial)}
	// Whatever the server sent right after the 101 is already buffered.
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		c.grow(n)
		c.w = copy(c.rbuf, b)
	}
	return c, nil
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

// readMessage returns the next data message (text or binary). It answers
// pings and reassembles fragments. The payload aliases internal buffers and
// is valid until the next call.
func (c *wsConn) readMessage() (op byte, payload []byte, err error) {
	for {
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		if err := c.fill(2); err != nil {
			return 0, nil, err
		}
		b0, b1 := c.rbuf[c.r], c.rbuf[c.r+1]
		fin, opcode := b0&0x80 != 0, b0&0x0F
		masked := b1&0x80 != 0
		hdr := 2
		n := uint64(b1 & 0x7F)
		switch n {
		case 126:
			hdr += 2
		case 127:
			hdr += 8
		}
		if masked {
			hdr += 4
		}
		if err := c.fill(hdr); err != nil {
			return 0, nil, err
		}
		h := c.rbuf[c.r : c.r+hdr]
		switch n {
		case 126:
			n = uint64(binary.BigEndian.Uint16(h[2:]))
		case 127:
			n = binary.BigEndian.Uint64(h[2:])
		}
		if n > uint64(c.maxMsg) {
			return 0, nil, errMessageTooLarge
		}
		if err := c.fill(hdr + int(n)); err != nil {
			return 0, nil, err
		}
		p := c.rbuf[c.r+hdr : c.r+hdr+int(n)]
		if masked {
			var key [4]byte
			copy(key[:], c.rbuf[c.r+hdr-4:])
			maskBytes(key, p)
		}
		c.r += hdr + int(n)
		switch opcode {
		case opPing:
			if err := c.writeSoon(opPong, p); err != nil {
				return 0, nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			ce := &closeError{code: 1005}
			if len(p) >= 2 {
				ce.code = int(binary.BigEndian.Uint16(p))
				ce.reason = string(p[2:])
			}
			c.writeSoon(opClose, p[:min(len(p), 2)])
			return 0, nil, ce
		case opText, opBinary:
			if fin {
				return opcode, p, nil
			}
			c.frag = append(c.frag[:0], opcode)
			c.frag = append(c.frag, p...)
		case opContinuation:
			if len(c.frag) == 0 {
				return 0, nil, errors.New("websocket continuation frame without a message")
			}
			if len(c.frag)+len(p) > c.maxMsg {
				return 0, nil, errMessageTooLarge
			}
			c.frag = append(c.frag, p...)
			if fin {
				m := c.frag
				c.frag = c.frag[:0]
				return m[0], m[1:], nil
			}
		default:
			return 0, nil, fmt.Errorf("websocket opcode %d unknown", opcode)
		}
	}
}

// wire is one connection's transport as the scenarios see it: Engine.IO
// packets in their text form ("42[...]"), one per message. wsConn is the
// lean WebSocket path; engineWire (polling, or polling upgraded to
// WebSocket) goes through pkg/client/eioclient.
type wire interface {
	// readMessage returns the next message (opText: an engine.io packet in
	// text form; opBinary: binary data). It aliases internal buffers until
	// the next call; only the reader calls it.
	readMessage() (op byte, payload []byte, err error)
	// writeText sends one engine.io packet now; writeSoon may hand it to
	// another goroutine so the reader never blocks on a busy writer.
	writeText(p []byte) error
	writeSoon(op byte, p []byte) error
	// queue adds a packet to the batch that flushQueue sends in one write.
	// The caller serialises queue and flushQueue.
	queue(p []byte)
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

func (c *wsConn) queue(p []byte) { c.outq = appendFrame(c.outq, opText, p) }

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

// writeText sends one text message.
func (c *wsConn) writeText(p []byte) error { return c.writeFrame(opText, p) }

// appendFrame appends one final client frame, masked with a fresh key as
// RFC 6455 requires of clients. It is safe for concurrent use.
func appendFrame(b []byte, op byte, p []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], mrand.Uint32())
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, p...)
	maskBytes(key, b[start:])
	return b
}

// writeFrame sends one frame.
func (c *wsConn) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendFrame(c.wbuf[:0], op, p)
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

// maskBytes XORs p with the 4-byte key (RFC 6455, 5.3), eight bytes at a time.
func maskBytes(key [4]byte, p []byte) {
	k32 := uint64(binary.LittleEndian.Uint32(key[:]))
	k64 := k32 | k32<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for j := 0; i < len(p); i, j = i+1, j+1 {
		p[i] ^= key[j&3]
	}
}

// close sends a close frame (best effort) and closes the connection.
func (c *wsConn) close() error {
	c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.writeFrame(opClose, []byte{0x03, 0xE8})
	err := c.nc.Close()
	c.bgMu.Lock()
	c.closed = true
	c.bgMu.Unlock()
	c.bg.Wait()
	return err
}
