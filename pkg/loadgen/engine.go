package loadgen

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-dev/sio/pkg/client/eioclient"
	"github.com/sio-dev/sio/pkg/protocol"
)

// engineQueue bounds the messages the engine's reader may hand over before
// it waits for the scenario's reader.
const engineQueue = 256

// engineWire runs a connection through pkg/client/eioclient: long-polling, or
// polling upgraded to WebSocket ("auto"). It is the general path, for the
// transports the lean WebSocket path does not speak; the engine answers
// the heartbeat itself. Messages are handed over on a bounded channel.
type engineWire struct {
	conn  *eioclient.Conn
	msgs  chan []byte   // engine.io packets in text form ("4" + data)
	done  chan struct{} // closed by close: the engine's reader stops handing over
	ended chan struct{} // closed by OnClose
	err   error         // why it ended, set before ended is closed

	gate      readGate
	pending   []protocol.EnginePacket // queue's packets, serialised by the caller
	closeOnce sync.Once
}

// sharedHTTP is the polling client of one run: one connection pool for
// every client, sized for a GET and a POST in flight per client. Its new
// connections come from the dialers in turn (Config.SourceAddrs): the
// pool is shared, so a client's own dialer cannot be chosen per request.
func sharedHTTP(t *target, dialers []*net.Dialer, clients int) *http.Client {
	var next atomic.Uint64
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := dialers[(next.Add(1)-1)%uint64(len(dialers))]
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     t.tls,
		MaxIdleConnsPerHost: 2*clients + 16,
		MaxIdleConns:        2*clients + 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr}
}

func dialEngine(ctx context.Context, t *target, d *net.Dialer) (*engineWire, error) {
	w := &engineWire{msgs: make(chan []byte, engineQueue), done: make(chan struct{}), ended: make(chan struct{})}
	opts := eioclient.Options{
		Path:       t.path,
		Transport:  t.transport,
		EIO:        t.eio,
		Header:     t.header,
		Query:      t.query,
		TLSConfig:  t.tls,
		HTTPClient: t.httpClient,
		// The WebSocket of the upgrade comes from this client's source address.
		DialContext: d.DialContext,
		OnMessage: func(data []byte, binary bool) {
			m := make([]byte, 0, len(data)+1)
			if binary {
				m = append(m, 0) // marks binary: the scenarios never expect it
			} else {
				m = append(m, '4')
			}
			m = append(m, data...)
			select {
			case w.msgs <- m:
			case <-w.done:
			}
		},
		OnClose: func(reason protocol.DisconnectReason, err error) {
			if err == nil {
				err = reason
			}
			w.err = err
			close(w.ended)
		},
	}
	conn, err := eioclient.Dial(ctx, t.httpURL, opts)
	if err != nil {
		return nil, err
	}
	w.conn = conn
	return w, nil
}

func (w *engineWire) readMessage() (byte, []byte, error) {
	m, err := receive(&w.gate, w.msgs, w.ended, w.done, func() error { return w.err })
	if err != nil {
		return 0, nil, err
	}
	return w.deliver(m)
}

func (w *engineWire) deliver(m []byte) (byte, []byte, error) {
	if m[0] == 0 {
		return opBinary, m[1:], nil
	}
	return opText, m, nil
}

// write sends a message: an engine.io packet in text form, or binary
// data. The engine sends its own pings and pongs, so of the text packets
// only messages ("4…") are passed on.
func (w *engineWire) write(op byte, p []byte) error {
	m, ok := engineMessage(op, p)
	if !ok {
		return nil
	}
	return w.conn.Send(m)
}

func (w *engineWire) writeSoon(op byte, p []byte) error { return w.write(op, p) }

func (w *engineWire) queue(op byte, p []byte) {
	if m, ok := engineMessage(op, p); ok {
		w.pending = append(w.pending, m)
	}
}

// engineMessage is the engine's message for what write and queue get.
func engineMessage(op byte, p []byte) (protocol.EnginePacket, bool) {
	if op == opBinary {
		return protocol.EnginePacket{Type: protocol.EngineMessage, Data: append([]byte(nil), p...), Binary: true}, true
	}
	if len(p) == 0 || p[0] != '4' {
		return protocol.EnginePacket{}, false
	}
	return protocol.EnginePacket{Type: protocol.EngineMessage, Data: append([]byte(nil), p[1:]...)}, true
}

func (w *engineWire) flushQueue() error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.conn.Send(w.pending...)
	w.pending = w.pending[:0:0]
	return err
}

func (w *engineWire) setBeforeRead(f func() error) { w.gate.setBeforeRead(f) }
func (w *engineWire) setReadDeadline(t time.Time)  { w.gate.setReadDeadline(t) }

// setWriteDeadline has nothing to cut: Send never blocks.
func (w *engineWire) setWriteDeadline(time.Time) {}

func (w *engineWire) heartbeat() bool { return true }

// upgraded reports whether the connection is open and on WebSocket now.
func (w *engineWire) upgraded() bool {
	select {
	case <-w.ended:
		return false
	default:
		return w.conn.Transport() == eioclient.TransportWebSocket
	}
}

func (w *engineWire) close() error {
	w.closeOnce.Do(func() { close(w.done) })
	err := w.conn.Close() // only starts the close: wait for its goroutines
	<-w.conn.Done()
	return err
}
