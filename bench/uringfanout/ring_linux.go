//go:build linux

package main

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The minimal io_uring the experiment needs: setup, the two rings and the
// SQE array mapped, IORING_OP_SEND SQEs, io_uring_enter, CQE reaping and
// IORING_REGISTER_FILES. Layouts from include/uapi/linux/io_uring.h. Its
// own, not the servers' ring: it also sets up the variants measured and
// not kept (registered files, SQPOLL, DEFER_TASKRUN).

const (
	setupSQPoll       = 1 << 1
	setupSQAff        = 1 << 2
	setupCoopTaskrun  = 1 << 8
	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13

	featSingleMmap = 1 << 0

	enterGetEvents = 1 << 0
	enterSQWakeup  = 1 << 1

	sqNeedWakeup = 1 << 0

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	opSend = 26

	sqeFixedFile = 1 << 0

	registerFiles = 2

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

type cqe struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

type ring struct {
	fd      int
	flags   uint32
	sqMem   []byte
	cqMem   []byte
	sqeMem  []byte
	sqHead  *uint32
	sqTail  *uint32
	sqFlags *uint32
	sqMask  uint32
	sqArray []uint32
	sqes    []sqe
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    []cqe
	tail    uint32 // local SQ tail
	pending uint32 // SQEs written since the last submit
}

func newRing(entries uint32, flags uint32, sqCPU uint32) (*ring, error) {
	var p uringParams
	p.Flags = flags
	p.SqThreadCPU = sqCPU
	p.SqThreadIdle = 10 // ms
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &ring{fd: int(fd), flags: flags}
	sqSize := int(p.SqOff.Array + p.SqEntries*4)
	cqSize := int(p.CqOff.Cqes + p.CqEntries*cqeSize)
	if p.Features&featSingleMmap != 0 && cqSize > sqSize {
		sqSize = cqSize
	}
	var err error
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
	r.sqFlags = u32(r.sqMem, p.SqOff.Flags)
	r.sqMask = *u32(r.sqMem, p.SqOff.RingMask)
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.SqOff.Array), p.SqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.SqEntries)
	r.cqHead = u32(r.cqMem, p.CqOff.Head)
	r.cqTail = u32(r.cqMem, p.CqOff.Tail)
	r.cqMask = *u32(r.cqMem, p.CqOff.RingMask)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.cqMem[p.CqOff.Cqes])), p.CqEntries)
	r.tail = atomic.LoadUint32(r.sqTail)
	return r, nil
}

func (r *ring) close() {
	unix.Munmap(r.sqeMem)
	if &r.cqMem[0] != &r.sqMem[0] {
		unix.Munmap(r.cqMem)
	}
	unix.Munmap(r.sqMem)
	unix.Close(r.fd)
}

func (r *ring) registerFiles(fds []int32) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerFiles,
		uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)), 0, 0)
	if errno != 0 {
		return fmt.Errorf("io_uring_register files: %w", errno)
	}
	return nil
}

// free reports how many SQEs can be written before the next submit.
func (r *ring) free() uint32 {
	return uint32(len(r.sqes)) - (r.tail - atomic.LoadUint32(r.sqHead))
}

// prepSend writes one IORING_OP_SEND SQE (the caller checked free).
func (r *ring) prepSend(fd int32, fixed bool, buf []byte, userData uint64) {
	idx := r.tail & r.sqMask
	s := &r.sqes[idx]
	*s = sqe{Opcode: opSend, Fd: fd, Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))), Len: uint32(len(buf)), UserData: userData}
	if fixed {
		s.Flags = sqeFixedFile
	}
	r.sqArray[idx] = idx
	r.tail++
	r.pending++
}

// submitAndWait publishes the written SQEs and waits for waitNr completions.
func (r *ring) submitAndWait(waitNr uint32) error {
	atomic.StoreUint32(r.sqTail, r.tail)
	toSubmit := r.pending
	r.pending = 0
	var flags uintptr
	if r.flags&setupSQPoll != 0 {
		if atomic.LoadUint32(r.sqFlags)&sqNeedWakeup != 0 {
			flags |= enterSQWakeup
		}
		toSubmit = 0
	}
	if waitNr > 0 {
		flags |= enterGetEvents
	}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(waitNr), flags, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return fmt.Errorf("io_uring_enter: %w", errno)
		}
		return nil
	}
}

// reap calls f on every available CQE and returns how many it saw.
func (r *ring) reap(f func(c *cqe)) int {
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
