package server

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server/eioserver"
)

// session is what the Socket.IO layer needs of one Engine.IO session
// (eioserver.Session implements it; tests use a recording fake).
type session interface {
	ID() string
	EIO() protocol.EIO
	Transport() string
	Send(msgs ...protocol.EnginePacket) error
	SendVolatile(msgs ...protocol.EnginePacket) bool
	Close(reason protocol.DisconnectReason)
}

// requestInfo is the handshake request of a session (shared with the
// engine session, read-only).
type requestInfo = eioserver.RequestInfo

// conn is one Engine.IO connection and the Socket.IO sockets multiplexed on
// it (socket.io's Client). Its reader is the session's OnMessage callback:
// one goroutine at a time, in arrival order.
//
// Lock order: conn.mu is never held while another lock is taken, nor while
// sending or calling user code.
type conn struct {
	srv  *Server
	sess session
	eio  protocol.EIO
	req  *requestInfo
	dec  protocol.PacketDecoder // reader only
	json *protocol.Decoder      // dec, when it is the JSON codec's

	mu      sync.Mutex
	sockets []*Socket // one per namespace; usually one or two, so a slice (no map per connection)
	closed  bool
	timer   *time.Timer // connectTimeout (v5 only)
}

// attach wires a new Engine.IO session into the server. It returns nil when
// the server is closing (the session is then closed).
func (s *Server) attach(sess session, req *requestInfo) *conn {
	c := &conn{
		srv:  s,
		sess: sess,
		eio:  sess.EIO(),
		req:  req,
	}
	c.dec = s.opts.Codec.NewDecoder(c.eio, c.limits())
	c.json, _ = c.dec.(*protocol.Decoder)
	if !s.addConn(c) {
		sess.Close(protocol.ReasonServerShuttingDown)
		return nil
	}
	s.log.Debug("socket.io: connection", "sid", sess.ID(), "eio", c.eio.String(), "transport", sess.Transport())
	return c
}

// limits are the server's packet limits (not kept per connection).
func (c *conn) limits() protocol.Limits {
	return protocol.Limits{MaxAttachments: c.srv.opts.MaxAttachments}
}

// start begins the Socket.IO handshake: v4 (EIO3) connects "/" by itself,
// v5 waits for a CONNECT within ConnectTimeout.
func (c *conn) start() {
	if c.eio == protocol.EIO3 {
		c.connect("/", json.RawMessage(`{}`))
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.timer = time.AfterFunc(c.srv.opts.ConnectTimeout, c.onConnectTimeout)
	}
	c.mu.Unlock()
}

func (c *conn) onConnectTimeout() {
	c.mu.Lock()
	idle := !c.closed && len(c.sockets) == 0
	c.mu.Unlock()
	if idle {
		c.srv.log.Debug("socket.io: no namespace joined in time", "sid", c.sess.ID())
		c.close()
	}
}

// onMessage is the session's message callback.
func (c *conn) onMessage(data []byte, binary bool) {
	// The engine may reuse data; packets handed to handlers own theirs.
	data = bytes.Clone(data)
	if c.json != nil && !binary && !c.json.Pending() {
		// The common case, a text packet with no attachments, skips the
		// reassembly state.
		p, err := protocol.ParsePacket(data, c.eio, c.limits())
		if err != nil {
			c.srv.log.Warn("socket.io: decode error, closing the connection", "sid", c.sess.ID(), "err", err)
			c.close()
			return
		}
		if p.NumAttachments == 0 {
			c.onPacket(&p)
			return
		}
	}
	p, done, err := c.dec.Add(data, binary)
	if err != nil {
		c.srv.log.Warn("socket.io: decode error, closing the connection", "sid", c.sess.ID(), "err", err)
		c.close()
		return
	}
	if done {
		c.onPacket(&p)
	}
}

func (c *conn) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketLocked(nsp)
}

func (c *conn) socketLocked(nsp string) *Socket {
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

func (c *conn) onPacket(p *protocol.Packet) {
	var s *Socket
	if p.Type != protocol.PacketConnect {
		s = c.socket(p.Namespace)
	}
	if c.srv.opts.Tap != nil {
		c.traceSocket(protocol.In, s, p, nil)
	}
	switch p.Type {
	case protocol.PacketConnect:
		c.onConnect(p)
		return
	case protocol.PacketConnectError:
		c.srv.log.Warn("socket.io: client sent CONNECT_ERROR, closing the connection", "sid", c.sess.ID())
		c.close()
		return
	}
	if s == nil {
		c.srv.log.Warn("socket.io: packet for a namespace that is not connected, closing the connection", "sid", c.sess.ID(), "nsp", p.Namespace, "type", p.Type.String())
		c.close()
		return
	}
	s.countIn(p)
	switch p.Type {
	case protocol.PacketDisconnect:
		s.onclose(protocol.ReasonClientNamespaceDisconnect)
	case protocol.PacketEvent, protocol.PacketBinaryEvent:
		s.onEvent(p)
	case protocol.PacketAck, protocol.PacketBinaryAck:
		s.onAck(p)
	}
}

func (c *conn) onConnect(p *protocol.Packet) {
	name := p.Namespace
	auth := p.Data
	if c.eio == protocol.EIO3 {
		// v4: the query rides in the namespace and becomes the auth.
		auth = nil
		if i := strings.IndexByte(name, '?'); i >= 0 {
			auth = queryJSON(name[i+1:])
			name = name[:i]
		}
	}
	if len(auth) == 0 {
		auth = json.RawMessage(`{}`)
	}
	if c.socket(name) != nil {
		c.srv.log.Warn("socket.io: second CONNECT for a connected namespace, closing the connection", "sid", c.sess.ID(), "nsp", name)
		c.close()
		return
	}
	c.connect(name, auth)
}

// queryJSON turns "a=1&b=x" into {"a":"1","b":"x"} (the first value of
// each key, as Node's url.parse query).
func queryJSON(q string) json.RawMessage {
	vals, _ := url.ParseQuery(q)
	m := make(map[string]any, len(vals))
	for k, v := range vals {
		if len(v) == 1 {
			m[k] = v[0]
		} else {
			all := make([]any, len(v))
			for i := range v {
				all[i] = v[i]
			}
			m[k] = all
		}
	}
	out, _ := protocol.AppendValue(nil, m, nil)
	return out
}

func (c *conn) connect(name string, auth json.RawMessage) {
	nsp, ok := c.srv.lookupNamespace(name, auth)
	if !ok {
		// The unknown-namespace error is an object in v4 and v5 alike.
		c.sendConnectError(name, json.RawMessage(`{"message":"Invalid namespace"}`))
		return
	}
	nsp.add(c, auth)
}

func (c *conn) sendConnectError(nsp string, data json.RawMessage) {
	out, err := encodePacket(c.srv.opts.Codec, protocol.Packet{Type: protocol.PacketConnectError, Namespace: nsp, Data: data})
	if err != nil {
		c.srv.log.Error("socket.io: encode CONNECT_ERROR", "err", err)
		return
	}
	if c.srv.opts.Tap != nil {
		c.traceSocket(protocol.Out, nil, &out.Packet, out.Frames)
	}
	_ = c.sess.Send(out.Frames...)
}

// register adds a connected socket; false when the connection is closed.
func (c *conn) register(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	i := slices.IndexFunc(c.sockets, func(o *Socket) bool { return o.nsp.name == s.nsp.name })
	if i >= 0 {
		c.sockets[i] = s
	} else {
		c.sockets = append(c.sockets, s)
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	return true
}

func (c *conn) unregister(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// takeSockets marks the connection closed and returns its sockets.
func (c *conn) takeSockets() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	out := c.sockets
	c.sockets = nil
	return out
}

// close ends the connection for a protocol violation (socket.io's
// client.close()): sockets get "forced server close", the engine "forced
// close".
func (c *conn) close() {
	for _, s := range c.takeSockets() {
		s.onclose(protocol.ReasonForcedServerClose)
	}
	c.sess.Close(protocol.ReasonForcedClose)
}

// disconnectAll is socket.disconnect(true): every socket sends DISCONNECT,
// then the connection closes.
func (c *conn) disconnectAll() {
	for _, s := range c.takeSockets() {
		s.sendDisconnect()
		s.onclose(protocol.ReasonServerNamespaceDisconnect)
	}
	c.sess.Close(protocol.ReasonForcedClose)
}

// shutdown ends the connection because the server stops.
func (c *conn) shutdown(reason protocol.DisconnectReason) {
	for _, s := range c.takeSockets() {
		s.onclose(reason)
	}
	c.sess.Close(reason)
}

// onClose is the session's close callback.
func (c *conn) onClose(reason protocol.DisconnectReason) {
	for _, s := range c.takeSockets() {
		s.onclose(reason)
	}
	c.srv.removeConn(c)
	c.srv.log.Debug("socket.io: connection closed", "sid", c.sess.ID(), "reason", string(reason))
}

// onUpgrade is the session's transport-change callback.
func (c *conn) onUpgrade(transport string) {
	if c.srv.opts.OnUpgrade == nil {
		return
	}
	c.mu.Lock()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		c.srv.callHook(func() { c.srv.opts.OnUpgrade(s, transport) })
	}
}

func (c *conn) traceSocket(dir protocol.Direction, s *Socket, p *protocol.Packet, frames []protocol.EnginePacket) {
	t := protocol.Trace{
		Time:      c.srv.opts.Now(),
		Dir:       dir,
		Layer:     protocol.LayerSocket,
		EngineSID: c.sess.ID(),
		Transport: c.sess.Transport(),
		EIO:       c.eio,
		Packet:    *p,
	}
	if s != nil {
		t.SID = s.id
	}
	if frames != nil {
		t.Raw = traceRaw(frames)
	} else {
		t.Raw = make([][]byte, 0, 1+len(p.Attachments))
		t.Raw = append(t.Raw, protocol.AppendPacket(nil, p))
		t.Raw = append(t.Raw, p.Attachments...)
	}
	c.srv.tap(t)
}

func (s *Server) callHook(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("socket.io: hook panicked", "panic", r)
		}
	}()
	fn()
}
