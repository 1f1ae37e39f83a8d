//go:build linux && !sio_nouring

package loadgen

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sio-dev/sio/pkg/internal/uring"
)

// The event loops' io_uring sends (Config.IO "epoll"; issue 17, target 5):
// write(2) was well over half of the loader's CPU in the closed loop. A
// loop with a ring leaves the requests its connections' replies make room
// for queued while it handles one pass over the ready events (their
// beforeRead hook is off: the poller's reads never block, so nothing need
// leave before them), then sends every connection's queue as one
// IORING_OP_SEND SQE and enters the ring once for the pass.
//
// Each connection's send lock (client.sendMu, which serialises its queue)
// and socket lock (rawSock.mu, which every write and the close take) are
// held from the SQE until its outcome is known: no other write can come
// between, and the descriptor in the SQE stays the connection's. A short
// send or EAGAIN (MSG_DONTWAIT) hands the rest to rawSock's write path
// (what the kernel then refuses waits for EPOLLOUT); an error is the
// connection's, as a failed write(2) is.
//
// Failures are handled as eioserver's flush does: a frame is never sent
// twice nor dropped silently. A send the kernel did not take is written
// with write(2). A send the kernel may have taken but whose completion
// we did not see (the enter failed, or no completion in ringWait) has an
// unknown outcome: its connection ends (a transport error, its requests
// counted lost) and its buffer is never reused. Any failure, or a partial
// submit, turns the loop's ring off for good (never entered again, so SQEs
// left in its SQ are never submitted): the loop writes with write(2).

// ringEntries bounds the sends of one io_uring_enter; a pass with more
// connections enters again.
const ringEntries = 256

// ringWait bounds the wait for a pass's completions. MSG_DONTWAIT sends
// complete within the enter that submits them; this only guards against a
// kernel that does otherwise.
const ringWait = time.Second

// ringHooks replaces the ring's setup and io_uring_enter in tests.
type ringHooks struct {
	setup func() (*uring.Ring, error)
	enter func(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error)
	// enters counts the enters of every loop of the run.
	mu     sync.Mutex
	enters int
}

// errRingUnknown ends a connection whose send's outcome is unknown.
var errRingUnknown = errors.New("io_uring send outcome unknown")

// ringLost keeps the buffers of sends whose outcome is unknown for the
// life of the process: the kernel may still read them.
var ringLost struct {
	mu   sync.Mutex
	bufs [][]byte
}

// The progress of one connection's send through the ring.
const (
	ringNotTaken = iota // not submitted: write(2) it
	ringInFlight        // the kernel may have it: outcome unknown until its CQE
	ringDone            // its CQE is in res
)

type ringSend struct {
	c     *client
	ws    *wsConn
	s     *rawSock
	state uint8
	res   int32
}

// pollRing is a loop's ring; only its loop uses it.
type pollRing struct {
	used  bool        // set up at start: its connections wait for sendRing
	r     *uring.Ring // nil: off (never set up, closed or failed)
	sends []ringSend
}

// setupRing sets up the loop's ring unless the run writes with write(2).
// A ring that cannot be set up (an old kernel, seccomp,
// io_uring_disabled) leaves write(2), silently: it is the ordinary path.
func (p *poller) setupRing() {
	if p.r.cfg.IO == IOEpollNoUring {
		return
	}
	setup := func() (*uring.Ring, error) { return uring.New(ringEntries) }
	if h := p.r.cfg.ringHooks; h != nil && h.setup != nil {
		setup = h.setup
	}
	r, err := setup()
	if err != nil {
		p.r.cfg.Logger.Debug("event loop without io_uring, writing with write(2)", "err", err)
		return
	}
	p.ring = pollRing{used: true, r: r}
}

// ringUsed reports whether the loop's connections leave their requests
// for sendRing (when the ring is off, the loop writes them after each
// connection's reads).
func (p *poller) ringUsed() bool { return p.ring.used }

// ringUp reports whether the ring is still on.
func (p *poller) ringUp() bool { return p.ring.r != nil }

// closeRing releases a ring with nothing in flight; a failed one is left
// open: requests may be in flight.
func (p *poller) closeRing() {
	if p.ring.r != nil {
		p.ring.r.Close()
		p.ring.r = nil
	}
}

// sendRing sends the queued requests of cs, connections of this loop, and
// ends those whose send failed.
func (p *poller) sendRing(cs []*client) {
	ss := p.ring.sends[:0]
	for _, c := range cs {
		c.sendMu.Lock()
		if c.queued == 0 {
			c.sendMu.Unlock()
			continue
		}
		ws := c.s.w.(*wsConn)
		s := ws.nc.(*rawSock)
		s.mu.Lock()
		ss = append(ss, ringSend{c: c, ws: ws, s: s})
	}
	p.submit(ss)
	for i := range ss {
		w := &ss[i]
		c, s, b := w.c, w.s, w.ws.outq
		var err error
		switch {
		case w.state == ringInFlight:
			ringLost.mu.Lock()
			ringLost.bufs = append(ringLost.bufs, b)
			ringLost.mu.Unlock()
			w.ws.outq = nil // the kernel may still read it
			s.err = errRingUnknown
			err = errRingUnknown
		case w.state == ringNotTaken, w.res == -int32(syscall.EAGAIN):
			err = s.writeLocked(b)
		case w.res < 0:
			s.err = os.NewSyscallError("send", syscall.Errno(-w.res))
			err = s.err
		case int(w.res) < len(b):
			err = s.writeLocked(b[w.res:])
		}
		s.mu.Unlock()
		if err == nil {
			c.r.sent.Add(uint64(c.queued))
		}
		c.queued = 0
		w.ws.outq = w.ws.outq[:0]
		c.sendMu.Unlock()
		if err != nil {
			if !p.r.closing.Load() {
				c.disconnected(err)
			}
			p.remove(c, s)
		}
		*w = ringSend{}
	}
	p.ring.sends = ss[:0]
}

// ringMinSends is the fewest sends of a pass that go through the ring:
// against a server slower than the loader (Node), passes find one or two
// connections ready, and an io_uring_enter for one send cost more than a
// write(2) (loader CPU per acked emit at inflight 1 against Node: 29-31 us
// with the ring for every pass, 22 us without).
const ringMinSends = 4

// submit sends the queues of ss through the ring, ringEntries per enter,
// and records each one's state. On any failure it turns the ring off for
// good. Sockets already failed, closed or waiting for EPOLLOUT are left to
// writeLocked.
func (p *poller) submit(ss []ringSend) {
	r := p.ring.r
	if len(ss) < ringMinSends {
		return // all left to writeLocked
	}
	for i := 0; r != nil && i < len(ss); {
		start := i
		for ; i < len(ss) && r.Free() > 0; i++ {
			w := &ss[i]
			if w.s.closed || w.s.err != nil || len(w.s.pending) > 0 {
				continue
			}
			r.PrepSend(int32(w.s.fd), w.ws.outq, uint64(i))
			w.state = ringInFlight
		}
		k := int(r.Pending())
		if k == 0 {
			if i < len(ss) { // an SQ still full: only after a partial submit, which turned the ring off
				p.ringFailed(errors.New("io_uring submission queue full"))
			}
			return
		}
		n, err := p.enter(r, uint32(k), ringWait)
		switch {
		case err != nil: // the kernel may have taken any of them
			n = k
		case n < k: // the rest stays in the SQ, never submitted: nothing enters this ring again
			err = fmt.Errorf("io_uring_enter submitted %d of %d", n, k)
		}
		// The SQEs the kernel did not take are the last ones written.
		taken := 0
		for j := start; j < i; j++ {
			switch {
			case ss[j].state != ringInFlight:
			case taken < n:
				taken++
			default:
				ss[j].state = ringNotTaken
			}
		}
		if rerr := p.reap(r, ss, n, err == nil); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			p.ringFailed(err)
			return
		}
	}
}

// ringFailed turns the loop's ring off for good; it stays mapped and open
// (requests may be in flight).
func (p *poller) ringFailed(err error) {
	p.ring.r = nil
	p.r.cfg.Logger.Warn("event loop io_uring send failed: writing with write(2) from now on; connections whose send is in doubt are closed", "err", err)
}

// reap collects the CQEs of n sends in flight, waiting for them (up to
// ringWait) when wait is set, else taking only those there.
func (p *poller) reap(r *uring.Ring, ss []ringSend, n int, wait bool) error {
	d := time.Duration(0)
	if wait {
		d = ringWait
	}
	return uring.Await(r, n, d, p.enter, func(i uint64, res int32) bool {
		if i >= uint64(len(ss)) || ss[i].state != ringInFlight {
			return false
		}
		ss[i].state, ss[i].res = ringDone, res
		return true
	})
}

// enter is Ring.Enter, or the test's replacement.
func (p *poller) enter(r *uring.Ring, minComplete uint32, wait time.Duration) (int, error) {
	if h := p.r.cfg.ringHooks; h != nil {
		h.mu.Lock()
		h.enters++
		h.mu.Unlock()
		if h.enter != nil {
			return h.enter(r, minComplete, wait)
		}
	}
	return r.Enter(minComplete, wait)
}
