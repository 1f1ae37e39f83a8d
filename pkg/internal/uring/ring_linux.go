//go:build linux && !sio_nouring

package uring

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The minimal io_uring that batched sends need (derived from
// bench/uringfanout/ring_linux.go): setup, the rings, IORING_OP_SEND SQEs,
// io_uring_enter with a bounded wait, and CQE reaping. Layouts from
// include/uapi/linux/io_uring.h.
//
// No SQPOLL and no deferred task running: the kernel then reads SQEs only
// inside our io_uring_enter, so that SQEs left in the SQ by a partial
// submit are never sent unless we enter again (the users never do after
// one: they turn the ring off), and a send's completion is posted before
// the enter that issued it returns (MSG_DONTWAIT never waits for buffer
// space).
//
// Memory ordering: Go's atomics are sequentially consistent, so the
// atomic store of the SQ tail publishes the SQEs and array slots written
// before it (the kernel loads the tail with acquire), the atomic load of
// the CQ tail orders the CQE reads after it, and the atomic store of the
// CQ head comes after them (the kernel may then reuse those slots).

const (
	featSingleMmap = 1 << 0
	featNoDrop     = 1 << 1
	featExtArg     = 1 << 8

	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	opSend = 26

	sqeSize = 64
	cqeSize = 16
)

type sqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

type cqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

type uringParams struct {
	SqEntries, CqEntries, Flags, SqThreadCPU, SqThreadIdle, Features, WqFd uint32
	Resv                                                                   [3]uint32
	SqOff                                                                  sqringOffsets
	CqOff                                                                  cqringOffsets
}

type sqe struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	SpliceFdIn  int32
	Addr3       uint64
	_           uint64
}

// CQE is a completion: UserData is the SQE's, Res the send's result
// (bytes sent, or a negated errno).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// getEventsArg is struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG).
type getEventsArg struct {
	Sigmask   uint64
	SigmaskSz uint32
	MinWait   uint32
	Ts        uint64
}

// Ring is one io_uring. It has one producer and one consumer: its user
// serialises every call.
type Ring struct {
	fd      int
	sqMem   []byte
	cqMem   []byte // sqMem itself with IORING_FEAT_SINGLE_MMAP
	sqeMem  []byte
	sqHead  *uint32
	sqTail  *uint32
	sqMask  uint32
	sqArray []uint32
	sqes    []sqe
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    []CQE
	tail    uint32 // local SQ tail
	pending uint32 // SQEs written since the last enter
	// The wait's argument and timeout, on the heap with the ring: the
	// kernel gets their addresses as integers, which a moving goroutine
	// stack would invalidate.
	arg getEventsArg
	ts  unix.Timespec
}

// New sets up a ring of entries SQEs. It needs IORING_FEAT_EXT_ARG
// (Linux 5.11), for the bounded wait, and IORING_FEAT_NODROP.
func New(entries uint32) (_ *Ring, err error) {
	var p uringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd)}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if p.Features&(featExtArg|featNoDrop) != featExtArg|featNoDrop {
		return nil, fmt.Errorf("io_uring: features %#x lack EXT_ARG or NODROP", p.Features)
	}
	sqSize := int(p.SqOff.Array + p.SqEntries*4)
	cqSize := int(p.CqOff.Cqes + p.CqEntries*cqeSize)
	if p.Features&featSingleMmap != 0 && cqSize > sqSize {
		sqSize = cqSize
	}
	r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap sq: %w", err)
	}
	if p.Features&featSingleMmap != 0 {
		r.cqMem = r.sqMem
	} else if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, fmt.Errorf("mmap cq: %w", err)
	}
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.SqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap sqes: %w", err)
	}
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	r.sqHead = u32(r.sqMem, p.SqOff.Head)
	r.sqTail = u32(r.sqMem, p.SqOff.Tail)
	r.sqMask = *u32(r.sqMem, p.SqOff.RingMask)
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.SqOff.Array), p.SqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.SqEntries)
	r.cqHead = u32(r.cqMem, p.CqOff.Head)
	r.cqTail = u32(r.cqMem, p.CqOff.Tail)
	r.cqMask = *u32(r.cqMem, p.CqOff.RingMask)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.CqOff.Cqes])), p.CqEntries)
	r.tail = atomic.LoadUint32(r.sqTail)
	return r, nil
}

// Close unmaps the rings and closes the descriptor. Only for a ring with
// no request in flight: after a failure the users leave it open.
func (r *Ring) Close() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && &r.cqMem[0] != &r.sqMem[0] {
		_ = unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
	}
	_ = unix.Close(r.fd)
	*r = Ring{fd: -1}
}

// Free reports how many SQEs can be written before the next enter.
func (r *Ring) Free() uint32 {
	return uint32(len(r.sqes)) - (r.tail - atomic.LoadUint32(r.sqHead))
}

// PrepSend writes one IORING_OP_SEND SQE of buf, not empty (the caller
// checked Free). buf must stay allocated and unchanged until its CQE is
// reaped: the kernel reads it then, not now.
func (r *Ring) PrepSend(fd int32, buf []byte, userData uint64) {
	idx := r.tail & r.sqMask
	s := &r.sqes[idx]
	*s = sqe{Opcode: opSend, Fd: fd, Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))), Len: uint32(len(buf)), UserData: userData}
	s.OpFlags = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL // EAGAIN, never a poll-armed wait
	r.sqArray[idx] = idx
	r.tail++
	r.pending++
}

// Enter publishes the SQEs written since the last enter, submits them and
// waits up to wait for minComplete completions in all. It returns how many
// SQEs the kernel took: fewer than written leaves the rest in the SQ. An
// error means the call failed as a whole: whether it took any SQE is
// unknown. A wait that times out or is interrupted is not an error: the
// caller reaps what is there and enters again for the rest.
func (r *Ring) Enter(minComplete uint32, wait time.Duration) (int, error) {
	atomic.StoreUint32(r.sqTail, r.tail)
	toSubmit := r.pending
	r.pending = 0
	r.ts = unix.NsecToTimespec(int64(wait))
	r.arg = getEventsArg{Ts: uint64(uintptr(unsafe.Pointer(&r.ts)))}
	flags := uintptr(enterExtArg)
	if minComplete > 0 {
		flags |= enterGetEvents
	}
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete),
		flags, uintptr(unsafe.Pointer(&r.arg)), unsafe.Sizeof(r.arg))
	switch errno {
	case 0:
		return int(n), nil
	case unix.ETIME, unix.EINTR:
		if toSubmit == 0 { // only waited
			return 0, nil
		}
		// With SQEs to submit, the kernel reports the submission's count,
		// not the wait's error; an error here means nothing is known.
	}
	return 0, fmt.Errorf("io_uring_enter: %w", errno)
}

// Reap calls f on every available CQE and returns how many it saw.
func (r *Ring) Reap(f func(c *CQE)) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		f(&r.cqes[head&r.cqMask])
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// Await collects the CQEs of n requests in flight: done records one (its
// user data and result) and reports false when the user data names no
// request in flight, which is an error. With wait > 0 it enters the ring
// (through enter, the caller's Enter or a test's stand-in) until all n have
// come or wait has passed; with 0 it takes only those already there. After
// an error, what was reaped is recorded; the rest's outcome is unknown.
func Await(r *Ring, n int, wait time.Duration, enter func(r *Ring, minComplete uint32, wait time.Duration) (int, error), done func(userData uint64, res int32) bool) error {
	got := 0
	var stray error
	collect := func(c *CQE) {
		if stray != nil {
			return
		}
		if !done(c.UserData, c.Res) {
			stray = fmt.Errorf("io_uring completion for %d, not in flight", c.UserData)
			return
		}
		got++
	}
	deadline := time.Now().Add(wait)
	for {
		r.Reap(collect)
		if stray != nil {
			return stray
		}
		if got == n || wait <= 0 {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("io_uring: %d of %d completions after %v", got, n, wait)
		}
		if _, err := enter(r, uint32(n-got), left); err != nil {
			r.Reap(collect) // what is there is known
			if stray != nil {
				return stray
			}
			return err
		}
	}
}

// HoldBack makes the next Enter submit only the first n of the SQEs
// written since the last one, as a kernel that takes fewer would: the rest
// stay in the SQ. For tests of the users' partial-submit handling.
func (r *Ring) HoldBack(n uint32) {
	r.pending = min(r.pending, n)
}

// Pending reports how many SQEs were written since the last Enter.
func (r *Ring) Pending() uint32 { return r.pending }
