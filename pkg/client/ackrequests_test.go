package client

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// holdAll registers reqs on every event of c's main namespace and signals
// each request it holds.
func holdAll(c *Client, reqs *AckRequests) <-chan uint64 {
	held := make(chan uint64, 64)
	c.Socket().OnAny(func(e *Event) {
		if reqs.Hold(e) {
			held <- e.Packet.ID
		}
	})
	return held
}

func TestAckRequestsAnswerLaterWithDeadline(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	clock := &fakeClock{t: time.Unix(1000, 0)}
	reqs := NewAckRequests(AckRequestsOptions{ServerTimeout: 5 * time.Second, Now: clock.now})
	held := holdAll(c, reqs)

	fc.deliver(`21["question","a"]`, `22["question","b"]`, `2["noack"]`)
	<-held
	<-held
	fc.expectNothing(t) // held, not answered automatically
	p := reqs.Pending()
	if len(p) != 2 || p[0].ID != 1 || p[1].ID != 2 || p[0].Event != "question" || p[0].Namespace != "/" {
		t.Fatalf("pending %+v", p)
	}
	if want := time.Unix(1005, 0); !p[0].Deadline.Equal(want) {
		t.Errorf("deadline %v, want %v", p[0].Deadline, want)
	}

	clock.advance(2 * time.Second)
	a, err := reqs.Answer(t.Context(), "/", 2, "ok")
	if err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `32["ok"]`)
	if a.Late || a.Age != 2*time.Second {
		t.Errorf("answer %+v: want on time, after 2s", a)
	}

	clock.advance(4 * time.Second) // 6s after request 1: the server gave up
	if p := reqs.Pending(); len(p) != 1 || !p[0].Expired(clock.now()) {
		t.Errorf("pending %+v, want request 1 expired", p)
	}
	a, err = reqs.Answer(t.Context(), "/", 1, 1, "late")
	if err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `31[1,"late"]`) // sent anyway: the user asked
	if !a.Late || a.Age != 6*time.Second {
		t.Errorf("answer %+v: want late, after 6s", a)
	}
	if reqs.Len() != 0 {
		t.Errorf("%d still held", reqs.Len())
	}
}

// Answer waits for a request that is on its way to the handler.
func TestAckRequestsAnswerWaitsForTheRequest(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	reqs := NewAckRequests(AckRequestsOptions{Wait: time.Minute})
	holdAll(c, reqs)
	done := make(chan error, 1)
	go func() {
		a, err := reqs.Answer(t.Context(), "/", 7, "x")
		if err == nil && (a.Late || !a.Deadline.IsZero()) {
			t.Errorf("answer %+v: no deadline is known", a)
		}
		done <- err
	}()
	fc.deliver(`27["q"]`)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fc.expect(t, `37["x"]`)
}

func TestAckRequestsUnknownRequest(t *testing.T) {
	t.Parallel()
	reqs := NewAckRequests(AckRequestsOptions{Wait: time.Millisecond})
	_, err := reqs.Answer(t.Context(), "/chat", 3)
	if err == nil || !strings.Contains(err.Error(), "no ack request 3 waiting on /chat") {
		t.Errorf("err = %v", err)
	}
}

// Past Max the oldest request is forgotten; Forget drops a namespace's.
func TestAckRequestsBounded(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	reqs := NewAckRequests(AckRequestsOptions{Max: 3, Wait: time.Millisecond})
	held := holdAll(c, reqs)
	for i := 1; i <= 5; i++ {
		fc.deliver(`2` + string(rune('0'+i)) + `["q"]`)
		<-held
	}
	var ids []uint64
	for _, p := range reqs.Pending() {
		ids = append(ids, p.ID)
	}
	if len(ids) != 3 || ids[0] != 3 || ids[2] != 5 {
		t.Errorf("held %v, want [3 4 5]", ids)
	}
	if _, err := reqs.Answer(t.Context(), "/", 1); err == nil {
		t.Error("answered a forgotten request")
	}
	reqs.Forget("/")
	if reqs.Len() != 0 || len(reqs.Pending()) != 0 {
		t.Errorf("%d held after Forget", reqs.Len())
	}
}

// An event whose ack a handler already took is not held.
func TestAckRequestsHoldOnlyWhatIsOpen(t *testing.T) {
	t.Parallel()
	f := newFakeEngine(t, protocol.EIO4)
	c, fc, _ := dialFake(t, f, "http://example.test", testOptions(f))
	reqs := NewAckRequests(AckRequestsOptions{})
	res := make(chan bool, 2)
	// Any-handlers run before named ones: Hold comes after the answer.
	c.On("answered", func(e *Event) { _ = e.Ack("mine") })
	c.On("answered", func(e *Event) { res <- reqs.Hold(e) })
	c.On("plain", func(e *Event) { res <- reqs.Hold(e) })
	fc.deliver(`24["answered"]`)
	if <-res {
		t.Error("held a request its handler answered")
	}
	fc.expect(t, `34["mine"]`)
	fc.deliver(`2["plain"]`)
	if <-res {
		t.Error("held an event without ack")
	}
}
