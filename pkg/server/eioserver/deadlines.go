package eioserver

import (
	"sync"
	"time"
)

// deadlines is the one timer of a server for the heartbeat and close
// deadlines of all its sessions: a min-heap of the sessions by deadline
// under a single runtime timer set for the earliest. A time.AfterFunc per
// session kept a runtime timer and its closure (about 130 bytes) alive for
// the whole life of every idle connection; here a session holds only its
// index in the heap and its deadline.
//
// A deadline that passes runs Session.onTimer on a goroutine of its own,
// as AfterFunc did. Lock order: Session.mu, then deadlines.mu (fire takes
// no session lock).
type deadlines struct {
	mu    sync.Mutex
	heap  []*Session // by dlWhen; a session's dlIdx is its index + 1
	timer *time.Timer
	at    int64 // when timer is set to fire (monoNow); 0: not set
}

// monoBase is the origin of monoNow: deadlines are compared as monotonic
// nanoseconds, immune to wall clock changes.
var monoBase = time.Now()

func monoNow() int64 { return int64(time.Since(monoBase)) }

// set (re)sets the deadline of s to when (monoNow).
func (q *deadlines) set(s *Session, when int64) {
	q.mu.Lock()
	s.dlWhen = when
	if s.dlIdx == 0 {
		q.heap = append(q.heap, s)
		s.dlIdx = int32(len(q.heap))
		q.up(len(q.heap) - 1)
	} else {
		i := int(s.dlIdx) - 1
		if !q.up(i) {
			q.down(i)
		}
	}
	q.rearmLocked()
	q.mu.Unlock()
}

// remove drops the deadline of s, if it has one.
func (q *deadlines) remove(s *Session) {
	q.mu.Lock()
	if s.dlIdx != 0 {
		q.removeAt(int(s.dlIdx) - 1)
	}
	if len(q.heap) == 0 && q.timer != nil && q.at != 0 {
		q.timer.Stop()
		q.at = 0
	}
	q.mu.Unlock()
}

// fire runs when the timer expires: every session whose deadline has
// passed leaves the heap and gets its onTimer call.
func (q *deadlines) fire() {
	var buf [8]*Session
	due := buf[:0]
	q.mu.Lock()
	q.at = 0
	now := monoNow()
	for len(q.heap) > 0 && q.heap[0].dlWhen <= now {
		due = append(due, q.heap[0])
		q.removeAt(0)
	}
	q.rearmLocked()
	if cap(q.heap) > 64 && len(q.heap) < cap(q.heap)/4 {
		q.heap = append([]*Session(nil), q.heap...) // after a crowd left
	}
	q.mu.Unlock()
	for _, s := range due {
		go s.onTimer()
	}
}

// rearmLocked sets the timer for the earliest deadline unless it already
// fires no later than that (fire then sets it again). Caller holds q.mu.
func (q *deadlines) rearmLocked() {
	if len(q.heap) == 0 {
		return
	}
	top := q.heap[0].dlWhen
	if q.at != 0 && q.at <= top {
		return
	}
	q.at = top
	d := time.Duration(top - monoNow())
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.fire)
	} else {
		q.timer.Reset(d)
	}
}

func (q *deadlines) removeAt(i int) {
	s := q.heap[i]
	last := len(q.heap) - 1
	if i != last {
		q.swap(i, last)
	}
	q.heap[last] = nil
	q.heap = q.heap[:last]
	s.dlIdx = 0
	if i != last && !q.up(i) {
		q.down(i)
	}
}

func (q *deadlines) swap(i, j int) {
	h := q.heap
	h[i], h[j] = h[j], h[i]
	h[i].dlIdx = int32(i + 1)
	h[j].dlIdx = int32(j + 1)
}

// up moves the entry at i towards the root and reports whether it moved.
func (q *deadlines) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if q.heap[p].dlWhen <= q.heap[i].dlWhen {
			break
		}
		q.swap(i, p)
		i = p
		moved = true
	}
	return moved
}

func (q *deadlines) down(i int) {
	n := len(q.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && q.heap[r].dlWhen < q.heap[l].dlWhen {
			m = r
		}
		if q.heap[i].dlWhen <= q.heap[m].dlWhen {
			return
		}
		q.swap(i, m)
		i = m
	}
}
