package loadgen

import (
	"net"
	"testing"
	"time"
)

// loopConn is a net.Conn whose reads return the same server frame forever
// and whose writes are discarded: the loader's user-space work per message
// without the kernel.
type loopConn struct {
	net.Conn
	frame []byte
}

func (c *loopConn) Read(b []byte) (int, error) {
	n := 0
	for n+len(c.frame) <= len(b) {
		n += copy(b[n:], c.frame)
	}
	return n, nil
}
func (c *loopConn) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkAckHotPath is one acked emit as the closed loop does it, minus
// the network: queue the request frame, flush it, read the ACK frame,
// match it to its request and check its content, record the latency.
func BenchmarkAckHotPath(b *testing.B) {
	r := &runner{cfg: &Config{Scenario: ScenarioAck, Payload: GeneratedPayload(64), Inflight: 1}, base: time.Now()}
	r.cfg.setDefaults()
	r.head, r.mid = []byte("42"), eventHead("bench")
	for i := range r.shards {
		r.shards[i].lat = NewHistogram()
	}
	c := &client{r: r, idx: 7, ring: make([]pend, 1), mask: 0, lastMatched: -1}
	// The server's answer to request 0; the benchmark keeps answering seq 0
	// by resetting the client's counters each time.
	ack := append([]byte("430["), r.cfg.Payload.Append(nil, 7, 0)...)
	ack = append(ack, ']')
	frame := append([]byte{0x81, byte(len(ack))}, ack...)
	conn := &loopConn{frame: frame}
	c.s = &session{w: &wsConn{nc: conn, dec: newDecoder(1 << 20), rbuf: make([]byte, 4096)}, eio: 4}
	c.s.w.setBeforeRead(c.flush)
	b.ReportAllocs()
	for b.Loop() {
		c.nextSeq, c.oldest = 0, 0
		if !c.queueNext(r.now()) {
			b.Fatal("queue")
		}
		p, err := c.s.next()
		if err != nil || p.kind != inAck {
			b.Fatalf("next: %v %v", p, err)
		}
		r.stopping.Store(true) // no follow-up request: the loop above makes it
		c.onAck(p)
		r.stopping.Store(false)
	}
	if r.acks.Load() == 0 || r.wrong.Load() != 0 {
		b.Fatalf("acks %d wrong %d", r.acks.Load(), r.wrong.Load())
	}
	b.ReportMetric(float64(len(frame)), "frame-bytes")
}

// BenchmarkAckHotPathMsgpack is BenchmarkAckHotPath with
// socket.io-msgpack-parser's packets: a binary request, a binary ACK
// read by key and compared with the msgpack of what was sent.
func BenchmarkAckHotPathMsgpack(b *testing.B) {
	r := &runner{cfg: &Config{Scenario: ScenarioAck, Payload: GeneratedPayload(64), Inflight: 1, Parser: ParserMsgpack}, base: time.Now()}
	r.cfg.setDefaults()
	r.tgt = &target{namespace: "/"}
	if err := r.setMsgpack(); err != nil {
		b.Fatal(err)
	}
	for i := range r.shards {
		r.shards[i].lat = NewHistogram()
	}
	c := &client{r: r, idx: 7, ring: make([]pend, 1), mask: 0, lastMatched: -1}
	// Node's ACK to request 0: {type: 3, data: [payload], id: 0, nsp: "/"}.
	ack := []byte{0x84, 0xa4, 't', 'y', 'p', 'e', 3, 0xa4, 'd', 'a', 't', 'a', 0x91}
	ack = r.mpPayload.Append(ack, 7, 0)
	ack = append(ack, 0xa2, 'i', 'd', 0, 0xa3, 'n', 's', 'p', 0xa1, '/')
	frame := append([]byte{0x82, byte(len(ack))}, ack...)
	conn := &loopConn{frame: frame}
	c.s = &session{w: &wsConn{nc: conn, dec: newDecoder(1 << 20), rbuf: make([]byte, 4096)}, eio: 4, mp: true, nsp: "/"}
	c.s.w.setBeforeRead(c.flush)
	b.ReportAllocs()
	for b.Loop() {
		c.nextSeq, c.oldest = 0, 0
		if !c.queueNext(r.now()) {
			b.Fatal("queue")
		}
		p, err := c.s.next()
		if err != nil || p.kind != inAck {
			b.Fatalf("next: %v %v", p, err)
		}
		r.stopping.Store(true)
		c.onAck(p)
		r.stopping.Store(false)
	}
	if r.acks.Load() == 0 || r.wrong.Load() != 0 {
		b.Fatalf("acks %d wrong %d", r.acks.Load(), r.wrong.Load())
	}
	b.ReportMetric(float64(len(frame)), "frame-bytes")
}
