package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-dev/sio/internal/render"
)

// writeRecorder records each Write.
type writeRecorder struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeRecorder) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(b))
	return len(b), nil
}

func (w *writeRecorder) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// An idle log writes each line at once, not when a batch fills or the
// observer closes (`tail -f`, `| jq`); every write is whole lines.
func TestLogObserverWritesIdleLinesAtOnce(t *testing.T) {
	var w writeRecorder
	p, err := render.New(&w, render.Options{Format: render.FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	o := newLogObserver(p, false)
	defer o.Close()
	for i, kind := range []string{"connect", "disconnect"} {
		o.Lifecycle(lifecycle{Time: time.Now(), Kind: kind, SID: "s"})
		deadline := time.Now().Add(5 * time.Second)
		for len(w.all()) <= i {
			if time.Now().After(deadline) {
				t.Fatalf("line %d not written while the queue is idle", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := 0; i < 2000; i++ {
		o.Lifecycle(lifecycle{Time: time.Now(), Kind: "join", SID: "s"})
	}
	o.Close()
	var all bytes.Buffer
	for _, s := range w.all() {
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("a write that ends within a line: %q", s)
		}
		all.WriteString(s)
	}
	if n := strings.Count(all.String(), "\n"); n != 2002 {
		t.Errorf("%d lines written, want 2002", n)
	}
}
