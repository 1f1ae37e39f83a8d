package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

type emitOptions struct {
	clientFlags
	Event string
	Args  []string
	Ack   bool
	Wait  string
}

func newEmitCmd(a *app, runF func(*emitOptions) error) *cobra.Command {
	opts := &emitOptions{}
	var urlFlag string
	var redisOpts emitRedisOptions // --redis (emit_redis.go)
	cmd := &cobra.Command{
		Use:   "emit EVENT [ARG...]",
		Short: "Connect, emit one event, optionally wait for its ack or a reply event, print, exit",
		Long: `Connect, emit one event and exit once it is flushed to the server.

Each ARG is one event argument: JSON if it parses, else a string; @path reads
JSON from a file and - from stdin; {"$binary":"<base64>"} anywhere inside an
argument is sent as a binary attachment.

With --ack it waits for the acknowledgement and prints its arguments; with
--wait EVENT it waits for that incoming event. Exit status: 0 success, 1
failure, 2 usage error, 124 timed out waiting.`,
		Example: `  sio emit chat hello
  sio emit -u http://localhost:3000/admin --ack question '{"q":1}'
  sio emit upload '{"$binary":"AQID"}' --wait done -o json
  sio emit @greet    # the message saved as "greet" in the TUI's composer`,
		Args: emitArgs(&redisOpts),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkEmitRedis(cmd, &redisOpts); err != nil || redisOpts.URL != "" {
				if err != nil {
					return err
				}
				return runEmitRedis(cmd.Context(), a, &redisOpts, opts.Output, opts.Timeout, args)
			}
			opts.Event, opts.Args = args[0], args[1:]
			if err := opts.validate(cmd, a, urlFlag); err != nil {
				return err
			}
			if err := applySavedMessage(a, opts); err != nil { // emit_saved.go
				return err
			}
			if opts.Ack && opts.Wait != "" {
				return usageErrorf("--ack and --wait cannot be combined")
			}
			if looksLikeURL(opts.Event) {
				// `sio emit http://host:3000 chat` would send an event named
				// after the URL and exit 0.
				return usageErrorf("the event name %q looks like a URL: give the server with -u %s", opts.Event, opts.Event)
			}
			if protocol.IsReservedEvent(opts.Event) {
				return usageErrorf("%q is a reserved event name: Socket.IO servers refuse it", opts.Event)
			}
			if runF != nil {
				return runF(opts)
			}
			return runEmit(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringVarP(&urlFlag, "url", "u", "", "server URL; its path is the namespace (default $SIO_URL, else "+defaultURL+")")
	cmd.Flags().BoolVar(&opts.Ack, "ack", false, "ask for an acknowledgement and print its arguments")
	cmd.Flags().StringVar(&opts.Wait, "wait", "", "after emitting, wait for this incoming event and print it")
	addClientFlags(cmd, a, &opts.clientFlags, "how long to wait for the ack or the --wait event (0: no limit)", 10*time.Second)
	addEmitRedisFlags(cmd, &redisOpts)
	return cmd
}

// looksLikeURL reports an event name that is a server URL given in the
// wrong place.
func looksLikeURL(s string) bool {
	for _, scheme := range []string{"http://", "https://", "ws://", "wss://"} {
		if strings.HasPrefix(strings.ToLower(s), scheme) {
			return true
		}
	}
	return false
}

func runEmit(ctx context.Context, a *app, opts *emitOptions) error {
	a = withLockedStderr(a)
	args, err := parseArgs(a, opts.Args, true)
	if err != nil {
		return &usageError{err}
	}
	printer, err := opts.newPrinter(a)
	if err != nil {
		return &usageError{err}
	}
	copts := opts.clientOptions()
	copts.NoReconnect = true // one shot: a lost connection is a failure
	var (
		armed   atomic.Bool // our EVENT is out: replies count from here
		ackSeen atomic.Bool
		waitHit atomic.Bool
	)
	waited := make(chan struct{})
	var nsp atomic.Value
	nsp.Store("")
	// sent is the size of the largest frame of our EVENT (0 until it is
	// out), to name the server's limit when it closes on it.
	var sent atomic.Int64
	copts.Tap = func(t protocol.Trace) {
		if isSocketTrace(t, protocol.Out, nsp.Load().(string), protocol.PacketEvent, protocol.PacketBinaryEvent) {
			var n int64
			for _, r := range t.Raw {
				n = max(n, int64(len(r))+1) // +1: the engine.io type
			}
			sent.CompareAndSwap(0, n)
		}
		if t.Layer == protocol.LayerEngine || opts.Verbose {
			printer.Trace(t)
			if isSocketTrace(t, protocol.Out, nsp.Load().(string), protocol.PacketEvent, protocol.PacketBinaryEvent) {
				armed.Store(true)
			}
			if t.Layer == protocol.LayerSocket && opts.Wait != "" && armed.Load() &&
				isSocketTrace(t, protocol.In, nsp.Load().(string), protocol.PacketEvent, protocol.PacketBinaryEvent) &&
				t.Packet.EventName() == opts.Wait && waitHit.CompareAndSwap(false, true) {
				close(waited)
			}
			return
		}
		ns := nsp.Load().(string)
		switch {
		case isSocketTrace(t, protocol.Out, ns, protocol.PacketEvent, protocol.PacketBinaryEvent):
			if armed.CompareAndSwap(false, true) {
				printer.Trace(t)
			}
		case opts.Output == render.FormatJSON && isSocketTrace(t, protocol.In, ns, protocol.PacketConnectError):
			// A refused CONNECT is a packet like any other: -o json
			// readers get it on stdout; the one-line error goes to stderr.
			printer.Trace(t)
		case opts.Ack && isSocketTrace(t, protocol.In, ns, protocol.PacketAck, protocol.PacketBinaryAck):
			if ackSeen.CompareAndSwap(false, true) {
				printer.Trace(t)
			}
		case opts.Wait != "" && armed.Load() && isSocketTrace(t, protocol.In, ns, protocol.PacketEvent, protocol.PacketBinaryEvent):
			if t.Packet.EventName() == opts.Wait && waitHit.CompareAndSwap(false, true) {
				printer.Trace(t)
				close(waited)
			}
		}
	}
	c, err := client.New(opts.URL, copts)
	if err != nil {
		return &usageError{err}
	}
	defer c.Close()
	nsp.Store(c.Socket().Namespace())
	// A server that disconnects our namespace ends any wait at once.
	kicked := make(chan protocol.DisconnectReason, 1)
	c.OnState(func(s client.State) {
		if s.Kind == client.StateDisconnect && s.Namespace == c.Socket().Namespace() && s.Reason != protocol.ReasonIOClientDisconnect {
			select {
			case kicked <- s.Reason:
			default:
			}
		}
	})
	if err := connectClient(ctx, a, &opts.clientFlags, c); err != nil {
		return err
	}
	maxPayload := c.MaxPayload()
	// overLimit explains a failure, or a silent close after a flushed
	// fire-and-forget emit, by the server's message size limit.
	overLimit := func() error {
		if n := sent.Load(); maxPayload > 0 && n > maxPayload {
			return fmt.Errorf("emit %q: the event is a %d-byte message, over the server's limit of %d bytes (its maxHttpBufferSize): it closes the connection on it", opts.Event, n, maxPayload)
		}
		return nil
	}

	if opts.Ack {
		actx, cancel := context.WithCancel(ctx)
		if opts.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, opts.Timeout)
		}
		defer cancel()
		_, err := c.EmitWithAck(actx, opts.Event, args...)
		switch {
		case err != nil && ctx.Err() != nil:
			return interrupted(a, "emit %q: interrupted while waiting for the ack", opts.Event)
		case err != nil && overLimit() != nil:
			return overLimit()
		case errors.Is(err, context.DeadlineExceeded):
			return &timeoutError{fmt.Errorf("no ack for %q within %s", opts.Event, opts.Timeout)}
		case err != nil:
			return fmt.Errorf("emit %q: %w", opts.Event, err)
		}
		return nil
	}
	if err := c.Emit(opts.Event, args...); err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := c.Flush(fctx); err != nil {
		if ctx.Err() != nil {
			return interrupted(a, "emit %q: interrupted before the event was sent", opts.Event)
		}
		if err := overLimit(); err != nil {
			return err
		}
		return fmt.Errorf("emit %q: flush: %w", opts.Event, err)
	}
	if err := overLimit(); err != nil {
		// Written, but the server will not take it (over WebSocket the
		// write succeeds before it closes).
		return err
	}
	if opts.Wait == "" {
		return nil
	}
	var timeout <-chan time.Time // --timeout 0: no limit
	if opts.Timeout > 0 {
		timer := time.NewTimer(opts.Timeout)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-waited:
		return nil
	case <-timeout:
		select {
		case <-waited: // it came just in time
			return nil
		default:
		}
		return &timeoutError{fmt.Errorf("no %q event within %s", opts.Wait, opts.Timeout)}
	case reason := <-kicked:
		return fmt.Errorf("waiting for %q: disconnected from %s: %s", opts.Wait, c.Socket().Namespace(), reason)
	case <-c.Done():
		return fmt.Errorf("waiting for %q: %w", opts.Wait, c.Err())
	case <-ctx.Done():
		return interrupted(a, "waiting for %q: interrupted", opts.Wait)
	}
}
