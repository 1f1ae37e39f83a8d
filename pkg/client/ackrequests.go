package client

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// AckRequests holds the server's ack requests (events emitted with a
// callback) that are answered later, by a person or a script, instead of
// at once by Options.AckReply: a handler passes each event to Hold, and
// Answer sends the answer of one request, by namespace and id.
//
// A Node server waits for an answer as long as its emit says: forever for
// socket.emit(ev, cb), ms for socket.timeout(ms).emit(...), after which
// the callback gets an error and a late answer is dropped without a word
// on its side. The client cannot know which, so the wait is an option
// (ServerTimeout): with it, Pending shows each request's deadline and
// Answer reports an answer sent after it as late.
//
// It is bounded: past Max requests the oldest is forgotten (and stays
// unanswered). All methods are safe for concurrent use.
type AckRequests struct {
	opts AckRequestsOptions

	mu    sync.Mutex
	reqs  map[ackRequestKey]*heldAck
	order []ackRequestKey // oldest first; may hold answered keys
	added chan struct{}   // closed and replaced when a request is held
}

// AckRequestsOptions configure AckRequests; the zero value is usable.
type AckRequestsOptions struct {
	// Max is the most requests held. Default 4096.
	Max int
	// ServerTimeout is how long the server is taken to wait for each
	// answer (its socket.timeout(ms)); 0 means unknown: no deadline.
	ServerTimeout time.Duration
	// Wait bounds how long Answer waits for a request that is not held
	// yet: a Tap shows an event just before its handler runs, so an answer
	// made from the Tap can come first. Default 2s.
	Wait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// AckRequest is a request waiting for its answer.
type AckRequest struct {
	Namespace string
	ID        uint64
	Event     string
	At        time.Time // when it was held
	// Deadline is when the server gives up (At + ServerTimeout); zero when
	// the timeout is unknown.
	Deadline time.Time
}

// Expired reports whether the server has given up waiting at now.
func (p AckRequest) Expired(now time.Time) bool {
	return !p.Deadline.IsZero() && !now.Before(p.Deadline)
}

// AckAnswer describes an answer Answer sent.
type AckAnswer struct {
	AckRequest
	// Age is the time from the request to the answer.
	Age time.Duration
	// Late is set when the answer went out after the deadline: the server
	// had already given up and ignores it.
	Late bool
}

type ackRequestKey struct {
	nsp string
	id  uint64
}

type heldAck struct {
	req    AckRequest
	answer func(...any) error
}

// Defaults of AckRequestsOptions.
const (
	DefaultMaxAckRequests = 4096
	DefaultAckRequestWait = 2 * time.Second
)

// NewAckRequests makes an empty registry.
func NewAckRequests(opts AckRequestsOptions) *AckRequests {
	if opts.Max <= 0 {
		opts.Max = DefaultMaxAckRequests
	}
	if opts.Wait <= 0 {
		opts.Wait = DefaultAckRequestWait
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &AckRequests{
		opts:  opts,
		reqs:  make(map[ackRequestKey]*heldAck),
		added: make(chan struct{}),
	}
}

// Hold takes e's ack (Event.TakeAck) and keeps it for Answer. It returns
// false when e asked for no ack or its ack was already answered or taken.
// It fits as a handler: sock.OnAny(func(e *client.Event) { reqs.Hold(e) }).
func (r *AckRequests) Hold(e *Event) bool {
	if !e.WantsAck() {
		return false
	}
	answer := e.TakeAck()
	if answer == nil {
		return false
	}
	now := r.opts.Now()
	p := AckRequest{Namespace: e.Namespace, ID: e.Packet.ID, Event: e.Name, At: now}
	if r.opts.ServerTimeout > 0 {
		p.Deadline = now.Add(r.opts.ServerTimeout)
	}
	k := ackRequestKey{e.Namespace, e.Packet.ID}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.reqs[k]; !ok {
		r.order = append(r.order, k)
	}
	r.reqs[k] = &heldAck{req: p, answer: answer}
	close(r.added)
	r.added = make(chan struct{})
	for len(r.reqs) > r.opts.Max && len(r.order) > 0 {
		delete(r.reqs, r.order[0])
		r.order = r.order[1:]
	}
	if len(r.order) > 2*r.opts.Max {
		r.compactLocked()
	}
	return true
}

// compactLocked drops the answered keys from order.
func (r *AckRequests) compactLocked() {
	out := make([]ackRequestKey, 0, len(r.reqs))
	for _, k := range r.order {
		if _, ok := r.reqs[k]; ok {
			out = append(out, k)
		}
	}
	r.order = out
}

// Pending returns the requests waiting for an answer, oldest first.
func (r *AckRequests) Pending() []AckRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]AckRequest, 0, len(r.reqs))
	seen := make(map[ackRequestKey]bool, len(r.reqs))
	for _, k := range r.order {
		// A key answered then asked again is in order twice.
		if h, ok := r.reqs[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, h.req)
		}
	}
	return out
}

// Len returns how many requests are waiting.
func (r *AckRequests) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// Forget drops the requests of namespace nsp: after a disconnection the
// server's socket, and its callbacks, are gone.
func (r *AckRequests) Forget(nsp string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.reqs {
		if k.nsp == nsp {
			delete(r.reqs, k)
		}
	}
	r.compactLocked()
}

// Answer sends args as the answer to request id on namespace nsp, waiting
// up to Options.Wait for the request to be held. An answer past the
// deadline is still sent (the user asked for it; a server with a longer
// timeout than assumed takes it) and reported Late.
func (r *AckRequests) Answer(ctx context.Context, nsp string, id uint64, args ...any) (AckAnswer, error) {
	h, err := r.take(ctx, ackRequestKey{nsp, id})
	if err != nil {
		return AckAnswer{}, err
	}
	now := r.opts.Now()
	a := AckAnswer{AckRequest: h.req, Age: now.Sub(h.req.At), Late: h.req.Expired(now)}
	if err := h.answer(args...); err != nil {
		return a, err
	}
	return a, nil
}

// take removes and returns request k, waiting up to Wait for it.
func (r *AckRequests) take(ctx context.Context, k ackRequestKey) (*heldAck, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timer := time.NewTimer(r.opts.Wait)
	defer timer.Stop()
	for {
		r.mu.Lock()
		h, ok := r.reqs[k]
		delete(r.reqs, k)
		added := r.added
		r.mu.Unlock()
		if ok {
			return h, nil
		}
		select {
		case <-added:
		case <-timer.C:
			return nil, fmt.Errorf("no ack request %d waiting on %s", k.id, k.nsp)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
