package eioserver

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// The WebSocket write side. A general WebSocket library writes one frame
// per syscall and sets a deadline before each; the server's frames are
// unmasked and simple (wsframe.AppendHeader), so that every packet queued at one time goes out
// in one write, and we try that write at once, non-blocking, on the
// goroutine that queued the packets (as Node writes from its event loop).
// Only when the socket cannot take all of it now (or there is no raw
// descriptor: TLS, other systems) does a writer goroutine finish the job
// with blocking writes under a deadline. An idle session holds no writer.
//
// Everything the server writes on a session's transport goes through here,
// pongs to the peer's pings and the close frame included, so frames never
// interleave.

// wsTransport is the raw connection under a WebSocket (a session's
// transport, or an upgrade probe).
type wsTransport struct {
	nc       net.Conn
	raw      syscall.RawConn // nil: no non-blocking attempt
	wait     time.Duration   // bound of a write outside the writer (writeNow)
	rd       *wsReader
	closeMsg atomic.Pointer[[]byte] // the close frame's payload, when not empty
	// cut is set when the stream may end inside a frame (an io_uring send
	// whose outcome is unknown): no close frame then, which the peer
	// would read as part of that frame.
	cut atomic.Bool
	// fd is the connection's descriptor (-1: none), for io_uring sends. It
	// names this connection while the writer role is held: only the
	// writer closes it.
	fd int32
}

func newWSTransport(nc net.Conn, wait time.Duration) *wsTransport {
	t := &wsTransport{nc: nc, wait: wait, fd: -1}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			t.raw = rc
			_ = rc.Control(func(fd uintptr) { t.fd = int32(fd) })
		}
	}
	return t
}

// setCloseCode sets the code and reason our close frame carries (the
// first ones set win): the peer's own when it closed (ws echoes both), or
// why we close.
func (t *wsTransport) setCloseCode(code int, reason []byte) {
	p := append(wsframe.ClosePayload(code), reason...)
	t.closeMsg.CompareAndSwap(nil, &p)
}

// writeNow writes a frame with a blocking write; only where no writer runs
// (a probe before the upgrade, the close frame).
func (t *wsTransport) writeNow(frame []byte) error {
	return t.writeBlocking(frame, t.wait)
}

// writeBlocking writes b under a deadline of wait and clears the deadline
// afterwards. A write deadline on the connection outlives the write it was
// set for unless cleared, and the next non-blocking write (tryWrite) fails
// at once when it has passed; so no deadline is left behind (a probe that
// becomes the transport, a writer goroutine that goes idle). The one
// exception is Session.end, which sets a deadline to cut short a writer
// stuck on a peer that does not read, on a connection about to close.
func (t *wsTransport) writeBlocking(b []byte, wait time.Duration) error {
	_ = t.nc.SetWriteDeadline(time.Now().Add(wait))
	_, err := t.nc.Write(b)
	_ = t.nc.SetWriteDeadline(time.Time{})
	return err
}

// close stops the reader, sends a close frame (empty unless a code was
// set: Node's ws.close(); none when cut) and closes the connection.
// Idempotent.
func (t *wsTransport) close() {
	if t.rd != nil {
		t.rd.stop()
	}
	if !t.cut.Load() {
		var payload []byte
		if p := t.closeMsg.Load(); p != nil {
			payload = *p
		}
		frame := wsframe.AppendHeader(make([]byte, 0, 2+len(payload)), wsframe.OpClose, len(payload))
		_ = t.writeNow(append(frame, payload...))
	}
	_ = t.nc.Close()
}

// maxInlineRounds bounds the batches one caller of Send writes before a
// writer goroutine takes over, so that a sender is never kept writing for
// others for long.
const maxInlineRounds = 4

// maxCtrlQueue bounds the pongs waiting to be written.
const maxCtrlQueue = 16

var frameBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putFrameBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return
	}
	*b = (*b)[:0]
	frameBufPool.Put(b)
}

// appendWSFrame appends p as one WebSocket message: text "<type><data>", or
// binary data (v3: preceded by the message type byte 4).
func appendWSFrame(dst []byte, p protocol.EnginePacket, v protocol.EIO) []byte {
	if !p.Binary {
		dst = wsframe.AppendHeader(dst, wsframe.OpText, 1+len(p.Data))
		dst = append(dst, digits[p.Type])
		return append(dst, p.Data...)
	}
	if v == protocol.EIO3 {
		dst = wsframe.AppendHeader(dst, wsframe.OpBinary, 1+len(p.Data))
		dst = append(dst, byte(protocol.EngineMessage))
		return append(dst, p.Data...)
	}
	dst = wsframe.AppendHeader(dst, wsframe.OpBinary, len(p.Data))
	return append(dst, p.Data...)
}

// queueControl queues a control frame (a pong) for the writer.
func (s *Session) queueControl(frame []byte) {
	s.mu.Lock()
	ok := s.state != stateClosed && len(s.ctrl) < maxCtrlQueue
	if ok {
		s.ctrl = append(s.ctrl, frame)
	}
	s.mu.Unlock()
	if ok {
		s.signal()
	}
}

// takeBatchLocked moves the queued control frames and packets into one
// buffer. Caller holds s.mu; the queue is non-empty.
func (s *Session) takeBatchLocked(buf []byte) ([]byte, []protocol.EnginePacket) {
	for _, f := range s.ctrl {
		buf = append(buf, f...)
	}
	clear(s.ctrl)
	s.ctrl = s.ctrl[:0]
	batch := s.queue
	s.queue = s.spare[:0]
	s.spare = nil
	for _, p := range batch {
		buf = appendWSFrame(buf, p, s.eio)
	}
	return buf, batch
}

// tapBatch reports packets to the Tap before they are written, so that a
// trace of the peer's answer never comes before the packet's own.
func (s *Session) tapBatch(batch []protocol.EnginePacket) {
	if s.srv.cfg.tap != nil {
		for _, p := range batch {
			raw, _ := protocol.AppendEngineFrame(nil, p, s.eio)
			s.tap(protocol.Out, TransportWebSocket, p, raw)
		}
	}
}

// doneBatch releases a written batch's bytes from the pending count and
// keeps its slice for the next batch.
func (s *Session) doneBatch(batch []protocol.EnginePacket) {
	n := dataBytes(batch)
	clear(batch)
	s.mu.Lock()
	if s.state != stateClosed { // end has zeroed the count
		s.pending -= n
	}
	// Keep the slice for the next batch: as the queue itself when it has
	// none (an idle session then holds one small slice, not two), else as
	// the spare.
	if cap(batch) <= 64 {
		if cap(s.queue) == 0 {
			s.queue = batch[:0]
		} else if s.spare == nil {
			s.spare = batch[:0]
		}
	}
	s.mu.Unlock()
}

// flush is the writer, run by the goroutine that found it idle
// (startWriterLocked counted it in the WaitGroup): it writes what is queued
// without blocking and returns when the queue is empty; what the socket
// cannot take now, and the end of the session, are left to a writer
// goroutine.
func (s *Session) flush(t *wsTransport) {
	if t.raw == nil {
		go s.writeLoop(t, nil, nil)
		return
	}
	for round := 0; ; round++ {
		s.mu.Lock()
		if s.state == stateClosed || round == maxInlineRounds {
			s.mu.Unlock()
			go s.writeLoop(t, nil, nil)
			return
		}
		if len(s.queue) == 0 && len(s.ctrl) == 0 {
			if s.state == stateClosing {
				s.mu.Unlock()
				go s.writeLoop(t, nil, nil) // ends the session and closes
				return
			}
			s.writerOn = false
			s.mu.Unlock()
			s.srv.wg.Done()
			if hook := s.srv.testHookWriterIdle; hook != nil {
				hook(s)
			}
			return
		}
		bp := frameBufPool.Get().(*[]byte)
		var batch []protocol.EnginePacket
		*bp, batch = s.takeBatchLocked(*bp)
		s.mu.Unlock()
		s.tapBatch(batch)
		n, err := wsframe.TryWrite(t.raw, *bp)
		if err != nil {
			putFrameBuf(bp)
			s.srv.cfg.logger.Debug("engine.io websocket write", "sid", s.id, "err", err)
			s.end(protocol.ReasonTransportError, closePacket)
			go s.writeLoop(t, nil, nil)
			return
		}
		if n < len(*bp) {
			*bp = (*bp)[:copy(*bp, (*bp)[n:])]
			go s.writeLoop(t, bp, batch)
			return
		}
		putFrameBuf(bp)
		s.doneBatch(batch)
	}
}

// writeLoop is the writer goroutine: it writes rest (bytes of batch not yet
// written, already traced), then drains the queue with blocking writes, and returns when
// the queue is empty. At the session's end it sends the close frame and
// closes the connection.
func (s *Session) writeLoop(t *wsTransport, rest *[]byte, batch []protocol.EnginePacket) {
	defer s.srv.wg.Done()
	writeWait := s.srv.cfg.writeWait
	for {
		if rest != nil {
			err := t.writeBlocking(*rest, writeWait)
			putFrameBuf(rest)
			rest = nil
			if err != nil {
				s.srv.cfg.logger.Debug("engine.io websocket write", "sid", s.id, "err", err)
				s.end(protocol.ReasonTransportError, closePacket)
				break
			}
			s.doneBatch(batch)
		}
		s.mu.Lock()
		if s.state == stateClosed {
			s.mu.Unlock()
			break
		}
		if len(s.queue) == 0 && len(s.ctrl) == 0 {
			if s.state == stateClosing { // everything is flushed
				reason := s.reason
				s.mu.Unlock()
				s.end(reason, closePacket)
				break
			}
			s.writerOn = false
			s.mu.Unlock()
			if hook := s.srv.testHookWriterIdle; hook != nil {
				hook(s)
			}
			return
		}
		rest = frameBufPool.Get().(*[]byte)
		*rest, batch = s.takeBatchLocked(*rest)
		s.mu.Unlock()
		s.tapBatch(batch)
	}
	t.close()
}
