package client

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"
)

// ConnectRetrying is Connect for a server that may not be up yet: when the
// first Engine.IO connection fails, it tries again with the reconnection
// backoff (Options.ReconnectDelay, ReconnectDelayMax, RandomizationFactor
// and ReconnectAttempts, whose defaults are socket.io-client's: 1s doubling
// to 5s, ±50% jitter, no limit), as socket.io-client's Manager does with
// its first open. Each try is bounded by Options.ConnectTimeout, the whole
// by ctx. With Options.NoReconnect it is Connect.
//
// The first failure is reported as StateConnectError on the URL's
// namespace (socket.io-client's "connect_error"), each later try as
// StateReconnectAttempt then, when it fails, StateReconnectError, and
// running out of attempts as StateReconnectFailed. A namespace refused by
// the server (*ConnectError) is not tried again: socket.io-client does not
// either, a middleware would refuse it again.
//
// Call it once, instead of Connect, before any other goroutine uses c.
func (c *Client) ConnectRetrying(ctx context.Context) error {
	c.mu.Lock()
	wrap := !c.started && !c.closed && !c.opts.NoReconnect
	if wrap {
		c.opts.dial = c.retryFirstDial(c.opts.dial)
	}
	c.mu.Unlock()
	return c.Connect(ctx)
}

// retryFirstDial wraps dial so that its first call retries with backoff;
// later calls (a second dial of the same open, reconnections) go straight
// through, the supervisor has its own loop for those.
func (c *Client) retryFirstDial(dial dialFunc) dialFunc {
	var used atomic.Bool
	return func(ctx context.Context, base *url.URL, cfg engineConfig) (engineConn, error) {
		if used.Swap(true) {
			return dial(ctx, base, cfg)
		}
		return c.dialRetrying(ctx, dial, base, cfg)
	}
}

// dialRetrying dials until a connection opens, ctx ends, the client is
// closed, or the attempts run out.
func (c *Client) dialRetrying(ctx context.Context, dial dialFunc, base *url.URL, cfg engineConfig) (engineConn, error) {
	b := backoff{min: c.opts.ReconnectDelay, max: c.opts.ReconnectDelayMax, factor: c.opts.RandomizationFactor, rand: c.opts.rand}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if c.opts.ReconnectAttempts > 0 && attempt > c.opts.ReconnectAttempts {
				c.emitState(State{Kind: StateReconnectFailed, Attempt: attempt - 1})
				return nil, fmt.Errorf("gave up after %d attempts", attempt-1)
			}
			t := time.NewTimer(b.duration(attempt - 1))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-c.ctx.Done():
				t.Stop()
				return nil, ErrClosed
			}
			c.emitState(State{Kind: StateReconnectAttempt, Attempt: attempt})
		}
		conn, err := c.dialOnce(ctx, dial, base, cfg)
		if err == nil {
			return conn, nil
		}
		switch {
		case c.ctx.Err() != nil:
			return nil, ErrClosed
		case ctx.Err() != nil:
			return nil, err
		case attempt == 0:
			c.emitState(State{Kind: StateConnectError, Namespace: c.mainNsp, Err: err})
		default:
			c.emitState(State{Kind: StateReconnectError, Attempt: attempt, Err: err})
		}
	}
}

// dialOnce is one try, bounded by ConnectTimeout and ended early by Close.
func (c *Client) dialOnce(ctx context.Context, dial dialFunc, base *url.URL, cfg engineConfig) (engineConn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	return dial(ctx, base, cfg)
}
