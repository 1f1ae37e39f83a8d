package tui

import (
	"slices"
	"testing"
)

func ringValues(r *ring[int]) []int {
	var out []int
	for i := range r.Len() {
		out = append(out, *r.At(i))
	}
	return out
}

func TestRing(t *testing.T) {
	t.Parallel()
	r := newRing[int](3)
	for i := 1; i <= 3; i++ {
		if _, ok := r.Push(i); ok {
			t.Fatalf("push %d evicted before the ring was full", i)
		}
	}
	if got := ringValues(r); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("values = %v", got)
	}
	old, ok := r.Push(4)
	if !ok || old != 1 {
		t.Fatalf("Push(4) evicted %d, %v; want 1, true", old, ok)
	}
	if got := ringValues(r); !slices.Equal(got, []int{2, 3, 4}) || r.Len() != 3 || r.Cap() != 3 {
		t.Fatalf("values = %v len %d", got, r.Len())
	}
	if v, ok := r.PopFront(); !ok || v != 2 {
		t.Fatalf("PopFront = %d, %v", v, ok)
	}
	r.Push(5)
	r.Push(6)
	if got := ringValues(r); !slices.Equal(got, []int{4, 5, 6}) {
		t.Fatalf("after wrap: %v", got)
	}
	if f, _ := r.Front(); f != 4 {
		t.Fatalf("Front = %d", f)
	}
	r.Clear()
	if r.Len() != 0 {
		t.Fatal("Clear left elements")
	}
	if _, ok := r.Front(); ok {
		t.Fatal("Front on an empty ring")
	}
	if _, ok := r.PopFront(); ok {
		t.Fatal("PopFront on an empty ring")
	}
	r.Push(7)
	if got := ringValues(r); !slices.Equal(got, []int{7}) {
		t.Fatalf("after Clear: %v", got)
	}
}

func TestRingBoundedUnderLoad(t *testing.T) {
	t.Parallel()
	r := newRing[int](100)
	for i := range 100_000 {
		r.Push(i)
	}
	if r.Len() != 100 || *r.At(0) != 99_900 || *r.At(99) != 99_999 {
		t.Fatalf("len %d first %d last %d", r.Len(), *r.At(0), *r.At(99))
	}
	if newRing[int](0).Cap() != 1 {
		t.Fatal("a zero capacity should become 1")
	}
}
