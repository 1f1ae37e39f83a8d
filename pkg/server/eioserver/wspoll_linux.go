package eioserver

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller is a server's epoll set of idle WebSocket connections (Linux). The
// epoll descriptor is itself waited for by Go's network poller, so that no
// thread blocks in epoll_wait: one goroutine drains its events and hands
// each ready connection to a worker. Connections are registered
// edge-triggered; a worker reads a connection until the socket is empty
// (wsReader.burst), and an event for a connection being read only marks it
// to be read again, so one connection is never read by two workers.
type poller struct {
	epfd int
	file *os.File
	rc   syscall.RawConn

	mu      sync.Mutex
	readers map[uint64]*wsReader
	next    uint64

	// Ready connections wait in queue for a worker. A worker that finds it
	// empty waits on cond (idle); dispatch wakes one, or starts one when
	// none is idle, so that a worker stuck in a slow handler never holds
	// up other connections.
	qmu    sync.Mutex
	cond   *sync.Cond
	queue  []*wsReader
	idle   int
	quit   bool
	wg     sync.WaitGroup // the event goroutine and the workers
	closed atomic.Bool
}

// maxIdleWorkers bounds the workers kept waiting for work; more are
// started when all are busy (a slow handler delays only its connection).
const maxIdleWorkers = 32

func newPoller() *poller {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	p := &poller{epfd: epfd, file: f, rc: rc, readers: make(map[uint64]*wsReader)}
	p.cond = sync.NewCond(&p.qmu)
	p.wg.Add(1)
	go p.run()
	return p
}

// run waits for events and dispatches the ready connections.
func (p *poller) run() {
	defer p.wg.Done()
	events := make([]unix.EpollEvent, 128)
	_ = p.rc.Read(func(uintptr) bool {
		for {
			n, err := unix.EpollWait(p.epfd, events, 0)
			if err == unix.EINTR {
				continue
			}
			if n <= 0 {
				return false // wait until the epoll descriptor is readable
			}
			for i := range events[:n] {
				ev := &events[i]
				token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
				p.mu.Lock()
				r := p.readers[token]
				p.mu.Unlock()
				if r != nil {
					if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
						r.hup.Store(true)
					}
					r.wake()
				}
			}
		}
	})
}

// add registers r's connection; false when it cannot be (the reader then
// uses a goroutine of its own), true also when the reader was stopped and
// finished while registering failed.
func (p *poller) add(r *wsReader) bool {
	if p.closed.Load() {
		return false
	}
	p.mu.Lock()
	p.next++
	token := p.next
	p.readers[token] = r
	p.mu.Unlock()
	r.mu.Lock()
	r.poller, r.token, r.state = p, token, readerIdle
	r.mu.Unlock()
	var cerr error
	err := r.t.raw.Control(func(fd uintptr) {
		// The token is the event's 64-bit data (Fd and Pad, whatever the
		// architecture's layout of epoll_event around them).
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(uint32(token)), Pad: int32(uint32(token >> 32))}
		cerr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		p.remove(token)
		r.mu.Lock()
		// The session may have stopped the reader meanwhile (its
		// connection closed, which is why registering failed): stop then
		// finished it already, and a blocking loop would report its end
		// twice.
		finished := r.state == readerStopped
		if !finished {
			r.poller = nil
		}
		r.mu.Unlock()
		return finished
	}
	// Data that came before the registration is reported by epoll_ctl
	// itself; reading once more costs little and makes sure of it.
	r.wake()
	return true
}

func (p *poller) remove(token uint64) {
	p.mu.Lock()
	delete(p.readers, token)
	p.mu.Unlock()
}

// dispatch queues r for a worker: an idle one, or a new one.
func (p *poller) dispatch(r *wsReader) {
	p.qmu.Lock()
	if p.quit {
		p.qmu.Unlock()
		return
	}
	p.queue = append(p.queue, r)
	start := p.idle == 0
	if !start {
		p.cond.Signal()
	}
	p.qmu.Unlock()
	if start {
		p.wg.Add(1)
		go p.worker()
	}
}

// maxPendingWrites bounds the sessions a worker holds for one io_uring
// submission: a busy worker writes at least every so many.
const maxPendingWrites = 64

// worker runs ready readers. When the server writes through io_uring, the
// sessions the reads it handles in a row send to (their replies among
// them) are written together once the queue is empty, in one submission,
// instead of one write(2) each as each read ends.
func (p *poller) worker() {
	defer p.wg.Done()
	var pending []*Session
	p.qmu.Lock()
	for {
		for len(p.queue) == 0 {
			if len(pending) > 0 {
				p.qmu.Unlock()
				pending = flushPending(pending)
				p.qmu.Lock()
				continue
			}
			if p.quit || p.idle >= maxIdleWorkers {
				p.qmu.Unlock()
				return
			}
			p.idle++
			p.cond.Wait()
			p.idle--
		}
		r := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		if len(p.queue) == 0 {
			p.queue = p.queue[:0:0]
		}
		p.qmu.Unlock()
		if r.s != nil && r.s.srv.ringOn() {
			r.run(&pending)
		} else {
			r.run(nil)
		}
		if len(pending) >= maxPendingWrites {
			pending = flushPending(pending)
		}
		p.qmu.Lock()
	}
}

func flushPending(ss []*Session) []*Session {
	flushSessions(ss)
	clear(ss)
	return ss[:0]
}

// close stops the event goroutine and the idle workers, once every
// connection has ended.
func (p *poller) close() {
	if !p.closed.CompareAndSwap(false, true) {
		return
	}
	p.qmu.Lock()
	p.quit = true
	p.cond.Broadcast()
	p.qmu.Unlock()
	p.file.Close()
	p.wg.Wait()
}

// deregister removes the connection from the epoll set (before it is
// closed, so the descriptor cannot be a new connection's yet).
func (r *wsReader) deregister() {
	p := r.poller
	_ = r.t.raw.Control(func(fd uintptr) {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.remove(r.token)
}
