package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server/redisadapter"
)

// listenRedisOptions are the flags of `sio listen --redis`: watch the
// adapter traffic of a Redis-backed cluster, decoded.
type listenRedisOptions struct {
	URL     string
	Key     string
	Sharded bool
	// NamespaceChannels: with Sharded, also the namespaces' own channels,
	// which the nodes count (SHARDNUMSUB) to know how many answers a
	// request waits for.
	NamespaceChannels bool
}

func addListenRedisFlags(cmd *cobra.Command, o *listenRedisOptions) {
	f := cmd.Flags()
	f.StringVar(&o.URL, "redis", "", "watch the traffic between the nodes of the Socket.IO cluster on this Redis (redis://host:port): broadcasts, requests and responses, decoded")
	f.StringVar(&o.Key, "redis-key", "socket.io", "with --redis: the cluster's channel prefix")
	f.BoolVar(&o.Sharded, "redis-sharded", false, "with --redis: watch a sharded cluster (createShardedAdapter: SSUBSCRIBE to the room and response channels PUBSUB SHARDCHANNELS lists)")
	f.BoolVar(&o.NamespaceChannels, "namespace-channels", false, "with --redis-sharded: also the namespaces' channels (broadcasts to all, requests); the nodes then count sio listen as one of them, and their fetchSockets and serverSideEmit with acks wait for it until their timeout")
}

// shardedDiscovery is how often sio listen --redis-sharded looks for new
// shard channels: sharded pub/sub has no patterns, so a channel (a
// namespace, a room, a node's responses) is seen once it exists, and what
// is published on it before is not.
const shardedDiscovery = 500 * time.Millisecond

// decodeShardedMessage decodes a message of the sharded adapter.
func decodeShardedMessage(channel string, payload []byte, now time.Time) clusterMessage {
	m := clusterMessage{Time: render.FormatTime(now), Channel: channel, Bytes: len(payload), Kind: "sharded"}
	sm, err := redisadapter.DecodeSharded(payload)
	if err != nil {
		m.Kind, m.Error = "malformed", err.Error()
		return m
	}
	m.Type, m.Node, m.Nsp, m.RequestID = sm.Type.String(), sm.UID, sm.Nsp, sm.RequestID
	if sm.Opts != nil {
		m.Rooms, m.Except = sm.Opts.Rooms, sm.Opts.Except
		if sm.Opts.Flags != nil {
			m.Flags, _ = json.Marshal(sm.Opts.Flags)
		}
	}
	if sm.Packet != nil {
		m.Data = protocol.InlineBinary(sm.Packet.Data, sm.Packet.Attachments)
	}
	d := map[string]any{}
	switch {
	case sm.Value != nil:
		d["data"] = protocol.InlineBinary(sm.Value, sm.Atts)
	case sm.Sockets != nil:
		d["sockets"] = sm.Sockets
	}
	if sm.Type == redisadapter.MsgBroadcastClientCount {
		d["clientCount"] = sm.Count
	}
	if len(sm.Rooms) > 0 {
		d["rooms"] = sm.Rooms
	}
	if sm.Type == redisadapter.MsgDisconnectSockets {
		d["close"] = sm.Close
	}
	if len(d) > 0 {
		m.Detail, _ = json.Marshal(d)
	}
	return m
}

// isNamespaceChannel reports whether a shard channel under key is a
// namespace's own (KEY#NSP#), not a room's or a node's responses
// (KEY#NSP#NAME#).
func isNamespaceChannel(key, channel string) bool {
	return strings.Count(strings.TrimPrefix(channel, key+"#"), "#") == 1
}

// discoverShards subscribes ps to the shard channels of key as they
// appear, until ctx ends; the namespaces' own channels only with
// withNamespaces.
func discoverShards(ctx context.Context, client *redis.Client, ps *redis.PubSub, key, pattern string, withNamespaces bool) {
	seen := map[string]bool{}
	t := time.NewTicker(shardedDiscovery)
	defer t.Stop()
	for {
		chans, err := client.PubSubShardChannels(ctx, pattern).Result()
		if err == nil {
			var fresh []string
			for _, ch := range chans {
				if !withNamespaces && isNamespaceChannel(key, ch) {
					continue
				}
				if !seen[ch] {
					seen[ch] = true
					fresh = append(fresh, ch)
				}
			}
			if len(fresh) > 0 {
				_ = ps.SSubscribe(ctx, fresh...) // kept by go-redis across reconnections
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// clusterMessage is one decoded message of the cluster's channels.
type clusterMessage struct {
	Time      string          `json:"time"`
	Kind      string          `json:"kind"` // broadcast, request, response, malformed
	Channel   string          `json:"channel"`
	Nsp       string          `json:"nsp,omitempty"`
	Node      string          `json:"node,omitempty"` // the sender's uid ("emitter" for the redis-emitter)
	Type      string          `json:"type,omitempty"` // a request's or response's type
	RequestID string          `json:"requestId,omitempty"`
	Rooms     []string        `json:"rooms,omitempty"`
	Except    []string        `json:"except,omitempty"`
	Flags     json.RawMessage `json:"flags,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // a broadcast's [event, ...args], binary as {"$binary":...}
	Detail    json.RawMessage `json:"detail,omitempty"`
	Error     string          `json:"error,omitempty"`
	Bytes     int             `json:"bytes"`
}

// decodeClusterMessage decodes a message of channel under key.
func decodeClusterMessage(key, channel string, payload []byte, now time.Time) clusterMessage {
	m := clusterMessage{Time: render.FormatTime(now), Channel: channel, Bytes: len(payload)}
	fail := func(err error) clusterMessage {
		m.Kind, m.Error = "malformed", err.Error()
		return m
	}
	switch {
	case strings.HasPrefix(channel, key+"#"):
		m.Kind = "broadcast"
		b, err := redisadapter.DecodeBroadcast(payload)
		if err != nil {
			return fail(err)
		}
		m.Node, m.Nsp, m.Rooms, m.Except = b.UID, b.Packet.Namespace, b.Rooms, b.Except
		m.Flags, _ = json.Marshal(b.Flags)
		m.Data = protocol.InlineBinary(b.Packet.Data, b.Packet.Attachments)
	case strings.HasPrefix(channel, key+"-request#"), strings.HasPrefix(channel, key+"-response#"):
		m.Kind = "request"
		rest := strings.TrimPrefix(channel, key+"-request#")
		if strings.HasPrefix(channel, key+"-response#") {
			m.Kind = "response"
			rest = strings.TrimPrefix(channel, key+"-response#")
		}
		if i := strings.IndexByte(rest, '#'); i >= 0 {
			m.Nsp = rest[:i]
		}
		r, err := redisadapter.DecodeRequest(payload)
		if err != nil {
			return fail(err)
		}
		m.Node, m.RequestID = r.UID, r.RequestID
		if r.HasType {
			m.Type = r.Type.String()
		}
		if r.Opts != nil {
			m.Rooms, m.Except = r.Opts.Rooms, r.Opts.Except
			if r.Opts.Flags != nil {
				m.Flags, _ = json.Marshal(r.Opts.Flags)
			}
		}
		if r.Packet != nil {
			m.Data = protocol.InlineBinary(r.Packet.Data, r.Packet.Attachments)
		}
		d := map[string]any{}
		switch {
		case len(r.Data) > 0:
			d["data"] = r.Data
		case r.Ack != nil:
			d["ack"] = protocol.InlineBinary(r.Ack, r.AckAtts)
		case r.Sockets != nil:
			d["sockets"] = r.Sockets
		}
		if r.Type == redisadapter.ReqBroadcastClientCount {
			d["clientCount"] = r.Count
		}
		if len(r.Rooms) > 0 && (r.Opts != nil || m.Kind == "response") {
			d["rooms"] = r.Rooms // the rooms to join or leave; ALL_ROOMS' answer
		}
		if r.Type == redisadapter.ReqRemoteDisconnect && m.Kind == "request" {
			d["close"] = r.Close
		}
		if len(d) > 0 {
			m.Detail, _ = json.Marshal(d)
		}
	default:
		m.Kind = "other"
	}
	return m
}

// pretty is the one-line text form of m.
func (m clusterMessage) pretty() string {
	var b strings.Builder
	b.WriteString(m.Time[11:23]) // hh:mm:ss.mmm
	b.WriteString(" " + m.Kind)
	if m.Type != "" {
		b.WriteString(" " + m.Type)
	}
	if m.Nsp != "" {
		b.WriteString(" " + m.Nsp)
	}
	if m.Node != "" {
		b.WriteString(" from " + m.Node)
	}
	if m.RequestID != "" {
		b.WriteString(" #" + m.RequestID)
	}
	if len(m.Rooms) > 0 {
		fmt.Fprintf(&b, " rooms=%s", strings.Join(m.Rooms, ","))
	}
	if len(m.Except) > 0 {
		fmt.Fprintf(&b, " except=%s", strings.Join(m.Except, ","))
	}
	if len(m.Flags) > 0 && string(m.Flags) != "{}" {
		b.WriteString(" flags=" + string(m.Flags))
	}
	if len(m.Data) > 0 {
		b.WriteString(" " + string(m.Data))
	}
	if len(m.Detail) > 0 {
		b.WriteString(" " + string(m.Detail))
	}
	if m.Error != "" {
		fmt.Fprintf(&b, " %s (%d bytes on %s)", m.Error, m.Bytes, m.Channel)
	}
	return b.String()
}

// eventName is a broadcast's or serverSideEmit's event name.
func (m clusterMessage) eventName() (string, bool) {
	data := m.Data
	if m.Type == redisadapter.ReqServerSideEmit.String() && (m.Kind == "request" || m.Kind == "sharded") {
		var d struct {
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(m.Detail, &d)
		data = d.Data
	}
	var arr []json.RawMessage
	if len(data) == 0 || json.Unmarshal(data, &arr) != nil || len(arr) == 0 {
		return "", false
	}
	var name string
	if json.Unmarshal(arr[0], &name) != nil {
		return "", false
	}
	return name, true
}

// runListenRedis prints the cluster's messages until count of them, the
// timeout or an interrupt. Losing Redis is reported on stderr, once per
// outage, and the subscription is made again when it is back.
func runListenRedis(ctx context.Context, a *app, o *listenRedisOptions, output string, count int, timeout time.Duration, events []string) error {
	if output != render.FormatPretty && output != render.FormatJSON {
		return usageErrorf("--output must be pretty or json")
	}
	if count < 0 {
		return usageErrorf("--count must not be negative")
	}
	ro, err := redisOptions("--redis", o.URL)
	if err != nil {
		return err
	}
	client := redis.NewClient(ro)
	defer client.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = client.Ping(pctx).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("listen --redis %s: %s", ro.Addr, oneLineErr(err))
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// Glob-escaped patterns: a key with * or ? matches its own channels.
	esc := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(o.Key)
	var ps *redis.PubSub
	if o.Sharded {
		ps = client.SSubscribe(ctx)
		dctx, stopDiscovery := context.WithCancel(ctx)
		discovered := make(chan struct{})
		go func() {
			defer close(discovered)
			discoverShards(dctx, client, ps, o.Key, esc+"#*", o.NamespaceChannels)
		}()
		defer func() { stopDiscovery(); <-discovered }()
		what := "rooms' and responses' shard channels; --namespace-channels for the rest"
		if o.NamespaceChannels {
			what = "every shard channel; the nodes count this listener in their requests"
		}
		fmt.Fprintf(a.io.ErrOut, "sio listen: watching the sharded Socket.IO cluster on redis %s (%s %s#*, found every %s)\n", ro.Addr, what, o.Key, shardedDiscovery)
	} else {
		ps = client.PSubscribe(ctx, esc+"#*", esc+"-request#*", esc+"-response#*")
		fmt.Fprintf(a.io.ErrOut, "sio listen: watching the Socket.IO cluster on redis %s (channels %s#*, %s-request#*, %s-response#*)\n", ro.Addr, o.Key, o.Key, o.Key)
	}
	defer ps.Close()
	// A blocked read does not watch ctx: closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	seen := 0
	var downSince time.Time
	delay := 10 * time.Millisecond
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && count > 0 && seen < count {
				return &timeoutError{fmt.Errorf("%d of %d messages within %s", seen, count, timeout)}
			}
			return nil
		}
		if err != nil {
			if downSince.IsZero() {
				downSince = time.Now()
				fmt.Fprintf(a.io.ErrOut, "sio listen: lost Redis (%s); reconnecting\n", oneLineErr(err))
			}
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			delay = min(delay*2, 500*time.Millisecond)
			continue
		}
		delay = 10 * time.Millisecond
		if !downSince.IsZero() {
			fmt.Fprintf(a.io.ErrOut, "sio listen: Redis is back after %s: what the nodes published meanwhile was not seen\n", time.Since(downSince).Round(time.Millisecond))
			downSince = time.Time{}
		}
		m, ok := msg.(*redis.Message)
		if !ok {
			continue
		}
		var cm clusterMessage
		if o.Sharded {
			cm = decodeShardedMessage(m.Channel, []byte(m.Payload), time.Now())
		} else {
			cm = decodeClusterMessage(o.Key, m.Channel, []byte(m.Payload), time.Now())
		}
		if len(events) > 0 {
			name, ok := cm.eventName()
			if !ok || !slices.Contains(events, name) {
				continue
			}
		}
		if output == render.FormatJSON {
			b, _ := json.Marshal(cm)
			fmt.Fprintln(a.io.Out, string(b))
		} else {
			fmt.Fprintln(a.io.Out, cm.pretty())
		}
		seen++
		if count > 0 && seen >= count {
			return nil
		}
	}
}

// checkListenRedis refuses flags that need a Socket.IO connection.
func checkListenRedis(cmd *cobra.Command, o *listenRedisOptions) error {
	if o.URL == "" {
		for _, name := range []string{"redis-key", "redis-sharded", "namespace-channels"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s goes with --redis", name)
			}
		}
		return nil
	}
	if o.NamespaceChannels && !o.Sharded {
		return usageErrorf("--namespace-channels goes with --redis-sharded")
	}
	for _, name := range []string{"url", "transport", "auth", "query", "header", "no-reconnect", "ack-reply"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return usageErrorf("--%s needs a Socket.IO connection: --redis watches Redis", name)
		}
	}
	return nil
}
