package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server/redisadapter"
)

// emitRedisOptions are the flags of `sio emit --redis`: push to the
// clients of a Redis-backed cluster as @socket.io/redis-emitter does,
// without a Socket.IO connection.
type emitRedisOptions struct {
	URL        string
	Key        string
	Namespace  string
	Rooms      []string
	Except     []string
	Volatile   bool
	ServerSide bool
	Join       []string
	Leave      []string
	Disconnect bool
	Close      bool
}

func addEmitRedisFlags(cmd *cobra.Command, o *emitRedisOptions) {
	f := cmd.Flags()
	f.StringVar(&o.URL, "redis", "", "publish to the Socket.IO cluster on this Redis (redis://host:port) as @socket.io/redis-emitter, without connecting to a server")
	f.StringVar(&o.Key, "redis-key", "socket.io", "with --redis: the cluster's channel prefix")
	f.StringVar(&o.Namespace, "namespace", "/", "with --redis: the namespace")
	f.StringArrayVar(&o.Rooms, "room", nil, "with --redis: only the sockets in this room, repeatable (union)")
	f.StringArrayVar(&o.Except, "except", nil, "with --redis: not the sockets in this room, repeatable")
	f.BoolVar(&o.Volatile, "volatile", false, "with --redis: the volatile flag (dropped for clients not ready)")
	f.BoolVar(&o.ServerSide, "server-side", false, "with --redis: serverSideEmit EVENT ARGS to the nodes' servers instead of their clients")
	f.StringArrayVar(&o.Join, "sockets-join", nil, "with --redis: make the selected sockets join this room, repeatable (no EVENT)")
	f.StringArrayVar(&o.Leave, "sockets-leave", nil, "with --redis: make the selected sockets leave this room, repeatable (no EVENT)")
	f.BoolVar(&o.Disconnect, "disconnect-sockets", false, "with --redis: disconnect the selected sockets (no EVENT)")
	f.BoolVar(&o.Close, "close", false, "with --disconnect-sockets: also close their connections")
}

// op is the one operation the flags ask for.
func (o *emitRedisOptions) op() string {
	switch {
	case len(o.Join) > 0:
		return "socketsJoin"
	case len(o.Leave) > 0:
		return "socketsLeave"
	case o.Disconnect:
		return "disconnectSockets"
	case o.ServerSide:
		return "serverSideEmit"
	}
	return "emit"
}

// emitArgs checks the positional arguments: an EVENT unless --redis asks
// for an operation on sockets.
func emitArgs(o *emitRedisOptions) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if o.URL != "" {
			switch o.op() {
			case "socketsJoin", "socketsLeave", "disconnectSockets":
				if len(args) > 0 {
					return usageErrorf("--%s takes no EVENT", map[string]string{"socketsJoin": "sockets-join", "socketsLeave": "sockets-leave", "disconnectSockets": "disconnect-sockets"}[o.op()])
				}
				return nil
			}
		}
		return cobra.MinimumNArgs(1)(cmd, args)
	}
}

// checkEmitRedis refuses the flags that need --redis without it, and
// contradicting operations.
func checkEmitRedis(cmd *cobra.Command, o *emitRedisOptions) error {
	if o.URL == "" {
		for _, name := range []string{"redis-key", "namespace", "room", "except", "volatile", "server-side", "sockets-join", "sockets-leave", "disconnect-sockets", "close"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s goes with --redis (without it the URL's path is the namespace)", name)
			}
		}
		return nil
	}
	n := 0
	for _, set := range []bool{len(o.Join) > 0, len(o.Leave) > 0, o.Disconnect, o.ServerSide} {
		if set {
			n++
		}
	}
	if n > 1 {
		return usageErrorf("--sockets-join, --sockets-leave, --disconnect-sockets and --server-side are one operation each")
	}
	if o.Close && !o.Disconnect {
		return usageErrorf("--close goes with --disconnect-sockets")
	}
	for _, name := range []string{"url", "ack", "wait", "transport", "auth", "query", "header"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return usageErrorf("--%s needs a Socket.IO connection: --redis publishes to Redis", name)
		}
	}
	if o.ServerSide && (len(o.Rooms) > 0 || len(o.Except) > 0 || o.Volatile) {
		return usageErrorf("--server-side goes to the servers: --room, --except and --volatile do not apply")
	}
	return nil
}

// runEmitRedis publishes one message and prints where it went and how
// many Redis subscribers (cluster nodes) got it.
func runEmitRedis(ctx context.Context, a *app, o *emitRedisOptions, output string, timeout time.Duration, args []string) error {
	if output != render.FormatPretty && output != render.FormatJSON {
		return usageErrorf("--output must be pretty or json")
	}
	ro, err := redisOptions("--redis", o.URL)
	if err != nil {
		return err
	}
	var event string
	var raw []json.RawMessage
	var atts [][]byte
	if len(args) > 0 {
		event = args[0]
		if protocol.IsReservedEvent(event) {
			return usageErrorf("%q is a reserved event name: Socket.IO servers refuse it", event)
		}
		vals, err := parseArgs(a, args[1:], true)
		if err != nil {
			return &usageError{err}
		}
		if raw, atts, err = notationArgs(vals); err != nil {
			return &usageError{err}
		}
	}
	client := redis.NewClient(ro)
	defer client.Close()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	em := redisadapter.NewEmitter(client, o.Key, o.Namespace)
	t := redisadapter.Target{Rooms: o.Rooms, Except: o.Except, Volatile: o.Volatile}
	var pub redisadapter.Published
	switch o.op() {
	case "socketsJoin":
		pub, err = em.SocketsJoin(ctx, t, o.Join)
	case "socketsLeave":
		pub, err = em.SocketsLeave(ctx, t, o.Leave)
	case "disconnectSockets":
		pub, err = em.DisconnectSockets(ctx, t, o.Close)
	case "serverSideEmit":
		if len(atts) > 0 {
			return usageErrorf("--server-side: serverSideEmit is JSON, it cannot carry binary")
		}
		pub, err = em.ServerSideEmit(ctx, event, raw)
	default:
		pub, err = em.Emit(ctx, t, event, raw, atts)
	}
	if err != nil {
		return fmt.Errorf("emit --redis %s: %w", ro.Addr, err)
	}
	if output == render.FormatJSON {
		b, _ := json.Marshal(struct {
			Op        string `json:"op"`
			Event     string `json:"event,omitempty"`
			Channel   string `json:"channel"`
			Receivers int64  `json:"receivers"`
		}{o.op(), event, pub.Channel, pub.Receivers})
		fmt.Fprintln(a.io.Out, string(b))
	} else {
		what := o.op()
		if event != "" {
			what += " " + event
		}
		fmt.Fprintf(a.io.Out, "%s → %s (%d subscribers)\n", what, pub.Channel, pub.Receivers)
	}
	if pub.Receivers == 0 {
		fmt.Fprintf(a.io.ErrOut, "sio emit: no node of the cluster listens on %s: nobody got it\n", pub.Channel)
	}
	return nil
}

// notationArgs turns parsed ARGs (client.Notation: JSON where
// {"$binary":...} stands for bytes) into raw arguments with placeholders
// numbered across all of them, and the bytes.
func notationArgs(vals []any) ([]json.RawMessage, [][]byte, error) {
	elems := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		n, ok := v.(client.Notation)
		if !ok {
			return nil, nil, fmt.Errorf("argument %d: unexpected %T", i, v)
		}
		elems[i] = json.RawMessage(n)
	}
	data, atts, err := protocol.ExtractBinary(protocol.AppendArray(nil, elems...))
	if err != nil {
		return nil, nil, err
	}
	raw, err := protocol.SplitArray(data)
	return raw, atts, err
}
