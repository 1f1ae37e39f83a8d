package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/protocol"
)

type listenOptions struct {
	clientFlags
	Events []string
	Count  int
}

func newListenCmd(a *app, runF func(*listenOptions) error) *cobra.Command {
	opts := &listenOptions{}
	var urlFlag string
	var redisOpts listenRedisOptions // --redis (listen_redis.go)
	cmd := &cobra.Command{
		Use:   "listen [EVENT...]",
		Short: "Connect and print incoming events (all, or only the named ones)",
		Long: `Connect and print the incoming events of the URL's namespace: all of them, or
only the named ones. Server ack requests are answered (--ack-reply).

--count N stops after N events; --timeout DUR stops after DUR. With both, not
getting N events in time exits with status 124; --timeout alone exits 0.`,
		Example: `  sio listen
  sio listen -u http://localhost:3000/admin chat news --count 1 -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkListenRedis(cmd, &redisOpts); err != nil || redisOpts.URL != "" {
				if err != nil {
					return err
				}
				return runListenRedis(cmd.Context(), a, &redisOpts, opts.Output, opts.Count, opts.Timeout, args)
			}
			opts.Events = args
			if err := opts.validate(cmd, a, urlFlag); err != nil {
				return err
			}
			for _, e := range opts.Events {
				if looksLikeURL(e) {
					return usageErrorf("the event name %q looks like a URL: give the server with -u %s", e, e)
				}
			}
			if opts.Count < 0 {
				return usageErrorf("--count must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return runListen(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringVarP(&urlFlag, "url", "u", "", "server URL; its path is the namespace (default $SIO_URL, else "+defaultURL+")")
	cmd.Flags().IntVar(&opts.Count, "count", 0, "stop after N events (0: no limit)")
	cmd.Flags().BoolVar(&opts.NoReconnect, "no-reconnect", false, "exit instead of reconnecting when the connection is lost")
	addClientFlags(cmd, a, &opts.clientFlags, "stop listening after DUR (default: until interrupted)", 0)
	addListenRedisFlags(cmd, &redisOpts)
	return cmd
}

func runListen(ctx context.Context, a *app, opts *listenOptions) error {
	a = withLockedStderr(a)
	printer, err := opts.newPrinter(a)
	if err != nil {
		return &usageError{err}
	}
	copts := opts.clientOptions()
	var (
		mu    sync.Mutex
		seen  int
		nsp   string
		setup sync.Once
	)
	enough := make(chan struct{})
	copts.Tap = func(t protocol.Trace) {
		if t.Layer == protocol.LayerEngine {
			printer.Trace(t)
			return
		}
		mu.Lock()
		ns := nsp
		mu.Unlock()
		match := isSocketTrace(t, protocol.In, ns, protocol.PacketEvent, protocol.PacketBinaryEvent) &&
			(len(opts.Events) == 0 || slices.Contains(opts.Events, t.Packet.EventName()))
		if !match {
			if opts.Verbose {
				printer.Trace(t)
			}
			return
		}
		mu.Lock()
		if opts.Count > 0 && seen >= opts.Count {
			mu.Unlock()
			return
		}
		seen++
		done := opts.Count > 0 && seen == opts.Count
		printer.Trace(t)
		mu.Unlock()
		if done {
			setup.Do(func() { close(enough) })
		}
	}
	c, err := client.New(opts.URL, copts)
	if err != nil {
		return &usageError{err}
	}
	defer c.Close()
	mu.Lock()
	nsp = c.Socket().Namespace()
	mu.Unlock()
	printState := lifecyclePrinter(a, printer, opts.Verbose)
	var connected atomic.Bool
	c.OnState(func(s client.State) {
		// A refused first CONNECT is the command's error, said once.
		if s.Kind == client.StateConnect {
			connected.Store(true)
		}
		if s.Kind == client.StateConnectError && !connected.Load() && !opts.Verbose {
			return
		}
		printState(s)
	})
	// The server disconnecting our namespace ends the session: like
	// socket.io-client, we do not come back on our own.
	kicked := make(chan struct{})
	var kickOnce sync.Once
	c.OnState(func(s client.State) {
		if s.Kind == client.StateDisconnect && s.Namespace == c.Socket().Namespace() && s.Reason == protocol.ReasonIOServerDisconnect {
			kickOnce.Do(func() { close(kicked) })
		}
	})
	if err := connectClient(ctx, a, &opts.clientFlags, c); err != nil {
		return err
	}
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		timer := time.NewTimer(opts.Timeout)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-enough:
		return nil
	case <-timeout:
		select {
		case <-enough: // the last one came just in time
			return nil
		default:
		}
		if opts.Count > 0 {
			mu.Lock()
			n := seen
			mu.Unlock()
			return &timeoutError{fmt.Errorf("got %d of %d events within %s", n, opts.Count, opts.Timeout)}
		}
		return nil
	case <-ctx.Done():
		if opts.Count > 0 {
			// Stopped before the N events it was asked to wait for: a
			// script must not take that for success (130, as emit).
			mu.Lock()
			n := seen
			mu.Unlock()
			return interrupted(a, "listen: interrupted after %d of %d events", n, opts.Count)
		}
		return nil
	case <-kicked:
		return fmt.Errorf("disconnected from %s by the server (%s)", c.Socket().Namespace(), protocol.ReasonIOServerDisconnect)
	case <-c.Done():
		return c.Err()
	}
}
