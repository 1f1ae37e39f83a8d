package proxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// MaxDelay bounds Delay + Jitter: a packet is never held longer.
const MaxDelay = 5 * time.Minute

// Faults are the interventions applied to every packet of every session.
type Faults struct {
	// Delay holds each forwarded message (WebSocket) or request/response
	// body (polling) this long, keeping order.
	Delay time.Duration `json:"delay"`
	// Jitter adds a random extra delay in [0, Jitter).
	Jitter time.Duration `json:"jitter"`
	// DropRate is the probability in [0, 1] that a Socket.IO EVENT (with
	// its attachments) is dropped, as a volatile event may be. Other
	// packets (CONNECT, ACK, Engine.IO) always go through.
	DropRate float64 `json:"drop_rate"`
}

// Validate reports a negative or too long delay, or a rate outside [0, 1].
func (f Faults) Validate() error {
	switch {
	case f.Delay < 0 || f.Jitter < 0:
		return errors.New("delay and jitter must not be negative")
	case f.Delay+f.Jitter > MaxDelay:
		return fmt.Errorf("delay + jitter must not exceed %s", MaxDelay)
	case !(f.DropRate >= 0 && f.DropRate <= 1):
		return fmt.Errorf("drop rate %v: want a number from 0 to 1", f.DropRate)
	}
	return nil
}

type faultState struct {
	mu sync.RWMutex
	f  Faults
}

func (fs *faultState) set(f Faults) {
	fs.mu.Lock()
	fs.f = f
	fs.mu.Unlock()
}

func (fs *faultState) get() Faults {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	return fs.f
}

// dropNow rolls the dice for one EVENT.
func (fs *faultState) dropNow() bool {
	r := fs.get().DropRate
	return r > 0 && rand.Float64() < r
}

// delay is how long to hold the next message; 0 without faults.
func (fs *faultState) delay() time.Duration {
	f := fs.get()
	d := f.Delay
	if f.Jitter > 0 {
		d += rand.N(f.Jitter)
	}
	return d
}

// Faults returns the interventions in force.
func (p *Proxy) Faults() Faults { return p.faults.get() }

// SetFaults changes the interventions for every packet from now on.
func (p *Proxy) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	p.faults.set(f)
	return nil
}

// wait sleeps d, or less when done closes first; it reports whether the
// whole delay passed.
func wait(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
