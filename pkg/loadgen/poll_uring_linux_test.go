//go:build linux && !sio_nouring

package loadgen

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/pkg/internal/uring"
	"github.com/sio-dev/sio/pkg/protocol"
)

// The event loops' io_uring sends. scripts/test.sh also runs the package
// with -tags sio_nouring, without them.

func needRing(t *testing.T) {
	t.Helper()
	r, err := uring.New(8)
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	r.Close()
}

func (h *ringHooks) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.enters
}

// ringRun runs the ack closed loop on the event loops with hooks h.
func ringRun(t *testing.T, io string, h *ringHooks, clients, inflight, msgs int) *Result {
	t.Helper()
	ts := newTestServer(t, nil)
	cfg := Config{URL: ts.url(), Scenario: ScenarioAck, Clients: clients, Messages: msgs, Inflight: inflight,
		EIO: protocol.EIO4, IO: io, ringHooks: h}
	return runT(t, cfg)
}

// Many clients, one and 16 requests in flight each, with the ring and
// with write(2): every request is answered once, with the right payload.
func TestClosedLoopRing(t *testing.T) {
	for _, io := range []string{IOEpoll, IOEpollNoUring} {
		for _, inflight := range []int{1, 16} {
			t.Run(fmt.Sprintf("%s/inflight%d", io, inflight), func(t *testing.T) {
				if io == IOEpoll {
					needRing(t)
				}
				h := &ringHooks{}
				res := ringRun(t, io, h, 60, inflight, 300)
				checkClean(t, res)
				if res.AcksMatched != 60*300 || res.Sent != 60*300 {
					t.Fatalf("matched %d, sent %d; want %d", res.AcksMatched, res.Sent, 60*300)
				}
				switch enters := h.count(); {
				case io == IOEpoll && enters == 0:
					t.Fatal("the ring was not used")
				case io == IOEpollNoUring && enters != 0:
					t.Fatalf("%d io_uring enters with %s", enters, io)
				}
			})
		}
	}
}

// A loop whose ring cannot be set up writes with write(2).
func TestClosedLoopRingSetupFails(t *testing.T) {
	h := &ringHooks{setup: func() (*uring.Ring, error) { return nil, errors.New("io_uring_setup: operation not permitted") }}
	res := ringRun(t, IOEpoll, h, 20, 4, 200)
	checkClean(t, res)
	if res.AcksMatched != 20*200 || h.count() != 0 {
		t.Fatalf("matched %d, %d enters", res.AcksMatched, h.count())
	}
}

// failFirst makes each ring's first enter fail with fail (given the ring
// and the real enter's arguments); an enter after that is an error: a
// failed ring must stay off.
func failFirst(t *testing.T, fail func(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error)) *ringHooks {
	var mu sync.Mutex
	failed := map[*uring.Ring]bool{}
	return &ringHooks{enter: func(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error) {
		mu.Lock()
		again := failed[r]
		failed[r] = true
		mu.Unlock()
		if again {
			t.Error("a ring was entered after its failure")
			return 0, errors.New("entered after a failure")
		}
		return fail(r, minComplete, wait)
	}}
}

var errEnterInjected = errors.New("injected io_uring_enter failure")

// Failures whose sends' outcomes are known: a partial submit (the kernel
// takes half the SQEs; the rest go out with write(2)), and an enter that
// reports an error after the sends completed (their completions are
// there to reap). Every request is answered once, and the rings stay off.
func TestClosedLoopRingFailsKnown(t *testing.T) {
	needRing(t)
	for name, fail := range map[string]func(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error){
		"partial": func(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error) {
			r.HoldBack(r.Pending() / 2)
			return r.Enter(minComplete/2, wait)
		},
		"error": func(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error) {
			_, _ = r.Enter(minComplete, wait)
			return 0, errEnterInjected
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := failFirst(t, fail)
			res := ringRun(t, IOEpoll, h, 40, 8, 200)
			checkClean(t, res)
			if res.AcksMatched != 40*200 || h.count() == 0 {
				t.Fatalf("matched %d, %d enters", res.AcksMatched, h.count())
			}
		})
	}
}

// An enter that fails after the kernel took the sends, their completions
// lost: their outcome is unknown, so those connections end (transport
// error) with their requests counted lost, none sent twice; the other
// connections go on with write(2).
func TestClosedLoopRingFailsUnknown(t *testing.T) {
	needRing(t)
	h := failFirst(t, func(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error) {
		_, _ = r.Enter(minComplete, wait) // the frames go out
		r.Reap(func(*uring.CQE) {})       // and their completions are lost
		return 0, errEnterInjected
	})
	const clients, inflight, msgs = 40, 4, 200
	res := ringRun(t, IOEpoll, h, clients, inflight, msgs)
	v := res.Validation
	gone := res.Disconnects[string(protocol.ReasonTransportError)]
	if v.Duplicate != 0 || v.Wrong != 0 || v.Unexpected != 0 || gone == 0 || gone >= clients {
		t.Fatalf("validation %+v, disconnects %v", v, res.Disconnects)
	}
	// A connection that ended had at most inflight requests out; the
	// others finished their quota.
	if v.Lost > gone*inflight || res.AcksMatched+v.Lost > clients*msgs || res.AcksMatched < (clients-gone)*msgs {
		t.Fatalf("matched %d, lost %d, %d connections ended", res.AcksMatched, v.Lost, gone)
	}
}
