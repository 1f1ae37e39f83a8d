package eioserver

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// The WebSocket read side: client frames are decoded here from the bytes
// of the connection (pkg/internal/wsframe does the handshake and the
// frames). On Linux an idle connection has no goroutine at all: it waits
// in the server's epoll set, and a worker reads it when data arrives,
// without blocking, until the socket is empty (wspoll_linux.go). Elsewhere,
// and over TLS, a goroutine per connection blocks in Read. Either way one
// connection's frames are read and handled by one goroutine at a time, in
// order, and a read buffer is held only while bytes are being handled or a
// frame is incomplete.

// wsReader reads one connection's messages and hands each to its session
// (onFrame, or onProbeFrame while t is an upgrade probe), which reports
// whether to go on. end is called once when reading stops because of the
// peer (EOF, error, close frame, protocol violation); it is not called
// when stop ended the reading. It calls the session's methods directly,
// not through func fields: closures kept per idle connection cost memory.
type wsReader struct {
	t   *wsTransport
	s   *Session
	dec wsframe.Decoder // Limit: the server's MaxPayload

	// Unhandled bytes (an incomplete frame) between bursts; before reading
	// starts, what the client sent with its upgrade request.
	buf []byte

	// batch is open while the messages of one read are handled (consume).
	batch FlushBatch
	// pending, set by a poller worker while it runs the reader, receives
	// the batch's sessions at its end, for the worker to write.
	pending *[]*Session

	// Scheduling (poller mode), guarded by mu.
	mu      sync.Mutex
	state   readerState
	again   bool // data arrived while running
	stopReq bool
	token   uint64
	poller  *poller

	// hup: epoll reported the peer's end (EPOLLRDHUP/HUP/ERR); a burst
	// then reads until EAGAIN or EOF, as no later edge would come.
	hup atomic.Bool

	// probe: t is an upgrade probe, its frames go to onProbeFrame; set
	// and cleared by the reader itself (the upgrade's "5").
	probe bool

	// hooks replace the session (a reader outside any, in tests).
	hooks *readerHooks
}

// readerHooks stand for the session of a reader that has none (tests).
type readerHooks struct {
	handle func(binary bool, data []byte) bool
	end    func(err error)
	pong   func(payload []byte)
	closed func(code int, reason []byte)
}

type readerState uint8

const (
	readerIdle readerState = iota
	readerRunning
	readerStopped
)

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// The wsframe.Handler of the reader's decoder.

func (r *wsReader) Message(op byte, data []byte) bool {
	if r.hooks != nil {
		return r.hooks.handle(op == wsframe.OpBinary, data)
	}
	if r.probe {
		return r.s.onProbeFrame(r.t, op == wsframe.OpBinary, data)
	}
	return r.s.onFrame(op == wsframe.OpBinary, data)
}

// Ping answers a ping of the peer.
func (r *wsReader) Ping(payload []byte) {
	if r.hooks != nil {
		r.hooks.pong(payload)
		return
	}
	r.s.pong(r.t, payload)
}

// Close sets what our close frame answers with.
func (r *wsReader) Close(code int, reason []byte) {
	if r.hooks != nil {
		r.hooks.closed(code, reason)
		return
	}
	r.t.setCloseCode(code, reason)
}

// end reports that reading stopped because of the peer.
func (r *wsReader) end(err error) {
	if r.hooks != nil {
		r.hooks.end(err)
		return
	}
	if r.probe {
		r.s.dropProbe(r.t)
		return
	}
	r.s.onReadEnd(err)
}

// done reports that reading has stopped, whatever the cause (once).
func (r *wsReader) done() {
	if r.hooks == nil {
		r.s.srv.wg.Done()
	}
}

// fail reports err once; a close code in it is what the session answers.
func (r *wsReader) fail(err error) {
	var we *wsframe.Error
	if errors.As(err, &we) {
		r.Close(we.Code, nil)
	}
	r.end(err)
}

// consume handles the bytes in *bp after a read, with the batch open
// while their messages are handled. It reports whether to read on.
func (r *wsReader) consume(bp *[]byte) bool {
	r.batch.begin()
	more, err := r.dec.Consume(bp, r)
	if r.pending != nil {
		r.batch.endInto(r.pending)
	} else {
		r.batch.end()
	}
	if err != nil {
		r.fail(err)
		return false
	}
	return more
}

// readErrorReason maps a read error to Node's reason: an oversized or
// malformed message is a transport error (ws emits "error"); the peer
// going away or closing is a transport close.
func readErrorReason(err error) protocol.DisconnectReason {
	var we *wsframe.Error
	var ne net.Error
	switch {
	case errors.Is(err, wsframe.ErrPeerClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET):
		return protocol.ReasonTransportClose
	case errors.As(err, &we):
		return protocol.ReasonTransportError
	case errors.As(err, &ne):
		return protocol.ReasonTransportClose
	default:
		return protocol.ReasonTransportError
	}
}

// start begins reading: in the server's poller when there is one and the
// connection has a descriptor, else on a goroutine of its own.
func (r *wsReader) start(p *poller) {
	r.mu.Lock()
	stopped := r.stopReq
	r.mu.Unlock()
	if stopped { // the connection was closed before reading began
		r.buf = nil
		r.done()
		return
	}
	if len(r.buf) > 0 { // frames that came with the upgrade request
		if !r.consume(&r.buf) {
			r.buf = nil
			r.done()
			return
		}
		if len(r.buf) == 0 {
			r.buf = nil
		}
	}
	if p != nil && r.t.raw != nil && p.add(r) {
		return
	}
	go r.blockingLoop()
}

// blockingLoop reads with blocking reads until the connection ends.
func (r *wsReader) blockingLoop() {
	defer r.done()
	bp := readBufPool.Get().(*[]byte)
	defer putReadBuf(bp)
	*bp, r.buf = append(*bp, r.buf...), nil
	for {
		b := wsframe.GrowReadBuf(*bp)
		n, err := r.t.nc.Read(b[len(b):cap(b)])
		*bp = b[:len(b)+n]
		if n > 0 && !r.consume(bp) {
			return
		}
		if err != nil {
			r.stopWith(err)
			return
		}
	}
}

// stopWith ends reading for a read error unless the session stopped it.
func (r *wsReader) stopWith(err error) {
	r.mu.Lock()
	stopped := r.stopReq
	r.mu.Unlock()
	if !stopped {
		r.fail(err)
	}
}

func putReadBuf(bp *[]byte) {
	if cap(*bp) > readBufKeep {
		return
	}
	*bp = (*bp)[:0]
	readBufPool.Put(bp)
}

// testHookBurstRead, when set (by a test that runs alone, before its
// server starts), is called with the size of each read of a burst.
var testHookBurstRead func(n int)

// burst reads (poller mode) until the socket is empty, handling what
// arrives, and reports whether the reader goes on waiting.
func (r *wsReader) burst() bool {
	var bp *[]byte
	if r.buf != nil {
		bp = &r.buf
	} else {
		bp = readBufPool.Get().(*[]byte)
	}
	for {
		b := wsframe.GrowReadBuf(*bp)
		room := cap(b) - len(b)
		n, err := wsframe.ReadNonblock(r.t.raw, b[len(b):cap(b)])
		if err == syscall.EAGAIN {
			break
		}
		*bp = b[:len(b)+n]
		if h := testHookBurstRead; h != nil && n > 0 {
			h(n)
		}
		if n > 0 && !r.consume(bp) {
			r.dropBuf(bp)
			return false
		}
		if err != nil || n == 0 {
			if err == nil {
				err = io.EOF
			}
			r.dropBuf(bp)
			r.stopWith(err)
			return false
		}
		if n < room && !r.hup.Load() {
			// A short read emptied the socket (epoll(7): for a stream
			// socket it is as good as EAGAIN), so the read that would
			// only say EAGAIN is saved: one read(2) per request, not two,
			// when requests come one at a time. Bytes arriving after it
			// are a new edge: wake sets again, and run calls burst once
			// more. Not when the peer's end was reported with data: its
			// EOF has no edge of its own left.
			break
		}
	}
	// Keep only an incomplete frame's bytes.
	if len(*bp) > 0 {
		if bp == &r.buf && cap(r.buf) > readBufKeep && len(r.buf) <= readBufKeep/2 {
			r.buf = append(make([]byte, 0, max(len(r.buf), 512)), r.buf...) // a big frame was handled
		}
		if bp != &r.buf {
			r.buf = append(make([]byte, 0, max(len(*bp), 512)), *bp...)
			putReadBuf(bp)
		}
		return true
	}
	r.dropBuf(bp)
	return true
}

func (r *wsReader) dropBuf(bp *[]byte) {
	if bp == &r.buf {
		r.buf = nil
		return
	}
	putReadBuf(bp)
}

// wake is called by the poller when the connection has data.
func (r *wsReader) wake() {
	r.mu.Lock()
	switch r.state {
	case readerIdle:
		r.state = readerRunning
		r.mu.Unlock()
		r.poller.dispatch(r)
	case readerRunning:
		r.again = true
		r.mu.Unlock()
	default:
		r.mu.Unlock()
	}
}

// run is a worker's turn with r: bursts until the socket is empty and no
// event came meanwhile. pending (nil: write as each read ends) receives
// the sessions the reads sent to; it is r's only while r runs, and let go
// under r.mu before another worker can take r.
func (r *wsReader) run(pending *[]*Session) {
	r.pending = pending
	for {
		ok := r.burst()
		r.mu.Lock()
		if !ok || r.stopReq {
			r.state = readerStopped
			r.pending = nil
			r.mu.Unlock()
			r.finish()
			return
		}
		if r.again {
			r.again = false
			r.mu.Unlock()
			continue
		}
		r.state = readerIdle
		r.pending = nil
		r.mu.Unlock()
		return
	}
}

// finish (poller mode) leaves the epoll set and reports the end.
func (r *wsReader) finish() {
	r.deregister()
	r.buf = nil
	r.dec.Release()
	r.done()
}

// stop ends reading at the session's request, before the connection is
// closed. end is not called.
func (r *wsReader) stop() {
	r.mu.Lock()
	r.stopReq = true
	idle := r.poller != nil && r.state == readerIdle
	if idle {
		r.state = readerStopped
	}
	r.mu.Unlock()
	if idle {
		r.finish()
	}
}
