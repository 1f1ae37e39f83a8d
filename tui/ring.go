package tui

// ring is a fixed-capacity FIFO: pushing onto a full ring evicts the
// oldest element. It backs the event log, so memory stays bounded however
// fast traffic arrives. It is not safe for concurrent use; it belongs to
// the model, which only the bubbletea event loop touches.
type ring[T any] struct {
	buf  []T
	head int // index of the oldest element
	n    int
}

func newRing[T any](capacity int) *ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &ring[T]{buf: make([]T, capacity)}
}

// Len returns the number of elements held.
func (r *ring[T]) Len() int { return r.n }

// Cap returns the capacity.
func (r *ring[T]) Cap() int { return len(r.buf) }

// Push appends v, returning the element it evicted, if any.
func (r *ring[T]) Push(v T) (evicted T, ok bool) {
	if r.n == len(r.buf) {
		evicted, ok = r.buf[r.head], true
		r.buf[r.head] = v
		r.head = (r.head + 1) % len(r.buf)
		return evicted, ok
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
	return evicted, false
}

// At returns a pointer to the i-th element, 0 being the oldest. The pointer
// is valid until the element is evicted.
func (r *ring[T]) At(i int) *T {
	if i < 0 || i >= r.n {
		panic("tui: ring index out of range")
	}
	return &r.buf[(r.head+i)%len(r.buf)]
}

// Front returns the oldest element.
func (r *ring[T]) Front() (T, bool) {
	if r.n == 0 {
		var zero T
		return zero, false
	}
	return r.buf[r.head], true
}

// PopFront removes and returns the oldest element.
func (r *ring[T]) PopFront() (T, bool) {
	var zero T
	if r.n == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v, true
}

// Clear removes every element, keeping the capacity.
func (r *ring[T]) Clear() {
	clear(r.buf)
	r.head, r.n = 0, 0
}
