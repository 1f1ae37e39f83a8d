package eioserver

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestDeadlinesHeap sets, resets and removes the deadlines of many
// sessions at random and checks the heap and every session's index.
func TestDeadlinesHeap(t *testing.T) {
	var q deadlines
	ss := make([]*Session, 200)
	for i := range ss {
		ss[i] = &Session{}
	}
	base := monoNow() + int64(time.Hour) // far away: the timer never fires
	check := func() {
		t.Helper()
		for i, s := range q.heap {
			if int(s.dlIdx) != i+1 {
				t.Fatalf("heap[%d] has index %d", i, s.dlIdx)
			}
			if i > 0 && q.heap[(i-1)/2].dlWhen > s.dlWhen {
				t.Fatalf("heap[%d] is earlier than its parent", i)
			}
		}
		n := 0
		for _, s := range ss {
			if s.dlIdx != 0 {
				n++
			}
		}
		if n != len(q.heap) {
			t.Fatalf("%d sessions have an index, the heap has %d", n, len(q.heap))
		}
		if len(q.heap) > 0 && q.at > q.heap[0].dlWhen {
			t.Fatalf("timer at %d, after the earliest deadline %d", q.at, q.heap[0].dlWhen)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		s := ss[r.IntN(len(ss))]
		if r.IntN(3) == 0 {
			q.remove(s)
		} else {
			q.set(s, base+r.Int64N(int64(time.Minute)))
		}
		check()
	}
	for _, s := range ss {
		q.remove(s)
	}
	check()
	if q.at != 0 {
		t.Fatal("the timer is still set with no deadline left")
	}
}
