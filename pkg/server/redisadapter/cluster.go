// Package redisadapter joins pkg/server to a Socket.IO cluster through
// Redis, wire-compatible with @socket.io/redis-adapter 8.x: Node socket.io
// servers using createAdapter and sio servers using this package are
// members of one cluster, and @socket.io/redis-emitter reaches all of
// them.
//
// One Cluster serves every namespace of a server (Options.Adapter =
// cluster.Adapter). It publishes with a go-redis client and receives on
// one pub/sub connection, which go-redis re-establishes (and
// re-subscribes) after Redis restarts; what was published meanwhile is
// lost, as with the Node adapter, and Cluster reports it.
//
// Like Node's Redis adapters, it keeps no session state: a server using
// it should not turn on connection state recovery (server.Options.Recovery),
// whose offsets would reach the other nodes' clients as an extra argument.
package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sio-dev/sio/pkg/server"
)

// Options configure a Cluster; the zero value is @socket.io/redis-adapter's
// defaults.
type Options struct {
	// Key is the channels' prefix. Default "socket.io".
	Key string
	// RequestsTimeout bounds how long a request waits for the other
	// nodes' responses (fetchSockets, serverSideEmitWithAck). Default 5s.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends responses to the requesting
	// node's own channel rather than the shared one.
	PublishOnSpecificResponseChannel bool
	// MaxMessageBytes drops a message from Redis longer than this (a
	// broadcast that large would be refused by any client). Default 100 MiB.
	MaxMessageBytes int
	// Logger gets the cluster's errors: Redis lost and back, malformed
	// messages. Default slog.Default().
	Logger *slog.Logger
	// OnBroadcast, when set, is called with each broadcast from another
	// node before it is delivered to this node's sockets (sio serve logs
	// them). It must not block.
	OnBroadcast func(nsp string, m *Broadcast)
	// Sharded speaks createShardedAdapter's protocol (Redis 7 sharded
	// pub/sub, SPUBLISH/SSUBSCRIBE, socket.io-adapter's ClusterAdapter
	// messages) instead of createAdapter's, with its "dynamic"
	// subscription mode: a channel per public room.
	Sharded bool
	// OnServerSideEmit gets the events other nodes send with
	// serverSideEmit (Node's io.on(event) / nsp.on(event)); one sent with
	// an ack waits for e.Ack. Called on the receiving goroutine: it must
	// not block.
	OnServerSideEmit func(nsp string, e *ServerEvent)
}

const (
	defaultRequestsTimeout = 5 * time.Second
	defaultMaxMessageBytes = 100 << 20
	// reconnectMaxDelay caps the pause between attempts to reach Redis
	// again, as node-redis's default reconnect strategy grows to 500ms.
	reconnectMaxDelay = 500 * time.Millisecond
)

// Stats count what the cluster saw; a snapshot from Cluster.Stats.
type Stats struct {
	Published   uint64 // messages published
	PublishErrs uint64 // publishes that failed (Redis down)
	Received    uint64 // messages received
	Malformed   uint64 // received messages that were not the format
	Outages     uint64 // times the subscription connection was lost
	Down        bool   // the subscription connection is lost right now
	// DownFor is the total time without a subscription connection:
	// messages other nodes published then never reached this node.
	DownFor time.Duration
}

// Cluster is one server's membership of a Redis-backed Socket.IO cluster.
type Cluster struct {
	client redis.UniversalClient
	ps     *redis.PubSub
	uid    string
	opts   Options
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// msgs hands the received messages to the dispatching goroutine,
	// which delivers those already waiting under one batch (one write per
	// socket for all of them). Bounded: a full queue holds the receiver,
	// and Redis buffers.
	msgs  chan *redis.Message
	batch server.Batch // the dispatcher's

	mu        sync.Mutex
	byPattern map[string]*Adapter // broadcast pattern → adapter
	byChannel map[string]*Adapter // request/response channels → adapter
	closed    bool

	published, publishErrs, received, malformed, outages atomic.Uint64
	downMu                                               sync.Mutex
	downSince                                            time.Time
	downFor                                              time.Duration
}

// New starts a cluster member on client (a *redis.Client, or a cluster
// client for the sharded adapter), which it uses to publish; it opens its
// own subscription connection. Close stops it; client stays the caller's.
func New(client redis.UniversalClient, opts Options) *Cluster {
	if opts.Key == "" {
		opts.Key = "socket.io"
	}
	if opts.RequestsTimeout <= 0 {
		opts.RequestsTimeout = defaultRequestsTimeout
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = defaultMaxMessageBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	uid := uid2(6)
	if opts.Sharded {
		uid = shardedUID()
	}
	c := &Cluster{
		client:    client,
		uid:       uid,
		opts:      opts,
		log:       opts.Logger,
		ctx:       ctx,
		cancel:    cancel,
		byPattern: make(map[string]*Adapter),
		byChannel: make(map[string]*Adapter),
		msgs:      make(chan *redis.Message, dispatchQueue),
	}
	// A PubSub with no channel yet: the adapters subscribe as the
	// namespaces are made.
	c.ps = client.Subscribe(ctx)
	c.wg.Add(2)
	go c.receive()
	go c.dispatchLoop()
	return c
}

// dispatchQueue is how many received messages may wait for delivery;
// dispatchBatch how many of them are delivered under one write batch.
const (
	dispatchQueue = 64
	dispatchBatch = 64
)

// dispatchLoop delivers the received messages in order. Those that
// arrived while the previous ones were delivered go out together: each
// socket is written once for all of them, as a socket's own broadcasts
// are once per read.
func (c *Cluster) dispatchLoop() {
	defer c.wg.Done()
	for {
		var m *redis.Message
		select {
		case <-c.ctx.Done():
			return
		case m = <-c.msgs:
		}
		c.batch.Open()
		c.dispatch(m)
	more:
		for range dispatchBatch - 1 {
			select {
			case m = <-c.msgs:
				c.dispatch(m)
			default:
				break more
			}
		}
		c.batch.Close()
	}
}

// UID is this node's id in the cluster (the adapter's uid, six random
// characters like uid2(6)).
func (c *Cluster) UID() string { return c.uid }

// Key is the channels' prefix.
func (c *Cluster) Key() string { return c.opts.Key }

// Stats returns the counters.
func (c *Cluster) Stats() Stats {
	s := Stats{
		Published:   c.published.Load(),
		PublishErrs: c.publishErrs.Load(),
		Received:    c.received.Load(),
		Malformed:   c.malformed.Load(),
		Outages:     c.outages.Load(),
	}
	c.downMu.Lock()
	s.DownFor = c.downFor
	if !c.downSince.IsZero() {
		s.Down = true
		s.DownFor += time.Since(c.downSince)
	}
	c.downMu.Unlock()
	return s
}

// Adapter makes the adapter of nsp: a server.AdapterFactory.
func (c *Cluster) Adapter(nsp *server.Namespace) server.Adapter {
	a := newAdapter(c, nsp)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return a
	}
	c.byPattern[a.pattern] = a
	for _, ch := range a.subChannels() {
		c.byChannel[ch] = a
	}
	c.mu.Unlock()
	// A failure is logged: go-redis keeps the subscriptions and makes
	// them again when the connection comes back.
	var err error
	if c.opts.Sharded {
		err = c.ps.SSubscribe(c.ctx, a.subChannels()...)
	} else if err = c.ps.PSubscribe(c.ctx, a.pattern); err == nil {
		err = c.ps.Subscribe(c.ctx, a.subChannels()...)
	}
	if err != nil && c.ctx.Err() == nil {
		c.log.Warn("redis adapter: subscribe (retried on reconnection)", "nsp", nsp.Name(), "err", oneLine(err))
	}
	return a
}

// Namespace returns the adapter of the namespace named name, nil when the
// server has no such namespace.
func (c *Cluster) Namespace(name string) *Adapter {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.byPattern {
		if a.nsp.Name() == name {
			return a
		}
	}
	return nil
}

// forget drops a's subscriptions (the namespace was removed).
func (c *Cluster) forget(a *Adapter) {
	c.mu.Lock()
	if c.byPattern[a.pattern] == a {
		delete(c.byPattern, a.pattern)
		for _, ch := range a.subChannels() {
			delete(c.byChannel, ch)
		}
	}
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestsTimeout)
	defer cancel()
	if c.opts.Sharded {
		_ = c.ps.SUnsubscribe(ctx, append(a.subChannels(), a.roomChannels()...)...)
		return
	}
	_ = c.ps.PUnsubscribe(ctx, a.pattern)
	_ = c.ps.Unsubscribe(ctx, a.subChannels()...)
}

// roomSubscription subscribes a to a room's channel, or leaves it.
func (c *Cluster) roomSubscription(a *Adapter, channel string, on bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if on {
		c.byChannel[channel] = a
	} else if c.byChannel[channel] == a {
		delete(c.byChannel, channel)
	}
	c.mu.Unlock()
	var err error
	if on {
		err = c.ps.SSubscribe(c.ctx, channel)
	} else {
		err = c.ps.SUnsubscribe(c.ctx, channel)
	}
	if err != nil && c.ctx.Err() == nil {
		c.log.Warn("redis adapter: room channel (retried on reconnection)", "channel", channel, "err", oneLine(err))
	}
}

// Close leaves the cluster: it stops receiving, and fails the requests
// still waiting. The Redis client is the caller's to close.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	adapters := make([]*Adapter, 0, len(c.byPattern))
	for _, a := range c.byPattern {
		adapters = append(adapters, a)
	}
	c.mu.Unlock()
	c.cancel()
	err := c.ps.Close()
	c.wg.Wait()
	for _, a := range adapters {
		a.failPending(errClosed)
	}
	return err
}

var errClosed = errors.New("redis adapter: closed")

// errDown is the error of a publish while the subscription connection is
// lost: Redis is down, and waiting for the client's dial attempts on every
// broadcast would stall the sender for nothing.
var errDown = errors.New("redis is unreachable (reconnecting)")

// publish sends msg on channel with PUBLISH.
func (c *Cluster) publish(ctx context.Context, channel string, msg []byte) error {
	return c.send(ctx, channel, msg, false)
}

// send sends msg on channel (SPUBLISH when sharded), bounded by the
// requests' timeout; it fails at once while Redis is known to be down.
func (c *Cluster) send(ctx context.Context, channel string, msg []byte, sharded bool) error {
	c.downMu.Lock()
	down := !c.downSince.IsZero()
	c.downMu.Unlock()
	if down {
		c.publishErrs.Add(1)
		return fmt.Errorf("redis adapter: publish to %s: %w", channel, errDown)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestsTimeout)
	defer cancel()
	var err error
	if sharded {
		err = c.client.SPublish(ctx, channel, msg).Err()
	} else {
		err = c.client.Publish(ctx, channel, msg).Err()
	}
	if err != nil {
		c.publishErrs.Add(1)
		return fmt.Errorf("redis adapter: publish to %s: %s", channel, oneLine(err))
	}
	c.published.Add(1)
	return nil
}

// numSub is the number of nodes subscribed to channel (serverCount).
func (c *Cluster) numSub(ctx context.Context, channel string) (int, error) {
	if c.Stats().Down {
		return 0, fmt.Errorf("redis adapter: PUBSUB NUMSUB: %w", errDown)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestsTimeout)
	defer cancel()
	m, err := c.client.PubSubNumSub(ctx, channel).Result()
	if err != nil {
		return 0, fmt.Errorf("redis adapter: PUBSUB NUMSUB: %s", oneLine(err))
	}
	return int(m[channel]), nil
}

// shardNumSub is the number of nodes subscribed to a shard channel
// (the sharded adapter's serverCount).
func (c *Cluster) shardNumSub(ctx context.Context, channel string) (int, error) {
	if c.Stats().Down {
		return 0, fmt.Errorf("redis adapter: PUBSUB SHARDNUMSUB: %w", errDown)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestsTimeout)
	defer cancel()
	m, err := c.client.PubSubShardNumSub(ctx, channel).Result()
	if err != nil {
		return 0, fmt.Errorf("redis adapter: PUBSUB SHARDNUMSUB: %s", oneLine(err))
	}
	return int(m[channel]), nil
}

// receive reads the subscription connection until Close. go-redis
// reconnects and re-subscribes on the Receive after an error; this loop
// paces the attempts and reports the outage once, and its end.
func (c *Cluster) receive() {
	defer c.wg.Done()
	delay := 10 * time.Millisecond
	for {
		msg, err := c.ps.Receive(c.ctx)
		if c.ctx.Err() != nil {
			return
		}
		if err != nil {
			c.markDown(err)
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, reconnectMaxDelay)
			continue
		}
		delay = 10 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			c.markUp()
		case *redis.Message:
			c.markUp()
			c.received.Add(1)
			select {
			case c.msgs <- m:
			case <-c.ctx.Done():
				return
			}
		}
	}
}

func (c *Cluster) markDown(err error) {
	c.downMu.Lock()
	defer c.downMu.Unlock()
	if c.downSince.IsZero() {
		c.downSince = time.Now()
		c.outages.Add(1)
		c.log.Error("redis adapter: lost the connection to Redis; reconnecting", "err", oneLine(err))
	}
}

func (c *Cluster) markUp() {
	c.downMu.Lock()
	defer c.downMu.Unlock()
	if c.downSince.IsZero() {
		return
	}
	d := time.Since(c.downSince)
	c.downFor += d
	c.downSince = time.Time{}
	c.log.Warn("redis adapter: reconnected to Redis; what the other nodes published meanwhile was lost", "down", d.Round(time.Millisecond).String())
}

// dispatch hands a message to its namespace's adapter.
func (c *Cluster) dispatch(m *redis.Message) {
	if len(m.Payload) > c.opts.MaxMessageBytes {
		c.malformed.Add(1)
		c.log.Warn("redis adapter: message dropped", "channel", m.Channel, "bytes", len(m.Payload), "max", c.opts.MaxMessageBytes)
		return
	}
	c.mu.Lock()
	var a *Adapter
	if m.Pattern != "" {
		a = c.byPattern[m.Pattern]
	} else {
		a = c.byChannel[m.Channel]
	}
	c.mu.Unlock()
	if a == nil {
		return
	}
	payload := []byte(m.Payload)
	var err error
	if c.opts.Sharded {
		err = a.onSharded(payload)
	} else if m.Pattern != "" {
		err = a.onBroadcast(m.Channel, payload)
	} else {
		err = a.onRequest(m.Channel, payload)
	}
	if err != nil {
		c.malformed.Add(1)
		c.log.Warn("redis adapter: message ignored", "channel", m.Channel, "err", err)
	}
}

// uid2 returns n random characters of uid2's alphabet.
func uid2(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// oneLine keeps the first line of an error, for one-line logs.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// globEscape escapes the glob characters of PSUBSCRIBE in s, so that the
// pattern of a namespace named "/a*" matches its channels only.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
