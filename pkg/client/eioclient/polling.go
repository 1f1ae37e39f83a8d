package eioclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// HTTP long-polling (engine.io-protocol, HTTP long-polling; PROTOCOL.md
// §1.4, §1.5): one GET loop that reads and dispatches, and one writer that
// keeps at most one POST in flight, batching whatever is queued.

const (
	contentTypeText   = "text/plain;charset=UTF-8"
	contentTypeBinary = "application/octet-stream"
	maxErrorBody      = 4 << 10
)

// cacheBuster is engine.io-client 6's randomString: the time in base 36
// without its first three digits, then three random base-36 digits.
func cacheBuster() string {
	var b [16]byte
	s := strconv.AppendInt(b[:0], time.Now().UnixMilli(), 36)
	if len(s) > 3 {
		s = append(s[:0], s[3:]...)
	}
	r := rand.Uint32N(36 * 36 * 36)
	for range 3 {
		s = append(s, "0123456789abcdefghijklmnopqrstuvwxyz"[r%36])
		r /= 36
	}
	return string(s)
}

func (c *Conn) pollHandshakeURL(eio protocol.EIO) string {
	return c.httpBase + "?" + c.userQuery + "EIO=" + strconv.Itoa(int(eio)) + "&transport=polling&t=" + cacheBuster()
}

// openPolling performs the polling handshake: a GET without sid whose body
// starts with the open packet. With auto, a body in the v3 format (from an
// engine.io 3 server, which ignores EIO) makes the session a v3 one.
func (c *Conn) openPolling(ctx context.Context, eio protocol.EIO, auto bool) error {
	u := c.pollHandshakeURL(eio)
	var wrote atomic.Bool
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	body, binaryForm, err := c.get(tctx, u, nil)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && wrote.Load() {
			return fmt.Errorf("GET %s: %w: %w", c.httpBase, ErrNoAnswer, cerr)
		}
		return withContext(ctx, err)
	}
	c.eio = eio
	pkts, err := collectPayload(payloadSeq(body, eio, binaryForm))
	if eio == protocol.EIO4 && (err != nil || len(pkts) == 0 || pkts[0].Type != protocol.EngineOpen) {
		if pkts3, err3 := collectPayload(payloadSeq(body, protocol.EIO3, binaryForm)); err3 == nil &&
			len(pkts3) > 0 && pkts3[0].Type == protocol.EngineOpen {
			if !auto {
				return fmt.Errorf("handshake %s: %w: %w", c.httpBase, ErrProtocol, ErrServerEIO3)
			}
			c.log.Debug("engine.io: server answered in the v3 format, using EIO3")
			c.eio, pkts, err = protocol.EIO3, pkts3, nil
		}
	}
	if err != nil {
		return fmt.Errorf("handshake %s: %w: %w", c.httpBase, ErrNotEngineIO, wrapProtocol(err))
	}
	if len(pkts) == 0 {
		return fmt.Errorf("handshake %s: %w: %w", c.httpBase, ErrNotEngineIO, protocolErr("empty handshake response"))
	}
	if pkts[0].Type != protocol.EngineOpen {
		return fmt.Errorf("handshake %s: %w: %w", c.httpBase, ErrNotEngineIO, protocolErr("expected open packet, got %v", pkts[0].Type))
	}
	if err := c.handshake(pkts[0]); err != nil {
		return fmt.Errorf("handshake %s: %w", c.httpBase, err)
	}
	c.transport = TransportPolling
	c.tap(protocol.In, TransportPolling, pkts[0], c.appendPolling(nil, pkts[0], binaryForm))
	// Later packets alias body, which nothing else uses.
	c.pending = pkts[1:]
	c.pendingBinaryForm = binaryForm

	getDone, postDone := make(chan struct{}), make(chan struct{})
	c.wg.Add(2)
	go c.getLoop(getDone)
	go c.postLoop(postDone)
	c.startHeartbeat()
	if c.canUpgrade() {
		c.wg.Add(1)
		go c.upgrade(getDone, postDone)
	}
	return nil
}

func collectPayload(seq iter.Seq2[protocol.EnginePacket, error]) ([]protocol.EnginePacket, error) {
	var pkts []protocol.EnginePacket
	for p, err := range seq {
		if err != nil {
			return pkts, err
		}
		pkts = append(pkts, p)
	}
	return pkts, nil
}

func payloadSeq(body []byte, eio protocol.EIO, binaryForm bool) iter.Seq2[protocol.EnginePacket, error] {
	switch {
	case eio == protocol.EIO4:
		return protocol.PayloadV4(body)
	case binaryForm:
		return protocol.PayloadV3Binary(body)
	default:
		return protocol.PayloadV3(body)
	}
}

// appendPolling appends p as it is framed in a polling payload, for the Tap.
func (c *Conn) appendPolling(dst []byte, p protocol.EnginePacket, binaryForm bool) []byte {
	if c.opts.Tap == nil {
		return nil
	}
	switch {
	case c.eio == protocol.EIO4:
		return protocol.AppendEngineText(dst, p)
	case binaryForm:
		return protocol.AppendPayloadV3Binary(dst, p)
	default:
		return protocol.AppendPayloadV3(dst, p)
	}
}

// get performs one polling GET and returns the body read into buf, and
// whether it is a v3 binary payload.
func (c *Conn) get(ctx context.Context, u string, buf []byte) ([]byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	c.prepare(req, c.getHeader)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, httpError(resp, u)
	}
	body, err := readLimited(resp.Body, buf[:0], c.opts.MaxReadSize)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", u, err)
	}
	binaryForm := false
	if c.eio != protocol.EIO4 || c.sid == "" {
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		binaryForm = mt == contentTypeBinary || (len(body) > 0 && body[0] <= 1)
	}
	return body, binaryForm, nil
}

// post sends one payload and waits for the server's "ok".
func (c *Conn) post(ctx context.Context, body []byte, binaryForm bool) error {
	u := c.pollURL + cacheBuster()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	h := c.postHeaderText
	if binaryForm {
		h = c.postHeaderBinary
	}
	c.prepare(req, h)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return httpError(resp, u)
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return err
}

func (c *Conn) prepare(req *http.Request, h http.Header) {
	req.Header = h // shared and read-only: http.Client copies before changing it
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
}

func httpError(resp *http.Response, u string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &HTTPError{StatusCode: resp.StatusCode, Body: string(b), URL: u}
}

// errTooLarge is a response over Options.MaxReadSize.
var errTooLarge = errors.New("response body too large")

// readLimited reads r into buf, failing beyond limit bytes.
func readLimited(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, fmt.Errorf("%w: %w (limit %d bytes)", ErrProtocol, errTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// getLoop is the polling reader: GET, dispatch, repeat, until the
// connection closes or an upgrade pauses polling.
func (c *Conn) getLoop(done chan struct{}) {
	defer c.wg.Done()
	defer close(done)
	if !c.waitReady() {
		return
	}
	for _, p := range c.pending {
		if !c.onPacket(p, TransportPolling, c.appendPolling(nil, p, c.pendingBinaryForm)) {
			return
		}
	}
	c.pending = nil
	var buf []byte
	for {
		c.mu.Lock()
		stop := c.state == stPaused || c.state == stClosed || c.closeDone
		c.mu.Unlock()
		if stop {
			return
		}
		body, binaryForm, err := c.get(c.ctx, c.pollURL+cacheBuster(), buf)
		if err != nil {
			if c.ctx.Err() == nil {
				c.shutdown(readFailureReason(err), err)
			}
			return
		}
		for p, err := range payloadSeq(body, c.eio, binaryForm) {
			if err != nil {
				c.shutdown(protocol.ReasonParseError, fmt.Errorf("polling payload: %w", wrapProtocol(err)))
				return
			}
			if !c.onPacket(p, TransportPolling, c.appendPolling(nil, p, binaryForm)) {
				return
			}
		}
		if cap(body) <= 64<<10 {
			buf = body[:0]
		} else {
			buf = nil
		}
	}
}

// readFailureReason maps a read error to Node's reason: a protocol
// violation is "parse error", anything else "transport error".
func readFailureReason(err error) protocol.DisconnectReason {
	if errors.Is(err, ErrProtocol) {
		return protocol.ReasonParseError
	}
	return protocol.ReasonTransportError
}

// postLoop is the polling writer: at most one POST in flight, carrying
// every control packet and as many queued messages as maxPayload allows.
func (c *Conn) postLoop(done chan struct{}) {
	defer c.wg.Done()
	defer close(done)
	var batch []protocol.EnginePacket
	var body []byte
	for {
		c.mu.Lock()
		if c.state == stClosed || c.state == stPaused {
			c.mu.Unlock()
			return
		}
		var n int
		batch, n = c.takeLocked(batch[:0], c.maxBatch)
		closing := c.closing
		c.mu.Unlock()
		if len(batch) == 0 {
			if closing {
				body = c.encodePayload(body[:0], []protocol.EnginePacket{{Type: protocol.EngineClose}})
				c.tapBatch(protocol.EnginePacket{Type: protocol.EngineClose})
				if err := c.post(c.ctx, body, false); err != nil {
					c.log.Debug("engine.io: close POST failed", "sid", c.sid, "err", err)
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
		binaryForm := false
		if c.eio == protocol.EIO3 {
			for _, p := range batch {
				binaryForm = binaryForm || p.Binary
			}
		}
		body = c.encodePayload(body[:0], batch)
		c.tapBatch(batch...)
		err := c.post(c.ctx, body, binaryForm)
		clear(batch)
		if err != nil {
			if c.ctx.Err() == nil {
				c.shutdown(protocol.ReasonTransportError, err)
			}
			return
		}
		c.wrote(n)
		if cap(body) > 64<<10 {
			body = nil
		}
	}
}

// encodePayload encodes a POST body: v4 joined by 0x1e; v3 as text, or as
// a binary payload (application/octet-stream) when a message is binary,
// like engine.io-client 3 with XHR2.
func (c *Conn) encodePayload(dst []byte, batch []protocol.EnginePacket) []byte {
	if c.eio == protocol.EIO4 {
		return protocol.AppendPayloadV4(dst, batch...)
	}
	for _, p := range batch {
		if p.Binary {
			return protocol.AppendPayloadV3Binary(dst, batch...)
		}
	}
	return protocol.AppendPayloadV3(dst, batch...)
}

func (c *Conn) tapBatch(batch ...protocol.EnginePacket) {
	if c.opts.Tap == nil {
		return
	}
	binaryForm := false
	if c.eio == protocol.EIO3 {
		for _, p := range batch {
			binaryForm = binaryForm || p.Binary
		}
	}
	for _, p := range batch {
		c.tap(protocol.Out, TransportPolling, p, c.appendPolling(nil, p, binaryForm))
	}
}
