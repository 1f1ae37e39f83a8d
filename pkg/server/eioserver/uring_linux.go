//go:build linux && !sio_nouring

package eioserver

import (
	"fmt"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/internal/uring"
	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
	"golang.org/x/sys/unix"
)

// The io_uring flush (Options.IOUring; issue 17, target 3): a FlushBatch
// that ends with several sessions to write submits their first writes as
// IORING_OP_SEND SQEs in one io_uring_enter instead of one write(2) each
// (a broadcast to a room of 1,000 cost the server about 40 % less CPU per
// delivery). Each session is taken only when its writer is idle, so that we
// hold the writer role until its send's outcome is known: only the writer
// closes a session's connection (wsTransport.close), so the descriptor in
// the SQE stays the session's. A short send or EAGAIN (MSG_DONTWAIT: never
// a poll-armed wait) hands the rest to the writer goroutine, an error ends
// the session, as flush does.
//
// Failures: a frame is never sent twice nor dropped silently. A send whose
// SQE the kernel has not taken is written with write(2) as usual. A send
// the kernel may have taken but whose completion we did not see (the enter
// failed, or the completion did not come in uringWait) has an unknown
// outcome: its session ends with a transport error (its client
// reconnects) without a close frame (the stream may end inside the frame),
// and its buffer is never reused. Any such failure, or a partial submit,
// turns the server's ring off for good: nothing enters it again, so SQEs
// left in its SQ are never submitted later, with descriptors that may by
// then belong to other connections.

// The ring is pkg/internal/uring's, shared with the load generator.
type (
	ring = uring.Ring
	cqe  = uring.CQE
)

func newRing(entries uint32) (*ring, error) { return uring.New(entries) }

// uringWait bounds the wait for a batch's completions. Sends with
// MSG_DONTWAIT complete within the enter that submits them; this only
// guards against a kernel that does otherwise.
const uringWait = time.Second

// uringEntries is the ring's size: the most sends of one io_uring_enter.
const uringEntries = 1024

// uringState is a server's ring. mu serializes its users: concurrent
// broadcasters take turns (the ring's SQ and CQ have one producer each).
type uringState struct {
	mu    sync.Mutex
	tried bool  // setup was attempted, or the server closed
	r     *ring // nil: off, unavailable, closed, or turned off by a failure
	// newRing and enter replace the setup and the syscall in tests.
	newRing func() (*ring, error)
	enter   func(r *ring, minComplete uint32, wait time.Duration) (int, error)
	enters  int // io_uring_enter calls, for tests
}

// uringLost keeps the buffers of sends whose outcome is unknown for the
// life of the process: the kernel may still read them.
var uringLost struct {
	mu   sync.Mutex
	bufs []*[]byte
}

// ringOn reports whether the server's FlushBatch writes go through its ring.
func (s *Server) ringOn() bool { return s.cfg.ioUring && s.uring.ready(s) }

// ready reports whether the ring can be used, setting it up on first use.
// A ring that cannot be set up (an old kernel, seccomp, io_uring_disabled)
// leaves write(2), silently: it is the ordinary path.
func (u *uringState) ready(srv *Server) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.tried {
		u.tried = true
		setup := u.newRing
		if setup == nil {
			setup = func() (*ring, error) { return newRing(uringEntries) }
		}
		r, err := setup()
		if err != nil {
			srv.cfg.logger.Debug("engine.io io_uring unavailable, writing with write(2)", "err", err)
		}
		u.r = r
	}
	return u.r != nil
}

// close releases the ring when the server closes; a batch still running
// then writes with write(2).
func (u *uringState) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.tried = true
	if u.r != nil {
		u.r.Close()
		u.r = nil
	}
}

// The progress of one session's send through the ring.
const (
	sendNotTaken = iota // not submitted: write(2) it
	sendInFlight        // the kernel may have it: outcome unknown until its CQE
	sendDone            // its CQE is in res
)

type uringWrite struct {
	s     *Session
	t     *wsTransport
	bp    *[]byte
	batch []protocol.EnginePacket
	fd    int32
	state uint8
	res   int32 // the CQE's result
}

var uringWritePool = sync.Pool{New: func() any { return new([]uringWrite) }}

// flushBatchUring writes the sessions' queues through their server's
// ring; it returns false (having done nothing) when the ring is off.
func flushBatchUring(ss []*Session) bool {
	if len(ss) < 2 {
		return false
	}
	srv := ss[0].srv
	if !srv.cfg.ioUring || !srv.uring.ready(srv) {
		return false
	}
	wp := uringWritePool.Get().(*[]uringWrite)
	ws := (*wp)[:0]
	for _, s := range ss {
		if s.srv != srv { // a batch (Open) spanning servers: the other's own way
			s.signal()
			continue
		}
		s.mu.Lock()
		if !s.startWriterLocked() {
			wake := s.wake
			s.mu.Unlock()
			select { // a writer runs: as signal does
			case wake <- struct{}{}:
			default:
			}
			continue
		}
		t := s.wst
		if t.raw == nil || s.state == stateClosed || (len(s.queue) == 0 && len(s.ctrl) == 0) {
			s.mu.Unlock()
			s.flush(t) // the ordinary path decides
			continue
		}
		// The descriptor outside Control: valid while we hold the writer
		// role, since only the writer closes the connection.
		fd := t.fd
		if fd < 0 {
			s.mu.Unlock()
			s.flush(t)
			continue
		}
		bp := frameBufPool.Get().(*[]byte)
		var batch []protocol.EnginePacket
		*bp, batch = s.takeBatchLocked(*bp)
		s.mu.Unlock()
		s.tapBatch(batch)
		ws = append(ws, uringWrite{s: s, t: t, bp: bp, batch: batch, fd: fd})
	}
	srv.uring.mu.Lock()
	srv.uring.submitLocked(srv, ws)
	srv.uring.mu.Unlock()
	for i := range ws {
		w := &ws[i]
		switch w.state {
		case sendNotTaken:
			n, err := wsframe.TryWrite(w.t.raw, *w.bp)
			w.s.wroteFirst(w.t, w.bp, w.batch, n, err)
		case sendDone:
			n, err := int(w.res), error(nil)
			if w.res == -int32(unix.EAGAIN) {
				n = 0
			} else if w.res < 0 {
				n, err = 0, unix.Errno(-w.res)
			}
			w.s.wroteFirst(w.t, w.bp, w.batch, n, err)
		default: // sendInFlight: may have been sent, in part or whole
			uringLost.mu.Lock()
			uringLost.bufs = append(uringLost.bufs, w.bp)
			uringLost.mu.Unlock()
			w.s.srv.cfg.logger.Debug("engine.io websocket write", "sid", w.s.id, "err", "io_uring send outcome unknown")
			w.t.cut.Store(true)
			w.s.end(protocol.ReasonTransportError, closePacket)
			go w.s.writeLoop(w.t, nil, nil)
		}
		*w = uringWrite{}
	}
	*wp = ws[:0]
	uringWritePool.Put(wp)
	return true
}

// wroteFirst goes on after the first write of a session's batch wrote n
// bytes of *bp (or failed with err), as flush does: done, the writer goes
// on inline (more may have been queued meanwhile); short, the writer
// goroutine writes the rest; failed, the session ends.
func (s *Session) wroteFirst(t *wsTransport, bp *[]byte, batch []protocol.EnginePacket, n int, err error) {
	switch {
	case err != nil:
		putFrameBuf(bp)
		s.srv.cfg.logger.Debug("engine.io websocket write", "sid", s.id, "err", err)
		s.end(protocol.ReasonTransportError, closePacket)
		go s.writeLoop(t, nil, nil)
	case n < len(*bp):
		*bp = (*bp)[:copy(*bp, (*bp)[n:])]
		go s.writeLoop(t, bp, batch)
	default:
		putFrameBuf(bp)
		s.doneBatch(batch)
		s.flush(t)
	}
}

// submitLocked sends the first writes of ws through the ring, up to
// uringEntries per io_uring_enter, and records each one's state. On any
// failure it turns the ring off for good. Caller holds u.mu.
func (u *uringState) submitLocked(srv *Server, ws []uringWrite) {
	r := u.r
	for i := 0; r != nil && i < len(ws); {
		start := i
		for ; i < len(ws) && r.Free() > 0; i++ {
			r.PrepSend(ws[i].fd, *ws[i].bp, uint64(i))
		}
		k := i - start
		if k == 0 { // an SQ still full: only after a partial submit, which turned the ring off
			u.r = nil
			srv.cfg.logger.Warn("engine.io io_uring flush: submission queue full; writing with write(2) from now on")
			return
		}
		n, err := u.enterLocked(r, uint32(k), uringWait)
		switch {
		case err != nil: // the kernel may have taken any of them
			n = k
		case n < k: // the rest stays in the SQ, never submitted: nothing enters this ring again
			err = fmt.Errorf("io_uring_enter submitted %d of %d", n, k)
		}
		for j := start; j < start+n; j++ {
			ws[j].state = sendInFlight
		}
		if rerr := u.reapLocked(r, ws, n, err == nil); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			u.r = nil // left mapped and open: requests may be in flight
			srv.cfg.logger.Warn("engine.io io_uring flush failed: writing with write(2) from now on; sessions whose send is in doubt are closed", "err", err)
			return
		}
	}
}

// reapLocked collects the CQEs of n sends in flight, waiting for them
// (up to uringWait) when wait is set, else taking only those there.
func (u *uringState) reapLocked(r *ring, ws []uringWrite, n int, wait bool) error {
	d := time.Duration(0)
	if wait {
		d = uringWait
	}
	return uring.Await(r, n, d, u.enterLocked, func(i uint64, res int32) bool {
		if i >= uint64(len(ws)) || ws[i].state != sendInFlight {
			return false
		}
		ws[i].state, ws[i].res = sendDone, res
		return true
	})
}

// enterLocked is ring.enter, or the test's replacement.
func (u *uringState) enterLocked(r *ring, minComplete uint32, wait time.Duration) (int, error) {
	u.enters++
	if u.enter != nil {
		return u.enter(r, minComplete, wait)
	}
	return r.Enter(minComplete, wait)
}
