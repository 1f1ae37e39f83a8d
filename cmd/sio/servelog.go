package main

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/protocol"
)

// serveObserver is what `sio serve` shows consume: every packet the server
// traces, and the lifecycle of its sockets. The log printer implements it;
// the dashboard consumes the same calls. Both methods are called on the
// server's connection goroutines and must never block.
type serveObserver interface {
	Trace(t protocol.Trace)
	Lifecycle(ev lifecycle)
}

// lifecycle is a step in a socket's life (or the server's): "listening",
// "connect", "upgrade", "join", "leave", "disconnect", "closed".
type lifecycle struct {
	Time      time.Time
	Kind      string
	SID       string
	Nsp       string
	Transport string
	Reason    string          // disconnect reason
	Data      json.RawMessage // details, a JSON object
}

// record is the lifecycle line in the JSON-lines schema (layer "session").
func (ev lifecycle) record() render.Record {
	return render.Record{
		Time:      render.FormatTime(ev.Time),
		SID:       ev.SID,
		Transport: ev.Transport,
		Layer:     render.LayerSession,
		Type:      ev.Kind,
		Nsp:       ev.Nsp,
		Data:      ev.Data,
		Reason:    ev.Reason,
	}
}

// logQueue is how many lines may wait for a slow stdout before new ones are
// dropped (and counted) rather than slowing the server down.
const logQueue = 4096

// logObserver prints through a render.Printer from one goroutine, fed by a
// bounded queue, so a stalled stdout (a paused pager, a slow pipe) never
// blocks a connection.
type logObserver struct {
	printer *render.Printer
	verbose bool
	raw     bool // the printer shows traces' Raw frames

	mu      sync.RWMutex // guards closed against sends on a closed channel
	closed  bool
	queue   chan logItem
	done    chan struct{}
	dropped atomic.Uint64
}

type logItem struct {
	trace *protocol.Trace
	rec   render.Record
}

func newLogObserver(p *render.Printer, verbose bool) *logObserver {
	o := &logObserver{printer: p, verbose: verbose, raw: p.Raw(), queue: make(chan logItem, logQueue), done: make(chan struct{})}
	go o.run()
	return o
}

// run prints the queue in batches: lines are written together while more
// are queued (up to the printer's 64 KiB), and as soon as the queue is
// empty, so that a busy log costs one write(2) per batch instead of one
// per line, and an idle one still shows each line at once (`| jq`,
// `tail -f`: never a timer or a full buffer to wait for). The printer's
// writer is this goroutine's alone while it runs: a batch is whole lines,
// never interleaved with other writes.
func (o *logObserver) run() {
	defer close(o.done)
	o.printer.SetBatch(true)
	defer o.printer.SetBatch(false) // flushes
	for it := range o.queue {
		if it.trace != nil {
			o.printer.Trace(*it.trace)
		} else {
			o.printer.Record(it.rec)
		}
		if len(o.queue) == 0 {
			o.printer.Flush()
		}
	}
}

func (o *logObserver) send(it logItem) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return
	}
	select {
	case o.queue <- it:
	default:
		o.dropped.Add(1)
	}
}

// Trace queues a copy of t (a Tap's slices are only valid during the call).
// Engine.IO traces are skipped early unless -v, and a trace that would be
// dropped because the queue is full is counted without being copied.
func (o *logObserver) Trace(t protocol.Trace) {
	if t.Layer == protocol.LayerEngine && !o.verbose {
		return
	}
	if len(o.queue) == cap(o.queue) {
		o.dropped.Add(1)
		return
	}
	if !o.raw {
		t.Raw = nil // the printer does not read it: not worth a copy
	}
	c := t.Clone()
	o.send(logItem{trace: &c})
}

// Lifecycle queues a session line.
func (o *logObserver) Lifecycle(ev lifecycle) { o.send(logItem{rec: ev.record()}) }

// Close prints what is queued, stops, and returns how many lines were
// dropped. It is idempotent.
func (o *logObserver) Close() uint64 {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		close(o.queue)
	}
	o.mu.Unlock()
	<-o.done
	return o.dropped.Load()
}
