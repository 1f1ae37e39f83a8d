package loadgen

import (
	"net"
	"os"
	"sync"
	"time"
)

// readGate is the read side of a wire fed through a channel by a
// goroutine of its own (the engine's, the long-poll loop): the hook run
// before a read that would wait (the closed loop's flush of its queued
// requests) and the read deadline.
type readGate struct {
	mu         sync.Mutex
	deadline   time.Time
	beforeRead func() error
}

func (g *readGate) setBeforeRead(f func() error) {
	g.mu.Lock()
	g.beforeRead = f
	g.mu.Unlock()
}

func (g *readGate) setReadDeadline(t time.Time) {
	g.mu.Lock()
	g.deadline = t
	g.mu.Unlock()
}

// receive takes the next item from items: at once when one is there, else
// after the hook, waiting until one comes, the feeder ends (ended: the
// items left, then endErr), the wire closes (done) or the deadline passes.
func receive[T any](g *readGate, items <-chan T, ended, done <-chan struct{}, endErr func() error) (T, error) {
	var zero T
	select {
	case it := <-items:
		return it, nil
	default:
	}
	g.mu.Lock()
	hook, dl := g.beforeRead, g.deadline
	g.mu.Unlock()
	if hook != nil {
		if err := hook(); err != nil {
			return zero, err
		}
	}
	var timeout <-chan time.Time
	if !dl.IsZero() {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case it := <-items:
		return it, nil
	case <-ended:
		select {
		case it := <-items:
			return it, nil
		default:
		}
		return zero, endErr()
	case <-done:
		return zero, net.ErrClosed
	case <-timeout:
		return zero, os.ErrDeadlineExceeded
	}
}
