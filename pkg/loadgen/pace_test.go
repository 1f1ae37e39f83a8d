package loadgen

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	t.Parallel()
	const ms = int64(time.Millisecond)
	p := newPacer(10*ms, 1000, 0) // 1 ms apart
	if !p.paced() || p.due(0) != 10*ms || p.due(5) != 15*ms {
		t.Fatalf("due: %d %d", p.due(0), p.due(5))
	}
	tests := []struct {
		k, now int64
		want   time.Duration
	}{
		{0, 0, 10 * time.Millisecond},  // early: wait for the slot
		{0, 10 * ms, 0},                // on time
		{3, 12*ms + 980_000, 0},        // due in 20 µs: send now
		{3, 12 * ms, time.Millisecond}, // due in 1 ms
		{2, 50 * ms, 0},                // behind: catch up at once
	}
	for _, tt := range tests {
		if got := p.delay(tt.k, tt.now); got != tt.want {
			t.Errorf("delay(%d, %d) = %v, want %v", tt.k, tt.now, got, tt.want)
		}
	}
	// Clients are spread over one interval by index.
	a, b := newPacer(0, 100, 0), newPacer(0, 100, 500)
	if a.due(0) != 0 || b.due(0) != 5*ms || b.due(1) != 15*ms {
		t.Fatalf("spread: %d %d %d", a.due(0), b.due(0), b.due(1))
	}
	// An absurd rate still moves forward; rate 0 is unpaced.
	if newPacer(0, 1e12, 1).interval < 1 || newPacer(0, 0, 1).paced() {
		t.Fatal("edge rates")
	}
}
