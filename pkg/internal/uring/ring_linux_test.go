//go:build linux && !sio_nouring

package uring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Two sends on a socket pair, one enter: both complete within it, with
// their user data and byte counts, and the bytes arrive in order. A
// held-back SQE stays in the SQ until the next enter.
func TestSendAndReap(t *testing.T) {
	r, err := New(8)
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer r.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	a, b, c := []byte("hello "), []byte("world"), []byte("!")
	if f := r.Free(); f != 8 {
		t.Fatalf("Free %d, want 8", f)
	}
	r.PrepSend(int32(fds[0]), a, 1)
	r.PrepSend(int32(fds[0]), b, 2)
	r.PrepSend(int32(fds[0]), c, 3)
	r.HoldBack(2)
	n, err := r.Enter(2, time.Second)
	if err != nil || n != 2 {
		t.Fatalf("Enter: %d, %v", n, err)
	}
	got := map[uint64]int32{}
	r.Reap(func(q *CQE) { got[q.UserData] = q.Res })
	if len(got) != 2 || got[1] != int32(len(a)) || got[2] != int32(len(b)) {
		t.Fatalf("completions %v", got)
	}
	if r.Pending() != 0 || r.Free() != 7 {
		t.Fatalf("pending %d, free %d; want 0 and 7 (one SQE left in the SQ)", r.Pending(), r.Free())
	}
	buf := make([]byte, 64)
	m, err := unix.Read(fds[1], buf)
	if err != nil || string(buf[:m]) != "hello world" {
		t.Fatalf("read %q, %v", buf[:m], err)
	}
}
