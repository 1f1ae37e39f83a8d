package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// connectRetrying runs ConnectRetrying in the background.
func connectRetrying(t *testing.T, c *Client) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- c.ConnectRetrying(t.Context()) }()
	t.Cleanup(func() { c.Close() })
	return errc
}

func TestConnectRetryingRetriesTheFirstConnection(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	f.failAt = func(n int) error {
		if n <= 3 {
			return errors.New("connection refused")
		}
		return nil
	}
	c, err := New("http://example.test", testOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	st := watchStates(c)
	errc := connectRetrying(t, c)
	if s := st.waitFor(t, StateConnectError); s.Namespace != "/" || s.Err == nil || !strings.Contains(s.Err.Error(), "refused") {
		t.Errorf("first failure: %v", s)
	}
	for i := 1; i <= 2; i++ {
		if s := st.waitFor(t, StateReconnectAttempt); s.Attempt != i {
			t.Errorf("attempt %d, want %d", s.Attempt, i)
		}
		if s := st.waitFor(t, StateReconnectError); s.Attempt != i {
			t.Errorf("error of attempt %d, want %d", s.Attempt, i)
		}
	}
	if s := st.waitFor(t, StateReconnectAttempt); s.Attempt != 3 {
		t.Errorf("attempt %d, want 3", s.Attempt)
	}
	fc := f.next(t)
	fc.expect(t, "0")
	fc.deliver(`0{"sid":"S1"}`)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if c.SID() != "S1" {
		t.Errorf("sid %q", c.SID())
	}
	// A later loss goes through the supervisor's loop, not the first
	// dial's: one dial, at once, that works.
	fc.end(protocol.ReasonTransportClose, nil)
	fc2 := f.next(t)
	fc2.expect(t, "0")
	fc2.deliver(`0{"sid":"S2"}`)
	st.waitFor(t, StateConnect)
	if s := st.waitFor(t, StateConnect); s.SID != "S2" {
		t.Errorf("reconnected as %q", s.SID)
	}
}

func TestConnectRetryingGivesUp(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	f.failAt = func(int) error { return errors.New("connection refused") }
	opts := testOptions(f)
	opts.ReconnectAttempts = 2
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	st := watchStates(c)
	err = <-connectRetrying(t, c)
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Errorf("err = %v", err)
	}
	if s := st.waitFor(t, StateReconnectFailed); s.Attempt != 2 {
		t.Errorf("failed after %d", s.Attempt)
	}
	f.mu.Lock()
	dials := f.dials
	f.mu.Unlock()
	if dials != 3 {
		t.Errorf("%d dials, want 3 (the first and 2 attempts)", dials)
	}
}

// Close ends the wait between attempts at once.
func TestConnectRetryingClose(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	f.failAt = func(int) error { return errors.New("connection refused") }
	opts := testOptions(f)
	opts.ReconnectDelay, opts.ReconnectDelayMax = time.Hour, time.Hour
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	st := watchStates(c)
	errc := connectRetrying(t, c)
	st.waitFor(t, StateConnectError)
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
}

// A namespace the server refuses is not asked again.
func TestConnectRetryingRefusalIsFinal(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, err := New("http://example.test", testOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	errc := connectRetrying(t, c)
	fc := f.next(t)
	fc.expect(t, "0")
	fc.deliver(`4{"message":"not authorized"}`)
	var ce *ConnectError
	if err := <-errc; !errors.As(err, &ce) {
		t.Errorf("err = %v, want a *ConnectError", err)
	}
	f.mu.Lock()
	dials := f.dials
	f.mu.Unlock()
	if dials != 1 {
		t.Errorf("%d dials", dials)
	}
}

func TestConnectRetryingWithoutReconnectionTriesOnce(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	f.failAt = func(int) error { return errors.New("connection refused") }
	opts := testOptions(f)
	opts.NoReconnect = true
	c, err := New("http://example.test", opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := c.ConnectRetrying(ctx); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("err = %v", err)
	}
	f.mu.Lock()
	dials := f.dials
	f.mu.Unlock()
	if dials != 1 {
		t.Errorf("%d dials", dials)
	}
}
