package eioclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// WebSocket transport (engine.io-protocol, WebSocket; PROTOCOL.md §1.6): one
// Engine.IO packet per message, one reader and one writer goroutine.

// detectWindow is how long a WebSocket-only Dial with EIO auto waits for a
// second frame when the open packet has no maxPayload (engine.io 3 never
// sends it; engine.io 4.x and 5.0 don't either). socket.io 2 sends its "40"
// right after open, socket.io 3/4 send nothing before the client speaks.
//
// No shorter signal is safe. Measured over WebSocket on loopback: socket.io
// 2.5.1 opens with {"sid","upgrades":[],"pingInterval":25000,
// "pingTimeout":20000} and "40" in the same millisecond; socket.io 3.1.2
// with the same fields, pingTimeout 5000 and nothing after. The values are
// server options and neither sets a cookie or another header, so a 3.x
// server costs the whole window (1.00 s against 3 ms over polling, see
// test/interop/client), and a 2.x server whose "/" middleware takes longer
// than the window is taken for EIO4: Conn.EIOGuessed reports that case, and
// pkg/client dials again with EIO3 when the CONNECT reply shows a v2 server.
const detectWindow = time.Second

func (c *Conn) wsURL(eio protocol.EIO, sid string) string {
	u := c.wsBase + "?" + c.userQuery + "EIO=" + strconv.Itoa(int(eio)) + "&transport=websocket"
	if sid != "" {
		u += "&sid=" + url.QueryEscape(sid)
	}
	return u
}

// dialWS opens a WebSocket. A refused handshake is an *HTTPError; network
// failures keep their type inside a *url.Error.
func (c *Conn) dialWS(ctx context.Context, u string) (*websocket.Conn, error) {
	ws, resp, err := c.dialer.DialContext(ctx, u, c.opts.Header)
	if err != nil {
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			return nil, httpError(resp, u)
		}
		if resp == nil && ctx.Err() == nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			// The request went out (a TLS or dial failure is not an EOF)
			// and the server hung up instead of answering.
			return nil, &url.Error{Op: "GET", URL: u, Err: ErrUpgradeUnanswered}
		}
		return nil, withContext(ctx, &url.Error{Op: "GET", URL: u, Err: err})
	}
	ws.SetReadLimit(c.opts.MaxReadSize)
	return ws, nil
}

// openWebSocket performs a WebSocket-only handshake: the open packet is the
// first frame.
func (c *Conn) openWebSocket(ctx context.Context, eio protocol.EIO, auto bool) error {
	u := c.wsURL(eio, "")
	ws, err := c.dialWS(ctx, u)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ws = ws
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	mt, data, err := ws.ReadMessage()
	if !stop() {
		// The WebSocket was accepted but no open packet came.
		return withContext(ctx, fmt.Errorf("handshake %s: %w: %w", u, ErrNotEngineIO, ctx.Err()))
	}
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) || isFramingError(err) {
			// A frame that does not parse: socket.io 3+/4 refusing EIO3
			// answers 101 and then writes an HTTP 400 on the socket.
			err = wrapProtocol(err)
		}
		return fmt.Errorf("handshake %s: %w", u, err)
	}
	if mt != websocket.TextMessage {
		return fmt.Errorf("handshake %s: %w: %w", u, ErrNotEngineIO, protocolErr("expected open packet, got a binary frame"))
	}
	p, err := protocol.ParseEngineText(data)
	if err != nil {
		return fmt.Errorf("handshake %s: %w: %w", u, ErrNotEngineIO, wrapProtocol(err))
	}
	if p.Type != protocol.EngineOpen {
		return fmt.Errorf("handshake %s: %w: %w", u, ErrNotEngineIO, protocolErr("expected open packet, got %v", p.Type))
	}
	c.eio = eio
	if err := c.handshake(p); err != nil {
		return fmt.Errorf("handshake %s: %w", u, err)
	}
	c.transport = TransportWebSocket
	detect := auto && eio == protocol.EIO4 && c.hs.MaxPayload == 0
	if detect {
		c.detect = make(chan byte, 1)
	}
	c.wg.Add(1)
	go c.wsReadLoop(ws, true)
	if detect {
		t := time.NewTimer(detectWindow)
		select {
		case kind := <-c.detect:
			if kind == '4' || kind == 'b' {
				c.log.Debug("engine.io: server sent a message before the client spoke, using EIO3")
				c.eio = protocol.EIO3
			}
		case <-t.C:
			c.log.Debug("engine.io: no message before the client spoke, assuming EIO4")
		case <-ctx.Done():
			t.Stop()
			return withContext(ctx, fmt.Errorf("handshake %s: %w", u, ctx.Err()))
		}
		t.Stop()
		c.guessed = c.eio == protocol.EIO4
	}
	c.tap(protocol.In, TransportWebSocket, p, data)
	c.wg.Add(1)
	go c.wsWriteLoop(ws)
	c.startHeartbeat()
	return nil
}

// wsReadLoop reads and dispatches frames until the socket fails or the
// connection closes. gate: wait for Dial to return before the first
// dispatch (and report the first frame's kind for EIO detection).
func (c *Conn) wsReadLoop(ws *websocket.Conn, gate bool) {
	defer c.wg.Done()
	var buf []byte
	for {
		mt, r, err := ws.NextReader()
		if err == nil {
			buf, err = readLimited(r, buf[:0], c.opts.MaxReadSize)
		}
		if err != nil {
			c.wsReadFailed(err)
			return
		}
		if gate {
			if c.detect != nil {
				kind := byte('b')
				if mt == websocket.TextMessage && len(buf) > 0 {
					kind = buf[0]
				}
				c.detect <- kind // cap 1, sent once
			}
			if !c.waitReady() {
				return
			}
			gate = false
		}
		var p protocol.EnginePacket
		if mt == websocket.TextMessage {
			p, err = protocol.ParseEngineText(buf)
		} else {
			p, err = protocol.ParseEngineBinary(buf, c.eio)
		}
		if err != nil {
			c.shutdown(protocol.ReasonParseError, fmt.Errorf("websocket frame: %w", wrapProtocol(err)))
			return
		}
		if !c.onPacket(p, TransportWebSocket, buf) {
			return
		}
		if cap(buf) > 64<<10 {
			buf = nil
		}
	}
}

func (c *Conn) wsReadFailed(err error) {
	if c.ctx.Err() != nil {
		return // closing: the error is ours
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		// After our close frame, the server's close frame or the end of
		// the stream completes the closing handshake; finishClose ends
		// the connection with Close's reason.
		c.peerClosedOnce.Do(func() { close(c.peerClosed) })
		return
	}
	var ce *websocket.CloseError
	switch {
	case errors.Is(err, websocket.ErrReadLimit) || errors.Is(err, ErrProtocol):
		c.shutdown(protocol.ReasonParseError, fmt.Errorf("websocket: %w", wrapProtocol(err)))
	case errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseNoStatusReceived ||
		ce.Code == websocket.CloseAbnormalClosure):
		// 1006 is gorilla's name for a connection that ended without a
		// close frame: a plain transport close, nothing more to say.
		c.shutdown(protocol.ReasonTransportClose, nil)
	case errors.As(err, &ce):
		c.shutdown(protocol.ReasonTransportClose, err) // already says "websocket: close N"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		c.shutdown(protocol.ReasonTransportClose, fmt.Errorf("websocket: %w", err))
	default:
		c.shutdown(protocol.ReasonTransportError, fmt.Errorf("websocket: %w", err))
	}
}

// wsWriteLoop drains the queues into frames. On Close it flushes, sends a
// close frame and returns.
func (c *Conn) wsWriteLoop(ws *websocket.Conn) {
	defer c.wg.Done()
	var batch []protocol.EnginePacket
	var frame []byte
	for {
		c.mu.Lock()
		if c.state == stClosed {
			c.mu.Unlock()
			return
		}
		var n int
		batch, n = c.takeLocked(batch[:0], 0)
		closing := c.closing
		c.mu.Unlock()
		if len(batch) == 0 {
			if closing {
				msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
				if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
					c.log.Debug("engine.io: close frame failed", "sid", c.sid, "err", err)
				}
				c.markCloseSent()
				return
			}
			select {
			case <-c.wake:
				continue
			case <-c.ctx.Done():
				return
			}
		}
		for _, p := range batch {
			var bin bool
			frame, bin = protocol.AppendEngineFrame(frame[:0], p, c.eio)
			mt := websocket.TextMessage
			if bin {
				mt = websocket.BinaryMessage
			}
			c.tap(protocol.Out, TransportWebSocket, p, frame)
			if err := ws.WriteMessage(mt, frame); err != nil {
				clear(batch)
				if c.ctx.Err() == nil {
					c.shutdown(protocol.ReasonTransportError, fmt.Errorf("websocket: %w", err))
				}
				return
			}
		}
		clear(batch)
		c.wrote(n)
		if cap(frame) > 64<<10 {
			frame = nil
		}
	}
}

// isFramingError reports a WebSocket read error that is neither a close,
// nor a network failure, nor the end of the stream: the peer sent bytes
// that are not valid WebSocket frames (gorilla reports them as plain
// errors).
func isFramingError(err error) bool {
	var ce *websocket.CloseError
	var ne net.Error
	return !errors.As(err, &ce) && !errors.As(err, &ne) && !errors.Is(err, io.EOF) &&
		!errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed)
}
