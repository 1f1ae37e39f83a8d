package eioserver

import (
	"os"
	"sync"

	"github.com/sio-dev/sio/pkg/protocol"
	"golang.org/x/sys/unix"
)

// EXPERIMENT (issue 17, target 3), off unless SIO_URING=1: a FlushBatch
// that ends with several sessions to write submits their first writes as
// IORING_OP_SEND SQEs in one io_uring_enter instead of one write(2) each.
// Each session is taken only when its writer is idle, so that we hold the
// writer role for the whole submission: only the writer closes a session's
// connection (wsTransport.close), so the descriptor stays valid. A short
// send or EAGAIN (MSG_DONTWAIT: never a poll-armed wait) hands the rest to
// the writer goroutine, an error ends the session, as flush does.

var uringState struct {
	once sync.Once
	mu   sync.Mutex
	r    *ring // nil: unavailable or off
	bad  bool  // an io_uring_enter failed: CQEs may be stale, the ring is not used again
}

func batchRing() *ring {
	uringState.once.Do(func() {
		if os.Getenv("SIO_URING") != "1" {
			return
		}
		r, err := newRing(1024, 0, 0)
		if err == nil {
			uringState.r = r
		}
	})
	uringState.mu.Lock()
	defer uringState.mu.Unlock()
	if uringState.bad {
		return nil
	}
	return uringState.r
}

type uringWrite struct {
	s     *Session
	t     *wsTransport
	bp    *[]byte
	batch []protocol.EnginePacket
	fd    int32
	res   int32 // the CQE's result
}

var uringWritePool = sync.Pool{New: func() any { return new([]uringWrite) }}

// flushBatchUring writes the sessions' queues through the ring; it returns
// false (having done nothing) when the ring is off.
func flushBatchUring(ss []*Session) bool {
	if len(ss) < 2 || batchRing() == nil {
		return false
	}
	wp := uringWritePool.Get().(*[]uringWrite)
	ws := (*wp)[:0]
	for _, s := range ss {
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
		fd := int32(-1)
		_ = t.raw.Control(func(f uintptr) { fd = int32(f) })
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
		ws = append(ws, uringWrite{s: s, t: t, bp: bp, batch: batch, fd: fd, res: -int32(unix.EAGAIN)})
	}
	uringState.mu.Lock()
	// Sends not made (the ring turned off meanwhile, in tests, or broken)
	// keep res EAGAIN: their writer goroutines write them.
	r := uringState.r
	for i := 0; r != nil && !uringState.bad && i < len(ws); {
		var k uint32
		for ; i < len(ws) && r.free() > 0; i++ {
			r.prepSend(ws[i].fd, false, *ws[i].bp, uint64(i))
			k++
		}
		if err := r.submitAndWait(k); err != nil {
			uringState.bad = true
		}
		for got := uint32(0); got < k && !uringState.bad; {
			n := uint32(r.reap(func(c *cqe) { ws[c.UserData].res = c.Res }))
			got += n
			if got < k && n == 0 && r.submitAndWait(k-got) != nil {
				uringState.bad = true
			}
		}
	}
	uringState.mu.Unlock()
	for i := range ws {
		w := &ws[i]
		res := int(w.res)
		switch {
		case res == len(*w.bp):
			putFrameBuf(w.bp)
			w.s.doneBatch(w.batch)
			w.s.flush(w.t) // more may have been queued meanwhile; goes idle otherwise
		case res >= 0 || res == -int(unix.EAGAIN):
			if res > 0 {
				*w.bp = (*w.bp)[:copy(*w.bp, (*w.bp)[res:])]
			}
			go w.s.writeLoop(w.t, w.bp, w.batch)
		default:
			putFrameBuf(w.bp)
			w.s.srv.cfg.logger.Debug("engine.io websocket write", "sid", w.s.id, "err", unix.Errno(-res))
			w.s.end(protocol.ReasonTransportError, closePacket)
			go w.s.writeLoop(w.t, nil, nil)
		}
		*w = uringWrite{}
	}
	*wp = ws[:0]
	uringWritePool.Put(wp)
	return true
}
