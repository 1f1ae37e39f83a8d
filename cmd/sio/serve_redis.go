package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
	"github.com/sio-dev/sio/pkg/server/redisadapter"
)

// serveRedis are the flags that make `sio serve` a node of a Redis-backed
// Socket.IO cluster (@socket.io/redis-adapter's).
type serveRedis struct {
	URL             string
	Sharded         bool
	Key             string
	RequestsTimeout time.Duration
}

func addRedisFlags(cmd *cobra.Command, r *serveRedis) {
	f := cmd.Flags()
	f.StringVar(&r.URL, "redis", "", "join the Socket.IO cluster on this Redis (redis://[user:pass@]host:port[/db]), as @socket.io/redis-adapter does")
	f.BoolVar(&r.Sharded, "redis-sharded", false, "with --redis: the sharded adapter's protocol (createShardedAdapter: Redis 7 SPUBLISH/SSUBSCRIBE)")
	f.StringVar(&r.Key, "redis-key", "socket.io", "the cluster's channel prefix (the adapter's key option)")
	f.DurationVar(&r.RequestsTimeout, "redis-requests-timeout", 5*time.Second, "how long a cluster request (fetchSockets, serverSideEmit with ack) waits for the other nodes")
}

// quietRedisLog drops go-redis's own log lines: sio reports each Redis
// failure itself, in one line, where it matters.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

var quietRedis sync.Once

// redisOptions parses a --redis URL: a bad one is a usage error.
func redisOptions(flag, rawURL string) (*redis.Options, error) {
	quietRedis.Do(func() { redis.SetLogger(quietRedisLog{}) })
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, usageErrorf("%s %q: %v", flag, rawURL, err)
	}
	// One line per failure, from us: go-redis retries a command on its
	// own pool, which is enough for a command line tool.
	o.MaxRetries = 1
	return o, nil
}

// serveCluster is a running `sio serve --redis` membership.
type serveCluster struct {
	client  *redis.Client
	cluster *redisadapter.Cluster
}

// joinCluster connects to Redis and starts the membership; nil (and no
// error) without --redis. A Redis that cannot be reached at start is an
// error: the operator asked for a cluster. Broadcasts and server-side
// events from other nodes are shown as "cluster-broadcast" and
// "cluster-event" lines.
func joinCluster(ctx context.Context, errOut io.Writer, opts *serveOptions, obs serveObserver, logger *slog.Logger) (*serveCluster, error) {
	r := opts.Redis
	if r.URL == "" {
		if r.Sharded {
			return nil, usageErrorf("--redis-sharded goes with --redis")
		}
		return nil, nil
	}
	if opts.Recovery > 0 {
		// Node's Redis adapters are not session-aware: recovery does not
		// work with them, and offsets would reach the other nodes'
		// clients as an extra argument.
		return nil, usageErrorf("--recovery cannot be combined with --redis: the Redis adapter keeps no session state (as in Node)")
	}
	ro, err := redisOptions("--redis", r.URL)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(ro)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("--redis %s: %s", ro.Addr, oneLineErr(err))
	}
	c := &serveCluster{client: client}
	c.cluster = redisadapter.New(client, redisadapter.Options{
		Key:             r.Key,
		Sharded:         r.Sharded,
		RequestsTimeout: r.RequestsTimeout,
		Logger:          logger,
		OnBroadcast: func(nsp string, m *redisadapter.Broadcast) {
			obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "cluster-broadcast", Nsp: nsp, Data: clusterBroadcastData(m)})
		},
		OnServerSideEmit: func(nsp string, e *redisadapter.ServerEvent) {
			data, _ := json.Marshal(struct {
				Node    string            `json:"node"`
				Event   string            `json:"event"`
				Args    []json.RawMessage `json:"args"`
				WithAck bool              `json:"withAck,omitempty"`
			}{e.From, e.Name, e.Args, e.WantsAck()})
			obs.Lifecycle(lifecycle{Time: time.Now(), Kind: "cluster-event", Nsp: nsp, Data: data})
			if e.WantsAck() {
				// Answered as a client's ack is: --ack-reply, else the
				// event's own arguments.
				if opts.AckReply != nil {
					_ = e.Ack(opts.AckReply)
				} else {
					_ = e.Ack(e.Args)
				}
			}
		},
	})
	mode := "classic"
	if r.Sharded {
		mode = "sharded"
	}
	fmt.Fprintf(errOut, "sio serve: joined the Socket.IO cluster on redis %s as node %s (%s adapter, channels %s#...)\n", ro.Addr, c.cluster.UID(), mode, r.Key)
	return c, nil
}

// hooks sets the adapter of every namespace, after the given hooks.
func (c *serveCluster) hooks(next func(*server.Options)) func(*server.Options) {
	if c == nil {
		return next
	}
	return func(o *server.Options) {
		if next != nil {
			next(o)
		}
		o.Adapter = c.cluster.Adapter
	}
}

// stop leaves the cluster and closes the connections.
func (c *serveCluster) stop() {
	if c == nil {
		return
	}
	_ = c.cluster.Close()
	_ = c.client.Close()
}

// clusterBroadcastData is a broadcast from another node for the log.
func clusterBroadcastData(m *redisadapter.Broadcast) json.RawMessage {
	v := struct {
		Node   string              `json:"node"`
		Rooms  []string            `json:"rooms,omitempty"`
		Except []string            `json:"except,omitempty"`
		Flags  redisadapter.Flags  `json:"flags"`
		Event  json.RawMessage     `json:"data"`
		Type   protocol.PacketType `json:"type"`
		Binary int                 `json:"binary,omitempty"`
	}{m.UID, m.Rooms, m.Except, m.Flags, protocol.InlineBinary(m.Packet.Data, m.Packet.Attachments), m.Packet.Type, len(m.Packet.Attachments)}
	b, _ := json.Marshal(v)
	return b
}

// oneLineErr is the first line of err.
func oneLineErr(err error) string {
	s := err.Error()
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
