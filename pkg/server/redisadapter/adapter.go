package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/server"
)

// Adapter is the adapter of one namespace: the in-memory adapter for this
// node's sockets, and Redis for the other nodes' (RedisAdapter).
type Adapter struct {
	*server.MemoryAdapter
	c   *Cluster
	nsp *server.Namespace

	channel         string // socket.io#<nsp>#
	pattern         string // channel + "*", glob-escaped
	requestChannel  string // socket.io-request#<nsp>#
	responseChannel string // socket.io-response#<nsp>#
	specificChannel string // responseChannel + uid + "#"

	mu          sync.Mutex
	requests    map[string]*pending    // requests of this node waiting for responses
	ackRequests map[string]*ackRequest // broadcasts with ack of this node
}

// pending is a request waiting for the other nodes' responses.
type pending struct {
	typ       RequestType
	numSub    int // nodes expected to answer, this one included
	msgCount  int
	sockets   []server.RemoteSocket
	rooms     map[string]struct{}
	responses []json.RawMessage // SERVER_SIDE_EMIT answers
	done      chan struct{}     // closed when every response came
	err       error             // set before done is closed on failure
	finished  bool
}

func newAdapter(c *Cluster, nsp *server.Namespace) *Adapter {
	name := nsp.Name()
	a := &Adapter{
		MemoryAdapter:   server.NewMemoryAdapter(nsp),
		c:               c,
		nsp:             nsp,
		channel:         c.opts.Key + "#" + name + "#",
		requestChannel:  c.opts.Key + "-request#" + name + "#",
		responseChannel: c.opts.Key + "-response#" + name + "#",
		requests:        make(map[string]*pending),
		ackRequests:     make(map[string]*ackRequest),
	}
	a.pattern = globEscape(a.channel) + "*"
	a.specificChannel = a.responseChannel + c.uid + "#"
	return a
}

func (a *Adapter) subChannels() []string {
	if a.c.opts.Sharded {
		return []string{a.channel, a.roomChannel(a.c.uid)}
	}
	return []string{a.requestChannel, a.responseChannel, a.specificChannel}
}

// roomChannels are the channels of the public rooms of this node
// (sharded).
func (a *Adapter) roomChannels() []string {
	var out []string
	for _, r := range a.MemoryAdapter.Rooms() {
		if !a.isSocketRoom(r.Name) {
			out = append(out, a.roomChannel(r.Name))
		}
	}
	return out
}

// Close leaves the namespace's channels (Node closes the adapter of a
// removed namespace).
func (a *Adapter) Close() {
	a.c.forget(a)
	a.failPending(errClosed)
}

// Broadcast publishes the packet to the other nodes unless opts.Local,
// then delivers it here. The error is the publish's: this node's sockets
// got the packet all the same.
func (a *Adapter) Broadcast(out *server.Outgoing, opts server.BroadcastOptions) error {
	var err error
	switch {
	case opts.Local:
	case a.c.opts.Sharded:
		err = a.shardedBroadcast(out, opts)
	default:
		err = a.publishBroadcast(out, opts)
	}
	_ = a.MemoryAdapter.Broadcast(out, opts)
	return err
}

func (a *Adapter) publishBroadcast(out *server.Outgoing, opts server.BroadcastOptions) error {
	m := Broadcast{
		UID:    a.c.uid,
		Packet: out.Packet,
		Rooms:  dedupe(opts.Rooms),
		Except: dedupe(opts.Except),
		Flags:  Flags{Volatile: opts.Volatile, Compress: opts.Compress},
	}
	m.Packet.Namespace = a.nsp.Name()
	m.Packet.HasID, m.Packet.ID = false, 0
	msg, err := AppendBroadcast(nil, &m)
	if err != nil {
		return fmt.Errorf("redis adapter: encode broadcast: %w", err)
	}
	channel := a.channel
	if len(m.Rooms) == 1 {
		channel += m.Rooms[0] + "#"
	}
	return a.c.publish(a.c.ctx, channel, msg)
}

// dedupe returns the rooms without repeats, in their first order (Node
// passes a Set), never nil.
func dedupe(rooms []string) []string {
	out := make([]string, 0, len(rooms))
	for _, r := range rooms {
		if !contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// onBroadcast delivers a broadcast from another node (onmessage).
func (a *Adapter) onBroadcast(channel string, msg []byte) error {
	if !strings.HasPrefix(channel, a.channel) {
		return nil
	}
	room := strings.TrimSuffix(channel[len(a.channel):], "#")
	if room != "" && !a.hasRoom(room) {
		return nil // no socket of this node is in the room
	}
	m, err := DecodeBroadcast(msg)
	if err != nil {
		return err
	}
	if m.UID == a.c.uid || m.Packet.Namespace != a.nsp.Name() {
		return nil
	}
	if h := a.c.opts.OnBroadcast; h != nil {
		h(a.nsp.Name(), m)
	}
	out, err := a.nsp.EncodePacket(m.Packet)
	if err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	return a.MemoryAdapter.Broadcast(out, server.BroadcastOptions{
		Rooms: m.Rooms, Except: m.Except, Volatile: m.Flags.Volatile, Compress: m.Flags.Compress,
		Batch: &a.c.batch, // on the dispatching goroutine
	})
}

// hasRoom reports whether some local socket is in room.
func (a *Adapter) hasRoom(room string) bool {
	return len(a.MemoryAdapter.Sockets(server.BroadcastOptions{Rooms: []string{room}})) > 0
}

// AddSockets asks every node, this one included, to make the selected
// sockets join rooms: like Node, the request comes back through Redis to
// this node too. When it cannot be published this node applies it alone.
func (a *Adapter) AddSockets(opts server.BroadcastOptions, rooms []string) error {
	return a.roomsOp(ReqRemoteJoin, MsgSocketsJoin, opts, rooms, a.localAdd)
}

// DelSockets is AddSockets' leave.
func (a *Adapter) DelSockets(opts server.BroadcastOptions, rooms []string) error {
	return a.roomsOp(ReqRemoteLeave, MsgSocketsLeave, opts, rooms, a.localDel)
}

// roomsOp publishes a join or leave of rooms (classic: req, which comes
// back to this node; sharded: msg, applied here at once) and applies it
// with local where the protocol or a failed publish wants it.
func (a *Adapter) roomsOp(req RequestType, msg MessageType, opts server.BroadcastOptions, rooms []string, local func(server.BroadcastOptions, []string) error) error {
	if opts.Local {
		return local(opts, rooms)
	}
	if a.c.opts.Sharded {
		err := a.shardedOp(msg, opts, dedupe(rooms), false)
		_ = local(opts, rooms)
		return err
	}
	err := a.publishJSON(a.requestChannel, struct {
		UID   string      `json:"uid"`
		Type  RequestType `json:"type"`
		Opts  RequestOpts `json:"opts"`
		Rooms []string    `json:"rooms"`
	}{a.c.uid, req, reqOpts(opts), dedupe(rooms)})
	if err != nil {
		_ = local(opts, rooms)
	}
	return err
}

// DisconnectSockets disconnects the selected sockets of every node.
func (a *Adapter) DisconnectSockets(opts server.BroadcastOptions, close bool) error {
	if opts.Local {
		return a.MemoryAdapter.DisconnectSockets(opts, close)
	}
	if a.c.opts.Sharded {
		err := a.shardedOp(MsgDisconnectSockets, opts, nil, close)
		_ = a.MemoryAdapter.DisconnectSockets(opts, close)
		return err
	}
	err := a.publishJSON(a.requestChannel, struct {
		UID   string      `json:"uid"`
		Type  RequestType `json:"type"`
		Opts  RequestOpts `json:"opts"`
		Close bool        `json:"close"`
	}{a.c.uid, ReqRemoteDisconnect, reqOpts(opts), close})
	if err != nil {
		_ = a.MemoryAdapter.DisconnectSockets(opts, close)
	}
	return err
}

func reqOpts(opts server.BroadcastOptions) RequestOpts {
	return RequestOpts{Rooms: dedupe(opts.Rooms), Except: dedupe(opts.Except)}
}

func (a *Adapter) publishJSON(channel string, v any) error {
	b, err := marshalJS(v)
	if err != nil {
		return fmt.Errorf("redis adapter: %w", err)
	}
	return a.c.publish(a.c.ctx, channel, b)
}

// FetchSockets returns the selected sockets of every node: this node's,
// then those the others send within RequestsTimeout. On a timeout it
// returns what it got and an error, like Node's rejection.
func (a *Adapter) FetchSockets(ctx context.Context, opts server.BroadcastOptions) ([]server.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Local {
		return local, nil
	}
	if a.c.opts.Sharded {
		return a.shardedFetch(ctx, opts, local)
	}
	numSub, err := a.c.numSub(ctx, a.requestChannel)
	if err != nil {
		return local, err
	}
	if numSub <= 1 {
		return local, nil
	}
	id := uid2(6)
	p := &pending{typ: ReqRemoteFetch, numSub: numSub, msgCount: 1, sockets: local, done: make(chan struct{})}
	req := struct {
		UID       string      `json:"uid"`
		RequestID string      `json:"requestId"`
		Type      RequestType `json:"type"`
		Opts      RequestOpts `json:"opts"`
	}{a.c.uid, id, ReqRemoteFetch, reqOpts(opts)}
	if err := a.request(ctx, id, p, func() error { return a.publishJSON(a.requestChannel, req) }); err != nil {
		return p.sockets, fmt.Errorf("fetchSockets: %w", err)
	}
	return p.sockets, nil
}

// ServerCount is how many nodes, this one included, serve the namespace
// (serverCount: PUBSUB NUMSUB of its request channel, SHARDNUMSUB of its
// channel when sharded). It fails while Redis is down, and is bounded by
// RequestsTimeout and ctx.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	if a.c.opts.Sharded {
		return a.c.shardNumSub(ctx, a.channel)
	}
	return a.c.numSub(ctx, a.requestChannel)
}

// AllRooms returns the rooms of every node (allRooms).
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	rooms := make(map[string]struct{})
	for _, r := range a.MemoryAdapter.Rooms() {
		rooms[r.Name] = struct{}{}
	}
	list := func() []string {
		out := make([]string, 0, len(rooms))
		for r := range rooms {
			out = append(out, r)
		}
		sort.Strings(out)
		return out
	}
	if a.c.opts.Sharded {
		// The ClusterAdapter has no ALL_ROOMS request: the rooms of the
		// others are those of the sockets fetchSockets returns.
		socks, err := a.FetchSockets(ctx, server.BroadcastOptions{})
		for _, s := range socks {
			for _, r := range s.Rooms {
				rooms[r] = struct{}{}
			}
		}
		return list(), err
	}
	numSub, err := a.c.numSub(ctx, a.requestChannel)
	if err != nil {
		return list(), err
	}
	if numSub <= 1 {
		return list(), nil
	}
	id := uid2(6)
	p := &pending{typ: ReqAllRooms, numSub: numSub, msgCount: 1, rooms: rooms, done: make(chan struct{})}
	req := struct {
		UID       string      `json:"uid"`
		RequestID string      `json:"requestId"`
		Type      RequestType `json:"type"`
	}{a.c.uid, id, ReqAllRooms}
	err = a.request(ctx, id, p, func() error { return a.publishJSON(a.requestChannel, req) })
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		return list(), fmt.Errorf("allRooms: %w", err)
	}
	return list(), nil
}

// request registers p under id, publishes the request and waits for
// p's responses, RequestsTimeout or ctx.
func (a *Adapter) request(ctx context.Context, id string, p *pending, publish func() error) error {
	a.mu.Lock()
	a.requests[id] = p
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.requests, id)
		p.finished = true
		a.mu.Unlock()
	}()
	if err := publish(); err != nil {
		return err
	}
	t := time.NewTimer(a.c.opts.RequestsTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		a.mu.Lock()
		got := p.msgCount - 1
		a.mu.Unlock()
		return fmt.Errorf("timeout reached: %d of %d nodes answered within %v", got, p.numSub-1, a.c.opts.RequestsTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failPending ends every waiting request with err.
func (a *Adapter) failPending(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, p := range a.requests {
		if !p.finished {
			p.finished, p.err = true, err
			close(p.done)
		}
		delete(a.requests, id)
	}
}

// onRequest handles a message of the request or response channels.
func (a *Adapter) onRequest(channel string, msg []byte) error {
	r, err := DecodeRequest(msg)
	if err != nil {
		return err
	}
	if strings.HasPrefix(channel, a.responseChannel) {
		a.onResponse(r)
		return nil
	}
	if !r.HasType {
		return errors.New("request: no type")
	}
	a.mu.Lock()
	_, mine := a.requests[r.RequestID]
	a.mu.Unlock()
	switch r.Type {
	case ReqSockets:
		if mine {
			return nil
		}
		var rooms []string
		if r.Rooms != nil {
			rooms = r.Rooms
		}
		ids := a.MemoryAdapter.Sockets(server.BroadcastOptions{Rooms: rooms})
		sort.Strings(ids)
		return a.respond(r, struct {
			RequestID string   `json:"requestId"`
			Sockets   []string `json:"sockets"`
		}{r.RequestID, nonNil(ids)})
	case ReqAllRooms:
		if mine {
			return nil
		}
		rooms := []string{}
		for _, room := range a.MemoryAdapter.Rooms() {
			rooms = append(rooms, room.Name)
		}
		return a.respond(r, struct {
			RequestID string   `json:"requestId"`
			Rooms     []string `json:"rooms"`
		}{r.RequestID, rooms})
	case ReqRemoteJoin, ReqRemoteLeave, ReqRemoteDisconnect:
		return a.onRemoteOp(r)
	case ReqRemoteFetch:
		if mine {
			return nil
		}
		if r.Opts == nil {
			return errors.New("REMOTE_FETCH: no opts")
		}
		socks, _ := a.MemoryAdapter.FetchSockets(a.c.ctx, server.BroadcastOptions{Rooms: r.Opts.Rooms, Except: r.Opts.Except})
		wire := make([]wireSocket, len(socks))
		for i, s := range socks {
			wire[i] = toWire(s, a.c.uid)
		}
		return a.respond(r, struct {
			RequestID string       `json:"requestId"`
			Sockets   []wireSocket `json:"sockets"`
		}{r.RequestID, wire})
	}
	return a.onRequestMore(r)
}

// onRemoteOp applies REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT,
// which come back to their sender as well.
func (a *Adapter) onRemoteOp(r *Request) error {
	if r.Opts != nil {
		opts := server.BroadcastOptions{Rooms: r.Opts.Rooms, Except: r.Opts.Except}
		switch r.Type {
		case ReqRemoteJoin:
			return a.localAdd(opts, r.Rooms)
		case ReqRemoteLeave:
			return a.localDel(opts, r.Rooms)
		}
		return a.MemoryAdapter.DisconnectSockets(opts, r.Close)
	}
	// One socket by id (the remoteJoin of socket.io-redis 6), answered.
	s, ok := a.nsp.Socket(r.SID)
	if !ok {
		return nil
	}
	switch r.Type {
	case ReqRemoteJoin:
		s.Join(r.Room)
	case ReqRemoteLeave:
		s.Leave(r.Room)
	default:
		s.Disconnect(r.Close)
	}
	return a.respond(r, struct {
		RequestID string `json:"requestId"`
	}{r.RequestID})
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// respond publishes a response to r (publishResponse).
func (a *Adapter) respond(r *Request, v any) error {
	b, err := marshalJS(v)
	if err != nil {
		return fmt.Errorf("response: %w", err)
	}
	a.publishResponse(r, b)
	return nil
}

// onResponse counts a response to one of this node's requests.
func (a *Adapter) onResponse(r *Request) {
	if a.onAckResponse(r) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.requests[r.RequestID]
	if !ok || p.finished {
		return
	}
	switch p.typ {
	case ReqRemoteFetch:
		p.msgCount++
		var socks []wireSocket
		if len(r.Sockets) > 0 && json.Unmarshal(r.Sockets, &socks) == nil {
			for _, s := range socks {
				p.sockets = append(p.sockets, fromWire(s, a.nsp))
			}
		}
	case ReqAllRooms:
		p.msgCount++
		for _, room := range r.Rooms {
			p.rooms[room] = struct{}{}
		}
	default:
		a.onResponseMore(p, r)
	}
	if p.msgCount >= p.numSub {
		p.finished = true
		close(p.done)
	}
}
