package client

import (
	"math"
	"time"
)

// backoff computes reconnection delays exactly as socket.io-client's
// backo2 does: min·2^attempt, moved by up to ±factor·delay of jitter
// (subtracted or added depending on the same random draw), capped at max.
type backoff struct {
	min, max time.Duration
	factor   float64 // randomizationFactor; 0 = no jitter
	rand     func() float64
}

// duration returns the delay before reconnection attempt n (0-based).
func (b backoff) duration(n int) time.Duration {
	ms := float64(b.min.Milliseconds()) * math.Pow(2, float64(min(n, 62)))
	if b.factor > 0 && b.rand != nil {
		r := b.rand()
		deviation := math.Floor(r * b.factor * ms)
		if int64(math.Floor(r*10))&1 == 0 {
			ms -= deviation
		} else {
			ms += deviation
		}
	}
	maxMs := float64(b.max.Milliseconds())
	if ms > maxMs || math.IsInf(ms, 0) || math.IsNaN(ms) {
		ms = maxMs
	}
	if ms < 0 {
		ms = 0
	}
	return time.Duration(ms) * time.Millisecond
}
