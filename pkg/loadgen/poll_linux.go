//go:build linux

package loadgen

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The epoll path (Config.IO "epoll", the default where it applies): the
// closed loop's WebSocket connections leave Go's netpoller once their
// handshake is done and are served by a few event loops, each owning an
// epoll set of non-blocking sockets (level-triggered). A ready socket is
// read until a read comes back short (drained: no read that ends in
// EAGAIN), every complete message is validated as readLoop does, and the
// requests its replies make room for leave in one write (or, with the
// loop's io_uring, in the pass's one submission: poll_uring_linux.go). A
// round trip then costs one read and one write, plus a share of one
// epoll_wait, where the
// netpoller's goroutine per connection pays a second read (EAGAIN), its
// share of epoll_wait and the wakeups.

// errWouldBlock is a read of a drained socket: the poller waits for it.
var errWouldBlock = errors.New("loadgen: socket drained")

const pollWakeKey = -1

// rawSock is a connected TCP socket the poller owns, as the wsConn's
// net.Conn. Reads happen only on the poller (drained is its own); writes
// may come from any goroutine (the wsConn serialises them) and never
// block: what the kernel does not take waits in pending until the socket
// is writable again. In the closed loop pending is bounded by the
// requests in flight.
type rawSock struct {
	fd      int
	drained bool
	p       *poller
	key     int32

	mu      sync.Mutex
	pending []byte
	err     error // a failed write
	closed  bool

	laddr, raddr net.Addr
}

func (s *rawSock) Read(b []byte) (int, error) {
	if s.drained {
		return 0, errWouldBlock
	}
	for {
		// Raw: a non-blocking read never waits, so the scheduler need not
		// know about it.
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		n := int(r)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			s.drained = true
			return 0, errWouldBlock
		case e != 0:
			return 0, os.NewSyscallError("read", e)
		case n == 0:
			return 0, io.EOF
		}
		if n < len(b) {
			s.drained = true
		}
		return n, nil
	}
}

// writeSome writes b until the kernel takes no more.
func (s *rawSock) writeSome(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(s.fd), uintptr(unsafe.Pointer(&b[done])), uintptr(len(b)-done))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return done, nil
		case e != 0:
			return done, os.NewSyscallError("write", e)
		}
		done += int(r)
	}
	return done, nil
}

func (s *rawSock) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writeLocked(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// writeLocked writes b, or what the kernel does not take of it once
// EPOLLOUT comes, after what earlier writes left. Caller holds s.mu.
func (s *rawSock) writeLocked(b []byte) error {
	switch {
	case s.closed:
		return net.ErrClosed
	case s.err != nil:
		return s.err
	case len(s.pending) > 0:
		s.pending = append(s.pending, b...)
		return nil
	}
	n, err := s.writeSome(b)
	if err != nil {
		s.err = err
		return err
	}
	if n < len(b) {
		s.pending = append(s.pending[:0], b[n:]...)
		if s.p != nil {
			s.p.watch(s, unix.EPOLLIN|unix.EPOLLOUT)
		}
	}
	return nil
}

// flushPending writes what earlier writes left, on EPOLLOUT.
func (s *rawSock) flushPending() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.closed {
		return s.err
	}
	n, err := s.writeSome(s.pending)
	if err != nil {
		s.err = err
		return err
	}
	s.pending = s.pending[:copy(s.pending, s.pending[n:])]
	if len(s.pending) == 0 {
		s.p.watch(s, unix.EPOLLIN)
	}
	return nil
}

func (s *rawSock) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	s.closed = true
	return syscall.Close(s.fd)
}

func (s *rawSock) LocalAddr() net.Addr                { return s.laddr }
func (s *rawSock) RemoteAddr() net.Addr               { return s.raddr }
func (s *rawSock) SetDeadline(t time.Time) error      { return nil }
func (s *rawSock) SetReadDeadline(t time.Time) error  { return nil }
func (s *rawSock) SetWriteDeadline(t time.Time) error { return nil }

// poller is one event loop and its epoll set.
type poller struct {
	epfd, wakefd int
	r            *runner
	// ep is the epoll set as a file in Go's netpoller (an epoll fd is
	// readable while its set has ready events): an idle loop parks there,
	// like any goroutine waiting for the network, instead of blocking its
	// thread in epoll_wait (which makes the scheduler hand the P over to
	// another thread and back, each time). nil if the netpoller would
	// not take it: the loop then blocks in epoll_wait.
	ep *os.File
	rc syscall.RawConn

	// ring batches the pass's sends (poll_uring_linux.go).
	ring pollRing

	mu    sync.Mutex
	conns []*client // by key; nil once removed
	stop  bool
	done  chan struct{}
}

// usePollers reports whether the run's connections go to event loops.
func (r *runner) usePollers() bool {
	return r.cfg.IO != IONetpoll && r.cfg.Transport == "websocket" && r.closedLoop()
}

// startPollers starts the event loops, one per P (at most one per client).
func (r *runner) startPollers() error {
	if !r.usePollers() {
		return nil
	}
	n := min(runtime.GOMAXPROCS(0), r.cfg.Clients)
	for range n {
		p, err := newPoller(r)
		if err != nil {
			r.stopPollers()
			return err
		}
		r.pollers = append(r.pollers, p)
		go p.loop()
	}
	return nil
}

// stopPollers ends the event loops; the connections they held stay open
// for the sessions to close.
func (r *runner) stopPollers() {
	for _, p := range r.pollers {
		p.mu.Lock()
		p.stop = true
		p.mu.Unlock()
		var one = [8]byte{1}
		unix.Write(p.wakefd, one[:])
		<-p.done
		p.closeRing()
		p.closeFDs()
	}
	r.pollers = nil
}

func newPoller(r *runner) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: pollWakeKey}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	p := &poller{epfd: epfd, wakefd: wfd, r: r, done: make(chan struct{})}
	if unix.SetNonblock(epfd, true) == nil {
		// os.NewFile registers a non-blocking fd with the netpoller when
		// it can; RawConn.Read then fails for one it could not.
		p.ep = os.NewFile(uintptr(epfd), "epoll")
		if rc, err := p.ep.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	p.setupRing()
	return p, nil
}

func (p *poller) closeFDs() {
	if p.ep != nil {
		p.ep.Close()
	} else {
		unix.Close(p.epfd)
	}
	unix.Close(p.wakefd)
}

func (p *poller) watch(s *rawSock, events uint32) {
	ev := unix.EpollEvent{Events: events, Fd: s.key}
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, s.fd, &ev)
}

// handOver moves a connected client from the netpoller to an event loop:
// its socket is duplicated and the net.Conn closed (which takes it out of
// Go's epoll set; the duplicate shares the non-blocking file), what it
// already buffered is handled, and the poller owns it from then on. It
// returns false when the connection cannot be handed over (not a plain
// TCP WebSocket): readLoop serves it. Once true, loopDone closes when the
// poller is done with the connection.
func (c *client) handOver() bool {
	r := c.r
	if len(r.pollers) == 0 {
		return false
	}
	ws, ok := c.s.w.(*wsConn)
	if !ok {
		return false
	}
	tc, ok := ws.nc.(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(u uintptr) {
		fd, derr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil || derr != nil {
		return false
	}
	p := r.pollers[c.idx%len(r.pollers)]
	s := &rawSock{fd: fd, p: p, laddr: tc.LocalAddr(), raddr: tc.RemoteAddr()}
	tc.Close()
	ws.wmu.Lock()
	ws.nc = s
	ws.wmu.Unlock()
	c.loopDone = make(chan struct{})
	if !c.pump() {
		close(c.loopDone)
		return true
	}
	if p.ringUsed() {
		// The loop sends after its pass (sendRing), not before each read.
		ws.beforeRead = nil
	}
	p.mu.Lock()
	if p.stop {
		p.mu.Unlock()
		close(c.loopDone)
		return true
	}
	s.key = int32(len(p.conns))
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: s.key}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		p.conns[s.key] = nil
		p.mu.Unlock()
		if !r.closing.Load() {
			c.disconnected(os.NewSyscallError("epoll_ctl", err))
		}
		close(c.loopDone)
	}
	return true
}

// pump handles every message the socket has now; false means the
// connection ended (counted as readLoop counts it).
func (c *client) pump() bool {
	r := c.r
	for {
		p, err := c.s.next()
		if err == errWouldBlock {
			return true
		}
		if err != nil {
			if !r.closing.Load() {
				c.disconnected(err)
			}
			return false
		}
		if !c.handle(p) {
			return false
		}
	}
}

type pollReady struct {
	c      *client
	events uint32
}

func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	ready := make([]pollReady, 0, len(events))
	var sends []*client // connections with requests for sendRing
	n := 0
	poll := func(uintptr) bool {
		n = epollPoll(p.epfd, events)
		return n > 0
	}
	for {
		// A round looks without waiting (a raw call: no scheduler
		// bookkeeping); an empty set parks the loop on the netpoller.
		n = 0
		if p.rc != nil && p.rc.Read(poll) != nil {
			p.rc = nil
		}
		if p.rc == nil {
			n = epollPoll(p.epfd, events)
		}
		if n == 0 && p.rc == nil {
			var err error
			n, err = unix.EpollWait(p.epfd, events, -1)
			if err != nil {
				if err == unix.EINTR {
					continue
				}
				n = 0
				time.Sleep(time.Millisecond) // not expected: do not spin
			}
		}
		ready = ready[:0]
		p.mu.Lock()
		stop := p.stop
		for _, ev := range events[:n] {
			if ev.Fd == pollWakeKey {
				continue
			}
			if c := p.conns[ev.Fd]; c != nil {
				ready = append(ready, pollReady{c, ev.Events})
			}
		}
		p.mu.Unlock()
		if stop {
			p.mu.Lock()
			for i, c := range p.conns {
				if c != nil {
					close(c.loopDone)
					p.conns[i] = nil
				}
			}
			p.mu.Unlock()
			return
		}
		sends = sends[:0]
		for _, rd := range ready {
			c := rd.c
			s := c.s.w.(*wsConn).nc.(*rawSock)
			ok := true
			if rd.events&unix.EPOLLOUT != 0 {
				if err := s.flushPending(); err != nil {
					if !p.r.closing.Load() {
						c.disconnected(err)
					}
					ok = false
				}
			}
			if ok && rd.events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				s.drained = false
				ok = c.pump()
				if ok && p.ringUsed() {
					// Its requests wait for the pass's submission, or,
					// the ring turned off, leave now.
					if p.ringUp() {
						sends = append(sends, c)
					} else if err := c.flush(); err != nil {
						if !p.r.closing.Load() {
							c.disconnected(err)
						}
						ok = false
					}
				}
			}
			if !ok {
				p.remove(c, s)
			}
		}
		if len(sends) > 0 {
			p.sendRing(sends)
			clear(sends)
		}
	}
}

// remove takes a connection the loop is done with out of its set.
func (p *poller) remove(c *client, s *rawSock) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	p.mu.Lock()
	p.conns[s.key] = nil
	p.mu.Unlock()
	close(c.loopDone)
}

// epollPoll returns the ready events without waiting.
func epollPoll(epfd int, events []unix.EpollEvent) int {
	r, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0
	}
	return int(r)
}
