package eioclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sio-dev/sio/pkg/protocol"
)

// connState is where a connection is in its life. Transitions, all under
// Conn.mu:
//
//	open ──probe dialled──▶ upgrading ──3probe──▶ paused ──5 sent──▶ open (websocket)
//	  ▲                        │ probe failed / Close
//	  └────────────────────────┘
//	any ──shutdown──▶ closed
type connState uint8

const (
	stOpen      connState = iota // one transport carries everything
	stUpgrading                  // probe WebSocket in flight, polling goes on
	stPaused                     // probe answered: polling winds down, no new requests
	stClosed
)

// Conn is an Engine.IO client connection. See the package doc for the
// concurrency contract.
type Conn struct {
	opts Options
	log  *slog.Logger

	// Set during Dial, read-only afterwards.
	eio       protocol.EIO
	guessed   bool // eio is EIO4 by default, not by evidence (EIOGuessed)
	hs        protocol.Handshake
	sid       string
	httpBase  string // http(s)://host/path
	wsBase    string // ws(s)://host/path
	userQuery string // opts.Query encoded, with a trailing '&' when not empty
	pollURL   string // httpBase?…&EIO=n&transport=polling&sid=X&t=
	client    *http.Client
	ownClient *http.Transport // closed with the connection
	dialer    *websocket.Dialer
	getHeader http.Header
	// POST headers: Header plus the Content-Type (shared, read-only).
	postHeaderText, postHeaderBinary http.Header
	maxBatch                         int // v4 polling batch limit in bytes (0: none)

	ctx       context.Context // cancelled by shutdown: aborts every request
	cancel    context.CancelFunc
	ready     chan struct{} // closed when Dial returns: callbacks wait for it
	done      chan struct{} // closed after OnClose returned
	closeSent chan struct{} // closed by the writer once the close packet is out
	// peerClosed is closed by the WebSocket reader when the stream ends
	// after Close: the server's answer to our close frame.
	peerClosed     chan struct{}
	peerClosedOnce sync.Once
	wake           chan struct{} // cap 1: something to write
	wg             sync.WaitGroup

	// pending holds the packets that came after open in the handshake
	// response (socket.io 2 piggybacks "40"); the reader dispatches them first.
	pending           []protocol.EnginePacket
	pendingBinaryForm bool
	// detect receives the first frame's kind during WebSocket EIO detection.
	detect chan byte

	mu         sync.Mutex
	state      connState
	transport  string
	closing    bool // Close called: drain, send close, stop
	closeDone  bool // the close packet was sent
	queue      []protocol.EnginePacket
	ctrl       []protocol.EnginePacket // pong, ping, written before the queue
	queued     uint64                  // data packets ever queued
	written    uint64                  // data packets ever written
	progress   chan struct{}           // closed when written grows (created by Flush)
	ws         *websocket.Conn         // current WebSocket transport
	probe      *websocket.Conn         // upgrade probe
	reason     protocol.DisconnectReason
	cause      error
	hb         *time.Timer
	hbLastPing time.Time // v4: last ping (or open)
	hbAwait    bool      // v3: a ping is out, waiting for its pong

	hbAwaitFlag atomic.Bool // mirrors hbAwait, so most packets skip the lock
}

// Dial performs the handshake on base (scheme http, https, ws or wss; its
// path is ignored, the engine path is opts.Path) and returns once the open
// packet is received. With Transport "auto" the upgrade probe runs in the
// background after Dial returns. ctx bounds only the handshake.
func Dial(ctx context.Context, base *url.URL, opts Options) (*Conn, error) {
	opts.setDefaults()
	switch opts.Transport {
	case TransportAuto, TransportPolling, TransportWebSocket:
	default:
		return nil, fmt.Errorf("unknown transport %q", opts.Transport)
	}
	if opts.EIO != 0 && opts.EIO != protocol.EIO3 && opts.EIO != protocol.EIO4 {
		return nil, fmt.Errorf("unsupported EIO %d", opts.EIO)
	}
	c, err := newConn(base, opts)
	if err != nil {
		return nil, err
	}
	auto := opts.EIO == 0
	eio := opts.EIO
	if auto {
		eio = protocol.EIO4
	}
	for {
		if opts.Transport == TransportWebSocket {
			err = c.openWebSocket(ctx, eio, auto)
		} else {
			err = c.openPolling(ctx, eio, auto)
		}
		if err != nil && auto && eio == protocol.EIO4 && isUnsupportedProtocol(err) {
			c.log.Debug("engine.io: server refused EIO4, retrying with EIO3")
			eio = protocol.EIO3
			continue
		}
		break
	}
	if err != nil {
		c.abort()
		return nil, err
	}
	c.log.Debug("engine.io: open", "sid", c.sid, "eio", int(c.eio), "transport", c.transport)
	close(c.ready)
	return c, nil
}

func newConn(base *url.URL, opts Options) (*Conn, error) {
	if base == nil || base.Host == "" {
		return nil, errors.New("missing host in URL")
	}
	var httpScheme, wsScheme string
	switch base.Scheme {
	case "http", "ws":
		httpScheme, wsScheme = "http", "ws"
	case "https", "wss":
		httpScheme, wsScheme = "https", "wss"
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q", base.Scheme)
	}
	path := (&url.URL{Path: opts.Path}).EscapedPath()
	c := &Conn{
		opts:       opts,
		log:        opts.Logger,
		httpBase:   httpScheme + "://" + base.Host + path,
		wsBase:     wsScheme + "://" + base.Host + path,
		ready:      make(chan struct{}),
		done:       make(chan struct{}),
		closeSent:  make(chan struct{}),
		peerClosed: make(chan struct{}),
		wake:       make(chan struct{}, 1),
		getHeader:  opts.Header.Clone(),
	}
	if c.getHeader == nil {
		c.getHeader = http.Header{}
	}
	c.postHeaderText = c.getHeader.Clone()
	c.postHeaderText.Set("Content-Type", contentTypeText)
	c.postHeaderBinary = c.getHeader.Clone()
	c.postHeaderBinary.Set("Content-Type", contentTypeBinary)
	if len(opts.Query) > 0 {
		c.userQuery = opts.Query.Encode() + "&"
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if opts.HTTPClient != nil {
		c.client = opts.HTTPClient
	} else if opts.Transport != TransportWebSocket {
		dial := opts.DialContext
		if dial == nil {
			dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		}
		c.ownClient = &http.Transport{
			Proxy:                 opts.Proxy,
			DialContext:           dial,
			TLSClientConfig:       opts.TLSConfig,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		c.client = &http.Client{Transport: c.ownClient}
	}
	c.dialer = &websocket.Dialer{
		NetDialContext:   opts.DialContext,
		Proxy:            opts.Proxy,
		TLSClientConfig:  opts.TLSConfig,
		HandshakeTimeout: 45 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		WriteBufferPool:  wsWriteBufferPool,
	}
	return c, nil
}

// wsWriteBufferPool shares WebSocket write buffers between connections: a
// buffer is held only while a message is written.
var wsWriteBufferPool = &sync.Pool{}

// SID is the Engine.IO session id.
func (c *Conn) SID() string { return c.sid }

// EIO is the protocol revision in use (after automatic detection).
func (c *Conn) EIO() protocol.EIO { return c.eio }

// EIOGuessed reports whether EIO is a default rather than a detection: with
// EIO auto over WebSocket only, an open packet without maxPayload and no
// message within the detection window leave EIO4 assumed, which is wrong
// for a socket.io 2.x server whose "/" middleware is slower than the
// window. The layer above can then watch for a v3 server (a Socket.IO
// CONNECT answered without a sid) and dial again with EIO3.
func (c *Conn) EIOGuessed() bool { return c.guessed }

// Handshake is the server's open packet.
func (c *Conn) Handshake() protocol.Handshake { return c.hs }

// Transport is the current transport: "polling" or "websocket".
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done is closed when the connection has ended and OnClose has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Send queues messages (type message, text or binary) atomically and in
// order; it never blocks. The data is copied. It returns ErrClosed once
// Close was called or the connection ended, ErrQueueFull when MaxQueue
// packets are already waiting (then nothing is queued).
func (c *Conn) Send(msgs ...protocol.EnginePacket) error {
	total := 0
	for _, m := range msgs {
		if m.Type > protocol.EngineNoop || (m.Binary && m.Type != protocol.EngineMessage) {
			return fmt.Errorf("send: invalid packet type %v", m.Type)
		}
		total += len(m.Data)
	}
	var arena []byte
	if total > 0 {
		arena = make([]byte, 0, total)
		for _, m := range msgs {
			arena = append(arena, m.Data...)
		}
	}
	c.mu.Lock()
	if c.state == stClosed || c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	if len(c.queue)+len(msgs) > c.opts.MaxQueue {
		c.mu.Unlock()
		return ErrQueueFull
	}
	off := 0
	for _, m := range msgs {
		n := len(m.Data)
		c.queue = append(c.queue, protocol.EnginePacket{Type: m.Type, Data: arena[off : off+n : off+n], Binary: m.Binary})
		off += n
	}
	c.queued += uint64(len(msgs))
	c.mu.Unlock()
	c.wakeWriter()
	return nil
}

// Flush waits until every packet queued before the call has been written to
// the network: a WebSocket frame written, or a polling POST answered. It
// returns ctx's error, or ErrClosed if the connection ends first.
func (c *Conn) Flush(ctx context.Context) error {
	c.mu.Lock()
	target := c.queued
	for c.written < target {
		if c.state == stClosed {
			c.mu.Unlock()
			return ErrClosed
		}
		if c.progress == nil {
			c.progress = make(chan struct{})
		}
		ch := c.progress
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// Close flushes the queue, sends close (polling: a POST "1", v3 "1:1";
// WebSocket: a close frame) and ends the connection with reason
// "io client disconnect". It never blocks: the flush (at most
// Options.CloseTimeout) and the close go on in the background, and Done is
// closed once every goroutine has returned and OnClose has run. So Close
// can be called from a callback, and a caller that must outlive the
// connection waits with <-c.Done(). It is idempotent.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.state == stClosed || c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	// Counted under mu while the state is not closed: shutdown, which
	// starts the Wait in finish, comes after this Add.
	c.wg.Add(1)
	c.mu.Unlock()
	c.wakeWriter()
	go func() {
		defer c.wg.Done()
		c.finishClose()
	}()
	return nil
}

// finishClose waits for the writer to flush and send close (at most
// CloseTimeout), then ends the connection.
func (c *Conn) finishClose() {
	t := time.NewTimer(c.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-c.closeSent:
		c.mu.Lock()
		overWS := c.transport == TransportWebSocket
		c.mu.Unlock()
		if !overWS {
			break
		}
		// The WebSocket closing handshake (RFC 6455 §7.1.1), as Node's ws
		// does it: wait for the server's close frame before closing the
		// TCP connection. Closing it with the server's frames still unread
		// here makes the kernel send a reset, and the server's kernel then
		// drops what it has not handed to the server yet: the last
		// messages sent before Close, and the close frame itself.
		select {
		case <-c.peerClosed:
		case <-c.ctx.Done():
		case <-t.C:
			c.log.Debug("engine.io: no close frame from the server in time", "sid", c.sid)
		}
	case <-c.ctx.Done():
	case <-t.C:
		c.log.Debug("engine.io: close timed out, dropping the queue", "sid", c.sid)
	}
	c.shutdown(protocol.ReasonIOClientDisconnect, nil)
}

func (c *Conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sendCtrl queues a control packet (pong, ping) ahead of the messages.
func (c *Conn) sendCtrl(p protocol.EnginePacket) {
	c.mu.Lock()
	if c.state == stClosed {
		c.mu.Unlock()
		return
	}
	c.ctrl = append(c.ctrl, p)
	c.mu.Unlock()
	c.wakeWriter()
}

// takeLocked moves the control packets and then queued messages into dst,
// at most maxBytes of encoded v4 payload when maxBytes > 0 (engine.io-client
// getWritablePackets: UTF-8 length, binary as base64, +1 per separator and
// type; at least one packet). It returns the batch and how many messages.
func (c *Conn) takeLocked(dst []protocol.EnginePacket, maxBytes int) ([]protocol.EnginePacket, int) {
	dst = append(dst, c.ctrl...)
	clear(c.ctrl)
	c.ctrl = c.ctrl[:0]
	n := len(c.queue)
	if maxBytes > 0 {
		size := 1
		for _, p := range dst {
			size += len(p.Data) + 2
		}
		for i, p := range c.queue {
			if p.Binary {
				size += (len(p.Data)*4 + 2) / 3
			} else {
				size += len(p.Data)
			}
			if (i > 0 || len(dst) > 0) && size > maxBytes {
				n = i
				break
			}
			size += 2
		}
	}
	dst = append(dst, c.queue[:n]...)
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	if cap(c.queue) > 4*c.opts.MaxQueue/3+64 && rest == 0 {
		c.queue = nil
	}
	return dst, n
}

// wroteLocked records n written messages and wakes Flush callers.
func (c *Conn) wroteLocked(n int) {
	c.written += uint64(n)
	if c.progress != nil {
		close(c.progress)
		c.progress = nil
	}
}

func (c *Conn) wrote(n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.wroteLocked(n)
	c.mu.Unlock()
}

// markCloseSent records that the writer sent the close packet.
func (c *Conn) markCloseSent() {
	c.mu.Lock()
	if !c.closeDone {
		c.closeDone = true
		close(c.closeSent)
	}
	c.mu.Unlock()
}

// shutdown ends the connection once: it records why, cancels every request,
// closes the WebSockets and lets a finisher call OnClose once all
// goroutines have returned. After Close was called the reason is always
// "io client disconnect".
func (c *Conn) shutdown(reason protocol.DisconnectReason, cause error) {
	c.mu.Lock()
	if c.state == stClosed {
		c.mu.Unlock()
		return
	}
	if c.closing {
		reason, cause = protocol.ReasonIOClientDisconnect, nil
	}
	c.state = stClosed
	c.reason, c.cause = reason, cause
	ws, probe := c.ws, c.probe
	if c.progress != nil {
		close(c.progress)
		c.progress = nil
	}
	if c.hb != nil {
		c.hb.Stop()
	}
	clear(c.queue)
	c.queue = nil
	c.mu.Unlock()
	if cause != nil {
		c.log.Debug("engine.io: closed", "sid", c.sid, "reason", string(reason), "err", cause)
	} else {
		c.log.Debug("engine.io: closed", "sid", c.sid, "reason", string(reason))
	}
	c.cancel()
	if ws != nil {
		ws.Close()
	}
	if probe != nil {
		probe.Close()
	}
	go c.finish()
}

func (c *Conn) finish() {
	c.wg.Wait()
	if c.ownClient != nil {
		c.ownClient.CloseIdleConnections()
	}
	c.mu.Lock()
	reason, cause := c.reason, c.cause
	c.mu.Unlock()
	if c.opts.OnClose != nil {
		c.callback(func() { c.opts.OnClose(reason, cause) })
	}
	close(c.done)
}

// abort undoes a failed Dial: no OnClose, every goroutine stopped.
func (c *Conn) abort() {
	c.mu.Lock()
	c.state = stClosed
	ws, probe := c.ws, c.probe
	if c.hb != nil {
		c.hb.Stop()
	}
	c.mu.Unlock()
	c.cancel()
	if ws != nil {
		ws.Close()
	}
	if probe != nil {
		probe.Close()
	}
	c.wg.Wait()
	if c.ownClient != nil {
		c.ownClient.CloseIdleConnections()
	}
	close(c.done)
}

// callback runs user code; a panic is logged and closes the connection.
func (c *Conn) callback(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("engine.io: callback panicked", "sid", c.sid, "panic", r)
			c.shutdown(protocol.ReasonTransportError, fmt.Errorf("callback panicked: %v", r))
			ok = false
		}
	}()
	f()
	return true
}

// waitReady blocks a reader until Dial has returned, so callbacks never run
// during Dial. It reports false if the connection was aborted.
func (c *Conn) waitReady() bool {
	select {
	case <-c.ready:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// onPacket handles one received packet on the reader goroutine. raw is the
// packet as framed by its transport, for the Tap. It reports false when the
// reader must stop.
func (c *Conn) onPacket(p protocol.EnginePacket, transport string, raw []byte) bool {
	c.tap(protocol.In, transport, p, raw)
	if c.eio == protocol.EIO3 {
		c.heartbeatV3Packet(p.Type)
	}
	switch p.Type {
	case protocol.EngineMessage:
		if c.opts.OnMessage != nil {
			return c.callback(func() { c.opts.OnMessage(p.Data, p.Binary) })
		}
	case protocol.EnginePing:
		if c.eio == protocol.EIO4 {
			c.heartbeatV4Ping()
			c.sendCtrl(protocol.EnginePacket{Type: protocol.EnginePong})
		}
	case protocol.EngineClose:
		c.shutdown(protocol.ReasonForcedClose, nil)
		return false
	case protocol.EngineOpen:
		c.log.Warn("engine.io: unexpected open packet after the handshake", "sid", c.sid)
	case protocol.EnginePong, protocol.EngineNoop, protocol.EngineUpgrade:
	}
	return true
}

func (c *Conn) tap(dir protocol.Direction, transport string, p protocol.EnginePacket, raw []byte) {
	if c.opts.Tap == nil {
		return
	}
	c.opts.Tap(protocol.Trace{
		Time:      c.opts.Now(),
		Dir:       dir,
		Layer:     protocol.LayerEngine,
		EngineSID: c.sid,
		Transport: transport,
		EIO:       c.eio,
		Engine:    p,
		Raw:       [][]byte{raw},
	})
}

// startHeartbeat arms the one heartbeat timer (engine.io-protocol,
// Heartbeat). v4: the server pings; no ping within pingInterval+pingTimeout
// of the last one means a dead server. v3: the client pings every
// pingInterval and expects a pong within pingTimeout.
func (c *Conn) startHeartbeat() {
	interval := time.Duration(c.hs.PingInterval) * time.Millisecond
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eio == protocol.EIO4 {
		c.hbLastPing = time.Now()
		c.hb = time.AfterFunc(interval+time.Duration(c.hs.PingTimeout)*time.Millisecond, c.onHeartbeatV4)
	} else {
		c.hb = time.AfterFunc(interval, c.onHeartbeatV3)
	}
}

func (c *Conn) heartbeatV4Ping() {
	c.mu.Lock()
	if c.hb != nil && c.state != stClosed {
		c.hbLastPing = time.Now()
		c.hb.Reset(time.Duration(c.hs.PingInterval+c.hs.PingTimeout) * time.Millisecond)
	}
	c.mu.Unlock()
}

func (c *Conn) onHeartbeatV4() {
	limit := time.Duration(c.hs.PingInterval+c.hs.PingTimeout) * time.Millisecond
	c.mu.Lock()
	if c.state == stClosed {
		c.mu.Unlock()
		return
	}
	// A ping that raced with the timer re-armed it already.
	if left := limit - time.Since(c.hbLastPing); left > 0 {
		c.hb.Reset(left)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.shutdown(protocol.ReasonPingTimeout, nil)
}

func (c *Conn) onHeartbeatV3() {
	c.mu.Lock()
	if c.state == stClosed {
		c.mu.Unlock()
		return
	}
	if c.hbAwait {
		c.mu.Unlock()
		c.shutdown(protocol.ReasonPingTimeout, nil)
		return
	}
	c.hbAwait = true
	c.hbAwaitFlag.Store(true)
	c.ctrl = append(c.ctrl, protocol.EnginePacket{Type: protocol.EnginePing})
	c.hb.Reset(time.Duration(c.hs.PingTimeout) * time.Millisecond)
	c.mu.Unlock()
	c.wakeWriter()
}

// heartbeatV3Packet follows engine.io-client 3: a pong schedules the next
// ping pingInterval later; any other packet while a pong is awaited extends
// the deadline to pingInterval+pingTimeout.
func (c *Conn) heartbeatV3Packet(t protocol.EngineType) {
	if !c.hbAwaitFlag.Load() {
		return
	}
	c.mu.Lock()
	if c.hb != nil && c.state != stClosed && c.hbAwait {
		if t == protocol.EnginePong {
			c.hbAwait = false
			c.hbAwaitFlag.Store(false)
			c.hb.Reset(time.Duration(c.hs.PingInterval) * time.Millisecond)
		} else {
			c.hb.Reset(time.Duration(c.hs.PingInterval+c.hs.PingTimeout) * time.Millisecond)
		}
	}
	c.mu.Unlock()
}

// handshake validates the open packet and records it.
func (c *Conn) handshake(p protocol.EnginePacket) error {
	if p.Type != protocol.EngineOpen {
		return protocolErr("expected open packet, got %v", p.Type)
	}
	hs, err := protocol.ParseHandshake(p.Data)
	if err != nil {
		return wrapProtocol(err)
	}
	c.hs = hs
	c.sid = hs.SID
	if c.eio == protocol.EIO4 && hs.MaxPayload > 0 && hs.MaxPayload < 1<<40 {
		c.maxBatch = int(hs.MaxPayload)
	}
	c.pollURL = c.httpBase + "?" + c.userQuery + "EIO=" + strconv.Itoa(int(c.eio)) +
		"&transport=polling&sid=" + url.QueryEscape(hs.SID) + "&t="
	return nil
}

func (c *Conn) canUpgrade() bool {
	return c.opts.Transport == TransportAuto && slices.Contains(c.hs.Upgrades, TransportWebSocket)
}
