package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Client is one connection to a Socket.IO server (socket.io-client's
// Manager) with the socket of the URL's namespace, and more namespaces
// multiplexed on it with Of. It reconnects by itself after the connection
// is lost, unless Options.NoReconnect.
//
// The methods On, OnAny, Emit, EmitVolatile and EmitWithAck act on the
// URL's namespace (see Socket). All methods are safe for concurrent use,
// except that Close must not be called from a handler (it waits for the
// goroutine that runs handlers): call it from another goroutine.
type Client struct {
	opts    Options
	rawURL  string
	base    *url.URL
	mainNsp string
	main    *Socket

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the supervisor goroutine

	stopOnce sync.Once
	done     chan struct{} // closed when the client stops for good

	// mu guards the fields below. Lock order: a Socket's mu may be held
	// while taking Client.mu, never the reverse.
	mu      sync.Mutex
	link    *link        // the live engine.io connection; nil while down
	eio     protocol.EIO // the revision to dial: opts.EIO, or EIO3 once auto found a v2 server while auth is set or after a wrong guess
	sockets map[string]*Socket
	states  []func(State)
	started bool
	closed  bool
	err     error // why the client stopped
}

// New prepares a client for rawURL without connecting, so that handlers
// can be registered before the first packet arrives; Connect connects.
// The URL's scheme is http, https, ws or wss; its path is the namespace
// ("/" when empty), as in socket.io-client; its query is sent with every
// request.
func New(rawURL string, opts Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse url: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("url %q: scheme must be http, https, ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q: missing host", rawURL)
	}
	opts = opts.withDefaults()
	q := url.Values{}
	for k, v := range u.Query() {
		q[k] = append(q[k], v...)
	}
	for k, v := range opts.Query {
		q[k] = append(q[k], v...)
	}
	opts.Query = q
	base := &url.URL{Scheme: u.Scheme, Host: u.Host}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		opts:    opts,
		rawURL:  rawURL,
		base:    base,
		mainNsp: normalizeNamespace(u.Path),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		sockets: make(map[string]*Socket),
		eio:     opts.EIO,
	}
	c.main = c.Of(c.mainNsp)
	return c, nil
}

// Dial connects to rawURL and its namespace and returns once the
// namespace is connected: New then Connect. A handler registered after
// Dial may miss events the server emits right after the connection; use
// New, register, then Connect when that matters.
func Dial(ctx context.Context, rawURL string, opts Options) (*Client, error) {
	c, err := New(rawURL, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Connect opens the engine.io connection and connects the URL's namespace
// (and any socket made with Of and connected before), returning when the
// namespace is connected, refused (*ConnectError) or ctx is done. On
// failure the client is closed. Connect may be called once.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.started {
		c.mu.Unlock()
		return errors.New("client already connected")
	}
	c.started = true
	c.mu.Unlock()
	c.main.activate()
	l, err := c.openLink(ctx, 0)
	if err != nil {
		c.Close()
		return fmt.Errorf("connect %s: %w", c.rawURL, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		l.conn.Close()
		return fmt.Errorf("connect %s: %w", c.rawURL, ErrClosed)
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go c.supervise(l)
	if err := c.main.wait(ctx); err != nil {
		c.Close()
		return fmt.Errorf("connect %s: %w", c.rawURL, err)
	}
	return nil
}

// Socket returns the socket of the URL's namespace.
func (c *Client) Socket() *Socket { return c.main }

// Of returns the socket of namespace nsp on this connection, creating it
// (not yet connected: register handlers, then call its Connect).
func (c *Client) Of(nsp string) *Socket {
	nsp = normalizeNamespace(nsp)
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sockets[nsp]; ok {
		return s
	}
	s := newSocket(c, nsp)
	c.sockets[nsp] = s
	return s
}

// On registers a handler for event on the URL's namespace (Socket.On).
func (c *Client) On(event string, h func(*Event)) { c.main.On(event, h) }

// OnAny registers a handler for every event of the URL's namespace.
func (c *Client) OnAny(h func(*Event)) { c.main.OnAny(h) }

// Emit sends an event to the URL's namespace (Socket.Emit).
func (c *Client) Emit(event string, args ...any) error { return c.main.Emit(event, args...) }

// EmitVolatile sends an event that is dropped when it cannot be sent at once.
func (c *Client) EmitVolatile(event string, args ...any) error {
	return c.main.EmitVolatile(event, args...)
}

// EmitWithAck sends an event and waits for the server's acknowledgement.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) (*Ack, error) {
	return c.main.EmitWithAck(ctx, event, args...)
}

// OnState registers a handler for lifecycle events (connect, disconnect,
// reconnection attempts...). Handlers run on the goroutine where the
// change happens and must not block.
func (c *Client) OnState(h func(State)) {
	c.mu.Lock()
	c.states = append(c.states, h)
	c.mu.Unlock()
}

// SID returns the socket id of the URL's namespace, "" when not connected.
func (c *Client) SID() string { return c.main.ID() }

// EngineSID returns the engine.io session id, "" while disconnected.
func (c *Client) EngineSID() string {
	if l := c.currentLink(); l != nil {
		return l.conn.SID()
	}
	return ""
}

// EIO returns the Engine.IO revision of the live connection (0 while
// disconnected): how "auto" ended up.
func (c *Client) EIO() protocol.EIO {
	if l := c.currentLink(); l != nil {
		return l.eio
	}
	return 0
}

// Transport returns "polling" or "websocket", "" while disconnected.
func (c *Client) Transport() string {
	if l := c.currentLink(); l != nil {
		return l.conn.Transport()
	}
	return ""
}

// Flush waits until everything emitted before the call has been written
// to the network, or ctx is done.
func (c *Client) Flush(ctx context.Context) error {
	l := c.currentLink()
	if l == nil {
		return ErrNotConnected
	}
	return l.conn.Flush(ctx)
}

// Done is closed when the client stops for good: after Close, or when the
// connection is lost and reconnection is off or gave up. Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client stopped, nil while it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close disconnects every namespace, closes the connection and waits
// until every goroutine of the client has ended. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.stop(ErrClosed)
	return nil
}

// stop records why the client stopped and closes done, once.
func (c *Client) stop(err error) {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		socks := c.socketList()
		c.mu.Unlock()
		for _, s := range socks {
			s.onStop(err)
		}
		close(c.done)
	})
}

func (c *Client) currentLink() *link {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.link
}

// socketList returns the sockets; c.mu must be held.
func (c *Client) socketList() []*Socket {
	out := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		out = append(out, s)
	}
	return out
}

func (c *Client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets[nsp]
}

func (c *Client) emitState(st State) {
	c.mu.Lock()
	hs := c.states
	c.mu.Unlock()
	c.opts.Logger.Debug("sio client", "state", st.String())
	for _, h := range hs {
		h(st)
	}
}

// openLink dials an engine.io connection, installs it and sends the
// CONNECT of every active socket.
//
// socket.io 2 has no CONNECT auth for "/": its middlewares read the
// handshake query, so with EIO3 the auth keys go in the query. When "auto"
// finds a v2 server while auth is set, the handshake already went out
// without them: that session is dropped and the client dials again with
// EIO3 and the auth in the query, and keeps EIO3 for later reconnections.
//
// Over WebSocket only, auto may have to guess EIO4 (engine.Conn.EIOGuessed):
// a socket.io 2.x server whose "/" middleware is slower than the engine's
// detection window looks like a v4 server until it answers the CONNECT
// without a sid. Then the supervisor drops that session and dials again
// with EIO3 (auth in the query, as above), once, and keeps EIO3 for later
// reconnections (redialV3).
//
// attempt is the reconnection attempt (0 for the first connection): its
// StateReconnect is reported right after StateOpen, before the namespaces
// send their CONNECT, so that it comes before their StateConnect as in
// socket.io-client.
func (c *Client) openLink(ctx context.Context, attempt int) (*link, error) {
	c.mu.Lock()
	eio := c.eio
	c.mu.Unlock()
	l, conn, err := c.dialLink(ctx, eio)
	if err != nil {
		return nil, err
	}
	if eio == 0 && conn.EIO() == protocol.EIO3 && len(authQuery(c.opts.Auth)) > 0 {
		c.opts.Logger.Debug("sio client: the server speaks EIO3; dialling again to send the auth in the handshake query")
		conn.Close()
		c.mu.Lock()
		c.eio = protocol.EIO3
		c.mu.Unlock()
		if l, conn, err = c.dialLink(ctx, protocol.EIO3); err != nil {
			return nil, err
		}
	}
	l.conn, l.eio, l.guessed = conn, conn.EIO(), conn.EIOGuessed()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return nil, ErrClosed
	}
	c.link = l
	socks := c.socketList()
	c.mu.Unlock()
	c.emitState(State{Kind: StateOpen, SID: conn.SID(), Transport: conn.Transport(), EIO: l.eio})
	if attempt > 0 {
		c.emitState(State{Kind: StateReconnect, Attempt: attempt})
	}
	for _, s := range socks {
		s.onOpen(l)
	}
	l.makeReady()
	return l, nil
}

// dialLink dials an engine.io connection with revision eio (0: auto) for
// a new link, which is returned with it but not installed.
func (c *Client) dialLink(ctx context.Context, eio protocol.EIO) (*link, engineConn, error) {
	l := newLink(c)
	query := c.opts.Query
	if eio == protocol.EIO3 {
		if aq := authQuery(c.opts.Auth); len(aq) > 0 {
			query = url.Values{}
			for k, v := range c.opts.Query {
				query[k] = append(query[k], v...)
			}
			for k, v := range aq {
				query[k] = append(query[k], v...)
			}
		}
	}
	cfg := engineConfig{
		Path:      c.opts.Path,
		Transport: c.opts.Transport,
		EIO:       eio,
		Header:    c.opts.Header,
		Query:     query,
		TLSConfig: c.opts.TLSConfig,
		Proxy:     c.opts.Proxy,
		OnMessage: l.onMessage,
		OnClose:   l.onClose,
		OnUpgrade: func(transport string) {
			c.emitState(State{Kind: StateUpgrade, Transport: transport})
		},
		Logger: c.opts.Logger,
	}
	if c.opts.Tap != nil {
		cfg.Tap = func(t protocol.Trace) {
			t.SID = c.main.ID()
			c.opts.Tap(t)
		}
	}
	conn, err := c.opts.dial(ctx, c.base, cfg)
	if err != nil {
		return nil, nil, err
	}
	return l, conn, nil
}

// supervise watches the live connection, and reconnects when it is lost.
func (c *Client) supervise(l *link) {
	defer c.wg.Done()
	for {
		reason, err := c.waitLink(l)
		if errors.Is(err, errRedialV3) {
			nl, derr := c.redialV3(l)
			if derr == nil {
				l = nl
				continue
			}
			reason, err = protocol.ReasonTransportError, fmt.Errorf("dial again with EIO3: %w", derr)
		}
		c.mu.Lock()
		if c.link == l {
			c.link = nil
		}
		socks := c.socketList()
		c.mu.Unlock()
		reconnect := !c.opts.NoReconnect && c.ctx.Err() == nil
		for _, s := range socks {
			s.onLinkLost(l, reason, reconnect)
		}
		c.emitState(State{Kind: StateClose, Reason: reason, Err: err})
		if c.ctx.Err() != nil {
			c.stop(ErrClosed)
			return
		}
		if !reconnect {
			if err != nil {
				c.stop(fmt.Errorf("connection lost: %w: %w", reason, err))
			} else {
				c.stop(fmt.Errorf("connection lost: %w", reason))
			}
			return
		}
		if l = c.reconnect(); l == nil {
			return
		}
	}
}

// errRedialV3 is waitLink's report that a link whose EIO4 was guessed
// turned out to lead to a socket.io 2.x server.
var errRedialV3 = errors.New("the server speaks EIO3")

// redialV3 replaces old, a link whose EIO4 auto guessed wrong, with a new
// connection dialled with EIO3, without backoff or disconnect events: the
// sockets still waiting for their CONNECT reply keep their waiters, acks
// and buffered emits, and send CONNECT again on the new link. The client
// dials EIO3 from then on.
func (c *Client) redialV3(old *link) (*link, error) {
	old.conn.Close()
	c.mu.Lock()
	c.eio = protocol.EIO3
	if c.link == old {
		c.link = nil
	}
	socks := c.socketList()
	c.mu.Unlock()
	for _, s := range socks {
		s.onRedial(old)
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.ConnectTimeout)
	defer cancel()
	return c.openLink(ctx, 0)
}

// closeGrace bounds how long Close waits for the last packets to be
// written before closing the transport.
const closeGrace = time.Second

// waitLink returns when l has ended, closing it on a protocol error or on
// Close.
func (c *Client) waitLink(l *link) (protocol.DisconnectReason, error) {
	select {
	case ci := <-l.closed:
		return ci.reason, ci.err
	case <-l.v3:
		return protocol.ReasonTransportClose, errRedialV3
	case perr := <-l.kill:
		c.opts.Logger.Warn("sio client: closing the connection", "err", perr)
		l.conn.Close()
		return protocol.ReasonParseError, perr
	case <-c.ctx.Done():
		for _, s := range c.socketSnapshot() {
			s.sendDisconnectOnClose(l)
		}
		fctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		_ = l.conn.Flush(fctx)
		cancel()
		l.conn.Close()
		return protocol.ReasonIOClientDisconnect, nil
	case <-l.conn.Done():
		select {
		case ci := <-l.closed:
			return ci.reason, ci.err
		case <-time.After(100 * time.Millisecond):
			return protocol.ReasonTransportClose, nil
		}
	}
}

func (c *Client) socketSnapshot() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketList()
}

// reconnect tries to open a new connection with socket.io-client's
// backoff, reporting each attempt. It returns nil when it gives up or the
// client is closed, after stopping the client.
func (c *Client) reconnect() *link {
	b := backoff{min: c.opts.ReconnectDelay, max: c.opts.ReconnectDelayMax, factor: c.opts.RandomizationFactor, rand: c.opts.rand}
	for attempt := 1; ; attempt++ {
		if c.opts.ReconnectAttempts > 0 && attempt > c.opts.ReconnectAttempts {
			c.emitState(State{Kind: StateReconnectFailed, Attempt: attempt - 1})
			c.stop(fmt.Errorf("reconnection failed after %d attempts", attempt-1))
			return nil
		}
		t := time.NewTimer(b.duration(attempt - 1))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			c.stop(ErrClosed)
			return nil
		}
		c.emitState(State{Kind: StateReconnectAttempt, Attempt: attempt})
		ctx, cancel := context.WithTimeout(c.ctx, c.opts.ConnectTimeout)
		l, err := c.openLink(ctx, attempt)
		cancel()
		if err != nil {
			if c.ctx.Err() != nil {
				c.stop(ErrClosed)
				return nil
			}
			c.emitState(State{Kind: StateReconnectError, Attempt: attempt, Err: err})
			continue
		}
		return l
	}
}

// tapSocket reports a Socket.IO packet to the Tap.
func (c *Client) tapSocket(l *link, dir protocol.Direction, p *protocol.Packet) {
	if c.opts.Tap == nil {
		return
	}
	var raw [][]byte
	if _, isJSON := c.opts.Codec.(protocol.JSONCodec); isJSON {
		raw = make([][]byte, 0, 1+len(p.Attachments))
		raw = append(raw, protocol.AppendPacket(nil, p))
		raw = append(raw, p.Attachments...)
	} else if msgs, err := c.opts.Codec.Encode(p); err == nil {
		// Another codec's frames are what went on the wire (msgpack: one
		// binary message with the attachments inside).
		for _, m := range msgs {
			raw = append(raw, m.Data)
		}
	}
	c.tapSocketRaw(l, dir, p, raw)
}

// tapSocketRaw reports a Socket.IO packet to the Tap with its frames as
// they went on the wire.
func (c *Client) tapSocketRaw(l *link, dir protocol.Direction, p *protocol.Packet, raw [][]byte) {
	// The sid is our socket's in the packet's namespace ("" until its
	// CONNECT is answered).
	sid := c.main.ID()
	if p.Namespace != c.mainNsp {
		sid = ""
		if s := c.socket(p.Namespace); s != nil {
			sid = s.ID()
		}
	}
	c.opts.Tap(protocol.Trace{
		Time:      c.opts.Now(),
		Dir:       dir,
		Layer:     protocol.LayerSocket,
		EngineSID: l.conn.SID(),
		SID:       sid,
		Transport: l.conn.Transport(),
		EIO:       l.eio,
		Packet:    *p,
		Raw:       raw,
	})
}

func normalizeNamespace(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// authQuery turns a JSON object into query parameters: strings as they
// are, other values as JSON (socket.io 2 carries auth in queries).
func authQuery(auth []byte) url.Values {
	if len(bytes.TrimSpace(auth)) == 0 {
		return nil
	}
	m, err := objectFields(auth)
	if err != nil {
		return nil
	}
	q := url.Values{}
	for k, v := range m {
		var s string
		if jsonString(v, &s) {
			q.Set(k, s)
		} else {
			q.Set(k, string(v))
		}
	}
	return q
}

// SendRaw writes one Engine.IO packet given in its text form exactly as
// typed: `42["x",1]` (an EVENT on "/"), `2` (a ping), `40/admin,`... It
// bypasses the Socket.IO layer, for protocol experiments: the client does
// not track what it sends this way (an ack id, a CONNECT), but it reads
// the server's answer as usual. The Tap sees the packet as it goes out,
// like any other: the Engine.IO packet, and, for a message whose data
// reads as a Socket.IO packet (JSON parser), that packet too, with the
// typed data as its raw frame. A binary packet's header goes alone: its
// attachments are not sent, nor traced.
func (c *Client) SendRaw(frame string) error {
	l := c.currentLink()
	if l == nil {
		return ErrNotConnected
	}
	p, err := protocol.ParseEngineText([]byte(frame))
	if err != nil {
		return fmt.Errorf("raw frame %q: %w", frame, err)
	}
	if c.opts.Tap != nil && p.Type == protocol.EngineMessage {
		if _, isJSON := c.opts.Codec.(protocol.JSONCodec); isJSON {
			// An experiment may use what the decoder refuses from a
			// peer (a reserved event name): the trace shows it anyway.
			lim := c.opts.Limits
			lim.AllowReservedEvents = true
			if sp, err := protocol.ParsePacket(p.Data, l.eio, lim); err == nil {
				// Traced before it is queued, as link.send does.
				c.tapSocketRaw(l, protocol.Out, &sp, [][]byte{p.Data})
			}
		}
	}
	return l.conn.Send(p)
}

// MaxPayload returns the largest message the server accepts, from its
// open packet (Engine.IO v4's maxPayload, Node's maxHttpBufferSize): 0
// while disconnected or when the server did not say (v3). A Node server
// closes the connection on a bigger message.
func (c *Client) MaxPayload() int64 {
	l := c.currentLink()
	if l == nil {
		return 0
	}
	if h, ok := l.conn.(interface{ Handshake() protocol.Handshake }); ok {
		return h.Handshake().MaxPayload
	}
	return 0
}
