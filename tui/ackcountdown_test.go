package tui

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Issue 15.5: with the server's ack timeout known, the header counts down
// to it, says when the server gave up, and an answer after it is called
// late (a Node server drops it without a word).
func TestServerAckCountdown(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(t0.Add(2 * time.Second).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	s := &fakeSession{}
	m := newTestClient(t, s, func(o *ClientOptions) {
		o.Now = clock
		o.ServerAckTimeout = 5 * time.Second
	})
	m.Update(traces(event(protocol.In, "s", "/", `["question","?"]`, 7, true, 0)))
	header := func() string { return strings.SplitN(screen(m), "\n", 3)[1] }
	if h := header(); !strings.Contains(h, "1 ack request(s) waiting 2s, the server gives up in 3s (a)") {
		t.Errorf("header %q", h)
	}
	now.Store(t0.Add(6 * time.Second).UnixNano())
	m.Update(ackAgeMsg{})
	if h := header(); !strings.Contains(h, "waiting 6s, the server gave up (a)") {
		t.Errorf("header after the timeout %q", h)
	}
	press(t, m, "a")
	typeText(t, m, `"late"`)
	press(t, m, "enter")
	if len(s.answers) != 1 || !m.statusErr || !strings.Contains(m.status, "late, the server gave up after 5s and ignores it") {
		t.Errorf("answers %+v status %q", s.answers, m.status)
	}
}

// Without a known timeout an answer is only timed.
func TestAckAnswerWithoutTimeout(t *testing.T) {
	t.Parallel()
	s := &fakeSession{}
	m := newTestClient(t, s, nil)
	m.Update(traces(event(protocol.In, "s", "/", `["question","?"]`, 7, true, 0)))
	if h := strings.SplitN(screen(m), "\n", 3)[1]; strings.Contains(h, "gives up") || !strings.Contains(h, "waiting 5s (a)") {
		t.Errorf("header %q", h)
	}
	press(t, m, "a")
	press(t, m, "enter")
	if m.statusErr || !strings.Contains(m.status, "answered ack 7 on / 5s after the request") {
		t.Errorf("status %q", m.status)
	}
}
