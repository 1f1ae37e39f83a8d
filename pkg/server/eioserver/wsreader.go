package eioserver

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/sio-dev/sio/pkg/protocol"
)

// The WebSocket read side: client frames are parsed here from the bytes of
// the connection (gorilla/websocket only does the handshake). On Linux an
// idle connection has no goroutine at all: it waits in the server's epoll
// set, and a worker reads it when data arrives, without blocking, until the
// socket is empty (wspoll_linux.go). Elsewhere, and over TLS, a goroutine
// per connection blocks in Read. Either way one connection's frames are
// read and handled by one goroutine at a time, in order, and a read buffer
// is held only while bytes are being handled or a frame is incomplete.

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// Close codes the server sends.
const (
	closeProtocolError = 1002
	closeInvalidData   = 1007
	closeTooBig        = 1009
)

// wsError is a failed read: the close code to answer with (0: none) and
// the error for the log.
type wsError struct {
	code int
	err  error
}

func (e *wsError) Error() string { return e.err.Error() }

var errPeerClosed = errors.New("websocket: close frame received")

func protocolError(msg string) *wsError {
	return &wsError{closeProtocolError, errors.New("websocket: " + msg)}
}

// wsReader reads one connection's messages and hands each to handle, which
// reports whether to go on. end is called once when reading stops because
// of the peer (EOF, error, close frame, protocol violation); it is not
// called when stop ended the reading.
type wsReader struct {
	t      *wsTransport
	limit  int64
	handle func(binary bool, data []byte) bool
	end    func(err error)
	pong   func(payload []byte) // answers a ping
	closed func(code int)       // the code our close frame answers with
	done   func()               // reading has stopped, whatever the cause (once)

	buf []byte // unhandled bytes (an incomplete frame) between bursts

	// batch is open while the messages of one read are handled (consume).
	batch FlushBatch

	// A fragmented message being put together.
	msg      []byte
	msgType  byte
	inMsg    bool
	msgBytes int64

	// Scheduling (poller mode), guarded by mu.
	mu      sync.Mutex
	state   readerState
	again   bool // data arrived while running
	stopReq bool
	token   uint64
	poller  *poller
}

type readerState uint8

const (
	readerIdle readerState = iota
	readerRunning
	readerStopped
)

// readPrealloc bounds how far a read buffer is grown ahead of the bytes
// received for an announced frame; beyond it, growReadBuf grows it as the
// bytes come.
const readPrealloc = 64 << 10

// growReadBuf makes room for a read when b is full.
func growReadBuf(b []byte) []byte {
	if len(b) == cap(b) {
		b = append(b, 0)[:len(b)]
	}
	return b
}

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// unmask XORs b with the masking key, starting at key offset pos.
func unmask(key [4]byte, b []byte) {
	if len(b) >= 8 {
		k := uint64(binary.LittleEndian.Uint32(key[:]))
		k |= k << 32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// validCloseCode is ws's isValidStatusCode.
func validCloseCode(c int) bool {
	return (c >= 1000 && c <= 1014 && c != 1004 && c != 1005 && c != 1006) || (c >= 3000 && c <= 4999)
}

// parse handles the complete frames at the start of b and returns how many
// bytes they took, or an error that ends the connection. need is the size
// of the incomplete frame that follows, when known (0 otherwise).
func (r *wsReader) parse(b []byte) (used, need int, stop bool, err error) {
	for {
		rest := b[used:]
		if len(rest) < 2 {
			return used, 0, false, nil
		}
		b0, b1 := rest[0], rest[1]
		fin, op := b0&0x80 != 0, b0&0x0f
		if b0&0x70 != 0 {
			return used, 0, false, protocolError("reserved bits set")
		}
		if b1&0x80 == 0 {
			return used, 0, false, protocolError("unmasked client frame")
		}
		hdr := 2
		n := int64(b1 & 0x7f)
		switch n {
		case 126:
			if len(rest) < 4 {
				return used, 0, false, nil
			}
			n = int64(binary.BigEndian.Uint16(rest[2:]))
			hdr = 4
		case 127:
			if len(rest) < 10 {
				return used, 0, false, nil
			}
			u := binary.BigEndian.Uint64(rest[2:])
			if u>>63 != 0 {
				return used, 0, false, protocolError("invalid frame length")
			}
			n = int64(u)
			hdr = 10
		}
		control := op&0x8 != 0
		switch {
		case control && (!fin || n > 125):
			return used, 0, false, protocolError("invalid control frame")
		case op > opBinary && !control, op > opPong:
			return used, 0, false, protocolError("unknown opcode")
		case op == opContinuation && !r.inMsg:
			return used, 0, false, protocolError("continuation without a message")
		case (op == opText || op == opBinary) && r.inMsg:
			return used, 0, false, protocolError("new message inside a fragmented one")
		}
		if !control && r.msgBytes+n > r.limit {
			return used, 0, false, &wsError{closeTooBig, websocket1009}
		}
		if int64(len(rest)) < int64(hdr+4)+n {
			return used, hdr + 4 + int(n), false, nil
		}
		var key [4]byte
		copy(key[:], rest[hdr:hdr+4])
		payload := rest[hdr+4 : hdr+4+int(n)]
		unmask(key, payload)
		used += hdr + 4 + int(n)
		switch op {
		case opPing:
			r.pong(payload)
			continue
		case opPong:
			continue
		case opClose:
			return used, 0, true, r.peerClose(payload)
		}
		if fin && op != opContinuation { // the usual case: a whole message in one frame
			if !r.deliver(op, payload) {
				return used, 0, true, nil
			}
			continue
		}
		if op != opContinuation {
			r.inMsg, r.msgType, r.msg = true, op, r.msg[:0]
		}
		r.msg = append(r.msg, payload...)
		r.msgBytes += n
		if fin {
			msg, typ := r.msg, r.msgType
			r.inMsg, r.msgBytes = false, 0
			ok := r.deliver(typ, msg)
			if cap(r.msg) > readBufKeep {
				r.msg = nil
			}
			if !ok {
				return used, 0, true, nil
			}
		}
	}
}

var websocket1009 = errors.New("websocket: message too big")

func (r *wsReader) deliver(op byte, data []byte) bool {
	if op == opText && !utf8.Valid(data) {
		r.fail(&wsError{closeInvalidData, errors.New("websocket: invalid UTF-8 in a text message")})
		return false
	}
	return r.handle(op == opBinary, data)
}

// peerClose handles a close frame: the session answers it with the same
// code, as ws does.
func (r *wsReader) peerClose(payload []byte) error {
	switch {
	case len(payload) == 0:
		r.closed(1005)
	case len(payload) == 1:
		return protocolError("invalid close frame")
	default:
		code := int(binary.BigEndian.Uint16(payload))
		if !validCloseCode(code) {
			return protocolError("invalid close code")
		}
		if !utf8.Valid(payload[2:]) {
			return &wsError{closeInvalidData, errors.New("websocket: invalid UTF-8 in a close reason")}
		}
		r.closed(code)
	}
	return errPeerClosed
}

// fail reports err once; a close code in it is what the session answers.
func (r *wsReader) fail(err error) {
	var we *wsError
	if errors.As(err, &we) && we.code != 0 {
		r.closed(we.code)
	}
	r.end(err)
}

// consume handles the bytes in *bp after a read. It reports whether to
// read on.
func (r *wsReader) consume(bp *[]byte) bool {
	r.batch.begin()
	used, need, stop, err := r.parse(*bp)
	r.batch.end()
	b := *bp
	n := len(b) - used
	if used > 0 { // else an incomplete frame stays where it is: no copy per read while it comes
		copy(b, b[used:])
	}
	b = b[:n]
	if need > cap(b) {
		// Room for the announced frame, but no more than readPrealloc
		// ahead of the bytes that came: a header alone must not make
		// the server allocate up to the payload limit.
		nb := make([]byte, n, min(need, n+readPrealloc))
		copy(nb, b)
		b = nb
	}
	*bp = b
	if err != nil {
		r.fail(err)
		return false
	}
	return !stop
}

// readErrorReason maps a read error to Node's reason: an oversized or
// malformed message is a transport error (ws emits "error"); the peer
// going away or closing is a transport close.
func readErrorReason(err error) protocol.DisconnectReason {
	var we *wsError
	var ne net.Error
	switch {
	case errors.Is(err, errPeerClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
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
		r.done()
		return
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
	for {
		b := growReadBuf(*bp)
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
		b := growReadBuf(*bp)
		n, err := readNonblock(r.t.raw, b[len(b):cap(b)])
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
// event came meanwhile.
func (r *wsReader) run() {
	for {
		ok := r.burst()
		r.mu.Lock()
		if !ok || r.stopReq {
			r.state = readerStopped
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
		r.mu.Unlock()
		return
	}
}

// finish (poller mode) leaves the epoll set and reports the end.
func (r *wsReader) finish() {
	r.deregister()
	r.buf, r.msg = nil, nil
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
