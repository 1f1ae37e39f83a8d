package eioserver

import (
	"sync"
	"sync/atomic"

	"github.com/sio-dev/sio/pkg/protocol"
)

// A FlushBatch defers the immediate write of packets queued on other
// sessions while a WebSocket reader handles the messages of one read of its
// connection: each session sent to is written once, when the reader has
// handled them all, with everything queued on it meanwhile in one write(2)
// (a read carrying several events that each broadcast to a room costs one
// write per receiver instead of one per broadcast). Session.FlushBatch
// returns a session's batch; SendDeferred queues through it.
//
// The batch is owned by the reader that opens and closes it; SendDeferred
// may be called from any goroutine: while the batch is open the session is
// recorded and written at its close (at the latest when the handlers of the
// read return), once it is closed SendDeferred is Send.
type FlushBatch struct {
	mu       sync.Mutex
	open     bool
	gen      uint64
	sessions []*Session
}

// batchGen numbers the openings of all batches, so that a session records
// itself once per opening (Session.deferGen).
var batchGen atomic.Uint64

// maxBatchKeep bounds the recorded-sessions slice a batch keeps between reads.
const maxBatchKeep = 4096

func (b *FlushBatch) begin() {
	b.mu.Lock()
	b.open = true
	b.gen = batchGen.Add(1)
	b.mu.Unlock()
}

// end closes the batch and writes (or hands to their writers) the sessions
// recorded while it was open. Only the owner calls begin and end, so the
// recorded slice is not appended to after the close.
func (b *FlushBatch) end() {
	b.mu.Lock()
	b.open = false
	ss := b.sessions
	b.mu.Unlock()
	if len(ss) == 0 {
		return
	}
	flushSessions(ss)
	b.reset(ss)
}

// endInto closes the batch like end, but appends the sessions to write to
// *pending instead of writing them: a poller worker writes the sessions of
// the reads it handled in a row together (flushSessions).
func (b *FlushBatch) endInto(pending *[]*Session) {
	b.mu.Lock()
	b.open = false
	ss := b.sessions
	b.mu.Unlock()
	if len(ss) == 0 {
		return
	}
	*pending = append(*pending, ss...)
	b.reset(ss)
}

func (b *FlushBatch) reset(ss []*Session) {
	clear(ss)
	if cap(ss) > maxBatchKeep {
		ss = nil
	}
	b.mu.Lock()
	b.sessions = ss[:0]
	b.mu.Unlock()
}

// flushSessions writes the sessions, with one io_uring submission when it
// can, else each through signal. A session may be listed twice: the second
// finds its writer running (or nothing left to write).
func flushSessions(ss []*Session) {
	if !flushBatchUring(ss) {
		for _, s := range ss {
			s.signal()
		}
	}
}

// record notes s (whose packets were just queued) to be written when b
// closes; false when b is not open, the caller then writes now.
func (b *FlushBatch) record(s *Session) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false
	}
	s.mu.Lock()
	add := s.deferGen != b.gen
	s.deferGen = b.gen
	s.mu.Unlock()
	if add {
		b.sessions = append(b.sessions, s)
	}
	return true
}

// Open starts a batch owned by a goroutine other than a WebSocket reader
// (a cluster adapter delivering several messages from another node): the
// sessions SendDeferred records are written at Close. Open and Close are
// called by the owner only, in pairs.
func (b *FlushBatch) Open() { b.begin() }

// Close ends a batch started with Open, writing the sessions it recorded.
func (b *FlushBatch) Close() { b.end() }

// FlushBatch returns the batch of the session's WebSocket reader (nil over
// polling). Pass it to SendDeferred on the sessions a handler of this
// session sends to.
func (s *Session) FlushBatch() *FlushBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wst == nil || s.wst.rd == nil {
		return nil
	}
	return &s.wst.rd.batch
}

// SendDeferred is Send, except that while b is open (its reader is handling
// the messages of one read) the session is written when b closes rather
// than at once. A nil or closed b is Send.
func (s *Session) SendDeferred(b *FlushBatch, msgs ...protocol.EnginePacket) error {
	return s.send(b, msgs)
}
